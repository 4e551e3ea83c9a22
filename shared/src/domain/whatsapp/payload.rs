//! Meta's webhook wire format as serde structs. Lenient: fields Mizan does not read are ignored here
//! (the raw values keep them), and an optional part of an unexpected shape reads as absent.

use crate::domain::time::Timestamp;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// The `object` of every WhatsApp Business Account delivery.
pub(super) const OBJECT: &str = "whatsapp_business_account";

/// A change's `value` for the `messages` and `user_preferences` fields.
#[derive(Deserialize)]
pub(super) struct WireValue {
    #[serde(default)]
    pub contacts: Vec<WireContact>,
    #[serde(default)]
    pub messages: Vec<Value>,
    #[serde(default)]
    pub statuses: Vec<Value>,
    #[serde(default)]
    pub errors: Vec<Value>,
    #[serde(default)]
    pub user_preferences: Vec<Value>,
}

/// `value.metadata`: which business number a change is about.
#[derive(Deserialize)]
pub(super) struct WireMetadata {
    #[serde(default, deserialize_with = "id")]
    pub phone_number_id: Option<String>,
}

/// `contacts[]`: who the people in a change are.
#[derive(Deserialize)]
pub(super) struct WireContact {
    #[serde(default, deserialize_with = "id")]
    pub wa_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub parent_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub profile: Option<WireProfile>,
}

#[derive(Deserialize)]
pub(super) struct WireProfile {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub username: Option<String>,
}

/// `messages[]`: the parts of an inbound message Mizan reads; the whole object is kept as content.
#[derive(Deserialize)]
pub(super) struct WireMessage {
    #[serde(default, deserialize_with = "id")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub from_user_id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<Value>,
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub context: Option<WireContext>,
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<WireText>,
    #[serde(default, deserialize_with = "lenient")]
    pub button: Option<WireButton>,
    #[serde(default, deserialize_with = "lenient")]
    pub interactive: Option<WireInteractive>,
    #[serde(default, deserialize_with = "lenient")]
    pub reaction: Option<WireReaction>,
    #[serde(default, deserialize_with = "lenient")]
    pub edit: Option<WireEdit>,
    #[serde(default, deserialize_with = "lenient")]
    pub revoke: Option<WireRevoke>,
    #[serde(default, deserialize_with = "lenient")]
    pub system: Option<WireSystem>,
}

#[derive(Deserialize)]
pub(super) struct WireContext {
    #[serde(default, deserialize_with = "id")]
    pub id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireText {
    #[serde(default, deserialize_with = "lenient")]
    pub body: Option<String>,
}

/// A template quick-reply button press (`type: button`).
#[derive(Deserialize)]
pub(super) struct WireButton {
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<String>,
    /// The button's payload, set by the business when it made the template.
    #[serde(default, deserialize_with = "lenient")]
    pub payload: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireInteractive {
    #[serde(default, deserialize_with = "lenient")]
    pub button_reply: Option<WireReply>,
    #[serde(default, deserialize_with = "lenient")]
    pub list_reply: Option<WireReply>,
}

#[derive(Deserialize)]
pub(super) struct WireReply {
    #[serde(default, deserialize_with = "lenient")]
    pub title: Option<String>,
    /// The reply's id, set by the business when it made the buttons or list.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireReaction {
    #[serde(default, deserialize_with = "id")]
    pub message_id: Option<String>,
}

/// `type: edit`: the original's id and the message as it now reads.
#[derive(Deserialize)]
pub(super) struct WireEdit {
    #[serde(default, deserialize_with = "id")]
    pub original_message_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub message: Option<WireEditedMessage>,
}

#[derive(Deserialize)]
pub(super) struct WireEditedMessage {
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<WireText>,
}

#[derive(Deserialize)]
pub(super) struct WireRevoke {
    #[serde(default, deserialize_with = "id")]
    pub original_message_id: Option<String>,
}

/// `type: system`. Number changes name the new number in `wa_id` (`new_wa_id` before Graph API
/// v12); business-scoped id changes carry the new ids beside `previous_user_id`.
#[derive(Deserialize)]
pub(super) struct WireSystem {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub wa_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub new_wa_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub parent_user_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub previous_user_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub previous_parent_user_id: Option<String>,
}

/// `statuses[]`: what happened to a message the business sent.
#[derive(Deserialize)]
pub(super) struct WireStatus {
    #[serde(default, deserialize_with = "id")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    #[serde(default)]
    pub timestamp: Option<Value>,
    #[serde(default, deserialize_with = "id")]
    pub recipient_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub recipient_user_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub recipient_parent_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub errors: Option<Vec<WireError>>,
}

/// An error object, in `statuses[].errors` or a change's `errors`. Some carry only `message`.
#[derive(Deserialize)]
pub(super) struct WireError {
    #[serde(default, deserialize_with = "lenient")]
    pub code: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub message: Option<String>,
}

impl WireError {
    pub fn title(&self) -> String {
        self.title
            .clone()
            .or_else(|| self.message.clone())
            .unwrap_or_default()
    }
}

/// `user_preferences[]`: a marketing stop/resume the user chose in WhatsApp.
#[derive(Deserialize)]
pub(super) struct WirePreference {
    #[serde(default, deserialize_with = "id")]
    pub wa_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub parent_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub value: Option<String>,
    #[serde(default)]
    pub timestamp: Option<Value>,
}

/// 9999-12-31T23:59:59Z: anything later is not a plausible Unix time in seconds.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Meta's timestamps: Unix seconds, usually as a string (`"1697043223"`), sometimes a number.
pub(super) fn unix_seconds(value: &Value) -> Option<Timestamp> {
    let seconds = match value {
        Value::String(text) => text.trim().parse::<i64>().ok()?,
        Value::Number(n) => match n.as_i64() {
            Some(whole) => whole,
            None => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_UNIX_SECONDS as f64)
                .map(|f| f as i64)?,
        },
        _ => return None,
    };
    (1..=MAX_UNIX_SECONDS)
        .contains(&seconds)
        .then(|| Timestamp::from_unix_seconds(seconds))
}

/// An identifier: a string, or a number Meta sent unquoted (`new_wa_id` once was). Empty is absent.
fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text).filter(|t| !t.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(D::Error::custom(
            "an identifier must be a string or a number",
        )),
    }
}

/// An optional part read as absent when its shape is unexpected: the raw value still has it.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_unix_seconds_as_strings_or_numbers() {
        let expected = Some(Timestamp::from_unix_seconds(1_767_225_600));
        assert_eq!(unix_seconds(&json!("1767225600")), expected);
        assert_eq!(unix_seconds(&json!(1_767_225_600)), expected);
        assert_eq!(unix_seconds(&json!(1_767_225_600.0)), expected);
    }

    #[test]
    fn implausible_timestamps_are_rejected() {
        for bad in [
            json!("soon"),
            json!(""),
            json!(0),
            json!(-5),
            json!(1_767_225_600.5),
            json!(1_767_225_600_000_i64 * 1000),
            json!(null),
            json!({"seconds": 1}),
        ] {
            assert_eq!(unix_seconds(&bad), None, "{bad}");
        }
    }

    #[test]
    fn identifiers_may_be_numbers_and_empty_means_absent() {
        let system: WireSystem = serde_json::from_value(
            json!({"type": "customer_changed_number", "new_wa_id": 15550100003_i64, "wa_id": ""}),
        )
        .unwrap();
        assert_eq!(system.new_wa_id.as_deref(), Some("15550100003"));
        assert_eq!(system.wa_id, None);
    }

    #[test]
    fn an_optional_part_of_unexpected_shape_reads_as_absent() {
        let message: WireMessage = serde_json::from_value(
            json!({"id": "wamid.X", "text": "not an object", "context": {"id": "wamid.Y"}}),
        )
        .unwrap();
        assert!(message.text.is_none());
        assert_eq!(
            message.context.and_then(|c| c.id).as_deref(),
            Some("wamid.Y")
        );
    }
}
