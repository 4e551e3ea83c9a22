//! What one webhook POST carries, normalized: every message, status, preference change and error,
//! and everything else kept raw. Personal data sits in `Personal`/`Wamid`, so `Debug` never prints it.

use crate::domain::contact::ContactProfile;
use crate::domain::ids::{PhoneNumberId, Wamid};
use crate::domain::message::{DeliveryError, MessageKind, Status};
use crate::domain::personal::Personal;
pub use crate::domain::template::TemplateUpdate;
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Everything in one POST, in the order Meta sent it (entries, then changes, then within a change:
/// messages, statuses, errors, anything unmodelled).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub items: Vec<DeliveryItem>,
}

// A delivery holds a handful of items: plain variants keep matching simple, boxing saves nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum DeliveryItem {
    Message(InboundMessage),
    Status(StatusReport),
    Preference(PreferenceChange),
    /// A template's status, category or quality changed (keyed by business account, not number).
    Template(TemplateUpdate),
    /// `value.errors[]` at the change level (an inbound message's own `errors` stay in its content).
    Error(WebhookError),
    /// Any other `field` (account_update, message_template_*, calls, smb_message_echoes, …), a value
    /// or item Mizan doesn't model, or one too malformed to read: kept raw so nothing is dropped.
    Other(OtherChange),
}

impl DeliveryItem {
    /// The business number the item belongs to, which names the tenant.
    pub fn phone_number_id(&self) -> Option<&PhoneNumberId> {
        match self {
            DeliveryItem::Message(m) => Some(&m.phone_number_id),
            DeliveryItem::Status(s) => Some(&s.phone_number_id),
            DeliveryItem::Preference(p) => Some(&p.phone_number_id),
            DeliveryItem::Error(e) => e.phone_number_id.as_ref(),
            DeliveryItem::Template(_) => None,
            DeliveryItem::Other(o) => o.phone_number_id.as_ref(),
        }
    }
}

/// A message a contact sent to the business.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// `value.metadata.phone_number_id`: the business number it was sent to.
    pub phone_number_id: PhoneNumberId,
    pub wamid: Wamid,
    /// `from`/`from_user_id`, completed by the `contacts[]` entry with the same `wa_id` or `user_id`.
    /// For an identity change, the identity before it (`identity_change.old`): the contact the
    /// business knows.
    pub sender: ContactProfile,
    /// When WhatsApp says it was sent.
    pub sent_at: Timestamp,
    pub kind: MessageKind,
    /// The complete message object as received, unknown fields included.
    pub content: Personal<serde_json::Value>,
    /// Where a consent keyword could be: `text.body`, `button.text`, an interactive reply's title,
    /// or an edit's new `text.body`.
    pub keyword_text: Option<Personal<String>>,
    /// `context.id`: the message this one replies to.
    pub reply_to: Option<Wamid>,
    /// The message an edit, revoke or reaction acts on.
    pub references: Option<Wamid>,
    /// A system message saying the sender's phone number or business-scoped id changed.
    pub identity_change: Option<IdentityChange>,
}

/// The same person under old and new identifiers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityChange {
    pub old: ContactProfile,
    pub new: ContactProfile,
}

/// A status of a message the business sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub phone_number_id: PhoneNumberId,
    pub wamid: Wamid,
    pub status: Status,
    pub at: Timestamp,
    /// `recipient_id` (wa_id) / `recipient_user_id`, completed from `contacts[]` when one matches.
    pub recipient: ContactProfile,
    pub errors: Vec<DeliveryError>,
    /// The whole status object (pricing, conversation, biz_opaque_callback_data, …).
    pub raw: Personal<serde_json::Value>,
}

/// A contact stopped or resumed a category of messages in WhatsApp itself (`user_preferences`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreferenceChange {
    pub phone_number_id: PhoneNumberId,
    pub user: ContactProfile,
    /// e.g. `marketing_messages`.
    pub category: String,
    pub value: PreferenceValue,
    pub at: Timestamp,
    pub raw: Personal<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PreferenceValue {
    Stop,
    Resume,
    /// Anything else Meta sends (e.g. `signup`), kept as written.
    Other(String),
}

impl PreferenceValue {
    pub fn from_whatsapp(value: &str) -> PreferenceValue {
        match value {
            "stop" => PreferenceValue::Stop,
            "resume" => PreferenceValue::Resume,
            other => PreferenceValue::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PreferenceValue::Stop => "stop",
            PreferenceValue::Resume => "resume",
            PreferenceValue::Other(other) => other,
        }
    }
}

impl From<String> for PreferenceValue {
    fn from(value: String) -> Self {
        PreferenceValue::from_whatsapp(&value)
    }
}

impl From<PreferenceValue> for String {
    fn from(value: PreferenceValue) -> Self {
        value.as_str().to_owned()
    }
}

/// An error Meta reported for a whole change rather than for one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookError {
    pub phone_number_id: Option<PhoneNumberId>,
    pub code: i64,
    /// `title`, or `message` when Meta sent no title.
    pub title: String,
    pub raw: Personal<serde_json::Value>,
}

/// A change (or one item of it) Mizan does not model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherChange {
    /// The change's `field`.
    pub field: String,
    /// `value.metadata.phone_number_id` when present and well-formed.
    pub phone_number_id: Option<PhoneNumberId>,
    /// Always shaped like a change `value`: the whole value, or for one item, the value narrowed to
    /// that item (`metadata` and `contacts` kept), so it can be parsed again later.
    pub raw: Personal<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_values_read_and_write_as_meta_spells_them() {
        for text in ["stop", "resume", "signup"] {
            let value = PreferenceValue::from_whatsapp(text);
            assert_eq!(serde_json::to_value(&value).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<PreferenceValue>(text.into()).unwrap(),
                value
            );
        }
        assert_eq!(
            PreferenceValue::from_whatsapp("stop"),
            PreferenceValue::Stop
        );
        assert_eq!(
            PreferenceValue::from_whatsapp("signup"),
            PreferenceValue::Other("signup".into())
        );
    }
}
