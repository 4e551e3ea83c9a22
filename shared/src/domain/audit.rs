//! Audit events: who did what to whose data, when, with what outcome (P7). No personal data.

use crate::domain::ids::{ApiKeyId, AuditId, ContactId, TenantId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    ApiKey(ApiKeyId),
    /// A Mizan function acting on its own (the purge, intake).
    System(String),
    /// An operator's admin command.
    Admin,
    /// A holder of an export download link.
    LinkHolder,
    /// The person the data is about, exercising a right from their own WhatsApp account.
    DataSubject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Refused,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditId,
    pub tenant: TenantId,
    pub at: Timestamp,
    pub actor: Actor,
    /// What was done, e.g. `consent.recorded`, `contact.erasure_requested`, `export.downloaded`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<ContactId>,
    pub outcome: Outcome,
    /// Non-personal details (field names changed, counts, export id).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        tenant: TenantId,
        actor: Actor,
        action: impl Into<String>,
        subject: Option<ContactId>,
        at: Timestamp,
    ) -> Self {
        AuditEvent {
            id: AuditId::generate(),
            tenant,
            at,
            actor,
            action: action.into(),
            subject,
            outcome: Outcome::Succeeded,
            detail: serde_json::Value::Null,
        }
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Which audit events a reader wants: an action (exact, or a family when it ends with '.':
/// `rights.`), a subject, a time range (inclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub subject: Option<ContactId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl AuditFilter {
    pub fn is_empty(&self) -> bool {
        *self == AuditFilter::default()
    }

    /// Whether `event` passes the action and subject filters (the time range is the query's).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let action = match &self.action {
            None => true,
            Some(family) if family.ends_with('.') => event.action.starts_with(family.as_str()),
            Some(exact) => event.action == *exact,
        };
        action
            && self
                .subject
                .as_ref()
                .is_none_or(|s| event.subject.as_ref() == Some(s))
    }
}
