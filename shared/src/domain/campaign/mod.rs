//! Campaigns: one approved template broadcast to a tenant's contacts, each recipient decided by
//! the outbound gate at the moment of sending, each sent at most once, and counted exactly.

mod opt_out;
mod request;

pub use opt_out::carries_opt_out;

use crate::domain::template::Template;

/// Why a template cannot be broadcast (now).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unbroadcastable {
    #[error("the template is {0}: only an APPROVED template can be broadcast")]
    NotApproved(String),
    #[error("the template is known only from a webhook: sync the templates first")]
    NotSynced,
    #[error(
        "a marketing template must tell people how to stop: a footer naming an opt-out keyword \
         (\"Reply STOP to opt out\") or a quick-reply button whose text is one"
    )]
    NoOptOut,
}

/// Whether `template` may be broadcast: approved, its components known (to fill them), and
/// telling people how to stop when it is marketing. Asked when a campaign is made and at every
/// turn (Meta may pause or recategorize a template meanwhile).
pub fn broadcastable(template: &Template) -> Result<(), Unbroadcastable> {
    if !template.is_approved() {
        return Err(Unbroadcastable::NotApproved(template.status.to_lowercase()));
    }
    if template.components.is_none() {
        return Err(Unbroadcastable::NotSynced);
    }
    if template.category == TemplateCategory::Marketing && !carries_opt_out(template) {
        return Err(Unbroadcastable::NoOptOut);
    }
    Ok(())
}
pub use request::{
    CampaignRequest, CheckedCampaign, ListedRecipient, Offender, RequestError, MAX_LISTED,
    MAX_OFFENDERS,
};

use crate::domain::identity_hash::IdentityHash;
use crate::domain::ids::{ApiKeyId, CampaignId, ContactId, MessageId, TenantId};
use crate::domain::outbound::Refusal;
use crate::domain::template::{TemplateCategory, TemplateRef};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Scheduled,
    Running,
    Paused,
    Completed,
    Cancelled,
    Failed,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Scheduled => "scheduled",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Completed => "completed",
            CampaignState::Cancelled => "cancelled",
            CampaignState::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            CampaignState::Completed | CampaignState::Cancelled | CampaignState::Failed
        )
    }
}

/// Who a campaign goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The contacts the request listed, each with its parameters.
    Listed,
    /// Every contact with a marketing opt-in on record, resolved when the campaign starts.
    MarketingOptedIn,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub tenant: TenantId,
    pub name: String,
    pub template: TemplateRef,
    /// The template's category when the campaign was made (the gate decides on it).
    pub category: TemplateCategory,
    /// Parameters every recipient gets unless its own say otherwise (the business's words).
    pub defaults: serde_json::Value,
    pub audience: Audience,
    /// Recipients known so far (listed ones at creation; a segment's once resolved).
    pub recipients: u32,
    /// Whether the audience is a list of recipients yet (a listed one from the start; a
    /// segment once resolved, when the campaign starts).
    #[serde(default)]
    pub resolved: bool,
    /// Audience chunks turned into recipient records so far (a few per turn, so a large
    /// campaign's preparation fits in the sender's invocations).
    #[serde(default)]
    pub prepared_chunks: u32,
    /// Whether every recipient record exists.
    pub prepared: bool,
    /// Every recipient below this ordinal has had its turn (sent, skipped, failed or deferred).
    #[serde(default)]
    pub progress: u32,
    /// After the first pass: when a recipient left waiting (deferred, claimed) may next need
    /// the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look_again_at: Option<Timestamp>,
    pub send_at: Timestamp,
    pub created_at: Timestamp,
    pub created_by: ApiKeyId,
    pub state: CampaignState,
    /// Why it is paused or failed (a Meta error, a template paused by Meta, a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub state_at: Timestamp,
}

/// What a business may do to a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a {state} campaign cannot be {action}")]
pub struct ControlError {
    pub state: &'static str,
    pub action: &'static str,
}

impl Campaign {
    /// Applies a person's control; `Ok(false)` when it is already so (nothing to audit).
    pub fn control(&mut self, control: Control, now: Timestamp) -> Result<bool, ControlError> {
        use CampaignState::*;
        let next = match (control, self.state) {
            (Control::Pause, Paused) | (Control::Resume, Running | Scheduled) => return Ok(false),
            (Control::Cancel, Cancelled) => return Ok(false),
            (Control::Pause, Running | Scheduled) => Paused,
            (Control::Resume, Paused) => {
                if self.send_at > now {
                    Scheduled
                } else {
                    Running
                }
            }
            (Control::Cancel, Scheduled | Running | Paused) => Cancelled,
            (control, state) => {
                return Err(ControlError {
                    state: state.as_str(),
                    action: match control {
                        Control::Pause => "paused",
                        Control::Resume => "resumed",
                        Control::Cancel => "cancelled",
                    },
                })
            }
        };
        self.state = next;
        self.reason = match control {
            Control::Pause => Some("paused by a person".into()),
            _ => None,
        };
        self.state_at = now;
        Ok(true)
    }

    /// Stops sending until a person resumes it, saying why (a Meta error, a paused template).
    pub fn pause_for(&mut self, reason: impl Into<String>, now: Timestamp) -> bool {
        if self.state.is_final() || self.state == CampaignState::Paused {
            return false;
        }
        self.state = CampaignState::Paused;
        self.reason = Some(reason.into());
        self.state_at = now;
        true
    }

    /// Ends the campaign for an error no retry mends (what was sent stays sent and counted).
    pub fn fail_for(&mut self, reason: impl Into<String>, now: Timestamp) -> bool {
        if self.state.is_final() {
            return false;
        }
        self.state = CampaignState::Failed;
        self.reason = Some(reason.into());
        self.state_at = now;
        true
    }

    /// Whether the audience is a list yet (campaigns stored before segments existed were all
    /// listed).
    pub fn audience_resolved(&self) -> bool {
        self.audience == Audience::Listed || self.resolved
    }

    /// Whether recipients may be sent to now.
    pub fn is_sending(&self, now: Timestamp) -> bool {
        match self.state {
            CampaignState::Running => true,
            CampaignState::Scheduled => self.send_at <= now,
            _ => false,
        }
    }
}

/// Why a recipient got nothing: the gate's refusal at the moment of sending, or no contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    NoMarketingOptIn,
    OptedOut,
    Blocked,
    Restricted,
    Minor,
    Suppressed,
    Erased,
    UnknownContact,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NoMarketingOptIn => "no_marketing_opt_in",
            Skip::OptedOut => "opted_out",
            Skip::Blocked => "blocked",
            Skip::Restricted => "restricted",
            Skip::Minor => "minor",
            Skip::Suppressed => "suppressed",
            Skip::Erased => "erased",
            Skip::UnknownContact => "unknown_contact",
        }
    }

    /// The gate's refusal as a campaign reports it. A template needs no window, no one takes
    /// a campaign over, and a closed account's campaigns are paused before anything is sent,
    /// so those three never come back for one.
    pub fn of(refusal: Refusal) -> Skip {
        match refusal {
            Refusal::NoMarketingOptIn => Skip::NoMarketingOptIn,
            Refusal::OptedOut => Skip::OptedOut,
            Refusal::Blocked => Skip::Blocked,
            Refusal::Restricted => Skip::Restricted,
            Refusal::Minor => Skip::Minor,
            Refusal::Suppressed => Skip::Suppressed,
            Refusal::Gone | Refusal::BeingErased => Skip::Erased,
            Refusal::WindowClosed | Refusal::TakenOver | Refusal::AccountClosed => Skip::OptedOut,
        }
    }
}

/// Where one recipient stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecipientState {
    Pending,
    /// Claimed by a sender: the Graph API call is under way (or its sender crashed: then it
    /// stays so, never sent again, and is reported `unknown` once the campaign completes).
    Sending,
    Skipped {
        reason: Skip,
    },
    Sent,
    Delivered,
    Read,
    Failed {
        code: Option<i64>,
    },
    /// Meta declined for now (131049): tried once more after 24 hours.
    Deferred,
    /// The send timed out: it may have gone out; a status webhook settles it.
    Unknown,
}

/// How long a recipient Meta deferred (131049) waits before its one more try.
pub const DEFER_FOR: Duration = Duration::from_secs(24 * 3600);

impl RecipientState {
    /// The counters this state adds to (`eligible` once the gate let it through).
    pub fn labels(self) -> Vec<String> {
        let eligible = "eligible".to_owned();
        match self {
            RecipientState::Pending | RecipientState::Sending => vec![],
            RecipientState::Skipped { reason } => vec![format!("skipped.{}", reason.as_str())],
            RecipientState::Sent => vec![eligible, "sent".into()],
            RecipientState::Delivered => vec![eligible, "sent".into(), "delivered".into()],
            RecipientState::Read => {
                vec![eligible, "sent".into(), "delivered".into(), "read".into()]
            }
            RecipientState::Failed { code } => vec![
                eligible,
                format!(
                    "failed.{}",
                    code.map_or("unknown".to_owned(), |c| c.to_string())
                ),
            ],
            RecipientState::Deferred => vec![eligible, "deferred".into()],
            RecipientState::Unknown => vec![eligible, "unknown".into()],
        }
    }

    /// Whether the recipient's parameters may still be needed (its message is not made yet, or
    /// made again on a later try): otherwise they are not kept.
    pub fn awaits_sending(self) -> bool {
        matches!(
            self,
            RecipientState::Pending | RecipientState::Sending | RecipientState::Deferred
        )
    }

    /// Position in the forward-only order of a sent message's statuses.
    fn delivery_rank(self) -> Option<u8> {
        match self {
            RecipientState::Unknown => Some(0),
            RecipientState::Sent => Some(1),
            RecipientState::Delivered => Some(2),
            RecipientState::Read => Some(3),
            RecipientState::Failed { .. } => Some(4),
            _ => None,
        }
    }

    /// The state after a status webhook of the recipient's message: forward only (a
    /// redelivered or late status changes nothing), a failure wins.
    pub fn after_status(self, status: RecipientState) -> RecipientState {
        match (self.delivery_rank(), status.delivery_rank()) {
            (Some(now), Some(next)) if next > now => status,
            _ => self,
        }
    }
}

/// The counter changes of a transition `from` → `to`: exact as long as each transition is
/// applied once (the store makes it conditional on `from`).
pub fn count_changes(from: RecipientState, to: RecipientState) -> BTreeMap<String, i64> {
    let mut changes = BTreeMap::new();
    for label in from.labels() {
        *changes.entry(label).or_insert(0) -= 1;
    }
    for label in to.labels() {
        *changes.entry(label).or_insert(0) += 1;
    }
    changes.retain(|_, n| *n != 0);
    changes
}

/// One recipient of a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub tenant: TenantId,
    pub campaign: CampaignId,
    pub ordinal: u32,
    /// The keyed hash of the wa_id or user id the business named (never the number).
    pub alias: IdentityHash,
    /// Once resolved at sending time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactId>,
    #[serde(flatten)]
    pub state: RecipientState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageId>,
    /// When a deferred recipient is tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    #[serde(default)]
    pub attempts: u8,
    /// Set right before the Graph API call: a claim without it never reached Meta, so a sender
    /// that finds it left by a crashed one may send it; a claim with it may have gone out.
    #[serde(default)]
    pub dispatched: bool,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(state: CampaignState) -> Campaign {
        Campaign {
            id: CampaignId::new("cmp_1"),
            tenant: TenantId::new("t"),
            name: "Spring".into(),
            template: TemplateRef {
                name: crate::domain::template::TemplateName::parse("spring").unwrap(),
                language: crate::domain::template::LanguageCode::parse("en").unwrap(),
            },
            category: TemplateCategory::Marketing,
            defaults: serde_json::Value::Null,
            audience: Audience::Listed,
            recipients: 1,
            resolved: true,
            prepared_chunks: 1,
            prepared: true,
            progress: 0,
            look_again_at: None,
            send_at: Timestamp::from_millis(0),
            created_at: Timestamp::from_millis(0),
            created_by: ApiKeyId::new("key_1"),
            state,
            reason: None,
            state_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn controls_move_a_campaign_and_say_when_they_cannot() {
        let now = Timestamp::from_millis(10);
        let mut c = campaign(CampaignState::Running);
        assert_eq!(c.control(Control::Pause, now), Ok(true));
        assert_eq!(c.control(Control::Pause, now), Ok(false), "already paused");
        assert!(!c.is_sending(now));
        assert_eq!(c.control(Control::Resume, now), Ok(true));
        assert!(c.is_sending(now));
        assert_eq!(c.control(Control::Cancel, now), Ok(true));
        assert_eq!(
            c.control(Control::Resume, now),
            Err(ControlError {
                state: "cancelled",
                action: "resumed"
            })
        );
        let mut done = campaign(CampaignState::Completed);
        assert!(done.control(Control::Pause, now).is_err());
        assert!(
            !done.pause_for("132015", now),
            "a final campaign stays final"
        );
    }

    #[test]
    fn counters_move_with_each_transition_and_only_forward_for_statuses() {
        let sent = count_changes(RecipientState::Sending, RecipientState::Sent);
        assert_eq!(
            sent,
            BTreeMap::from([("eligible".into(), 1), ("sent".into(), 1)])
        );
        let read = count_changes(RecipientState::Sent, RecipientState::Read);
        assert_eq!(
            read,
            BTreeMap::from([("delivered".into(), 1), ("read".into(), 1)])
        );
        assert_eq!(
            RecipientState::Read.after_status(RecipientState::Delivered),
            RecipientState::Read,
            "a late delivered changes nothing"
        );
        assert_eq!(
            RecipientState::Delivered.after_status(RecipientState::Failed { code: Some(131026) }),
            RecipientState::Failed { code: Some(131026) },
            "a failure wins, never shown delivered"
        );
        let skipped = count_changes(
            RecipientState::Sending,
            RecipientState::Skipped {
                reason: Skip::OptedOut,
            },
        );
        assert_eq!(skipped, BTreeMap::from([("skipped.opted_out".into(), 1)]));
        assert!(count_changes(RecipientState::Sent, RecipientState::Sent).is_empty());
    }
}
