//! One contact's burst: decide (domain), claim (store), answer (responder), send (messenger),
//! record (store). The story of one reply.

use crate::batch::{Outcome, StreamMessage};
use crate::Deps;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::contact::Contact;
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::ids::{ContactId, TenantId};
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind};
use mizan_shared::domain::redaction::redact;
use mizan_shared::domain::reply::{
    answerable, compose, customer_order, customer_text, fixed_text, hand_off_text,
    needs_opt_out_hint, newest, opt_out_hint, plan, still_allowed, Plan, ReplyFacts, ReplyKind,
    SkipReason,
};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::ports::messenger::{Recipient, SendError, TextReply};
use mizan_shared::ports::responder::{Answer, Prompt, Speaker, Turn};
use mizan_shared::store::{ClaimOutcome, ClaimState, DataError, ReplyClaim, Versioned};

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl ReplyError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ReplyError::Data(e) => e.is_retryable(),
            ReplyError::Send(e) => e.is_retryable(),
        }
    }
}

pub(crate) async fn reply_to_burst(
    deps: &Deps,
    tenant_id: &TenantId,
    contact_id: &ContactId,
    burst: &[StreamMessage],
) -> Result<Outcome, ReplyError> {
    let store = &deps.store;
    let log_contact = store.hasher().for_logs(contact_id.as_str());
    let skip = |reason: SkipReason| {
        tracing::info!(
            tenant = %tenant_id,
            contact = %log_contact,
            skip_reason = reason.as_str(),
            "no automated reply"
        );
        Ok(Outcome::Skipped(reason))
    };
    // The burst's newest answerable message; reactions and edits alone get nothing.
    let candidate = newest(
        burst
            .iter()
            .map(|m| &m.message)
            .filter(|m| answerable(m.kind)),
    )
    .or_else(|| newest(burst.iter().map(|m| &m.message)));
    let Some(candidate) = candidate else {
        return Ok(Outcome::Skipped(SkipReason::NotAnswerable));
    };
    let Some(tenant) = store.tenant(tenant_id).await? else {
        return skip(SkipReason::TenantClosed);
    };
    let Some(contact) = store.contact(tenant_id, contact_id).await? else {
        return skip(SkipReason::Restricted);
    };
    let policy = tenant.retention();
    let conversation = store
        .conversation(tenant_id, contact_id, &policy, deps.history, None)
        .await?
        .items;
    let newer_inbound = conversation.iter().any(|m| {
        m.direction == Direction::Inbound
            && answerable(m.kind)
            && customer_order(m) > customer_order(candidate)
    });
    // The stream image has no content: read it, decrypted, from the conversation.
    let stored = conversation.iter().find(|m| m.id == candidate.id);
    let text = stored
        .and_then(|m| m.content.as_ref())
        .and_then(|c| customer_text(c.0.expose()));
    let now = store.now();
    let decision = plan(&ReplyFacts {
        tenant_active: tenant.is_active(),
        automation_enabled: tenant.settings.automation_enabled,
        contact: &contact.value,
        message: stored.unwrap_or(candidate),
        text: text.as_deref(),
        newer_inbound: newer_inbound || stored.is_none(),
        now,
    });
    let (kind, language) = match decision {
        Plan::Skip(reason) => return skip(reason),
        Plan::Reply { kind, language } => (kind, language),
    };
    let Some(quoting) = stored.and_then(|m| m.wamid.clone()) else {
        // Content already gone (retention or erasure): nothing to quote, nothing to answer.
        return skip(SkipReason::NotAnswerable);
    };
    // Replies go out from the tenant's number. Inbound records do not keep the number they were
    // sent to, so a tenant with several numbers answers from its first one (see README).
    let Some(from) = tenant.phone_numbers.first().cloned() else {
        return Err(DataError::Invalid("the tenant has no WhatsApp number".into()).into());
    };
    let Some(to) = recipient(&contact.value) else {
        return skip(SkipReason::Restricted);
    };
    let claim = match store
        .claim_reply(tenant_id, contact_id, &candidate.id)
        .await?
    {
        ClaimOutcome::Claimed(claim) => claim,
        ClaimOutcome::AlreadyClaimed(_) => return skip(SkipReason::AlreadyClaimed),
    };
    let addressed = Addressed { from, to, quoting };
    match answer_and_send(
        deps,
        &tenant,
        &contact,
        &conversation,
        &claim,
        kind,
        language,
        addressed,
    )
    .await
    {
        Ok(outcome) => Ok(outcome),
        Err(e) if e.is_retryable() => {
            // Nothing went out: give the claim back so the stream's retry can answer.
            store.release_reply(&claim).await?;
            Err(e)
        }
        Err(ReplyError::Send(e)) => {
            tracing::warn!(
                tenant = %tenant_id,
                contact = %log_contact,
                code = e.code(),
                error = %e,
                "whatsapp refused the reply; not retried"
            );
            store
                .finish_reply(&claim, ClaimState::Failed { code: e.code() })
                .await?;
            Ok(Outcome::Refused(e.code()))
        }
        Err(e) => Err(e),
    }
}

/// Who a reply is from and to, and the message it quotes.
struct Addressed {
    from: mizan_shared::domain::ids::PhoneNumberId,
    to: Recipient,
    quoting: mizan_shared::domain::ids::Wamid,
}

#[allow(clippy::too_many_arguments)]
async fn answer_and_send(
    deps: &Deps,
    tenant: &Tenant,
    contact: &Versioned<Contact>,
    conversation: &[Message],
    claim: &ReplyClaim,
    kind: ReplyKind,
    language: mizan_shared::domain::keywords::Language,
    addressed: Addressed,
) -> Result<Outcome, ReplyError> {
    let store = &deps.store;
    let log_contact = store.hasher().for_logs(contact.value.id.as_str());
    let Addressed { from, to, quoting } = addressed;
    if let Err(e) = deps.messenger.mark_read(&from, &quoting).await {
        // Read receipts are a courtesy: the reply goes out regardless.
        tracing::info!(tenant = %tenant.id, code = e.code(), "mark as read failed");
    }
    let reply = match fixed_text(kind, language, &tenant.name) {
        Some(text) => text,
        None => {
            let prompt = prompt(tenant, conversation, language);
            match deps.responder.respond(&prompt).await {
                Ok(Answer::Text(text)) if !text.expose().trim().is_empty() => text.into_inner(),
                Ok(_) => hand_off_text(language).to_owned(),
                Err(e) => {
                    tracing::warn!(
                        tenant = %tenant.id,
                        contact = %log_contact,
                        responder = deps.responder.name(),
                        error = %e,
                        "responder failed; sending the hand-off message"
                    );
                    hand_off_text(language).to_owned()
                }
            }
        }
    };
    let now = store.now();
    let last_hint = store
        .last_opt_out_hint(&tenant.id, &contact.value.id)
        .await?;
    let with_hint = needs_opt_out_hint(kind, last_hint, now);
    let body = compose(&reply, with_hint.then(|| opt_out_hint(language)));
    // The model took its time: whatever landed meanwhile (erasure, block, opt-out, restriction,
    // a person taking over) is seen now, right before the send (one read).
    let current = store.contact_state(&tenant.id, &contact.value.id).await?;
    if let Err(reason) = still_allowed(kind, current.as_ref().map(|c| &c.value)) {
        store.release_reply(claim).await?;
        tracing::info!(
            tenant = %tenant.id,
            contact = %log_contact,
            skip_reason = reason.as_str(),
            "no automated reply: the contact changed while it was being made"
        );
        return Ok(Outcome::Skipped(reason));
    }
    let wamid = deps
        .messenger
        .send_text(&TextReply {
            from,
            to,
            quoting,
            body: body.clone().into(),
        })
        .await?;
    // Sent: from here on nothing may release the claim, whatever fails.
    let outbound = Message::outbound(
        tenant.id.clone(),
        contact.value.id.clone(),
        store.message_id(&tenant.id, &wamid),
        wamid,
        MessageKind::Text,
        MessageContent::text(&body),
        now,
    );
    // An erasure that landed during the send wins: nothing more is written for the contact.
    let erasing = match store.contact_state(&tenant.id, &contact.value.id).await {
        Ok(current) => current.is_none_or(|c| c.value.is_erasure_due()),
        Err(_) => false,
    };
    if erasing {
        tracing::info!(
            tenant = %tenant.id,
            contact = %log_contact,
            reply_kind = kind.as_str(),
            "automated reply sent to a contact being erased; not recorded"
        );
        return Ok(Outcome::Replied(kind));
    }
    let recorded = record_sent(deps, tenant, contact, claim, &outbound, kind, with_hint).await;
    if let Err(e) = recorded {
        tracing::error!(
            tenant = %tenant.id,
            contact = %log_contact,
            error = %e,
            "reply sent but not fully recorded; it is not sent again"
        );
    }
    tracing::info!(
        tenant = %tenant.id,
        contact = %log_contact,
        reply_kind = kind.as_str(),
        responder = deps.responder.name(),
        messenger = deps.messenger.name(),
        opt_out_hint = with_hint,
        "automated reply sent"
    );
    Ok(Outcome::Replied(kind))
}

async fn record_sent(
    deps: &Deps,
    tenant: &Tenant,
    contact: &Versioned<Contact>,
    claim: &ReplyClaim,
    outbound: &Message,
    kind: ReplyKind,
    with_hint: bool,
) -> Result<(), DataError> {
    deps.store
        .record_sent_reply(claim, outbound, kind, with_hint.then_some(outbound.sent_at))
        .await?;
    if kind == ReplyKind::HandOff {
        take_over(deps, tenant, &contact.value.id).await?;
    }
    Ok(())
}

/// Marks the conversation taken over by a person (audited), so no automated reply follows.
async fn take_over(deps: &Deps, tenant: &Tenant, contact: &ContactId) -> Result<(), DataError> {
    deps.store
        .change_contact(
            &tenant.id,
            contact,
            &ContactChange::TakeOver,
            &Actor::System("ai-reply".into()),
        )
        .await
        .map(|_| ())
}

/// Who the reply goes to: the phone number when known, else the business-scoped user id.
fn recipient(contact: &Contact) -> Option<Recipient> {
    let profile = contact.profile.as_ref()?;
    if let Some(wa_id) = &profile.wa_id {
        return Some(Recipient::WaId(wa_id.clone()));
    }
    profile
        .user_id
        .as_ref()
        .map(|u| Recipient::UserId(u.clone()))
}

/// What the responder sees: the business's instructions and FAQ, and the conversation's words
/// oldest first. No phone number, WhatsApp id or name of the contact; with the tenant's
/// `model_redaction` (the default) no phone number, e-mail address, card number or IBAN the
/// customer typed either.
fn prompt(
    tenant: &Tenant,
    conversation: &[Message],
    language: mizan_shared::domain::keywords::Language,
) -> Prompt {
    // In the order Mizan saw them: WhatsApp's times have whole seconds, replies milliseconds.
    let mut ordered: Vec<&Message> = conversation.iter().collect();
    ordered.sort_by_key(|m| (m.stored_at, m.sent_at));
    let turns = ordered
        .into_iter()
        .filter_map(|m| {
            let text = customer_text(m.content.as_ref()?.0.expose())?;
            let text = if tenant.settings.model_redaction {
                redact(&text)
            } else {
                text
            };
            Some(Turn {
                speaker: match m.direction {
                    Direction::Inbound => Speaker::Customer,
                    Direction::Outbound => Speaker::Business,
                },
                text: text.into(),
            })
        })
        .collect();
    Prompt {
        business_name: tenant.name.clone(),
        instructions: tenant.settings.ai_instructions.clone(),
        faq: tenant.settings.faq.clone(),
        turns,
        language,
    }
}
