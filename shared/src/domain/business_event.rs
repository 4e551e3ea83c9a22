//! What Mizan tells a business about its account through its webhooks: the event types, and the
//! body every delivery carries. A body holds ids, kinds, states and times only; the one reference
//! to a person is Mizan's contact id, which the business already holds (the API and the audit
//! trail show it). Message text, phone numbers and names are fetched through the API, where
//! access control applies.

use crate::domain::ids::{ContactId, TenantId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// The AI handed the conversation to a person, or the customer asked for one: answer them.
    #[serde(rename = "handoff.requested")]
    HandoffRequested,
    #[serde(rename = "conversation.taken_over")]
    ConversationTakenOver,
    #[serde(rename = "conversation.handed_back")]
    ConversationHandedBack,
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "consent.changed")]
    ConsentChanged,
    #[serde(rename = "rights_request.received")]
    RightsRequestReceived,
    #[serde(rename = "rights_request.completed")]
    RightsRequestCompleted,
    #[serde(rename = "export.ready")]
    ExportReady,
    #[serde(rename = "campaign.completed")]
    CampaignCompleted,
    #[serde(rename = "template.status_changed")]
    TemplateStatusChanged,
    #[serde(rename = "contact.erased")]
    ContactErased,
    /// Another endpoint of the account was disabled after failing for a day. Every enabled
    /// endpoint gets it, whatever it subscribed to: the business must hear of it somewhere.
    #[serde(rename = "webhook.endpoint_disabled")]
    EndpointDisabled,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::HandoffRequested,
        EventType::ConversationTakenOver,
        EventType::ConversationHandedBack,
        EventType::MessageReceived,
        EventType::ConsentChanged,
        EventType::RightsRequestReceived,
        EventType::RightsRequestCompleted,
        EventType::ExportReady,
        EventType::CampaignCompleted,
        EventType::TemplateStatusChanged,
        EventType::ContactErased,
        EventType::EndpointDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::HandoffRequested => "handoff.requested",
            EventType::ConversationTakenOver => "conversation.taken_over",
            EventType::ConversationHandedBack => "conversation.handed_back",
            EventType::MessageReceived => "message.received",
            EventType::ConsentChanged => "consent.changed",
            EventType::RightsRequestReceived => "rights_request.received",
            EventType::RightsRequestCompleted => "rights_request.completed",
            EventType::ExportReady => "export.ready",
            EventType::CampaignCompleted => "campaign.completed",
            EventType::TemplateStatusChanged => "template.status_changed",
            EventType::ContactErased => "contact.erased",
            EventType::EndpointDisabled => "webhook.endpoint_disabled",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Whether an endpoint subscribed to `wanted` gets events of this type.
    pub fn reaches(self, wanted: &[EventType]) -> bool {
        self == EventType::EndpointDisabled || wanted.contains(&self)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened in a tenant's account, as its webhooks receive it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessEvent {
    /// `evt_` + a hash of where it came from: the same change seen twice is the same event.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub tenant: TenantId,
    pub occurred_at: Timestamp,
    /// The contact it is about (Mizan's contact id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactId>,
    /// Ids, kinds and states of what happened; never text, numbers or names.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl BusinessEvent {
    /// An event of `event_type` born of the stored change `source` names (its table key and
    /// version): the id is the same however often the change is read.
    pub fn new(
        event_type: EventType,
        tenant: TenantId,
        occurred_at: Timestamp,
        contact: Option<ContactId>,
        data: serde_json::Value,
        source: &str,
    ) -> Self {
        let digest = Sha256::new()
            .chain_update(b"mizan/event/v1\0")
            .chain_update(event_type.as_str().as_bytes())
            .chain_update(b"\0")
            .chain_update(source.as_bytes())
            .finalize();
        BusinessEvent {
            id: format!("evt_{}", hex::encode(&digest[..16])),
            event_type,
            tenant,
            occurred_at,
            contact,
            data,
        }
    }

    /// The JSON a delivery posts, timestamps as RFC 3339 with milliseconds.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "id": self.id,
            "type": self.event_type.as_str(),
            "tenant": self.tenant.as_str(),
            "occurred_at": self.occurred_at.to_rfc3339(),
            "data": self.data,
        });
        if let Some(contact) = &self.contact {
            body["contact"] = serde_json::json!({ "id": contact.as_str() });
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_through_their_names() {
        for event_type in EventType::ALL {
            assert_eq!(EventType::parse(event_type.as_str()), Some(event_type));
            assert_eq!(
                serde_json::to_value(event_type).unwrap(),
                serde_json::json!(event_type.as_str())
            );
        }
        assert_eq!(EventType::parse("message.sent"), None);
    }

    #[test]
    fn an_endpoint_gets_what_it_asked_for_and_always_hears_of_a_disabled_endpoint() {
        let wanted = [EventType::HandoffRequested];
        assert!(EventType::HandoffRequested.reaches(&wanted));
        assert!(!EventType::MessageReceived.reaches(&wanted));
        assert!(EventType::EndpointDisabled.reaches(&wanted));
    }

    #[test]
    fn the_same_change_makes_the_same_event_id_and_another_change_another() {
        let event = |source: &str, event_type| {
            BusinessEvent::new(
                event_type,
                TenantId::new("ten_a"),
                Timestamp::from_millis(1),
                None,
                serde_json::Value::Null,
                source,
            )
        };
        let one = event("T#a|AUDIT#1|1", EventType::ConversationTakenOver);
        assert_eq!(
            one.id,
            event("T#a|AUDIT#1|1", EventType::ConversationTakenOver).id
        );
        assert_ne!(
            one.id,
            event("T#a|AUDIT#2|1", EventType::ConversationTakenOver).id
        );
        assert_ne!(
            one.id,
            event("T#a|AUDIT#1|1", EventType::HandoffRequested).id
        );
        assert!(one.id.starts_with("evt_") && one.id.len() == 36);
    }

    #[test]
    fn the_body_names_the_contact_by_id_and_times_in_rfc_3339() {
        let event = BusinessEvent::new(
            EventType::MessageReceived,
            TenantId::new("ten_a"),
            Timestamp::from_millis(1_796_464_210_123),
            Some(ContactId::new("c0123")),
            serde_json::json!({"message": {"id": "m1", "kind": "text"}}),
            "src",
        );
        let body = event.body();
        assert_eq!(body["type"], "message.received");
        assert_eq!(body["contact"]["id"], "c0123");
        assert_eq!(body["occurred_at"], "2026-12-05T09:50:10.123Z");
        assert_eq!(body["data"]["message"]["kind"], "text");
    }
}
