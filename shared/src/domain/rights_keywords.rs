//! The words a person writes to the business on WhatsApp to exercise their rights (GDPR Art. 12(2):
//! the chat they are already in is the request channel), in English, French and Arabic.
//!
//! Like the consent keywords ([`crate::domain::keywords`]), a message is a request only when,
//! folded, it is nothing but the phrase: "my data" is, "what do you do with my data?" is not (the
//! AI answers that one). A deletion is confirmed with the word of the question and its code
//! ("DELETE 4821", "SUPPRIMER 4821", "احذف ٤٨٢١"): a bare number could be an order number.

use crate::domain::keywords::{compact, fold, Language};
use std::sync::LazyLock;
use Language::{Arabic, English, French};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RightsKeyword {
    /// What the business keeps, for how long, and the person's rights.
    Privacy,
    /// A copy of their data (access and portability).
    MyData,
    /// Erasure: answered with a question carrying a one-time code.
    DeleteMyData,
    /// The answer to that question: the code as written (ASCII digits).
    ConfirmDeletion { code: String },
}

impl RightsKeyword {
    /// For logs: the request, never the code.
    pub fn name(&self) -> &'static str {
        match self {
            RightsKeyword::Privacy => "privacy",
            RightsKeyword::MyData => "my_data",
            RightsKeyword::DeleteMyData => "delete_my_data",
            RightsKeyword::ConfirmDeletion { .. } => "confirm_deletion",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RightsMatch {
    pub keyword: RightsKeyword,
    pub language: Language,
}

/// Every phrase, as people write it; both sides are folded before comparing.
const PHRASES: &[(&str, Phrase, Language)] = &[
    ("PRIVACY", Phrase::Privacy, English),
    ("PRIVACY POLICY", Phrase::Privacy, English),
    ("CONFIDENTIALITÉ", Phrase::Privacy, French),
    ("VIE PRIVÉE", Phrase::Privacy, French),
    ("الخصوصية", Phrase::Privacy, Arabic),
    ("خصوصية", Phrase::Privacy, Arabic),
    ("سياسة الخصوصية", Phrase::Privacy, Arabic),
    ("MY DATA", Phrase::MyData, English),
    ("MY PERSONAL DATA", Phrase::MyData, English),
    ("MES DONNÉES", Phrase::MyData, French),
    ("MES DONNÉES PERSONNELLES", Phrase::MyData, French),
    ("بياناتي", Phrase::MyData, Arabic),
    ("بياناتي الشخصية", Phrase::MyData, Arabic),
    ("DELETE MY DATA", Phrase::Delete, English),
    ("ERASE MY DATA", Phrase::Delete, English),
    ("SUPPRIMER MES DONNÉES", Phrase::Delete, French),
    ("EFFACER MES DONNÉES", Phrase::Delete, French),
    ("احذف بياناتي", Phrase::Delete, Arabic),
    ("حذف بياناتي", Phrase::Delete, Arabic),
    ("امسح بياناتي", Phrase::Delete, Arabic),
];

/// The word of the deletion question, per language; the confirmation is this word and the code.
pub fn confirmation_word(language: Language) -> &'static str {
    match language {
        English => "DELETE",
        French => "SUPPRIMER",
        Arabic => "احذف",
    }
}

/// How many digits a deletion code has.
pub const CODE_DIGITS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phrase {
    Privacy,
    MyData,
    Delete,
}

/// The rights request `text` consists of, if any.
pub fn classify(text: &str) -> Option<RightsMatch> {
    let folded = fold(&ascii_digits(text));
    if folded.is_empty() {
        return None;
    }
    let key = compact(&folded);
    if let Some(found) = confirmation(&key) {
        return Some(found);
    }
    folded_phrases()
        .iter()
        .find(|(spelling, _, _)| *spelling == key)
        .map(|&(_, phrase, language)| RightsMatch {
            keyword: match phrase {
                Phrase::Privacy => RightsKeyword::Privacy,
                Phrase::MyData => RightsKeyword::MyData,
                Phrase::Delete => RightsKeyword::DeleteMyData,
            },
            language,
        })
}

/// "delete4821" (compacted): a confirmation word followed by exactly the code's digits.
fn confirmation(key: &str) -> Option<RightsMatch> {
    let digits_at = key.find(|c: char| c.is_ascii_digit())?;
    let (word, code) = key.split_at(digits_at);
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    [English, French, Arabic]
        .into_iter()
        .find(|&language| compact(&fold(confirmation_word(language))) == word)
        .map(|language| RightsMatch {
            keyword: RightsKeyword::ConfirmDeletion {
                code: code.to_owned(),
            },
            language,
        })
}

/// Arabic-Indic (٠–٩) and Eastern Arabic-Indic (۰–۹) digits as ASCII: phones type either.
fn ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            c => c,
        })
        .collect()
}

/// [`PHRASES`] folded and compacted once: every inbound text is classified.
fn folded_phrases() -> &'static [(String, Phrase, Language)] {
    static FOLDED: LazyLock<Vec<(String, Phrase, Language)>> = LazyLock::new(|| {
        PHRASES
            .iter()
            .map(|&(spelling, phrase, language)| (compact(&fold(spelling)), phrase, language))
            .collect()
    });
    &FOLDED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keywords;

    fn found(text: &str) -> Option<(RightsKeyword, Language)> {
        classify(text).map(|m| (m.keyword, m.language))
    }

    #[test]
    fn each_request_in_each_language_folded_like_the_consent_keywords() {
        use RightsKeyword::*;
        let cases = [
            ("privacy", Privacy, English),
            ("  Privacy! ", Privacy, English),
            ("Confidentialité", Privacy, French),
            ("CONFIDENTIALITE", Privacy, French),
            ("الخصوصية", Privacy, Arabic),
            ("الخُصُوصِيَّة", Privacy, Arabic),
            ("my data", MyData, English),
            ("My Data?", MyData, English),
            ("mes données", MyData, French),
            ("MES DONNEES", MyData, French),
            ("بياناتي", MyData, Arabic),
            ("delete my data", DeleteMyData, English),
            ("Supprimer mes données.", DeleteMyData, French),
            ("احذف بياناتي", DeleteMyData, Arabic),
            ("إحذف بياناتي", DeleteMyData, Arabic),
        ];
        for (text, keyword, language) in cases {
            assert_eq!(found(text), Some((keyword, language)), "{text:?}");
        }
    }

    #[test]
    fn a_phrase_inside_a_longer_message_is_not_a_request() {
        for text in [
            "what do you do with my data?",
            "please delete my data now",
            "privacy is important",
            "",
            "   ",
            "data",
        ] {
            assert_eq!(found(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_confirmation_is_the_word_and_exactly_four_digits_in_any_script() {
        let confirm = |code: &str| RightsKeyword::ConfirmDeletion { code: code.into() };
        assert_eq!(found("DELETE 4821"), Some((confirm("4821"), English)));
        assert_eq!(found("delete 0042"), Some((confirm("0042"), English)));
        assert_eq!(found("Supprimer 4821"), Some((confirm("4821"), French)));
        assert_eq!(found("احذف ٤٨٢١"), Some((confirm("4821"), Arabic)));
        assert_eq!(found("احذف ۴۸۲۱"), Some((confirm("4821"), Arabic)));
        for text in [
            "4821",
            "DELETE 482",
            "DELETE 48211",
            "DELETE 48a1",
            "REMOVE 4821",
        ] {
            assert_eq!(found(text), None, "{text:?}");
        }
    }

    #[test]
    fn no_phrase_is_also_a_consent_keyword() {
        for (spelling, _, _) in PHRASES {
            assert_eq!(keywords::classify(spelling), None, "{spelling}");
        }
        for language in [English, French, Arabic] {
            assert_eq!(keywords::classify(confirmation_word(language)), None);
        }
    }
}
