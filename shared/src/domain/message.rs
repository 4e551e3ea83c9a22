//! Messages: direction, WhatsApp type, timestamps and a status that only moves forward.

use crate::domain::ids::{ApiKeyId, CampaignId, ContactId, MessageId, TenantId, Wamid};
use crate::domain::personal::Personal;
use crate::domain::template::TemplateRef;
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// WhatsApp's message `type`. Types Mizan does not know yet are kept as `Unknown` with their raw
/// payload in the content, never dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contacts,
    Interactive,
    Button,
    Reaction,
    Order,
    System,
    Edit,
    Revoke,
    RequestWelcome,
    Template,
    Unsupported,
    #[serde(other)]
    Unknown,
}

impl MessageKind {
    /// Parses WhatsApp's `type` field; anything new maps to `Unknown`.
    pub fn from_whatsapp(value: &str) -> MessageKind {
        serde_json::from_value(serde_json::Value::String(value.to_owned()))
            .unwrap_or(MessageKind::Unknown)
    }
}

/// Delivery status. Inbound messages are `Received`; outbound ones start `Accepted` (the Graph API
/// took them) and move forward with status webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    Accepted,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
}

impl Status {
    /// Position in the forward-only order; `Failed` is terminal and outranks everything.
    pub fn rank(self) -> i64 {
        match self {
            Status::Received | Status::Accepted => 0,
            Status::Sent => 1,
            Status::Delivered => 2,
            Status::Read => 3,
            Status::Played => 4,
            Status::Failed => 100,
        }
    }

    /// The status after `next` is reported: statuses arrive out of order and twice, so the result
    /// is never behind `self`, and a failure wins whenever it arrives.
    pub fn advance(self, next: Status) -> Status {
        if next.rank() > self.rank() {
            next
        } else {
            self
        }
    }

    pub fn from_whatsapp(value: &str) -> Option<Status> {
        match value {
            "sent" => Some(Status::Sent),
            "delivered" => Some(Status::Delivered),
            "read" => Some(Status::Read),
            "played" => Some(Status::Played),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// An error WhatsApp reported for a message (codes only; Meta's titles carry no personal data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryError {
    pub code: i64,
    pub title: String,
}

/// The personal part of a message: its WhatsApp payload (text, caption, media ids, location, …).
/// Stored only sealed under the contact's data key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageContent(pub Personal<serde_json::Value>);

impl MessageContent {
    pub fn text(body: &str) -> Self {
        MessageContent(Personal::new(serde_json::json!({ "body": body })))
    }

    /// A template as sent: the Graph API object (with its values) and the words it reads as.
    pub fn template(graph: &serde_json::Value, reads: &str) -> Self {
        MessageContent(Personal::new(
            serde_json::json!({ "body": reads, "template": graph }),
        ))
    }

    /// The Graph API template object of a template send.
    pub fn template_object(&self) -> Option<&serde_json::Value> {
        self.0.expose().get("template")
    }

    /// The text of a text send.
    pub fn body(&self) -> Option<&str> {
        self.0
            .expose()
            .get("body")
            .and_then(serde_json::Value::as_str)
    }
}

/// A message's metadata (kept for Meta's 90-day minimum) and, while retained, its content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub tenant: TenantId,
    pub contact: ContactId,
    /// Keyed hash of the wamid: what keys and metadata hold.
    pub id: MessageId,
    /// WhatsApp's id, sealed with the content; `None` once the content is gone.
    #[serde(skip)]
    pub wamid: Option<Wamid>,
    pub direction: Direction,
    pub kind: MessageKind,
    /// When WhatsApp says the message was sent.
    pub sent_at: Timestamp,
    /// When Mizan stored it.
    pub stored_at: Timestamp,
    pub status: Status,
    pub status_at: Timestamp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<DeliveryError>,
    /// Delivered long after it was sent (a retry): stored, but never answered automatically.
    #[serde(default)]
    pub late: bool,
    /// Pricing and conversation Meta reported with the statuses of an outbound message
    /// (category, model, conversation id, origin, expiry). No personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<serde_json::Value>,
    /// A person's send through the API: the key it was sent with. `None`: the customer's
    /// message, or the automated reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<ApiKeyId>,
    /// A campaign's send: which campaign, and the recipient's place in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignLink>,
    /// The template it was sent from (name and language; the values are in the content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// Why Mizan did not send an accepted message after all (the outbound gate's refusal
    /// when its turn came): the status is then `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_sent: Option<String>,
    /// `None` once the chat-content retention has passed (or the contact's key is destroyed).
    #[serde(skip)]
    pub content: Option<MessageContent>,
}

/// A campaign message's campaign and recipient.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CampaignLink {
    pub id: CampaignId,
    pub ordinal: u32,
}

/// Who a message is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Customer,
    Ai,
    Agent,
    Campaign,
}

/// A delivery this long after its message was sent is a retry: stored, never answered automatically.
pub const LATE_AFTER: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Whether a message sent at `sent_at` and received at `received_at` arrived as a late retry.
pub fn is_late(sent_at: Timestamp, received_at: Timestamp) -> bool {
    received_at.since(sent_at) > LATE_AFTER
}

impl Message {
    /// A message the contact sent, with its content; `stored_at` is `sent_at` until
    /// [`Message::received_at`] says when Mizan stored it.
    pub fn inbound(
        tenant: TenantId,
        contact: ContactId,
        id: MessageId,
        wamid: Wamid,
        kind: MessageKind,
        content: MessageContent,
        sent_at: Timestamp,
    ) -> Message {
        Message {
            tenant,
            contact,
            id,
            wamid: Some(wamid),
            direction: Direction::Inbound,
            kind,
            sent_at,
            stored_at: sent_at,
            status: Status::Received,
            status_at: sent_at,
            errors: Vec::new(),
            late: false,
            billing: None,
            agent: None,
            campaign: None,
            template: None,
            not_sent: None,
            content: Some(content),
        }
    }

    /// A campaign's message to one recipient, stored before it is sent (Mizan's own id, as a
    /// person's message).
    pub fn from_campaign(
        tenant: TenantId,
        contact: ContactId,
        campaign: CampaignLink,
        content: MessageContent,
        template: TemplateRef,
        at: Timestamp,
    ) -> Message {
        Message {
            campaign: Some(campaign),
            ..Message::accepted(
                tenant,
                contact,
                MessageKind::Template,
                content,
                Some(template),
                at,
            )
        }
    }

    /// A person's message to the contact, accepted at `at` and stored before it is sent.
    pub fn from_agent(
        tenant: TenantId,
        contact: ContactId,
        agent: ApiKeyId,
        kind: MessageKind,
        content: MessageContent,
        template: Option<TemplateRef>,
        at: Timestamp,
    ) -> Message {
        Message {
            agent: Some(agent),
            ..Message::accepted(tenant, contact, kind, content, template, at)
        }
    }

    /// An outbound message Mizan stores before sending it: it has no wamid until WhatsApp gives
    /// it one, so its id is Mizan's own.
    fn accepted(
        tenant: TenantId,
        contact: ContactId,
        kind: MessageKind,
        content: MessageContent,
        template: Option<TemplateRef>,
        at: Timestamp,
    ) -> Message {
        Message {
            tenant,
            contact,
            id: MessageId::generate_outbound(),
            wamid: None,
            direction: Direction::Outbound,
            kind,
            sent_at: at,
            stored_at: at,
            status: Status::Accepted,
            status_at: at,
            errors: Vec::new(),
            late: false,
            billing: None,
            agent: None,
            campaign: None,
            template,
            not_sent: None,
            content: Some(content),
        }
    }

    pub fn sender(&self) -> Sender {
        match (self.direction, &self.agent, &self.campaign) {
            (Direction::Inbound, _, _) => Sender::Customer,
            (Direction::Outbound, _, Some(_)) => Sender::Campaign,
            (Direction::Outbound, Some(_), None) => Sender::Agent,
            (Direction::Outbound, None, None) => Sender::Ai,
        }
    }

    /// A message the business sent that the Graph API accepted at `at` under `wamid`.
    pub fn outbound(
        tenant: TenantId,
        contact: ContactId,
        id: MessageId,
        wamid: Wamid,
        kind: MessageKind,
        content: MessageContent,
        at: Timestamp,
    ) -> Message {
        Message {
            direction: Direction::Outbound,
            status: Status::Accepted,
            ..Message::inbound(tenant, contact, id, wamid, kind, content, at)
        }
    }

    /// The same inbound message, stored at `received_at`: late when that is long after sending.
    pub fn received_at(self, received_at: Timestamp) -> Message {
        Message {
            stored_at: received_at,
            late: is_late(self.sent_at, received_at),
            ..self
        }
    }

    /// Applies a status report; returns whether anything changed.
    pub fn apply_status(
        &mut self,
        status: Status,
        at: Timestamp,
        errors: Vec<DeliveryError>,
    ) -> bool {
        let next = self.status.advance(status);
        if next == self.status {
            return false;
        }
        self.status = next;
        self.status_at = at;
        if next == Status::Failed {
            self.errors = errors;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn status_only_moves_forward() {
        assert_eq!(Sent.advance(Delivered), Delivered);
        assert_eq!(Delivered.advance(Sent), Delivered);
        assert_eq!(Read.advance(Delivered), Read);
        assert_eq!(Read.advance(Played), Played);
        assert_eq!(Accepted.advance(Read), Read);
    }

    #[test]
    fn failed_is_terminal_and_wins() {
        assert_eq!(Read.advance(Failed), Failed);
        assert_eq!(Failed.advance(Read), Failed);
        assert_eq!(Failed.advance(Sent), Failed);
    }

    #[test]
    fn any_order_of_reports_ends_in_the_same_status() {
        let reports = [Sent, Delivered, Read];
        let forward = reports.iter().fold(Accepted, |s, n| s.advance(*n));
        let backward = reports.iter().rev().fold(Accepted, |s, n| s.advance(*n));
        assert_eq!(forward, backward);
    }

    #[test]
    fn a_delivery_long_after_sending_is_late() {
        let sent = Timestamp::from_millis(0);
        assert!(!is_late(sent, sent.plus(LATE_AFTER)));
        assert!(is_late(
            sent,
            sent.plus(LATE_AFTER)
                .plus(std::time::Duration::from_secs(1))
        ));
        assert!(
            !is_late(sent.plus(LATE_AFTER), sent),
            "clock skew the other way is not late"
        );
    }

    fn text(direction: Direction, sent_at: i64) -> Message {
        let make = match direction {
            Direction::Inbound => Message::inbound,
            Direction::Outbound => Message::outbound,
        };
        make(
            TenantId::new("t"),
            ContactId::new("c"),
            MessageId::new("m"),
            Wamid::new("wamid.1"),
            MessageKind::Text,
            MessageContent::text("hello"),
            Timestamp::from_millis(sent_at),
        )
    }

    #[test]
    fn an_inbound_message_is_received_and_an_outbound_one_accepted() {
        let inbound = text(Direction::Inbound, 1_000);
        assert_eq!(
            (inbound.direction, inbound.status),
            (Direction::Inbound, Received)
        );
        let outbound = text(Direction::Outbound, 1_000);
        assert_eq!(
            (outbound.direction, outbound.status),
            (Direction::Outbound, Accepted)
        );
        for m in [inbound, outbound] {
            assert_eq!(m.stored_at, m.sent_at);
            assert_eq!(m.status_at, m.sent_at);
            assert!(m.content.is_some() && m.wamid.is_some() && !m.late);
        }
    }

    #[test]
    fn a_message_received_long_after_sending_is_stored_late() {
        let sent = Timestamp::from_millis(1_000);
        let on_time = text(Direction::Inbound, 1_000).received_at(sent.plus(LATE_AFTER));
        assert_eq!(on_time.stored_at, sent.plus(LATE_AFTER));
        assert!(!on_time.late);
        let retry = text(Direction::Inbound, 1_000).received_at(
            sent.plus(LATE_AFTER)
                .plus(std::time::Duration::from_secs(1)),
        );
        assert!(retry.late);
        assert_eq!(
            retry.status_at, sent,
            "the status time stays the sending time"
        );
    }

    #[test]
    fn unknown_types_are_kept_as_unknown() {
        assert_eq!(MessageKind::from_whatsapp("text"), MessageKind::Text);
        assert_eq!(
            MessageKind::from_whatsapp("request_welcome"),
            MessageKind::RequestWelcome
        );
        assert_eq!(MessageKind::from_whatsapp("hologram"), MessageKind::Unknown);
    }
}
