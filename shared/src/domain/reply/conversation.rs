//! A contact's conversation as the reply sees it: which message of a burst is answered, whether
//! a newer one supersedes it, and the customer's own words in a message.

use super::plan::answerable;
use crate::domain::message::{Direction, Message};
use crate::domain::time::Timestamp;

/// The order a customer wrote messages in: WhatsApp's time has whole seconds, so messages of
/// one second are ordered by when Mizan stored them.
pub fn customer_order(m: &Message) -> (Timestamp, Timestamp, &str) {
    (m.sent_at, m.stored_at, m.id.as_str())
}

/// The newest of a contact's messages: the one a burst's reply answers.
pub fn newest<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Option<&'a Message> {
    messages
        .into_iter()
        .max_by(|a, b| customer_order(a).cmp(&customer_order(b)))
}

/// The message of a burst the reply answers: the newest answerable one; a burst of reactions
/// and edits alone gives its newest message (which the plan then declines).
pub fn burst_candidate(burst: &[Message]) -> Option<&Message> {
    newest(burst.iter().filter(|m| answerable(m.kind))).or_else(|| newest(burst))
}

/// Whether the conversation holds an answerable inbound message newer than `candidate`: that
/// one gets the reply instead.
pub fn has_newer_inbound(conversation: &[Message], candidate: &Message) -> bool {
    conversation.iter().any(|m| {
        m.direction == Direction::Inbound
            && answerable(m.kind)
            && customer_order(m) > customer_order(candidate)
    })
}

/// The customer's own words in a stored message's content: text, button and list titles,
/// captions. Never the sender's number, ids or any other field.
pub fn customer_text(content: &serde_json::Value) -> Option<String> {
    let pointers = [
        "/text/body",
        "/body",
        "/button/text",
        "/interactive/button_reply/title",
        "/interactive/list_reply/title",
        "/interactive/list_reply/description",
        "/image/caption",
        "/video/caption",
        "/document/caption",
    ];
    let parts: Vec<&str> = pointers
        .iter()
        .filter_map(|p| content.pointer(p).and_then(|v| v.as_str()))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ContactId, MessageId, TenantId, Wamid};
    use crate::domain::message::{MessageContent, MessageKind};

    fn message(id: &str, sent_at: i64, kind: MessageKind, direction: Direction) -> Message {
        let make = match direction {
            Direction::Inbound => Message::inbound,
            Direction::Outbound => Message::outbound,
        };
        make(
            TenantId::new("t"),
            ContactId::new("c"),
            MessageId::new(id),
            Wamid::new(format!("wamid.{id}")),
            kind,
            MessageContent::text("hi"),
            Timestamp::from_millis(sent_at),
        )
    }

    #[test]
    fn a_burst_is_answered_at_its_newest_answerable_message() {
        use Direction::Inbound;
        let text = message("m1", 1_000, MessageKind::Text, Inbound);
        let reaction = message("m2", 2_000, MessageKind::Reaction, Inbound);
        let burst = [text.clone(), reaction.clone()];
        assert_eq!(burst_candidate(&burst).map(|m| &m.id), Some(&text.id));
        let reactions = [reaction.clone()];
        assert_eq!(
            burst_candidate(&reactions).map(|m| &m.id),
            Some(&reaction.id),
            "the plan declines it"
        );
        assert_eq!(burst_candidate(&[]), None);
    }

    #[test]
    fn the_newest_message_is_the_last_written_then_the_last_stored() {
        let text = |id: &str, at: i64| message(id, at, MessageKind::Text, Direction::Inbound);
        let (a, b, c) = (text("ma", 0), text("mb", 2_000), text("mc", 1_000));
        assert_eq!(newest([&a, &b, &c]).map(|m| &m.id), Some(&b.id));
        // Within one second (WhatsApp's precision), the one stored last is the newest.
        let mut first = text("mz", 0);
        let mut second = text("ma", 0);
        first.stored_at = Timestamp::from_millis(100);
        second.stored_at = Timestamp::from_millis(900);
        assert_eq!(newest([&first, &second]).map(|m| &m.id), Some(&second.id));
    }

    #[test]
    fn only_a_newer_answerable_inbound_message_supersedes() {
        let candidate = message("m1", 1_000, MessageKind::Text, Direction::Inbound);
        let newer_reply = message("m2", 2_000, MessageKind::Text, Direction::Outbound);
        let newer_reaction = message("m3", 2_000, MessageKind::Reaction, Direction::Inbound);
        let older = message("m0", 500, MessageKind::Text, Direction::Inbound);
        let conversation = [older, candidate.clone(), newer_reply, newer_reaction];
        assert!(!has_newer_inbound(&conversation, &candidate));
        let newer = message("m4", 3_000, MessageKind::Text, Direction::Inbound);
        assert!(has_newer_inbound(&[newer], &candidate));
    }

    #[test]
    fn only_the_customers_words_are_taken_from_a_message() {
        let content = serde_json::json!({
            "from": "212600000000",
            "id": "wamid.X",
            "type": "text",
            "text": { "body": "Hello" }
        });
        assert_eq!(customer_text(&content).as_deref(), Some("Hello"));
        let image =
            serde_json::json!({"from": "2126", "image": {"id": "media1", "caption": "this one"}});
        assert_eq!(customer_text(&image).as_deref(), Some("this one"));
        let location = serde_json::json!({"from": "2126", "location": {"latitude": 1.0}});
        assert_eq!(customer_text(&location), None);
    }
}
