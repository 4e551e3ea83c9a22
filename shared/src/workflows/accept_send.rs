//! A person asks Mizan to send a message to a contact (the business API): checked against the
//! outbound gate and, for a template, the registry and its placeholders; then stored sealed as
//! an accepted outbound message with its order, in one transaction with the idempotency key and
//! the audit event. The sender sends it in its turn (`workflows::outbound_send`). A person
//! writing while automation answers the contact takes the conversation over.

use crate::domain::audit::AuditEvent;
use crate::domain::contact::Contact;
use crate::domain::contact_change::ContactChange;
use crate::domain::ids::ApiKeyId;
use crate::domain::message::{Message, MessageContent, MessageKind};
use crate::domain::outbound::Refusal;
use crate::domain::send_request::SendWhat;
use crate::domain::template::{fill, ParameterError};
use crate::domain::tenant::Tenant;
use crate::store::{Acceptance, DataError, IdempotencyClaim, OutboundOrder, Store, Versioned};
use crate::workflows::persons_gate;
use serde_json::json;

/// Why a send was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The outbound gate said no (`WindowClosed`: a template is needed).
    #[error("not sent: {}", .0.as_str())]
    Refused(Refusal),
    #[error("the tenant has no template with this name and language")]
    TemplateNotFound,
    #[error("the template is {0}: only an APPROVED template can be sent")]
    TemplateNotApproved(String),
    #[error(transparent)]
    Parameter(ParameterError),
    #[error("this Idempotency-Key was used with another request in the last 24 hours")]
    IdempotencyConflict,
    #[error("the tenant has no WhatsApp number to send from")]
    NoNumber,
    #[error(transparent)]
    Data(#[from] DataError),
}

/// What the caller gets: the stored message, and whether it is the first answer again.
#[derive(Debug)]
pub struct Accepted {
    pub message: Message,
    pub replayed: bool,
}

/// A person's send request, checked and identified.
pub struct SendAsAgent<'a> {
    pub tenant: &'a Tenant,
    pub contact: &'a Versioned<Contact>,
    pub agent: &'a ApiKeyId,
    pub what: SendWhat,
    /// The client's `Idempotency-Key`, and a canonical form of its request.
    pub idempotency: Option<(&'a str, Vec<u8>)>,
}

pub async fn accept_send(store: &Store, request: SendAsAgent<'_>) -> Result<Accepted, AcceptError> {
    let SendAsAgent {
        tenant,
        contact,
        agent,
        what,
        idempotency,
    } = request;
    let claim = idempotency.map(|(key, canonical)| {
        let mut request = contact.value.id.as_str().as_bytes().to_vec();
        request.push(0);
        request.extend_from_slice(&canonical);
        IdempotencyClaim {
            key_hash: store.hasher().request_fingerprint(
                &tenant.id,
                "idempotency-key",
                key.as_bytes(),
            ),
            fingerprint: store
                .hasher()
                .request_fingerprint(&tenant.id, "send", &request),
        }
    });
    if let Some(claim) = &claim {
        // A retry answers with the first request's message, whatever changed since.
        if let Some(first) = replay(store, tenant, claim).await? {
            return Ok(first);
        }
    }
    if tenant.phone_numbers.is_empty() {
        return Err(AcceptError::NoNumber);
    }
    let now = store.now();
    let (kind, content, template, category) = match &what {
        SendWhat::Text(text) => (
            MessageKind::Text,
            MessageContent::text(text.expose()),
            None,
            None,
        ),
        SendWhat::Template {
            name,
            language,
            parameters,
        } => {
            let template = store
                .template(&tenant.id, name, language)
                .await?
                .ok_or(AcceptError::TemplateNotFound)?;
            if !template.is_approved() {
                return Err(AcceptError::TemplateNotApproved(template.status.clone()));
            }
            let filled = fill(&template, parameters.expose()).map_err(AcceptError::Parameter)?;
            (
                MessageKind::Template,
                MessageContent::template(filled.graph.expose(), filled.text.expose()),
                Some(template.reference()),
                Some(template.category),
            )
        }
    };
    // The gate as the contact is now (the sender asks it again right before the call).
    persons_gate::ask(store, &tenant.id, &contact.value, category)
        .await?
        .map_err(AcceptError::Refused)?;
    let message = Message::from_agent(
        tenant.id.clone(),
        contact.value.id.clone(),
        agent.clone(),
        kind,
        content,
        template.clone(),
        now,
    );
    let order =
        OutboundOrder::for_message(&message, category).expect("a person's message names its agent");
    let audit = AuditEvent::new(
        tenant.id.clone(),
        crate::domain::audit::Actor::ApiKey(agent.clone()),
        "message.accepted",
        Some(contact.value.id.clone()),
        now,
    )
    .with_detail(json!({
        "message": message.id,
        "kind": kind,
        "template": template.as_ref().map(|t| json!({"name": t.name, "language": t.language})),
    }));
    match store
        .accept_outbound(&message, &order, claim.as_ref(), &audit)
        .await?
    {
        Acceptance::Accepted => {}
        Acceptance::Conflict => return Err(AcceptError::IdempotencyConflict),
        Acceptance::Replay { .. } => {
            // Accepted concurrently under the same key: answer with that one.
            let claim = claim.as_ref().expect("a replay needs a key");
            if let Some(first) = replay(store, tenant, claim).await? {
                return Ok(first);
            }
        }
    }
    take_over_if_automated(store, tenant, &contact.value, agent).await?;
    Ok(Accepted {
        message,
        replayed: false,
    })
}

async fn replay(
    store: &Store,
    tenant: &Tenant,
    claim: &IdempotencyClaim,
) -> Result<Option<Accepted>, AcceptError> {
    match store.idempotent_request(&tenant.id, claim).await? {
        Some(Acceptance::Conflict) => Err(AcceptError::IdempotencyConflict),
        Some(Acceptance::Replay { contact, message }) => {
            let found = store
                .message_by_id(&tenant.id, &contact, &message, &tenant.retention())
                .await?;
            Ok(found.map(|message| Accepted {
                message,
                replayed: true,
            }))
        }
        Some(Acceptance::Accepted) | None => Ok(None),
    }
}

/// A person answering takes the conversation over from automation (audited), for the
/// tenant's take-over time, so the AI does not talk over them; a conversation the assistant
/// handed off is no longer awaiting a person.
async fn take_over_if_automated(
    store: &Store,
    tenant: &Tenant,
    contact: &Contact,
    agent: &ApiKeyId,
) -> Result<(), DataError> {
    let now = store.now();
    let awaited = contact.awaiting_person && contact.is_taken_over(now);
    if !awaited && (!tenant.settings.automation_enabled || contact.is_taken_over(now)) {
        return Ok(());
    }
    store
        .change_contact(
            &tenant.id,
            &contact.id,
            &ContactChange::TakeOver {
                until: now.plus(tenant.settings.takeover_expiry()),
            },
            &crate::domain::audit::Actor::ApiKey(agent.clone()),
        )
        .await
        .map(|_| ())
}
