//! One contact's burst of new messages answered at most once: decide (`domain::reply`), claim
//! (store), answer (responder), ask the outbound gate again, send (messenger), record (store).
//! The stream-triggered function groups a batch by contact and calls this for each group.

mod prompt;

use crate::domain::audit::Actor;
use crate::domain::contact::Contact;
use crate::domain::contact_change::ContactChange;
use crate::domain::ids::{ContactId, PhoneNumberId, TenantId, Wamid};
use crate::domain::keywords::Language;
use crate::domain::message::{Direction, Message, MessageContent, MessageKind};
use crate::domain::outbound::window_open;
use crate::domain::outbound::Recipient as Addressee;
use crate::domain::reply::{
    burst_candidate, compose, customer_text, fixed_text, hand_off_text, has_newer_inbound,
    needs_opt_out_hint, opt_out_hint, plan, still_allowed, Plan, ReplyFacts, ReplyKind, SkipReason,
};
use crate::domain::rights_keywords;
use crate::domain::tenant::Tenant;
use crate::ports::messenger::{Messenger, Recipient, SendError, TextReply};
use crate::ports::responder::{Answer, Responder};
use crate::store::{ClaimOutcome, ClaimState, DataError, ReplyClaim, Store, Versioned};
use crate::workflows::rights_chat::{self, RequestMessage, RightsDesk, RightsOutcome};
use prompt::prompt;

/// How one contact's burst ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Replied(ReplyKind),
    Skipped(SkipReason),
    /// WhatsApp refused the reply for good (code as given); recorded on the claim.
    Refused(Option<i64>),
    /// The burst failed: the stream retries its records, then sends them to the failure queue.
    /// `retryable` says whether a retry can help.
    Failed {
        retryable: bool,
    },
}

/// What a reply needs: the store, the responder that writes answers, the sender, and how much
/// of the conversation the responder sees.
pub struct Replier<'a> {
    pub store: &'a Store,
    pub responder: &'a dyn Responder,
    pub messenger: &'a dyn Messenger,
    /// How many recent messages of the conversation the responder sees.
    pub history: usize,
    /// Rights requests in the chat.
    pub rights: RightsDesk<'a>,
}

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

/// Answers one contact's burst of new inbound messages (as the stream shows them: metadata
/// only) at most once.
pub async fn reply_to_burst(
    deps: &Replier<'_>,
    tenant_id: &TenantId,
    contact_id: &ContactId,
    burst: &[Message],
) -> Result<Outcome, ReplyError> {
    let store = deps.store;
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
    let Some(candidate) = burst_candidate(burst) else {
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
    // Rights requests first: they are the person's, whatever automation, consent or a
    // take-over say, and one in the middle of a burst is answered too.
    if let Some(outcome) =
        answer_rights_requests(deps, &tenant, &contact, &conversation, burst, candidate).await?
    {
        return Ok(outcome);
    }
    let newer_inbound = has_newer_inbound(&conversation, candidate);
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
    let Some(to) = Recipient::of(&contact.value) else {
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

/// Answers every rights request of the burst (each claimed once, like a reply); the outcome
/// when the burst's newest message was one of them, `None` to answer that one as usual.
async fn answer_rights_requests(
    deps: &Replier<'_>,
    tenant: &Tenant,
    contact: &Versioned<Contact>,
    conversation: &[Message],
    burst: &[Message],
    candidate: &Message,
) -> Result<Option<Outcome>, ReplyError> {
    let store = deps.store;
    let now = store.now();
    let mut last = None;
    for message in burst {
        let Some(stored) = conversation.iter().find(|m| m.id == message.id) else {
            continue;
        };
        let text = stored
            .content
            .as_ref()
            .and_then(|c| customer_text(c.0.expose()));
        let Some(request) = text.as_deref().and_then(rights_keywords::classify) else {
            continue;
        };
        // A closed account sends nothing more, rights answers included (its data is the
        // business's to hand over, through its export).
        let answerable = tenant.is_active()
            && stored.direction == Direction::Inbound
            && !stored.late
            && window_open(stored.sent_at, now)
            && !contact.value.is_erasure_due();
        let (Some(quoting), Some(to), Some(from), true) = (
            stored.wamid.clone(),
            Recipient::of(&contact.value),
            tenant.phone_numbers.first().cloned(),
            answerable,
        ) else {
            continue;
        };
        let claim = match store
            .claim_reply(&tenant.id, &contact.value.id, &stored.id)
            .await?
        {
            ClaimOutcome::Claimed(claim) => claim,
            ClaimOutcome::AlreadyClaimed(_) => {
                if stored.id == candidate.id {
                    last = Some(Outcome::Skipped(SkipReason::AlreadyClaimed));
                }
                continue;
            }
        };
        let request_message = RequestMessage {
            tenant,
            contact,
            claim: &claim,
            from,
            to,
            quoting,
            sent_at: stored.sent_at,
        };
        let answered = rights_chat::answer(&deps.rights, &request_message, &request).await;
        let outcome = match answered {
            Ok(RightsOutcome::Answered) => Outcome::Replied(ReplyKind::RightsAnswer),
            Ok(RightsOutcome::NotAnswered(refusal)) => Outcome::Skipped(refusal.into()),
            Err(e) if e.is_retryable() => {
                store.release_reply(&claim).await?;
                return Err(e);
            }
            Err(ReplyError::Send(e)) => {
                tracing::warn!(
                    tenant = %tenant.id,
                    code = e.code(),
                    error = %e,
                    "whatsapp refused the rights answer; not retried"
                );
                store
                    .finish_reply(&claim, ClaimState::Failed { code: e.code() })
                    .await?;
                Outcome::Refused(e.code())
            }
            Err(e) => return Err(e),
        };
        tracing::info!(
            tenant = %tenant.id,
            contact = %store.hasher().for_logs(contact.value.id.as_str()),
            rights_request = request.keyword.name(),
            "rights request in the chat"
        );
        if stored.id == candidate.id {
            last = Some(outcome);
        }
    }
    Ok(last)
}

/// Who a reply is from and to, and the message it quotes.
struct Addressed {
    from: PhoneNumberId,
    to: Recipient,
    quoting: Wamid,
}

#[allow(clippy::too_many_arguments)]
async fn answer_and_send(
    deps: &Replier<'_>,
    tenant: &Tenant,
    contact: &Versioned<Contact>,
    conversation: &[Message],
    claim: &ReplyClaim,
    kind: ReplyKind,
    language: Language,
    addressed: Addressed,
) -> Result<Outcome, ReplyError> {
    let store = deps.store;
    let log_contact = store.hasher().for_logs(contact.value.id.as_str());
    let Addressed { from, to, quoting } = addressed;
    if let Err(e) = deps.messenger.mark_read(&from, &quoting).await {
        // Read receipts are a courtesy: the reply goes out regardless.
        tracing::info!(tenant = %tenant.id, code = e.code(), "mark as read failed");
    }
    let settings = &tenant.settings;
    let hand_off = || {
        settings
            .handoff_text(language)
            .unwrap_or_else(|| hand_off_text(language))
            .to_owned()
    };
    let own = match kind {
        ReplyKind::HandOff => Some(hand_off()),
        ReplyKind::Greeting => settings.greeting(language).map(str::to_owned),
        _ => None,
    };
    let reply = match own.or_else(|| fixed_text(kind, language, &tenant.name)) {
        Some(text) => text,
        None => {
            let prompt = prompt(tenant, conversation, language);
            match deps.responder.respond(&prompt).await {
                Ok(Answer::Text(text)) if !text.expose().trim().is_empty() => text.into_inner(),
                Ok(_) => hand_off(),
                Err(e) => {
                    tracing::warn!(
                        tenant = %tenant.id,
                        contact = %log_contact,
                        responder = deps.responder.name(),
                        error = %e,
                        "responder failed; sending the hand-off message"
                    );
                    hand_off()
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
    let addressee = Addressee {
        contact: current.as_ref().map(|c| &c.value),
        last_inbound_at: conversation
            .iter()
            .filter(|m| m.direction == Direction::Inbound)
            .map(|m| m.sent_at)
            .max(),
        suppressed: false,
        now: store.now(),
    };
    if let Err(reason) = still_allowed(kind, &addressee) {
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
    deps: &Replier<'_>,
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

/// Hands the conversation to a person (audited): no automated reply follows, and it awaits one.
async fn take_over(
    deps: &Replier<'_>,
    tenant: &Tenant,
    contact: &ContactId,
) -> Result<(), DataError> {
    deps.store
        .change_contact(
            &tenant.id,
            contact,
            &ContactChange::HandOff {
                until: deps.store.now().plus(tenant.settings.takeover_expiry()),
            },
            &Actor::System("ai-reply".into()),
        )
        .await
        .map(|_| ())
}
