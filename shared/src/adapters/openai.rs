//! An OpenAI-compatible chat-completions client (`POST {base}/chat/completions`): works with
//! OpenAI and any server that speaks the same API (vLLM, Ollama, llama.cpp, LiteLLM, …).
//!
//! The model gets the tenant's instructions and FAQ and the conversation's words, never a phone
//! number, WhatsApp id or name. 429, 5xx and timeouts are retried with backoff; other 4xx are
//! refused at once. A model that cannot answer from what it was given says [`HAND_OFF_TOKEN`].

use super::backoff::{exchange, retrying, Failure, RetryPolicy};
use crate::domain::keywords::Language;
use crate::ports::responder::{Answer, Prompt, Responder, ResponderError, Speaker};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::time::Duration;

/// What the model answers when the knowledge it was given does not cover the question.
pub const HAND_OFF_TOKEN: &str = "HANDOFF";

#[derive(Clone, Debug)]
pub struct ChatSettings {
    /// e.g. `https://api.openai.com/v1`
    pub base_url: String,
    pub model: String,
    /// Optional: local servers often need none.
    pub api_key: Option<SecretString>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

pub struct ChatCompletions {
    http: reqwest::Client,
    settings: ChatSettings,
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::English => "English",
        Language::French => "French",
        Language::Arabic => "Arabic",
    }
}

/// The request body: a system message with the business's instructions and knowledge, then
/// the conversation as user/assistant turns.
pub fn request_body(model: &str, prompt: &Prompt) -> Value {
    let mut system = format!(
        "You are the WhatsApp assistant of {business}. Answer the customer's last message \
         briefly and politely, in {language}, using only the business's instructions and \
         knowledge below. If they do not cover the question, answer exactly {HAND_OFF_TOKEN} \
         and nothing else. Never ask for or repeat personal data.",
        business = prompt.business_name,
        language = language_name(prompt.language),
    );
    if !prompt.instructions.trim().is_empty() {
        system.push_str("\n\nInstructions from the business:\n");
        system.push_str(prompt.instructions.trim());
    }
    if !prompt.faq.is_empty() {
        system.push_str("\n\nKnowledge base (questions and answers):");
        for entry in &prompt.faq {
            system.push_str(&format!("\nQ: {}\nA: {}", entry.question, entry.answer));
        }
    }
    let mut messages = vec![json!({"role": "system", "content": system})];
    for turn in &prompt.turns {
        let role = match turn.speaker {
            Speaker::Customer => "user",
            Speaker::Business => "assistant",
        };
        messages.push(json!({"role": role, "content": turn.text.expose()}));
    }
    json!({ "model": model, "messages": messages })
}

/// The answer in a chat-completions response, if it has one.
pub fn answer_of(body: &Value) -> Answer {
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .map(str::trim)
        .unwrap_or_default();
    if content.is_empty() || content.trim_matches(|c: char| !c.is_alphanumeric()) == HAND_OFF_TOKEN
    {
        Answer::NoAnswer
    } else {
        Answer::Text(content.to_owned().into())
    }
}

impl ChatCompletions {
    pub fn new(settings: ChatSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(ChatCompletions { http, settings })
    }
}

#[async_trait]
impl Responder for ChatCompletions {
    fn name(&self) -> &'static str {
        "openai"
    }

    async fn respond(&self, prompt: &Prompt) -> Result<Answer, ResponderError> {
        let url = format!(
            "{}/chat/completions",
            self.settings.base_url.trim_end_matches('/')
        );
        let body = request_body(&self.settings.model, prompt);
        retrying(&self.settings.retry, "openai", || async {
            let mut request = self.http.post(&url).json(&body);
            if let Some(key) = &self.settings.api_key {
                request = request.bearer_auth(key.expose_secret());
            }
            let answer = match exchange(request).await {
                Ok(answer) if answer.is_success() => return Ok(answer_of(&answer.body)),
                Ok(answer) => answer,
                Err(no_answer) => {
                    return Err(Failure::Retry {
                        error: ResponderError::Unavailable(no_answer.describe().into()),
                        retry_after: None,
                    })
                }
            };
            // OpenAI's error body: {"error":{"message","type","param","code"}}; the type and
            // code say what went wrong without echoing the prompt.
            let error = &answer.body["error"];
            let what = format!(
                "http {}, type {}, code {}",
                answer.status,
                error["type"].as_str().unwrap_or("-"),
                error["code"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| error["code"].to_string()),
            );
            if answer.is_transient() {
                Err(Failure::Retry {
                    error: ResponderError::Unavailable(what),
                    retry_after: answer.retry_after,
                })
            } else {
                Err(Failure::Final(ResponderError::Refused(what)))
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::FaqEntry;
    use crate::ports::responder::Turn;

    #[test]
    fn the_request_carries_instructions_knowledge_and_turns_in_order() {
        let prompt = Prompt {
            business_name: "Atlas Tea".into(),
            instructions: "Be warm.".into(),
            faq: vec![FaqEntry::new("Hours?".into(), "9 to 7".into())],
            turns: vec![
                Turn {
                    speaker: Speaker::Customer,
                    text: "hi".into(),
                },
                Turn {
                    speaker: Speaker::Business,
                    text: "hello".into(),
                },
                Turn {
                    speaker: Speaker::Customer,
                    text: "hours?".into(),
                },
            ],
            language: Language::French,
        };
        let body = request_body("gpt-x", &prompt);
        assert_eq!(body["model"], "gpt-x");
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 4);
        let system = messages[0]["content"].as_str().unwrap();
        assert!(
            system.contains("Be warm.")
                && system.contains("A: 9 to 7")
                && system.contains("French")
        );
        assert_eq!(messages[2]["role"], "assistant");
        assert_eq!(messages[3]["content"], "hours?");
    }

    #[test]
    fn an_empty_or_hand_off_answer_is_no_answer() {
        let body = |c: &str| json!({"choices": [{"message": {"role": "assistant", "content": c}}]});
        assert_eq!(answer_of(&body("  ")), Answer::NoAnswer);
        assert_eq!(answer_of(&body("HANDOFF.")), Answer::NoAnswer);
        assert_eq!(answer_of(&json!({})), Answer::NoAnswer);
        assert_eq!(
            answer_of(&body("We open at 9.")),
            Answer::Text("We open at 9.".into())
        );
    }
}
