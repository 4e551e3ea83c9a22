//! Mizan's own webhook bodies: shaped after Meta's documented payloads and the pywa SDK's test
//! fixtures (MIT), with made-up people, numbers (fictional 555-01xx and +33 6 39 98 ranges) and ids.
//! Most files map a case name to a complete POST body; the others are one body, byte for byte.

use serde_json::{Map, Value};

pub const MESSAGES: &str = include_str!("messages.json");
pub const CALLBACK_BUTTON: &str = include_str!("callback_button.json");
pub const CALLBACK_SELECTION: &str = include_str!("callback_selection.json");
pub const FLOW_COMPLETION: &str = include_str!("flow_completion.json");
pub const SYSTEM: &str = include_str!("system.json");
pub const EDITED_MESSAGE: &str = include_str!("edited_message.json");
pub const DELETED_MESSAGE: &str = include_str!("deleted_message.json");
pub const USER_PREFERENCES: &str = include_str!("user_preferences.json");
pub const STATUSES: &str = include_str!("statuses.json");
/// Template status, category and quality webhooks of business account `WABA_ID`.
pub const TEMPLATE_UPDATES: &str = include_str!("template_updates.json");
pub const OTHER_FIELDS: &str = include_str!("other_fields.json");
pub const MALFORMED: &str = include_str!("malformed.json");
/// Two entries, three changes: 2 messages, 3 statuses and 1 error, in that order.
pub const MULTI_ENTRY: &str = include_str!("multi_entry.json");
/// `messages.json`'s `text_arabic` as Meta sends it: non-ASCII text `\u`-escaped.
pub const TEXT_ARABIC_ESCAPED: &str = include_str!("text_arabic_escaped.json");

/// The business number every test body was sent to (`multi_entry.json`'s second entry aside).
pub const PHONE_NUMBER_ID: &str = "100000000000001";

/// The WhatsApp Business Account the template webhooks are for.
pub const WABA_ID: &str = "100000000000900";

/// Every case of a case file, by name.
pub fn cases(file: &str) -> Map<String, Value> {
    serde_json::from_str(file).expect("test data is a JSON object of cases")
}

/// One case's body, as the bytes a POST would carry.
pub fn case(file: &str, name: &str) -> Vec<u8> {
    let body = cases(file)
        .remove(name)
        .unwrap_or_else(|| panic!("no test case {name}"));
    serde_json::to_vec(&body).expect("a JSON value serializes")
}
