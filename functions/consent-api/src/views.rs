//! What the API answers with: JSON views of stored entities, times in RFC 3339.

use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::consent::{ConsentEvent, ConsentState, Purpose};
use mizan_shared::domain::contact::Contact;
use mizan_shared::domain::message::Message;
use mizan_shared::domain::retention::{MAX_CHAT_RETENTION_DAYS, MIN_CHAT_RETENTION_DAYS};
use mizan_shared::domain::template::{slots_of, HeaderSlot, Template};
use mizan_shared::domain::tenant::TenantSettings;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::workflows::export::records::readable_text;
use serde_json::{json, Value};

/// The contact's profile (the right of access), consent state and processing flags at `now`.
pub fn contact(contact: &Contact, now: Timestamp) -> Value {
    let taken_over = contact.is_taken_over(now);
    let profile = contact.profile.clone().unwrap_or_default();
    let text = |field: &Option<mizan_shared::domain::personal::Personal<String>>| {
        field.as_ref().map(|v| v.expose().clone())
    };
    json!({
        "id": contact.id,
        "profile": {
            "user_id": text(&profile.user_id),
            "wa_id": text(&profile.wa_id),
            "parent_user_id": text(&profile.parent_user_id),
            "name": text(&profile.name),
            "username": text(&profile.username),
        },
        "created_at": contact.created_at.to_rfc3339(),
        "last_seen_at": contact.last_seen_at.to_rfc3339(),
        "consent": consent_state(&contact.consent),
        "restricted": contact.restricted,
        "taken_over": taken_over,
        "awaiting_person": taken_over && contact.awaiting_person,
        "taken_over_until": contact
            .taken_over_until
            .filter(|_| taken_over)
            .map(Timestamp::to_rfc3339),
        "legal_hold": contact.legal_hold,
        "minor": contact.minor,
        "known_minor": contact.known_minor,
        "may_send": {
            "marketing": contact.may_send(Purpose::Marketing),
            "automated_replies": contact.may_send(Purpose::AutomatedReplies),
        },
    })
}

pub fn consent_state(state: &ConsentState) -> Value {
    json!({
        "marketing": state.marketing,
        "automated_replies": state.automated_replies,
        "blocked": state.blocked,
    })
}

pub fn consent_event(event: &ConsentEvent) -> Value {
    json!({
        "at": event.at.to_rfc3339(),
        "purpose": event.purpose,
        "action": event.action,
        "source": event.source,
        "evidence": event.evidence,
        "actor": event.actor,
    })
}

pub fn settings(settings: &TenantSettings) -> Value {
    json!({
        "chat_retention_days": settings.chat_retention_days,
        "chat_retention_days_bounds": { "min": MIN_CHAT_RETENTION_DAYS, "max": MAX_CHAT_RETENTION_DAYS },
        "automation_enabled": settings.automation_enabled,
        "ai_instructions": settings.ai_instructions,
        "faq": settings.faq,
        "legal_hold": settings.legal_hold,
        "legal_hold_reason": settings.legal_hold_reason,
        "legal_hold_by_operator": settings.legal_hold_by_operator,
        "model_redaction": settings.model_redaction,
        "takeover_expires_hours": settings.takeover_expires_hours,
        "messages_per_second": settings.messages_per_second,
        "privacy_notice_url": settings.privacy_notice_url,
        "rights_self_service": settings.rights_self_service,
        "closed_export_days": settings.closed_export_days,
        "default_country": settings.default_country,
        "handoff_texts": settings.handoff_texts,
        "greetings": settings.greetings,
    })
}

pub fn audit_event(event: &AuditEvent) -> Value {
    json!({
        "id": event.id,
        "at": event.at.to_rfc3339(),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "outcome": event.outcome,
        "detail": event.detail,
    })
}

/// One message of a conversation: its metadata and, while the chat retention keeps it, the
/// words a person reads in it (`text`, as an export shows them). Who sent it: the customer, the
/// business's automated reply, or a person (`agent`: the API key they sent it with).
pub fn message(message: &Message) -> Value {
    let content = message.content.as_ref().map(|c| c.0.expose());
    json!({
        "id": message.id,
        "direction": message.direction,
        "sender": message.sender(),
        "agent": message.agent,
        "template": message.template.as_ref().map(|t| json!({ "name": t.name, "language": t.language })),
        "kind": message.kind,
        "text": content.and_then(readable_text),
        "content_removed": content.is_none(),
        "sent_at": message.sent_at.to_rfc3339(),
        "stored_at": message.stored_at.to_rfc3339(),
        "status": message.status,
        "status_at": message.status_at.to_rfc3339(),
        "errors": message.errors.iter().map(|e| json!({ "code": e.code, "title": e.title })).collect::<Vec<_>>(),
        "late": message.late,
        "not_sent": message.not_sent,
    })
}

/// One template of the registry: what it is, where Meta's review stands, and what a send of it
/// must fill (`placeholders`).
pub fn template(template: &Template) -> Value {
    let slots = template
        .components
        .as_deref()
        .and_then(|c| slots_of(c).ok());
    let placeholders = slots.as_ref().map(|s| {
        json!({
            "header": match &s.header {
                HeaderSlot::Nothing => Value::Null,
                HeaderSlot::Text { placeholders, .. } => json!(placeholders),
                HeaderSlot::Media(kind) => json!(kind.as_str()),
            },
            "body": s.body,
            "buttons": s.buttons.iter().map(|(i, _)| i.to_string()).collect::<Vec<_>>(),
        })
    });
    json!({
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "status": template.status,
        "quality": template.quality,
        "reason": template.reason,
        "meta_id": template.meta_id,
        "parameter_format": template.parameter_format,
        "components": template.components,
        "placeholders": placeholders,
        "sendable": template.is_approved() && slots.is_some(),
        "updated_at": template.updated_at.to_rfc3339(),
    })
}
