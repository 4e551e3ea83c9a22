//! The built-in responder, used when no model is configured: the tenant's FAQ entry most relevant
//! to the customer's question (BM25 over question and answer, with the `bm25` crate's stemming
//! and stop words for the reply language), or no answer (the caller sends the hand-off).

use crate::domain::keywords::Language;
use crate::ports::responder::{Answer, Prompt, Responder, ResponderError};
use async_trait::async_trait;
use bm25::{Document, SearchEngineBuilder};

#[derive(Clone, Copy, Debug, Default)]
pub struct FaqResponder;

fn bm25_language(language: Language) -> bm25::Language {
    match language {
        Language::English => bm25::Language::English,
        Language::French => bm25::Language::French,
        Language::Arabic => bm25::Language::Arabic,
    }
}

impl FaqResponder {
    /// The index of the best FAQ entry for the prompt's question, if any shares a term with it.
    pub fn best_entry(prompt: &Prompt) -> Option<usize> {
        let question = prompt.question();
        if prompt.faq.is_empty() || question.trim().is_empty() {
            return None;
        }
        let documents: Vec<Document<usize>> = prompt
            .faq
            .iter()
            .enumerate()
            // The question twice: a match on it counts more than one on the answer.
            .map(|(i, e)| Document::new(i, format!("{0}\n{0}\n{1}", e.question, e.answer)))
            .collect();
        let engine =
            SearchEngineBuilder::<usize>::with_documents(bm25_language(prompt.language), documents)
                .build();
        engine
            .search(&question, 1)
            .into_iter()
            .find(|r| r.score > 0.0)
            .map(|r| r.document.id)
    }
}

#[async_trait]
impl Responder for FaqResponder {
    fn name(&self) -> &'static str {
        "faq"
    }

    async fn respond(&self, prompt: &Prompt) -> Result<Answer, ResponderError> {
        Ok(match Self::best_entry(prompt) {
            Some(i) => Answer::Text(prompt.faq[i].answer.clone().into()),
            None => Answer::NoAnswer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::FaqEntry;
    use crate::ports::responder::{Speaker, Turn};

    fn prompt(question: &str, language: Language) -> Prompt {
        Prompt {
            business_name: "Atlas Tea".into(),
            instructions: String::new(),
            faq: vec![
                FaqEntry::new(
                    "What are your opening hours?".into(),
                    "We are open Monday to Saturday, 9:00 to 19:00.".into(),
                ),
                FaqEntry::new(
                    "Do you deliver?".into(),
                    "We deliver in Casablanca within 24 hours.".into(),
                ),
                FaqEntry::new(
                    "Quels sont vos horaires d'ouverture ?".into(),
                    "Nous sommes ouverts du lundi au samedi, de 9 h à 19 h.".into(),
                ),
            ],
            turns: vec![Turn {
                speaker: Speaker::Customer,
                text: question.into(),
            }],
            language,
        }
    }

    #[tokio::test]
    async fn the_most_relevant_faq_entry_answers() {
        let answer = FaqResponder
            .respond(&prompt("When are you open? What hours?", Language::English))
            .await
            .unwrap();
        assert_eq!(
            answer,
            Answer::Text("We are open Monday to Saturday, 9:00 to 19:00.".into())
        );
        let answer = FaqResponder
            .respond(&prompt("Can you deliver my order?", Language::English))
            .await
            .unwrap();
        assert_eq!(
            answer,
            Answer::Text("We deliver in Casablanca within 24 hours.".into())
        );
        let answer = FaqResponder
            .respond(&prompt("Quels horaires le samedi ?", Language::French))
            .await
            .unwrap();
        assert_eq!(
            answer,
            Answer::Text("Nous sommes ouverts du lundi au samedi, de 9 h à 19 h.".into())
        );
    }

    #[tokio::test]
    async fn no_relevant_entry_means_no_answer() {
        let answer = FaqResponder
            .respond(&prompt("Is the blue teapot in stock?", Language::English))
            .await
            .unwrap();
        assert_eq!(answer, Answer::NoAnswer);
        let mut empty = prompt("What are your opening hours?", Language::English);
        empty.faq.clear();
        assert_eq!(
            FaqResponder.respond(&empty).await.unwrap(),
            Answer::NoAnswer
        );
    }
}
