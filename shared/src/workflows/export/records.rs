//! The records of an export archive, as `data.json` (schema version 1) and the CSV files show
//! them: times as RFC 3339, content as WhatsApp delivered it, nothing internal.

use crate::domain::audit::AuditEvent;
use crate::domain::consent::{ConsentEvent, ConsentState};
use crate::domain::contact::Contact;
use crate::domain::export::{ExportJob, ExportScope};
use crate::domain::message::Message;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;
pub const SCHEMA_ID: &str = "https://mizan.example/schemas/export-v1.json";

fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

#[derive(Serialize)]
pub struct ExportHeader {
    pub id: String,
    pub scope: &'static str,
    pub requested_at: String,
    pub link_expires_at: String,
}

impl ExportHeader {
    pub fn of(job: &ExportJob) -> Self {
        ExportHeader {
            id: job.id.to_string(),
            scope: match job.scope {
                ExportScope::Contact { .. } => "contact",
                ExportScope::Tenant => "tenant",
            },
            requested_at: time(job.requested_at),
            link_expires_at: time(job.expires_at),
        }
    }
}

#[derive(Serialize)]
pub struct TenantHeader {
    pub id: String,
    pub name: String,
}

impl TenantHeader {
    pub fn of(tenant: &Tenant) -> Self {
        TenantHeader {
            id: tenant.id.to_string(),
            name: tenant.name.clone(),
        }
    }
}

/// A contact's identity, profile, flags and consent: everything but its messages.
#[derive(Serialize)]
pub struct ExportedContact {
    pub id: String,
    pub user_id: Option<String>,
    pub wa_id: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub restricted: bool,
    pub minor: bool,
    /// Whether a person has the conversation now (a take-over ends by itself).
    pub taken_over: bool,
    pub taken_over_until: Option<String>,
    pub legal_hold: bool,
    pub consent: ConsentState,
    pub consent_history: Vec<ExportedConsent>,
    /// Automated replies: which message each answered and how it ended.
    pub automated_replies: Vec<ExportedReply>,
    /// When the contact was last told how to opt out of automated messages.
    pub opt_out_hint_sent_at: Option<String>,
}

#[derive(Serialize)]
pub struct ExportedReply {
    pub answers_message: String,
    pub at: String,
    pub outcome: serde_json::Value,
}

impl ExportedReply {
    pub fn of(claim: &crate::store::ReplyClaim) -> Self {
        ExportedReply {
            answers_message: claim.message.to_string(),
            at: time(claim.claimed_at),
            outcome: serde_json::to_value(&claim.state).unwrap_or_default(),
        }
    }
}

impl ExportedContact {
    pub fn of(
        contact: &Contact,
        history: &[ConsentEvent],
        replies: &[crate::store::ReplyClaim],
        hint: Option<Timestamp>,
        now: Timestamp,
    ) -> Self {
        let profile = contact.profile.as_ref();
        let field = |get: fn(&crate::domain::contact::ContactProfile) -> Option<String>| {
            profile.and_then(get)
        };
        ExportedContact {
            id: contact.id.to_string(),
            user_id: field(|p| p.user_id.as_ref().map(|v| v.expose().clone())),
            wa_id: field(|p| p.wa_id.as_ref().map(|v| v.expose().clone())),
            username: field(|p| p.username.as_ref().map(|v| v.expose().clone())),
            name: field(|p| p.name.as_ref().map(|v| v.expose().clone())),
            created_at: time(contact.created_at),
            last_seen_at: time(contact.last_seen_at),
            restricted: contact.restricted,
            minor: contact.minor,
            taken_over: contact.is_taken_over(now),
            taken_over_until: contact
                .taken_over_until
                .filter(|_| contact.is_taken_over(now))
                .map(time),
            legal_hold: contact.legal_hold,
            consent: contact.consent,
            consent_history: history.iter().map(ExportedConsent::of).collect(),
            automated_replies: replies.iter().map(ExportedReply::of).collect(),
            opt_out_hint_sent_at: hint.map(time),
        }
    }
}

#[derive(Serialize)]
pub struct ExportedConsent {
    pub at: String,
    pub purpose: serde_json::Value,
    pub action: serde_json::Value,
    pub source: serde_json::Value,
    pub evidence: String,
    pub actor: String,
}

impl ExportedConsent {
    pub fn of(event: &ConsentEvent) -> Self {
        ExportedConsent {
            at: time(event.at),
            purpose: serde_json::to_value(event.purpose).unwrap_or_default(),
            action: serde_json::to_value(event.action).unwrap_or_default(),
            source: serde_json::to_value(event.source).unwrap_or_default(),
            evidence: event.evidence.clone(),
            actor: event.actor.clone(),
        }
    }

    /// The value as the CSV shows it (`"marketing"` → `marketing`).
    pub fn plain(value: &serde_json::Value) -> String {
        value
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string())
    }
}

#[derive(Serialize)]
pub struct ExportedMessage {
    pub id: String,
    pub contact: String,
    pub direction: serde_json::Value,
    /// `customer`, `ai` or `agent` (a person, through the API).
    pub sender: serde_json::Value,
    /// The template it was sent from (name and language).
    pub template: Option<serde_json::Value>,
    /// Why an accepted message was not sent after all.
    pub not_sent: Option<String>,
    pub kind: serde_json::Value,
    pub sent_at: String,
    pub stored_at: String,
    pub status: serde_json::Value,
    pub status_at: String,
    pub late: bool,
    pub errors: Vec<serde_json::Value>,
    /// The message as WhatsApp delivered it; `null` once the chat retention has removed it.
    pub content: Option<serde_json::Value>,
    /// The text a person reads (body, caption, reply title, …), when there is one.
    pub text: Option<String>,
}

impl ExportedMessage {
    pub fn of(message: &Message) -> Self {
        let content = message.content.as_ref().map(|c| c.0.expose().clone());
        ExportedMessage {
            id: message.id.to_string(),
            contact: message.contact.to_string(),
            direction: serde_json::to_value(message.direction).unwrap_or_default(),
            sender: serde_json::to_value(message.sender()).unwrap_or_default(),
            template: message
                .template
                .as_ref()
                .map(|t| serde_json::json!({ "name": t.name, "language": t.language })),
            not_sent: message.not_sent.clone(),
            kind: serde_json::to_value(message.kind).unwrap_or_default(),
            sent_at: time(message.sent_at),
            stored_at: time(message.stored_at),
            status: serde_json::to_value(message.status).unwrap_or_default(),
            status_at: time(message.status_at),
            late: message.late,
            errors: message
                .errors
                .iter()
                .map(|e| serde_json::json!({ "code": e.code, "title": e.title }))
                .collect(),
            text: content.as_ref().and_then(readable_text),
            content,
        }
    }
}

#[derive(Serialize)]
pub struct ExportedAudit {
    pub at: String,
    pub action: String,
    pub actor: serde_json::Value,
    pub outcome: serde_json::Value,
    pub contact: Option<String>,
    pub detail: serde_json::Value,
}

impl ExportedAudit {
    pub fn of(event: &AuditEvent) -> Self {
        ExportedAudit {
            at: time(event.at),
            action: event.action.clone(),
            actor: serde_json::to_value(&event.actor).unwrap_or_default(),
            outcome: serde_json::to_value(event.outcome).unwrap_or_default(),
            contact: event.subject.as_ref().map(ToString::to_string),
            detail: event.detail.clone(),
        }
    }
}

/// The words of a WhatsApp message a person would read, whatever its type.
pub fn readable_text(content: &serde_json::Value) -> Option<String> {
    const PATHS: [&[&str]; 10] = [
        &["text", "body"],
        &["body"],
        &["image", "caption"],
        &["video", "caption"],
        &["document", "caption"],
        &["button", "text"],
        &["interactive", "button_reply", "title"],
        &["interactive", "list_reply", "title"],
        &["reaction", "emoji"],
        &["location", "name"],
    ];
    PATHS.iter().find_map(|path| {
        path.iter()
            .try_fold(content, |value, key| value.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::readable_text;
    use serde_json::json;

    #[test]
    fn readable_text_finds_the_words_of_each_message_type() {
        assert_eq!(
            readable_text(&json!({"text": {"body": "Bonjour"}})).as_deref(),
            Some("Bonjour")
        );
        assert_eq!(
            readable_text(&json!({"image": {"id": "1", "caption": "menu"}})).as_deref(),
            Some("menu")
        );
        assert_eq!(
            readable_text(&json!({"interactive": {"button_reply": {"id": "b", "title": "Oui"}}}))
                .as_deref(),
            Some("Oui")
        );
        assert_eq!(readable_text(&json!({"sticker": {"id": "1"}})), None);
    }
}
