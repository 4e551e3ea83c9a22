//! The AI responder: given a tenant's instructions and knowledge base and the last messages of a
//! conversation, an answer to the customer's newest message. Adapters: an OpenAI-compatible
//! chat-completions client, and a built-in FAQ responder for running without a model.

use crate::domain::keywords::Language;
use crate::domain::personal::Personal;
use crate::domain::tenant::FaqEntry;
use async_trait::async_trait;

/// Who said a line of the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Business,
}

/// One message of the conversation, as words only: no phone number, no WhatsApp id, no name.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: Personal<String>,
}

/// What the responder is given. The newest customer turn is last.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub business_name: String,
    pub instructions: String,
    pub faq: Vec<FaqEntry>,
    /// Oldest first; ends with the customer's burst.
    pub turns: Vec<Turn>,
    /// The language to answer in.
    pub language: Language,
}

impl Prompt {
    /// The customer's last consecutive messages (the burst being answered), joined.
    pub fn question(&self) -> String {
        let burst: Vec<&str> = self
            .turns
            .iter()
            .rev()
            .take_while(|t| t.speaker == Speaker::Customer)
            .map(|t| t.text.expose().as_str())
            .collect();
        burst.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Text(Personal<String>),
    /// Nothing useful to say: the caller sends the hand-off message.
    NoAnswer,
}

#[derive(Debug, thiserror::Error)]
pub enum ResponderError {
    /// Timeouts, 429 and 5xx after the adapter's own retries: a later attempt may succeed.
    #[error("responder unavailable: {0}")]
    Unavailable(String),
    /// Refused or malformed: retrying cannot help.
    #[error("responder refused the request: {0}")]
    Refused(String),
}

#[async_trait]
pub trait Responder: Send + Sync {
    /// Adapter name for logs (`openai`, `faq`).
    fn name(&self) -> &'static str;

    async fn respond(&self, prompt: &Prompt) -> Result<Answer, ResponderError>;
}
