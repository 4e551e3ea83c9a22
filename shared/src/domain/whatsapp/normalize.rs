//! Wire format → domain items. Only a body that is not a WhatsApp delivery fails; inside one, a part
//! Mizan cannot read becomes `DeliveryItem::Other` with its raw value, and the rest still parses.

use super::delivery::{
    Delivery, DeliveryItem, InboundMessage, OtherChange, PreferenceChange, PreferenceValue,
    StatusReport, WebhookError,
};
use super::error::ParseError;
use super::identity::{self, Ids};
use super::payload::{
    unix_seconds, WireContact, WireError, WireMessage, WireMetadata, WirePreference, WireStatus,
    WireValue, OBJECT,
};
use crate::domain::ids::{PhoneNumberId, WabaId, Wamid};
use crate::domain::keywords;
use crate::domain::message::{DeliveryError, MessageKind, Status};
use crate::domain::personal::Personal;
use crate::domain::template::{
    LanguageCode, TemplateCategory, TemplateChange, TemplateName, TemplateUpdate,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Keys of a `messages` change value that Mizan models; any other is kept as `Other`.
const MESSAGES_KEYS: [&str; 6] = [
    "messaging_product",
    "metadata",
    "contacts",
    "messages",
    "statuses",
    "errors",
];
const PREFERENCES_KEYS: [&str; 4] = [
    "messaging_product",
    "metadata",
    "contacts",
    "user_preferences",
];
/// What an item narrowed out of a value keeps of it, so it reads as a value of its own.
const CONTEXT_KEYS: [&str; 3] = ["messaging_product", "metadata", "contacts"];

/// Parses one webhook POST body into every item it carries, in order.
pub fn parse_delivery(body: &[u8]) -> Result<Delivery, ParseError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Value::Object(mut root) = root else {
        return Err(ParseError::NotWhatsApp(
            "the body is not a JSON object".into(),
        ));
    };
    if root.get("object").and_then(Value::as_str) != Some(OBJECT) {
        return Err(ParseError::NotWhatsApp(format!(
            "`object` is not \"{OBJECT}\""
        )));
    }
    let entries = match root.remove("entry") {
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(invalid("entry", "expected a list")),
        None => return Err(ParseError::NotWhatsApp("no `entry` list".into())),
    };
    let mut items = Vec::new();
    for (i, mut entry) in entries.into_iter().enumerate() {
        let Some(Value::Array(changes)) = entry.get_mut("changes").map(Value::take) else {
            return Err(invalid(format!("entry[{i}].changes"), "expected a list"));
        };
        for (j, mut change) in changes.into_iter().enumerate() {
            let Some(field) = change
                .get("field")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                return Err(invalid(
                    format!("entry[{i}].changes[{j}].field"),
                    "expected a string",
                ));
            };
            let value = change.get_mut("value").map(Value::take).unwrap_or_default();
            match field.as_str() {
                "messages" => messages_change(value, &mut items),
                "user_preferences" => preferences_change(value, &mut items),
                TEMPLATE_STATUS | TEMPLATE_CATEGORY | TEMPLATE_QUALITY => {
                    items.push(match template_update(&field, &entry, &value) {
                        Some(update) => DeliveryItem::Template(update),
                        None => other(&field, value),
                    })
                }
                _ => items.push(other(&field, value)),
            }
        }
    }
    Ok(Delivery { items })
}

fn invalid(path: impl Into<String>, reason: &str) -> ParseError {
    ParseError::Invalid {
        path: path.into(),
        reason: reason.into(),
    }
}

/// A `messages` change: inbound messages, statuses of outbound ones, and change-level errors.
fn messages_change(value: Value, items: &mut Vec<DeliveryItem>) {
    const FIELD: &str = "messages";
    let (Some(map), Ok(wire)) = (value.as_object(), WireValue::deserialize(&value)) else {
        return items.push(other(FIELD, value));
    };
    let unknown = unknown_keys(map, &MESSAGES_KEYS);
    if wire.messages.is_empty() && wire.statuses.is_empty() && wire.errors.is_empty() {
        // e.g. a contacts-only update: nothing here Mizan models, so all of it is kept.
        return items.push(other(FIELD, value));
    }
    let phone = phone_number_id(&value);
    let Some(number) = phone.as_ref() else {
        if wire.messages.is_empty() && wire.statuses.is_empty() {
            return change_errors(map, None, &wire.errors, &unknown, items);
        }
        // Without the business number, messages and statuses cannot be placed with a tenant.
        return items.push(other(FIELD, value));
    };
    for raw in wire.messages {
        items.push(match inbound_message(number, &wire.contacts, &raw) {
            Some(message) => DeliveryItem::Message(message),
            None => narrowed_other(FIELD, map, "messages", raw),
        });
    }
    for raw in wire.statuses {
        items.push(match status_report(number, &wire.contacts, &raw) {
            Some(report) => DeliveryItem::Status(report),
            None => narrowed_other(FIELD, map, "statuses", raw),
        });
    }
    change_errors(map, phone.clone(), &wire.errors, &unknown, items);
}

/// The change-level `errors[]`, then whatever else the value holds that Mizan does not model.
fn change_errors(
    map: &Map<String, Value>,
    phone: Option<PhoneNumberId>,
    errors: &[Value],
    unknown: &[String],
    items: &mut Vec<DeliveryItem>,
) {
    const FIELD: &str = "messages";
    for raw in errors {
        let wire = WireError::deserialize(raw).ok();
        items.push(
            match wire.as_ref().and_then(|e| e.code.map(|code| (e, code))) {
                Some((error, code)) => DeliveryItem::Error(WebhookError {
                    phone_number_id: phone.clone(),
                    code,
                    title: error.title(),
                    raw: Personal::new(raw.clone()),
                }),
                None => narrowed_other(FIELD, map, "errors", raw.clone()),
            },
        );
    }
    if !unknown.is_empty() {
        items.push(unknown_other(FIELD, map, unknown));
    }
}

fn inbound_message(
    phone: &PhoneNumberId,
    contacts: &[WireContact],
    raw: &Value,
) -> Option<InboundMessage> {
    let wire = WireMessage::deserialize(raw).ok()?;
    let wamid = Wamid::new(wire.id.clone()?);
    let sent_at = unix_seconds(wire.timestamp.as_ref()?)?;
    let kind = wire
        .kind
        .as_deref()
        .map_or(MessageKind::Unknown, MessageKind::from_whatsapp);
    let identity_change = match kind {
        MessageKind::System => identity::identity_change(&wire),
        _ => None,
    };
    // An identity change comes from the person as the business knew them, whichever of the old
    // and new ids `from_user_id` carries.
    let sender = match &identity_change {
        Some(change) => change.old.clone(),
        None => identity::profile(
            Ids {
                wa_id: wire.from.as_deref(),
                user_id: wire.from_user_id.as_deref(),
                parent_user_id: None,
            },
            contacts,
        )?,
    };
    Some(InboundMessage {
        phone_number_id: phone.clone(),
        wamid,
        sender,
        sent_at,
        kind,
        keyword_text: keyword_text(&wire, kind),
        reply_to: wire
            .context
            .as_ref()
            .and_then(|c| c.id.clone())
            .map(Wamid::new),
        references: references(&wire, kind).map(Wamid::new),
        identity_change,
        content: Personal::new(raw.clone()),
    })
}

/// The text a contact typed or chose, where an opt-out keyword could be. An edit counts: a message
/// edited to say STOP is an opt-out as much as a new one. A button (or reply) counts by its text
/// or, when only that is a keyword, by the payload (or id) the business gave it: a quick-reply
/// "Stop promotions" whose payload is `STOP` is an opt-out.
fn keyword_text(wire: &WireMessage, kind: MessageKind) -> Option<Personal<String>> {
    let chosen = |text: &Option<String>, payload: &Option<String>| {
        let is_keyword = |v: &Option<String>| v.as_deref().and_then(keywords::classify).is_some();
        if !is_keyword(text) && is_keyword(payload) {
            payload.clone()
        } else {
            text.clone()
        }
    };
    let text = match kind {
        MessageKind::Text => wire.text.as_ref().and_then(|t| t.body.clone()),
        MessageKind::Button => wire
            .button
            .as_ref()
            .and_then(|b| chosen(&b.text, &b.payload)),
        MessageKind::Interactive => wire.interactive.as_ref().and_then(|i| {
            i.button_reply
                .as_ref()
                .or(i.list_reply.as_ref())
                .and_then(|reply| chosen(&reply.title, &reply.id))
        }),
        MessageKind::Edit => wire
            .edit
            .as_ref()
            .and_then(|e| e.message.as_ref())
            .and_then(|m| m.text.as_ref())
            .and_then(|t| t.body.clone()),
        _ => None,
    };
    text.filter(|t| !t.trim().is_empty()).map(Personal::from)
}

/// The message a reaction, edit or revoke acts on.
fn references(wire: &WireMessage, kind: MessageKind) -> Option<String> {
    match kind {
        MessageKind::Reaction => wire.reaction.as_ref()?.message_id.clone(),
        MessageKind::Edit => wire.edit.as_ref()?.original_message_id.clone(),
        MessageKind::Revoke => wire.revoke.as_ref()?.original_message_id.clone(),
        _ => None,
    }
}

/// `None` for a status Mizan cannot apply: no id, no valid timestamp, or a status string it does
/// not know (e.g. `deleted`, `warning`).
fn status_report(
    phone: &PhoneNumberId,
    contacts: &[WireContact],
    raw: &Value,
) -> Option<StatusReport> {
    let wire = WireStatus::deserialize(raw).ok()?;
    let status = Status::from_whatsapp(wire.status.as_deref()?)?;
    let at = unix_seconds(wire.timestamp.as_ref()?)?;
    let recipient = identity::profile(
        Ids {
            wa_id: wire.recipient_id.as_deref(),
            user_id: wire.recipient_user_id.as_deref(),
            parent_user_id: wire.recipient_parent_user_id.as_deref(),
        },
        contacts,
    )
    .unwrap_or_default();
    let errors = wire
        .errors
        .iter()
        .flatten()
        .filter_map(|e| {
            e.code.map(|code| DeliveryError {
                code,
                title: e.title(),
            })
        })
        .collect();
    Some(StatusReport {
        phone_number_id: phone.clone(),
        wamid: Wamid::new(wire.id?),
        status,
        at,
        recipient,
        errors,
        raw: Personal::new(raw.clone()),
    })
}

/// A `user_preferences` change: marketing stop/resume chosen in WhatsApp.
fn preferences_change(value: Value, items: &mut Vec<DeliveryItem>) {
    const FIELD: &str = "user_preferences";
    let (Some(map), Ok(wire)) = (value.as_object(), WireValue::deserialize(&value)) else {
        return items.push(other(FIELD, value));
    };
    let Some(number) = phone_number_id(&value).filter(|_| !wire.user_preferences.is_empty()) else {
        return items.push(other(FIELD, value));
    };
    for raw in wire.user_preferences {
        items.push(match preference_change(&number, &wire.contacts, &raw) {
            Some(change) => DeliveryItem::Preference(change),
            None => narrowed_other(FIELD, map, "user_preferences", raw),
        });
    }
    let unknown = unknown_keys(map, &PREFERENCES_KEYS);
    if !unknown.is_empty() {
        items.push(unknown_other(FIELD, map, &unknown));
    }
}

fn preference_change(
    phone: &PhoneNumberId,
    contacts: &[WireContact],
    raw: &Value,
) -> Option<PreferenceChange> {
    let wire = WirePreference::deserialize(raw).ok()?;
    let user = identity::profile(
        Ids {
            wa_id: wire.wa_id.as_deref(),
            user_id: wire.user_id.as_deref(),
            parent_user_id: wire.parent_user_id.as_deref(),
        },
        contacts,
    )?;
    Some(PreferenceChange {
        phone_number_id: phone.clone(),
        user,
        category: wire.category.filter(|c| !c.is_empty())?,
        value: PreferenceValue::from_whatsapp(wire.value.as_deref()?),
        at: unix_seconds(wire.timestamp.as_ref()?)?,
        raw: Personal::new(raw.clone()),
    })
}

const TEMPLATE_STATUS: &str = "message_template_status_update";
const TEMPLATE_CATEGORY: &str = "template_category_update";
const TEMPLATE_QUALITY: &str = "message_template_quality_update";

/// A template webhook: the entry names the business account and the time; the value names the
/// template (id, name, language) and what changed. `None` when any of that is missing.
fn template_update(field: &str, entry: &Value, value: &Value) -> Option<TemplateUpdate> {
    let account = WabaId::parse(entry.get("id")?.as_str()?).ok()?;
    let at = unix_seconds(entry.get("time")?)?;
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let meta_id = match value.get("message_template_id")? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let change = match field {
        TEMPLATE_STATUS => TemplateChange::Status {
            event: text("event")?.to_owned(),
            reason: text("reason").map(str::to_owned),
            category: text("message_template_category").and_then(TemplateCategory::parse),
        },
        TEMPLATE_CATEGORY => TemplateChange::Category {
            new: TemplateCategory::parse(text("new_category")?)?,
        },
        _ => TemplateChange::Quality {
            new: text("new_quality_score")?.to_owned(),
        },
    };
    Some(TemplateUpdate {
        account,
        meta_id: Some(meta_id),
        name: TemplateName::parse(text("message_template_name")?).ok()?,
        language: LanguageCode::parse(text("message_template_language")?).ok()?,
        at,
        change,
    })
}

/// `value.metadata.phone_number_id`, if it is a well-formed id (never a placeholder like
/// `<BUSINESS_PHONE_NUMBER_ID>`, which could not name a tenant and must not reach a storage key).
fn phone_number_id(value: &Value) -> Option<PhoneNumberId> {
    let metadata = WireMetadata::deserialize(value.get("metadata")?).ok()?;
    PhoneNumberId::parse(&metadata.phone_number_id?).ok()
}

fn other(field: &str, value: Value) -> DeliveryItem {
    DeliveryItem::Other(OtherChange {
        field: field.to_owned(),
        phone_number_id: phone_number_id(&value),
        raw: Personal::new(value),
    })
}

/// One item kept as `Other`, as a value of its own: `{metadata, contacts, <key>: [item]}`.
fn narrowed_other(field: &str, map: &Map<String, Value>, key: &str, item: Value) -> DeliveryItem {
    let mut value = context_of(map);
    value.insert(key.to_owned(), Value::Array(vec![item]));
    other(field, Value::Object(value))
}

/// The keys of a value Mizan does not model, kept together as one `Other`.
fn unknown_other(field: &str, map: &Map<String, Value>, unknown: &[String]) -> DeliveryItem {
    let mut value = context_of(map);
    for key in unknown {
        if let Some(v) = map.get(key) {
            value.insert(key.clone(), v.clone());
        }
    }
    other(field, Value::Object(value))
}

fn context_of(map: &Map<String, Value>) -> Map<String, Value> {
    CONTEXT_KEYS
        .iter()
        .filter_map(|key| map.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect()
}

fn unknown_keys(map: &Map<String, Value>, known: &[&str]) -> Vec<String> {
    map.keys()
        .filter(|key| !known.contains(&key.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::ContactProfile;
    use crate::domain::message::MessageKind::*;
    use crate::domain::time::Timestamp;
    use crate::domain::whatsapp::testdata::{self, *};

    fn items(body: &[u8]) -> Vec<DeliveryItem> {
        parse_delivery(body).expect("a valid delivery").items
    }

    fn case_items(file: &str, name: &str) -> Vec<DeliveryItem> {
        items(&testdata::case(file, name))
    }

    fn message(file: &str, name: &str) -> InboundMessage {
        match case_items(file, name).as_slice() {
            [DeliveryItem::Message(m)] => m.clone(),
            other => panic!("{name}: expected one message, got {other:?}"),
        }
    }

    fn status(name: &str) -> StatusReport {
        match case_items(STATUSES, name).as_slice() {
            [DeliveryItem::Status(s)] => s.clone(),
            other => panic!("{name}: expected one status, got {other:?}"),
        }
    }

    fn preference(name: &str) -> PreferenceChange {
        match case_items(USER_PREFERENCES, name).as_slice() {
            [DeliveryItem::Preference(p)] => p.clone(),
            other => panic!("{name}: expected one preference, got {other:?}"),
        }
    }

    fn as_other(item: &DeliveryItem) -> &OtherChange {
        match item {
            DeliveryItem::Other(o) => o,
            other => panic!("expected Other, got {other:?}"),
        }
    }

    fn text(value: &Option<Personal<String>>) -> Option<&str> {
        value.as_ref().map(|t| t.expose().as_str())
    }

    fn wamid(value: &Option<Wamid>) -> Option<&str> {
        value.as_ref().map(Wamid::as_str)
    }

    fn first_change_value(file: &str, name: &str) -> Value {
        testdata::cases(file)[name]["entry"][0]["changes"][0]["value"].clone()
    }

    /// Every case of a file is one inbound message of the expected kind, whose ids, time and
    /// content are the message object's own.
    fn assert_every_case_is_a_message(file: &str, expected: &[(&str, MessageKind)]) {
        let cases = testdata::cases(file);
        assert_eq!(cases.len(), expected.len(), "every case has an expectation");
        for (name, kind) in expected {
            let items = case_items(file, name);
            let DeliveryItem::Message(m) = &items[0] else {
                panic!("{name}: expected a message first, got {items:?}");
            };
            let raw = &first_change_value(file, name)["messages"][0];
            assert_eq!(m.kind, *kind, "{name}");
            assert_eq!(m.phone_number_id.as_str(), PHONE_NUMBER_ID, "{name}");
            assert_eq!(Some(m.wamid.as_str()), raw["id"].as_str(), "{name}");
            assert_eq!(Some(m.sent_at), unix_seconds(&raw["timestamp"]), "{name}");
            assert_eq!(text(&m.sender.wa_id), raw["from"].as_str(), "{name}");
            match (&m.identity_change, raw["from_user_id"].as_str()) {
                (Some(change), _) => assert_eq!(m.sender, change.old, "{name}"),
                (None, Some(user_id)) => {
                    assert_eq!(text(&m.sender.user_id), Some(user_id), "{name}")
                }
                (None, None) => {}
            }
            assert_eq!(
                m.content.expose(),
                raw,
                "{name}: content is the whole message"
            );
        }
    }

    #[test]
    fn every_message_case_is_an_inbound_message_of_its_kind() {
        assert_every_case_is_a_message(
            MESSAGES,
            &[
                ("text", Text),
                ("text_french", Text),
                ("text_arabic", Text),
                ("text_without_user_id", Text),
                ("text_username_only", Text),
                ("image", Image),
                ("media_with_url", Image),
                ("video", Video),
                ("document", Document),
                ("audio", Audio),
                ("voice", Audio),
                ("static_sticker", Sticker),
                ("animated_sticker", Sticker),
                ("reaction", Reaction),
                ("unreaction_empty", Reaction),
                ("unreaction_no_emoji", Reaction),
                ("current_location", Location),
                ("chosen_location", Location),
                ("contacts", Contacts),
                ("order", Order),
                ("unsupported", Unsupported),
                ("unsupported_with_type", Unsupported),
                ("reply", Text),
                ("forwarded", Text),
                ("forwarded_many_times", Text),
                ("interactive_message_with_err", Interactive),
                ("referral", Text),
                ("request_welcome", RequestWelcome),
                ("unknown_type", Unknown),
            ],
        );
    }

    #[test]
    fn every_reply_edit_and_revoke_case_is_an_inbound_message_of_its_kind() {
        let button = [
            ("button", Interactive),
            ("quick_reply", Button),
            ("quick_reply_without_context", Button),
        ];
        assert_every_case_is_a_message(CALLBACK_BUTTON, &button);
        let selection = [("callback", Interactive), ("description", Interactive)];
        assert_every_case_is_a_message(CALLBACK_SELECTION, &selection);
        let flow = [
            ("completion", Interactive),
            ("without_flow_token", Interactive),
        ];
        assert_every_case_is_a_message(FLOW_COMPLETION, &flow);
        assert_every_case_is_a_message(EDITED_MESSAGE, &[("image", Edit), ("text", Edit)]);
        let deleted = [("revoke", Revoke), ("revoke_username_only", Revoke)];
        assert_every_case_is_a_message(DELETED_MESSAGE, &deleted);
        let system = [
            ("phone_number_change", System),
            ("phone_number_change_with_user_ids", System),
            ("legacy_customer_changed_number", System),
            ("user_id_change", System),
            ("identity_change", System),
        ];
        assert_every_case_is_a_message(SYSTEM, &system);
    }

    #[test]
    fn a_single_message_case_yields_exactly_one_item() {
        for (file, name) in [
            (MESSAGES, "text"),
            (CALLBACK_BUTTON, "button"),
            (SYSTEM, "user_id_change"),
        ] {
            assert_eq!(case_items(file, name).len(), 1, "{name}");
        }
    }

    #[test]
    fn sender_is_completed_from_the_contact_with_the_same_wa_id() {
        // Given a message naming only `from`, and a contact with that wa_id and a user id
        let m = message(MESSAGES, "text");
        // Then the sender carries both ids, the parent id and the profile name
        assert_eq!(text(&m.sender.wa_id), Some("15550100001"));
        assert_eq!(text(&m.sender.user_id), Some("US.10000000000000000001"));
        assert_eq!(
            text(&m.sender.parent_user_id),
            Some("US.ENT.10000000000000000009")
        );
        assert_eq!(text(&m.sender.name), Some("أمينة بنعلي"));
        assert_eq!(m.sender.username, None);
    }

    #[test]
    fn a_sender_from_before_business_scoped_ids_has_only_a_wa_id() {
        let m = message(MESSAGES, "text_without_user_id");
        assert_eq!(text(&m.sender.wa_id), Some("15550100002"));
        assert_eq!(m.sender.user_id, None);
        assert_eq!(text(&m.sender.name), Some("Sam Carter"));
    }

    #[test]
    fn a_message_with_only_from_user_id_and_a_username_has_no_wa_id() {
        for (file, name) in [
            (MESSAGES, "text_username_only"),
            (DELETED_MESSAGE, "revoke_username_only"),
        ] {
            let m = message(file, name);
            assert_eq!(m.sender.wa_id, None, "{name}");
            assert_eq!(
                text(&m.sender.user_id),
                Some("MA.40000000000000000004"),
                "{name}"
            );
            assert_eq!(
                text(&m.sender.parent_user_id),
                Some("MA.ENT.40000000000000000009")
            );
            assert_eq!(text(&m.sender.username), Some("noor.designs"), "{name}");
            assert_eq!(text(&m.sender.name), Some("Noor"), "{name}");
        }
    }

    #[test]
    fn a_button_whose_payload_is_an_opt_out_keyword_counts_as_that_keyword() {
        let pressed = |button: serde_json::Value| {
            let body = serde_json::json!({
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100000", "phone_number_id": "1"},
                    "contacts": [{"profile": {"name": "Amina"}, "wa_id": "212600000000"}],
                    "messages": [{"from": "212600000000", "id": "wamid.B1", "timestamp": "1767225600",
                                  "type": "button", "button": button}]
                }}]}]
            });
            let delivery = parse_delivery(body.to_string().as_bytes()).unwrap();
            match delivery.items.as_slice() {
                [DeliveryItem::Message(m)] => m.keyword_text.as_ref().map(|t| t.expose().clone()),
                other => panic!("expected one message, got {other:?}"),
            }
        };
        assert_eq!(
            pressed(serde_json::json!({"text": "Stop promotions", "payload": "STOP"})).as_deref(),
            Some("STOP"),
            "the payload names the keyword"
        );
        assert_eq!(
            pressed(serde_json::json!({"text": "ARRÊT", "payload": "unsubscribe-42"})).as_deref(),
            Some("ARRÊT"),
            "the text is a keyword itself"
        );
        assert_eq!(
            pressed(serde_json::json!({"text": "Yes please", "payload": "CONFIRM_ORDER"}))
                .as_deref(),
            Some("Yes please"),
            "neither is a keyword: the text, as before"
        );
    }

    #[test]
    fn keyword_text_comes_from_text_buttons_replies_and_edits() {
        let expected = [
            (
                MESSAGES,
                "text_french",
                Some("Bonjour ! Je ne veux plus recevoir de messages. ARRÊT"),
            ),
            (
                MESSAGES,
                "text_arabic",
                Some("مرحبا، أريد إيقاف الرسائل من فضلك"),
            ),
            (CALLBACK_BUTTON, "button", Some("Se désabonner")),
            (CALLBACK_BUTTON, "quick_reply", Some("إيقاف")),
            (CALLBACK_BUTTON, "quick_reply_without_context", Some("STOP")),
            (
                CALLBACK_SELECTION,
                "description",
                Some("Livraison en soirée"),
            ),
            (EDITED_MESSAGE, "text", Some("Bonjour ! Finalement, STOP")),
            (EDITED_MESSAGE, "image", None),
            (MESSAGES, "video", None),
            (MESSAGES, "reaction", None),
            (MESSAGES, "order", None),
            (FLOW_COMPLETION, "completion", None),
            (MESSAGES, "interactive_message_with_err", None),
        ];
        for (file, name, keyword) in expected {
            assert_eq!(
                text(&message_or_first(file, name).keyword_text),
                keyword,
                "{name}"
            );
        }
    }

    fn message_or_first(file: &str, name: &str) -> InboundMessage {
        match case_items(file, name).into_iter().next() {
            Some(DeliveryItem::Message(m)) => m,
            other => panic!("{name}: expected a message, got {other:?}"),
        }
    }

    #[test]
    fn escaped_and_literal_arabic_parse_to_the_same_message() {
        let escaped = items(TEXT_ARABIC_ESCAPED.as_bytes());
        assert!(TEXT_ARABIC_ESCAPED.is_ascii());
        assert_eq!(escaped, case_items(MESSAGES, "text_arabic"));
    }

    #[test]
    fn replies_carry_the_context_id_and_forwards_do_not() {
        assert_eq!(
            wamid(&message(MESSAGES, "reply").reply_to),
            Some("wamid.OUTBOUND0002=")
        );
        assert_eq!(
            wamid(&message(CALLBACK_BUTTON, "button").reply_to),
            Some("wamid.OUTBOUND0004=")
        );
        assert_eq!(message(MESSAGES, "forwarded").reply_to, None);
        assert_eq!(message(MESSAGES, "text").reply_to, None);
    }

    #[test]
    fn reactions_edits_and_revokes_reference_the_message_they_act_on() {
        for name in ["reaction", "unreaction_empty", "unreaction_no_emoji"] {
            let m = message(MESSAGES, name);
            assert_eq!(wamid(&m.references), Some("wamid.OUTBOUND0001="), "{name}");
        }
        let edit = message(EDITED_MESSAGE, "image");
        let original = message(MESSAGES, "image").wamid;
        assert_eq!(edit.references.as_ref(), Some(&original));
        // The edited message's own context (`M0`) is not what the edit replies to.
        assert_eq!(edit.reply_to, None);
        let revoke = message(DELETED_MESSAGE, "revoke");
        assert_eq!(
            revoke.references,
            Some(message(MESSAGES, "text_arabic").wamid)
        );
        assert_eq!(message(MESSAGES, "reply").references, None);
    }

    #[test]
    fn a_voice_note_is_audio_with_voice_kept_in_content() {
        let voice = message(MESSAGES, "voice");
        assert_eq!(voice.kind, Audio);
        assert_eq!(voice.content.expose()["audio"]["voice"], true);
        assert_eq!(
            message(MESSAGES, "audio").content.expose()["audio"]["voice"],
            false
        );
    }

    #[test]
    fn an_unknown_message_type_is_unknown_with_its_content_kept() {
        let m = message(MESSAGES, "unknown_type");
        assert_eq!(m.kind, Unknown);
        assert_eq!(m.content.expose()["type"], "hologram");
        assert_eq!(m.content.expose()["hologram"]["frames"], 24);
        assert_eq!(m.keyword_text, None);
    }

    #[test]
    fn a_message_s_own_errors_stay_in_its_content() {
        let m = message(MESSAGES, "unsupported_with_type");
        assert_eq!(m.content.expose()["errors"][0]["code"], 131051);
        assert_eq!(m.content.expose()["unsupported"]["type"], "poll");
    }

    #[test]
    fn change_level_errors_follow_the_messages_of_their_change() {
        let items = case_items(MESSAGES, "interactive_message_with_err");
        let [DeliveryItem::Message(m), DeliveryItem::Error(e)] = items.as_slice() else {
            panic!("expected a message then an error, got {items:?}");
        };
        assert_eq!(m.kind, Interactive);
        assert_eq!(e.code, 131000);
        assert_eq!(e.title, "Something went wrong");
        assert_eq!(
            e.phone_number_id.as_ref().map(PhoneNumberId::as_str),
            Some(PHONE_NUMBER_ID)
        );
        assert_eq!(
            e.raw.expose()["error_data"]["details"],
            "Unsupported webhook payload"
        );
    }

    #[test]
    fn every_status_case_parses_with_its_status_and_ids() {
        let expected = [
            ("sent", Some(Status::Sent)),
            ("delivered", Some(Status::Delivered)),
            ("read", Some(Status::Read)),
            ("played", Some(Status::Played)),
            ("failed", Some(Status::Failed)),
            ("with_tracker", Some(Status::Sent)),
            ("with_recipient_user_id", Some(Status::Delivered)),
            ("username_only", Some(Status::Read)),
            ("group", Some(Status::Read)),
            ("unknown_status", None),
        ];
        assert_eq!(testdata::cases(STATUSES).len(), expected.len());
        for (name, expected) in expected {
            let raw = &first_change_value(STATUSES, name)["statuses"][0];
            let Some(expected) = expected else {
                continue;
            };
            let s = status(name);
            assert_eq!(s.status, expected, "{name}");
            assert_eq!(Some(s.wamid.as_str()), raw["id"].as_str(), "{name}");
            assert_eq!(Some(s.at), unix_seconds(&raw["timestamp"]), "{name}");
            assert_eq!(s.phone_number_id.as_str(), PHONE_NUMBER_ID, "{name}");
            assert_eq!(s.raw.expose(), raw, "{name}: raw is the whole status");
            assert_eq!(
                text(&s.recipient.wa_id),
                raw["recipient_id"].as_str(),
                "{name}"
            );
        }
    }

    #[test]
    fn a_status_recipient_is_completed_from_contacts() {
        let sent = status("sent");
        assert_eq!(text(&sent.recipient.wa_id), Some("15550100001"));
        assert_eq!(
            text(&sent.recipient.user_id),
            Some("US.10000000000000000001")
        );
        assert_eq!(text(&sent.recipient.name), Some("أمينة بنعلي"));
        let by_user_id = status("with_recipient_user_id");
        assert_eq!(
            text(&by_user_id.recipient.user_id),
            Some("FR.20000000000000000002")
        );
        // A group's id matches no contact: no one else's profile is borrowed.
        let group = status("group");
        assert_eq!(text(&group.recipient.wa_id), Some("120000000000000001"));
        assert_eq!(group.recipient.name, None);
        assert_eq!(group.recipient.user_id, None);
    }

    #[test]
    fn a_status_recipient_may_be_a_user_id_only() {
        let s = status("username_only");
        assert_eq!(s.recipient.wa_id, None);
        assert_eq!(text(&s.recipient.user_id), Some("MA.40000000000000000004"));
        assert_eq!(text(&s.recipient.username), Some("noor.designs"));
    }

    #[test]
    fn a_failed_status_carries_code_and_title_and_the_rest_stays_raw() {
        let failed = status("failed");
        assert_eq!(
            failed.errors,
            vec![DeliveryError {
                code: 131047,
                title: "Re-engagement message".into()
            }]
        );
        assert!(status("sent").errors.is_empty());
        let tracked = status("with_tracker");
        assert_eq!(
            tracked.raw.expose()["biz_opaque_callback_data"],
            "campaign-ramadan-1"
        );
        assert_eq!(tracked.raw.expose()["pricing"]["category"], "service");
    }

    #[test]
    fn an_unknown_status_string_is_kept_as_other() {
        let items = case_items(STATUSES, "unknown_status");
        let [item] = items.as_slice() else {
            panic!("expected one item, got {items:?}");
        };
        let other = as_other(item);
        assert_eq!(other.field, "messages");
        assert_eq!(
            other.phone_number_id.as_ref().map(PhoneNumberId::as_str),
            Some(PHONE_NUMBER_ID)
        );
        assert_eq!(other.raw.expose()["statuses"][0]["status"], "deleted");
        assert_eq!(
            other.raw.expose()["metadata"]["phone_number_id"],
            PHONE_NUMBER_ID
        );
    }

    fn identity_change(name: &str) -> (ContactProfile, ContactProfile) {
        let change = message(SYSTEM, name)
            .identity_change
            .unwrap_or_else(|| panic!("{name}: expected an identity change"));
        (change.old, change.new)
    }

    fn ids(profile: &ContactProfile) -> (Option<&str>, Option<&str>, Option<&str>) {
        (
            text(&profile.wa_id),
            text(&profile.user_id),
            text(&profile.parent_user_id),
        )
    }

    #[test]
    fn a_number_change_links_the_old_and_new_wa_id() {
        let (old, new) = identity_change("phone_number_change");
        assert_eq!(ids(&old), (Some("15550100002"), None, None));
        assert_eq!(ids(&new), (Some("15550100003"), None, None));
        let (old, new) = identity_change("legacy_customer_changed_number");
        assert_eq!(ids(&old), (Some("15550100002"), None, None));
        assert_eq!(ids(&new), (Some("15550100003"), None, None));
    }

    #[test]
    fn a_number_change_with_business_scoped_ids_links_both_ids() {
        let (old, new) = identity_change("phone_number_change_with_user_ids");
        assert_eq!(
            message(SYSTEM, "phone_number_change_with_user_ids").sender,
            old
        );
        assert_eq!(
            ids(&old),
            (
                Some("15550100001"),
                Some("US.10000000000000000001"),
                Some("US.ENT.10000000000000000009")
            )
        );
        assert_eq!(
            ids(&new),
            (
                Some("15550100004"),
                Some("US.10000000000000000005"),
                Some("US.ENT.10000000000000000019")
            )
        );
    }

    #[test]
    fn a_user_id_change_links_the_previous_and_new_user_id() {
        let m = message(SYSTEM, "user_id_change");
        // The sender is the identity the business knows, though `from_user_id` is the new id.
        assert_eq!(
            ids(&m.sender),
            (
                None,
                Some("MA.40000000000000000004"),
                Some("MA.ENT.40000000000000000009")
            )
        );
        let change = m.identity_change.expect("an identity change");
        assert_eq!(
            ids(&change.old),
            (
                None,
                Some("MA.40000000000000000004"),
                Some("MA.ENT.40000000000000000009")
            )
        );
        assert_eq!(
            ids(&change.new),
            (
                None,
                Some("MA.40000000000000000006"),
                Some("MA.ENT.40000000000000000019")
            )
        );
    }

    #[test]
    fn a_security_code_change_is_not_an_identity_change() {
        let m = message(SYSTEM, "identity_change");
        assert_eq!(m.kind, System);
        assert_eq!(m.identity_change, None);
        assert_eq!(m.content.expose()["identity"]["acknowledged"], true);
        assert_eq!(text(&m.sender.name), Some("Élodie Martin"));
    }

    #[test]
    fn only_system_messages_announce_identity_changes() {
        for (file, name) in [
            (MESSAGES, "text"),
            (EDITED_MESSAGE, "text"),
            (DELETED_MESSAGE, "revoke"),
        ] {
            assert_eq!(message(file, name).identity_change, None, "{name}");
        }
    }

    #[test]
    fn marketing_stop_and_resume_become_preference_changes() {
        let stop = preference("stop");
        assert_eq!(stop.value, PreferenceValue::Stop);
        assert_eq!(stop.category, "marketing_messages");
        assert_eq!(stop.at, Timestamp::from_unix_seconds(1_767_226_000));
        assert_eq!(stop.phone_number_id.as_str(), PHONE_NUMBER_ID);
        assert_eq!(text(&stop.user.wa_id), Some("33639980001"));
        assert_eq!(text(&stop.user.user_id), Some("FR.20000000000000000002"));
        assert_eq!(text(&stop.user.name), Some("Élodie Martin"));
        assert_eq!(
            stop.raw.expose()["detail"],
            "User requested to stop marketing messages"
        );

        let resume = preference("resume");
        assert_eq!(resume.value, PreferenceValue::Resume);
        assert_eq!(text(&resume.user.user_id), Some("US.10000000000000000001"));
    }

    #[test]
    fn a_preference_value_mizan_does_not_know_is_kept_as_written() {
        let signup = preference("signup");
        assert_eq!(signup.value, PreferenceValue::Other("signup".into()));
        assert_eq!(signup.raw.expose()["signup_id"], "800000000000001");
    }

    #[test]
    fn a_username_only_user_can_stop_marketing() {
        let stop = preference("stop_username_only");
        assert_eq!(stop.value, PreferenceValue::Stop);
        assert_eq!(stop.user.wa_id, None);
        assert_eq!(text(&stop.user.user_id), Some("MA.40000000000000000004"));
        assert_eq!(text(&stop.user.username), Some("noor.designs"));
        assert_eq!(stop.at, Timestamp::from_unix_seconds(1_767_226_003));
    }

    #[test]
    fn every_other_field_is_kept_raw_as_other() {
        let cases = testdata::cases(OTHER_FIELDS);
        assert!(cases.len() >= 7);
        for (name, body) in cases {
            let items = items(&serde_json::to_vec(&body).unwrap());
            let change = &body["entry"][0]["changes"][0];
            let [item] = items.as_slice() else {
                panic!("{name}: expected one item, got {items:?}");
            };
            let other = as_other(item);
            assert_eq!(other.field, change["field"], "{name}");
            assert_eq!(
                other.raw.expose(),
                &change["value"],
                "{name}: nothing dropped"
            );
            let expected_phone = change["value"]["metadata"]["phone_number_id"].as_str();
            assert_eq!(
                other.phone_number_id.as_ref().map(PhoneNumberId::as_str),
                expected_phone
            );
        }
    }

    #[test]
    fn template_webhooks_name_the_account_the_template_and_the_change() {
        let update = |name: &str| match case_items(TEMPLATE_UPDATES, name).as_slice() {
            [DeliveryItem::Template(u)] => u.clone(),
            other => panic!("{name}: expected one template update, got {other:?}"),
        };
        let approved = update("status_approved");
        assert_eq!(approved.account.as_str(), WABA_ID);
        assert_eq!(approved.meta_id.as_deref(), Some("1000000000000001"));
        assert_eq!(
            (approved.name.as_str(), approved.language.as_str()),
            ("order_update", "en_US")
        );
        assert_eq!(approved.at, Timestamp::from_unix_seconds(1_767_225_600));
        assert_eq!(
            approved.change,
            TemplateChange::Status {
                event: "APPROVED".into(),
                reason: Some("NONE".into()),
                category: Some(TemplateCategory::Utility),
            }
        );
        assert_eq!(
            update("category_marketing").change,
            TemplateChange::Category {
                new: TemplateCategory::Marketing
            }
        );
        assert_eq!(
            update("quality_yellow").change,
            TemplateChange::Quality {
                new: "YELLOW".into()
            }
        );
        for unreadable in [
            "status_without_template_name",
            "category_update_with_a_name_meta_does_not_allow",
        ] {
            let items = case_items(TEMPLATE_UPDATES, unreadable);
            let [item] = items.as_slice() else {
                panic!("{unreadable}")
            };
            assert!(
                as_other(item)
                    .raw
                    .expose()
                    .get("message_template_id")
                    .is_some(),
                "kept raw"
            );
        }
    }

    #[test]
    fn message_echoes_are_other_never_inbound_messages() {
        for name in ["message_echo", "message_echo_edit"] {
            let items = case_items(OTHER_FIELDS, name);
            assert!(
                matches!(items.as_slice(), [DeliveryItem::Other(o)] if o.field == "smb_message_echoes")
            );
        }
        let items = case_items(MALFORMED, "unknown_key_beside_messages");
        let [DeliveryItem::Message(m), DeliveryItem::Other(echoes)] = items.as_slice() else {
            panic!("expected the message, then the echoes kept raw, got {items:?}");
        };
        assert_eq!(text(&m.keyword_text), Some("hi"));
        let raw = echoes.raw.expose();
        assert_eq!(raw["message_echoes"][0]["id"], "wamid.ECHO0003=");
        assert!(
            raw.get("messages").is_none(),
            "the parsed message is not kept twice"
        );
        assert_eq!(raw["metadata"]["phone_number_id"], PHONE_NUMBER_ID);
    }

    #[test]
    fn a_multi_entry_delivery_yields_every_item_in_order() {
        // Given two entries with three changes: 2 messages, 3 statuses and 1 error
        let items = items(MULTI_ENTRY.as_bytes());
        // Then all six come out, in the order Meta sent them
        let summary: Vec<(&str, &str)> = items
            .iter()
            .map(|item| match item {
                DeliveryItem::Message(m) => ("message", m.phone_number_id.as_str()),
                DeliveryItem::Status(s) => ("status", s.phone_number_id.as_str()),
                DeliveryItem::Error(e) => ("error", e.phone_number_id.as_ref().unwrap().as_str()),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let (first, second) = (PHONE_NUMBER_ID, "100000000000002");
        assert_eq!(
            summary,
            [
                ("message", first),
                ("message", first),
                ("status", first),
                ("status", first),
                ("status", second),
                ("error", second),
            ]
        );
        let DeliveryItem::Message(arabic) = &items[0] else {
            unreachable!()
        };
        let DeliveryItem::Message(french) = &items[1] else {
            unreachable!()
        };
        assert_eq!(text(&arabic.keyword_text), Some("السلام عليكم"));
        assert_eq!(text(&french.sender.name), Some("Élodie Martin"));
        // The second message's timestamp is a JSON number.
        assert_eq!(french.sent_at, Timestamp::from_unix_seconds(1_767_226_301));
        let statuses: Vec<Status> = items
            .iter()
            .filter_map(|i| match i {
                DeliveryItem::Status(s) => Some(s.status),
                _ => None,
            })
            .collect();
        assert_eq!(statuses, [Status::Sent, Status::Delivered, Status::Read]);
    }

    #[test]
    fn a_bad_message_becomes_other_and_the_rest_of_the_delivery_parses() {
        let items = case_items(MALFORMED, "bad_messages_between_good_ones");
        let kinds: Vec<&str> = items
            .iter()
            .map(|item| match item {
                DeliveryItem::Message(_) => "message",
                DeliveryItem::Status(_) => "status",
                DeliveryItem::Other(_) => "other",
                _ => "unexpected",
            })
            .collect();
        // first, no id, bad timestamp, no sender, last; a status without id, a good status
        assert_eq!(
            kinds,
            ["message", "other", "other", "other", "message", "other", "status"]
        );
        let bodies: Vec<&Value> = items[1..4]
            .iter()
            .map(|item| &as_other(item).raw.expose()["messages"][0]["text"]["body"])
            .collect();
        assert_eq!(bodies, ["no id", "bad timestamp", "no sender"]);
        for item in &items[1..4] {
            let other = as_other(item);
            assert_eq!(other.field, "messages");
            assert_eq!(
                other.phone_number_id.as_ref().map(PhoneNumberId::as_str),
                Some(PHONE_NUMBER_ID)
            );
            assert_eq!(other.raw.expose()["contacts"][0]["wa_id"], "15550100001");
        }
        assert_eq!(
            as_other(&items[5]).raw.expose()["statuses"][0]["status"],
            "sent"
        );
    }

    #[test]
    fn a_change_without_a_well_formed_business_number_is_kept_whole_as_other() {
        let items = case_items(MALFORMED, "placeholder_phone_number_id");
        let [item] = items.as_slice() else {
            panic!("expected one item, got {items:?}");
        };
        let other = as_other(item);
        assert_eq!(other.phone_number_id, None);
        assert_eq!(
            other.raw.expose(),
            &first_change_value(MALFORMED, "placeholder_phone_number_id")
        );
    }

    #[test]
    fn a_value_mizan_does_not_model_is_kept_whole_as_other() {
        for name in ["contacts_only", "messages_not_a_list"] {
            let items = case_items(MALFORMED, name);
            let [item] = items.as_slice() else {
                panic!("{name}: expected one item, got {items:?}");
            };
            assert_eq!(
                as_other(item).raw.expose(),
                &first_change_value(MALFORMED, name)
            );
        }
    }

    #[test]
    fn change_errors_without_metadata_are_still_errors() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"errors":[{"code":131026,"title":"Message undeliverable"},{"title":"no code"}]}}]}]}"#;
        let items = items(body);
        let [DeliveryItem::Error(e), DeliveryItem::Other(o)] = items.as_slice() else {
            panic!("expected an error and an unreadable one kept raw, got {items:?}");
        };
        assert_eq!(
            (e.code, e.title.as_str(), e.phone_number_id.as_ref()),
            (131026, "Message undeliverable", None)
        );
        assert_eq!(o.raw.expose()["errors"][0]["title"], "no code");
    }

    #[test]
    fn bodies_that_are_not_json_or_not_whatsapp_are_rejected() {
        for body in [&b"not json"[..], b"", b"{\"object\":"] {
            assert!(
                matches!(parse_delivery(body), Err(ParseError::NotJson(_))),
                "{body:?}"
            );
        }
        for body in [
            &br#"[]"#[..],
            br#"{"object":"page","entry":[]}"#,
            br#"{"entry":[]}"#,
            br#"{"object":"whatsapp_business_account"}"#,
        ] {
            assert!(
                matches!(parse_delivery(body), Err(ParseError::NotWhatsApp(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_broken_envelope_is_invalid_at_its_path() {
        let cases: [(&[u8], &str); 3] = [
            (br#"{"object":"whatsapp_business_account","entry":{}}"#, "entry"),
            (br#"{"object":"whatsapp_business_account","entry":[{"id":"1"}]}"#, "entry[0].changes"),
            (
                br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{}}]}]}"#,
                "entry[0].changes[0].field",
            ),
        ];
        for (body, expected) in cases {
            match parse_delivery(body) {
                Err(ParseError::Invalid { path, .. }) => assert_eq!(path, expected),
                other => panic!("{expected}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_delivery_has_no_items() {
        let delivery =
            parse_delivery(br#"{"object":"whatsapp_business_account","entry":[]}"#).unwrap();
        assert!(delivery.items.is_empty());
    }

    #[test]
    fn debug_output_of_parsed_items_has_no_personal_data() {
        let personal = [
            "15550100001",
            "33639980001",
            "US.10000000000000000001",
            "FR.20000000000000000002",
            "أمينة",
            "Élodie",
            "مرحبا",
            "Hello",
            "Bonjour",
            "wamid.HBgL",
        ];
        let printed = [
            (MESSAGES, "text"),
            (MESSAGES, "text_arabic"),
            (MESSAGES, "text_french"),
            (STATUSES, "sent"),
            (STATUSES, "unknown_status"),
            (USER_PREFERENCES, "stop"),
            (OTHER_FIELDS, "message_echo"),
            (MALFORMED, "bad_messages_between_good_ones"),
        ]
        .iter()
        .flat_map(|(file, name)| case_items(file, name))
        .map(|item| format!("{item:?}"))
        .collect::<Vec<_>>()
        .join("\n");
        for secret in personal {
            assert!(!printed.contains(secret), "Debug printed {secret}");
        }
        assert!(
            printed.contains(PHONE_NUMBER_ID),
            "non-personal ids still print"
        );
    }

    #[test]
    fn parsed_items_survive_a_serde_round_trip() {
        let delivery = parse_delivery(MULTI_ENTRY.as_bytes()).unwrap();
        let json = serde_json::to_string(&delivery).unwrap();
        assert_eq!(serde_json::from_str::<Delivery>(&json).unwrap(), delivery);
    }
}
