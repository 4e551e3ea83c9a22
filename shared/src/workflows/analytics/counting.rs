//! What each change of the data table adds to the usage counters: a pure reading of the stream
//! record (or the runner's change feed), so a record read twice counts the same, and its source
//! (`pk|sk|version`) is what makes counting it exactly once possible.

use crate::domain::analytics::{day_of, label, Counts, Sender};
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::billing::billing_metric;
use crate::domain::consent::ConsentEvent;
use crate::domain::ids::{ContactId, MessageId, TenantId};
use crate::domain::message::{Direction, Message, Status};
use crate::domain::rights_request::RightsRequest;
use crate::domain::time::Timestamp;
use crate::ports::record_item::{attr, get_s, item_to_record};
use crate::ports::records::Record;
use crate::store::layout::{self, REPLY_CLAIM_KIND};
use crate::store::{ClaimState, ReplyClaim};
use crate::stream_batch::UndecodableRecord;
use aws_lambda_events::event::dynamodb::EventRecord;
use serde::de::DeserializeOwned;

/// The kinds of record whose insertion counts. The change router forwards these (and
/// `MODIFICATIONS`) to the analytics queue.
pub const INSERTS: [&str; 5] = [
    layout::kind::MESSAGE_IN,
    layout::kind::MESSAGE_OUT,
    layout::kind::CONSENT,
    layout::kind::AUDIT,
    layout::kind::RIGHTS_REQUEST,
];

/// The kinds of record whose modification counts: a message's status, a reply's outcome.
pub const MODIFICATIONS: [&str; 2] = [layout::kind::MESSAGE_OUT, REPLY_CLAIM_KIND];

/// What one change adds: counts for a tenant's day, and, for a reply (by the assistant or a
/// person), what the response time is measured from.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub tenant: TenantId,
    pub day: String,
    /// The change it is made of (`pk|sk|version`): counted once, however often it is read.
    pub source: String,
    pub counts: Counts,
    pub reply: Option<ReplySent>,
}

/// A reply that may answer a customer: its response time is from the first message it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplySent {
    pub contact: ContactId,
    pub message: MessageId,
    pub sent_at: Timestamp,
}

/// Whether a stream record may count (the router's filter, before decoding).
pub fn counts_change(record: &EventRecord) -> bool {
    let Ok(kind) = get_s(&record.change.new_image, attr::KIND) else {
        return false;
    };
    match record.event_name.as_str() {
        "INSERT" => INSERTS.contains(&kind),
        "MODIFY" => MODIFICATIONS.contains(&kind),
        _ => false,
    }
}

/// What one stream record adds (nothing for most).
pub fn contribution_of(record: &EventRecord) -> Result<Option<Contribution>, UndecodableRecord> {
    let undecodable = |reason: String| UndecodableRecord {
        event_id: record.event_id.clone(),
        reason,
    };
    if !counts_change(record) {
        return Ok(None);
    }
    let new = item_to_record(&record.change.new_image).map_err(|e| undecodable(e.to_string()))?;
    let old = match record.event_name.as_str() {
        "MODIFY" => {
            Some(item_to_record(&record.change.old_image).map_err(|e| undecodable(e.to_string()))?)
        }
        _ => None,
    };
    let changed_at = Timestamp::from_millis(
        record
            .change
            .approximate_creation_date_time
            .timestamp_millis(),
    );
    Change {
        new: &new,
        old: old.as_ref(),
        changed_at,
    }
    .contribution()
    .map_err(undecodable)
}

struct Change<'a> {
    new: &'a Record,
    old: Option<&'a Record>,
    changed_at: Timestamp,
}

fn decode<T: DeserializeOwned>(record: &Record) -> Result<T, String> {
    T::deserialize(&record.doc).map_err(|e| e.to_string())
}

fn sender(message: &Message) -> Sender {
    match (message.direction, &message.campaign, &message.agent) {
        (Direction::Inbound, _, _) => Sender::Customer,
        (_, Some(_), _) => Sender::Campaign,
        (_, None, Some(_)) => Sender::Agent,
        (_, None, None) => Sender::Ai,
    }
}

fn one(name: String) -> Counts {
    Counts::from([(name, 1)])
}

impl Change<'_> {
    fn contribution(&self) -> Result<Option<Contribution>, String> {
        let made = |tenant: &TenantId, at: Timestamp, counts: Counts| {
            (!counts.is_empty()).then(|| Contribution {
                tenant: tenant.clone(),
                day: day_of(at),
                source: format!(
                    "{}|{}|{}",
                    self.new.key.pk, self.new.key.sk, self.new.version
                ),
                counts,
                reply: None,
            })
        };
        let kind = self.new.kind.as_str();
        Ok(match (kind, self.old) {
            (layout::kind::MESSAGE_IN | layout::kind::MESSAGE_OUT, None) => {
                let message: Message = decode(self.new)?;
                let sender = sender(&message);
                let mut counts = match sender {
                    Sender::Customer => one(format!("messages.in.{}", label(&message.kind))),
                    _ => one(format!(
                        "messages.out.{}.{}",
                        sender.as_str(),
                        label(&message.kind)
                    )),
                };
                if sender == Sender::Campaign {
                    counts.insert("campaign.sent".into(), 1);
                }
                made(&message.tenant, message.sent_at, counts).map(|mut c| {
                    if matches!(sender, Sender::Ai | Sender::Agent) {
                        c.reply = Some(ReplySent {
                            contact: message.contact.clone(),
                            message: message.id.clone(),
                            sent_at: message.sent_at,
                        });
                    }
                    c
                })
            }
            (layout::kind::MESSAGE_OUT, Some(old)) => {
                let (before, after): (Message, Message) = (decode(old)?, decode(self.new)?);
                let mut counts = status_counts(&after, before.status, after.status);
                counts.extend(billing_counts(&before, &after));
                // On the day of the status that made the change.
                made(&after.tenant, after.status_at, counts)
            }
            (REPLY_CLAIM_KIND, Some(old)) => {
                let (before, after): (ReplyClaim, ReplyClaim) = (decode(old)?, decode(self.new)?);
                let counts = match (&before.state, &after.state) {
                    (ClaimState::Claimed, ClaimState::Sent { kind, .. }) => {
                        one(format!("replies.sent.{}", kind.as_str()))
                    }
                    (ClaimState::Claimed, ClaimState::Failed { .. }) => {
                        one("replies.failed".into())
                    }
                    _ => Counts::new(),
                };
                made(&after.tenant, self.changed_at, counts)
            }
            (layout::kind::CONSENT, None) => {
                let event: ConsentEvent = decode(self.new)?;
                let counts = one(format!(
                    "consent.{}.{}",
                    label(&event.action),
                    label(&event.source)
                ));
                made(&event.tenant, event.at, counts)
            }
            (layout::kind::RIGHTS_REQUEST, None) => {
                let request: RightsRequest = decode(self.new)?;
                let counts = one(format!("rights.{}", request.kind.as_str()));
                made(&request.tenant, request.received_at, counts)
            }
            (layout::kind::AUDIT, None) => {
                let event: AuditEvent = decode(self.new)?;
                let handed_off =
                    event.action == "contact.taken_over" && matches!(event.actor, Actor::System(_));
                let counts = if handed_off {
                    one("handoffs".into())
                } else {
                    Counts::new()
                };
                made(&event.tenant, event.at, counts)
            }
            _ => None,
        })
    }
}

/// What Meta's pricing of an outbound message counts, the first time a status carries it:
/// billable or free, by category and the recipient's country calling code (usage statements).
fn billing_counts(before: &Message, after: &Message) -> Counts {
    let pricing = |m: &Message| m.billing.as_ref().and_then(|b| b.get("pricing")).cloned();
    let (None, Some(pricing)) = (pricing(before), pricing(after)) else {
        return Counts::new();
    };
    let billable = pricing
        .get("billable")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or_else(|| pricing.get("type").and_then(|t| t.as_str()) == Some("regular"));
    let country = after
        .billing
        .as_ref()
        .and_then(|b| b.get("country_code"))
        .and_then(|c| c.as_str());
    one(billing_metric(
        billable,
        pricing.get("category").and_then(|c| c.as_str()),
        country,
    ))
}

/// What an outbound message's status change counts: its failure, and for a campaign's
/// message each step reached (a read reported before its delivery counts both).
fn status_counts(message: &Message, before: Status, after: Status) -> Counts {
    let mut counts = Counts::new();
    if before == after {
        return counts;
    }
    let sender = sender(message);
    if after == Status::Failed {
        counts.insert(format!("messages.failed.{}", sender.as_str()), 1);
        if sender == Sender::Campaign {
            counts.insert("campaign.failed".into(), 1);
        }
        return counts;
    }
    if sender == Sender::Campaign {
        for (step, name) in [
            (Status::Delivered, "campaign.delivered"),
            (Status::Read, "campaign.read"),
        ] {
            if before.rank() < step.rank() && after.rank() >= step.rank() {
                counts.insert(name.into(), 1);
            }
        }
    }
    counts
}
