//! Which business events a change of the data table makes: the stream (or the runner's change
//! feed) is the one source, so no action writes anything more for its webhooks and intake pays
//! nothing for them. Each event is born of one stored change (a record inserted, or a state
//! reached), and its id is a hash of that change, so a change read twice makes the same event.

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::business_event::{BusinessEvent, EventType};
use crate::domain::campaign::{Campaign, CampaignState};
use crate::domain::consent::ConsentEvent;
use crate::domain::export::{ExportJob, ExportScope, ExportState};
use crate::domain::message::{Direction, Message};
use crate::domain::rights_request::{RightsRequest, RightsState};
use crate::domain::time::Timestamp;
use crate::ports::record_item::{attr, get_s, item_to_record};
use crate::ports::records::Record;
use crate::store::layout::{self, CAMPAIGN_KIND};
use crate::stream_batch::UndecodableRecord;
use aws_lambda_events::event::dynamodb::EventRecord;
use serde::de::DeserializeOwned;
use serde_json::json;

/// The kinds of record whose insertion may make events.
pub const INSERTS: [&str; 4] = [
    layout::kind::MESSAGE_IN,
    layout::kind::CONSENT,
    layout::kind::AUDIT,
    layout::kind::RIGHTS_REQUEST,
];

/// The kinds of record whose modification may make events, or queue a delivery again (a
/// replay). The change router's stream filter passes these and `INSERTS` (and new export jobs).
pub const MODIFICATIONS: [&str; 4] = [
    layout::kind::RIGHTS_REQUEST,
    layout::kind::EXPORT_JOB,
    CAMPAIGN_KIND,
    layout::kind::WEBHOOK_DELIVERY,
];

/// The events one stream record makes (none for most).
pub fn events_of(record: &EventRecord) -> Result<Vec<BusinessEvent>, UndecodableRecord> {
    let undecodable = |reason: String| UndecodableRecord {
        event_id: record.event_id.clone(),
        reason,
    };
    let new_image = &record.change.new_image;
    let Ok(kind) = get_s(new_image, attr::KIND) else {
        return Ok(Vec::new()); // a removal
    };
    let old = match record.event_name.as_str() {
        "INSERT" if INSERTS.contains(&kind) => None,
        "MODIFY" if MODIFICATIONS.contains(&kind) => {
            Some(item_to_record(&record.change.old_image).map_err(|e| undecodable(e.to_string()))?)
        }
        _ => return Ok(Vec::new()),
    };
    let new = item_to_record(new_image).map_err(|e| undecodable(e.to_string()))?;
    let change = Change {
        new: &new,
        old: old.as_ref(),
        // When the table changed (the stream's clock, seconds): for a state reached with no
        // time of its own.
        changed_at: Timestamp::from_millis(
            record
                .change
                .approximate_creation_date_time
                .timestamp_millis(),
        ),
    };
    change.events().map_err(undecodable)
}

struct Change<'a> {
    new: &'a Record,
    old: Option<&'a Record>,
    changed_at: Timestamp,
}

impl Change<'_> {
    fn source(&self) -> String {
        format!(
            "{}|{}|{}",
            self.new.key.pk, self.new.key.sk, self.new.version
        )
    }

    fn new_doc<T: DeserializeOwned>(&self) -> Result<T, String> {
        T::deserialize(&self.new.doc).map_err(|e| e.to_string())
    }

    fn old_doc<T: DeserializeOwned>(&self) -> Result<Option<T>, String> {
        self.old
            .map(|old| T::deserialize(&old.doc).map_err(|e| e.to_string()))
            .transpose()
    }

    fn events(&self) -> Result<Vec<BusinessEvent>, String> {
        let inserted = self.old.is_none();
        match self.new.kind.as_str() {
            layout::kind::MESSAGE_IN if inserted => self.message_received(),
            layout::kind::CONSENT if inserted => self.consent_changed(),
            layout::kind::AUDIT if inserted => self.audited(),
            layout::kind::RIGHTS_REQUEST => self.rights_request(),
            layout::kind::EXPORT_JOB if !inserted => self.export_ready(),
            CAMPAIGN_KIND if !inserted => self.campaign_completed(),
            _ => Ok(Vec::new()),
        }
    }

    fn message_received(&self) -> Result<Vec<BusinessEvent>, String> {
        let message: Message = self.new_doc()?;
        if message.direction != Direction::Inbound {
            return Ok(Vec::new());
        }
        Ok(vec![BusinessEvent::new(
            EventType::MessageReceived,
            message.tenant.clone(),
            message.sent_at,
            Some(message.contact.clone()),
            json!({ "message": { "id": message.id, "kind": message.kind } }),
            &self.source(),
        )])
    }

    fn consent_changed(&self) -> Result<Vec<BusinessEvent>, String> {
        let consent: ConsentEvent = self.new_doc()?;
        Ok(vec![BusinessEvent::new(
            EventType::ConsentChanged,
            consent.tenant.clone(),
            consent.at,
            Some(consent.contact.clone()),
            json!({
                "purpose": consent.purpose,
                "action": consent.action,
                "source": consent.source,
            }),
            &self.source(),
        )])
    }

    fn audited(&self) -> Result<Vec<BusinessEvent>, String> {
        let audit: AuditEvent = self.new_doc()?;
        let event_type = match audit.action.as_str() {
            // ai-reply takes a conversation over when it hands it to a person.
            "contact.taken_over" if matches!(audit.actor, Actor::System(_)) => {
                EventType::HandoffRequested
            }
            "contact.taken_over" => EventType::ConversationTakenOver,
            "contact.handed_back" => EventType::ConversationHandedBack,
            "template.status_changed" => EventType::TemplateStatusChanged,
            "contact.erasure_completed" => EventType::ContactErased,
            "webhook.endpoint_disabled" => EventType::EndpointDisabled,
            _ => return Ok(Vec::new()),
        };
        let data = match event_type {
            EventType::TemplateStatusChanged | EventType::EndpointDisabled => audit.detail.clone(),
            _ => json!({ "by": actor_type(&audit.actor) }),
        };
        Ok(vec![BusinessEvent::new(
            event_type,
            audit.tenant.clone(),
            audit.at,
            audit.subject.clone(),
            data,
            &self.source(),
        )])
    }

    fn rights_request(&self) -> Result<Vec<BusinessEvent>, String> {
        let request: RightsRequest = self.new_doc()?;
        let was_final = self
            .old_doc::<RightsRequest>()?
            .is_some_and(|old| is_final(old.state));
        let mut events = Vec::new();
        let data = json!({
            "request": {
                "id": request.id,
                "kind": request.kind,
                "channel": request.channel,
                "state": request.state,
                "outcome": request.outcome,
                "due_by": request.due_by.to_rfc3339(),
            }
        });
        let event = |event_type, at| {
            BusinessEvent::new(
                event_type,
                request.tenant.clone(),
                at,
                Some(request.contact.clone()),
                data.clone(),
                &self.source(),
            )
        };
        if self.old.is_none() {
            events.push(event(EventType::RightsRequestReceived, request.received_at));
        }
        if is_final(request.state) && !was_final {
            let at = request.closed_at.unwrap_or(request.received_at);
            events.push(event(EventType::RightsRequestCompleted, at));
        }
        Ok(events)
    }

    fn export_ready(&self) -> Result<Vec<BusinessEvent>, String> {
        let job: ExportJob = self.new_doc()?;
        let was_ready = self
            .old_doc::<ExportJob>()?
            .is_some_and(|old| matches!(old.state, ExportState::Ready { .. }));
        let ExportState::Ready { size_bytes, .. } = job.state else {
            return Ok(Vec::new());
        };
        if was_ready {
            return Ok(Vec::new());
        }
        let contact = match &job.scope {
            ExportScope::Contact { contact } => Some(contact.clone()),
            ExportScope::Tenant => None,
        };
        let scope = if contact.is_some() {
            "contact"
        } else {
            "tenant"
        };
        Ok(vec![BusinessEvent::new(
            EventType::ExportReady,
            job.tenant.clone(),
            self.changed_at.max(job.requested_at),
            contact,
            json!({
                "export": {
                    "id": job.id,
                    "scope": scope,
                    "size_bytes": size_bytes,
                    "expires_at": job.expires_at.to_rfc3339(),
                }
            }),
            &self.source(),
        )])
    }

    fn campaign_completed(&self) -> Result<Vec<BusinessEvent>, String> {
        let campaign: Campaign = self.new_doc()?;
        let was_completed = self
            .old_doc::<Campaign>()?
            .is_some_and(|old| old.state == CampaignState::Completed);
        if campaign.state != CampaignState::Completed || was_completed {
            return Ok(Vec::new());
        }
        Ok(vec![BusinessEvent::new(
            EventType::CampaignCompleted,
            campaign.tenant.clone(),
            campaign.state_at,
            None,
            json!({
                "campaign": {
                    "id": campaign.id,
                    "name": campaign.name,
                    "recipients": campaign.recipients,
                }
            }),
            &self.source(),
        )])
    }
}

fn is_final(state: RightsState) -> bool {
    matches!(state, RightsState::Completed | RightsState::Lapsed)
}

fn actor_type(actor: &Actor) -> &'static str {
    match actor {
        Actor::ApiKey(_) => "api_key",
        Actor::System(_) => "system",
        Actor::Admin => "admin",
        Actor::LinkHolder => "link_holder",
        Actor::DataSubject => "data_subject",
    }
}
