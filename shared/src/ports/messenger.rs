//! The WhatsApp sender: mark a customer's message read (with the typing indicator) and send a
//! text reply quoting it. Adapters: the Graph API, and a local outbox for the runner.

use crate::domain::contact::Contact;
use crate::domain::ids::{PhoneNumberId, Wamid};
use crate::domain::personal::Personal;
use async_trait::async_trait;

/// Who a message goes to: the phone number (`wa_id`) when known, else the business-scoped user id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    WaId(Personal<String>),
    UserId(Personal<String>),
}

impl Recipient {
    /// Whom a message to `contact` goes to: the phone number when known, else the
    /// business-scoped user id; `None` when its profile is gone (its key destroyed).
    pub fn of(contact: &Contact) -> Option<Recipient> {
        let profile = contact.profile.as_ref()?;
        if let Some(wa_id) = &profile.wa_id {
            return Some(Recipient::WaId(wa_id.clone()));
        }
        profile
            .user_id
            .as_ref()
            .map(|u| Recipient::UserId(u.clone()))
    }
}

/// A text reply quoting the customer's message.
#[derive(Clone, Debug, PartialEq)]
pub struct TextReply {
    pub from: PhoneNumberId,
    pub to: Recipient,
    /// The customer's message it answers (shown quoted).
    pub quoting: Wamid,
    pub body: Personal<String>,
}

/// What a person sends: free text (inside the customer service window) or a template.
#[derive(Clone, Debug, PartialEq)]
pub enum OutboundBody {
    Text(Personal<String>),
    /// The Graph API's `template` object (name, language, components with their values).
    Template(Personal<serde_json::Value>),
}

/// A message a person sends, not quoting anything.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboundSend {
    pub from: PhoneNumberId,
    pub to: Recipient,
    pub body: OutboundBody,
}

/// Why a send failed, as Meta reported it (codes only: titles carry no personal data).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: throttling (130429, 131056), 5xx, timeouts, connection failures.
    #[error("whatsapp send failed, retryable (code {code:?}, http {http_status:?}): {title}")]
    Retryable {
        code: Option<i64>,
        http_status: Option<u16>,
        title: String,
    },
    /// Retrying cannot help: window closed (131047), undeliverable (131026), unknown recipient,
    /// bad parameters (131051), a bad token.
    #[error("whatsapp send failed, permanent (code {code:?}, http {http_status:?}): {title}")]
    Permanent {
        code: Option<i64>,
        http_status: Option<u16>,
        title: String,
    },
    /// No answer came in time: the message may have gone out, so it is never sent again (the
    /// send API has no idempotency key); only a status webhook can tell.
    #[error("whatsapp send unanswered: {title}")]
    Unanswered { title: String },
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable { .. })
    }

    pub fn code(&self) -> Option<i64> {
        match self {
            SendError::Retryable { code, .. } | SendError::Permanent { code, .. } => *code,
            SendError::Unanswered { .. } => None,
        }
    }

    /// What Meta (or the connection) said, for the message's failure record.
    pub fn title(&self) -> &str {
        match self {
            SendError::Retryable { title, .. }
            | SendError::Permanent { title, .. }
            | SendError::Unanswered { title } => title,
        }
    }
}

#[async_trait]
pub trait Messenger: Send + Sync {
    /// Adapter name for logs (`graph`, `outbox`).
    fn name(&self) -> &'static str;

    /// Marks the customer's message read and shows the typing indicator while the reply is made.
    async fn mark_read(&self, from: &PhoneNumberId, message: &Wamid) -> Result<(), SendError>;

    /// Sends the reply; returns the id WhatsApp gave it.
    async fn send_text(&self, reply: &TextReply) -> Result<Wamid, SendError>;

    /// Sends a person's message; returns the id WhatsApp gave it.
    async fn send(&self, message: &OutboundSend) -> Result<Wamid, SendError>;
}
