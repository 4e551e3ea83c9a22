//! A person exercises their rights by writing to the business on WhatsApp: the account that
//! writes is the identity on file (EDPB Guidelines 01/2022 §§69–70), so nothing more is asked.
//! "privacy" gets what is kept and for how long; "my data" an export, whose single-use link is
//! sent here once the worker has built it ([`deliver_export_notice`]); "delete my data" a
//! question with a one-time code, whose right answer erases the contact after a last message.
//! Every request is recorded (`RightsRequest`) and audited with the data subject as actor.
//!
//! Answers go through the outbound gate as [`Outbound::RightsAnswer`]: they reach a person who
//! opted out, blocked automation or was taken over, within the window their message opened.

use crate::domain::audit::{Actor, AuditEvent, Outcome as AuditOutcome};
use crate::domain::contact::Contact;
use crate::domain::download_token::{download_url, TokenSigner};
use crate::domain::export::{ExportJob, ExportScope, ExportState};
use crate::domain::ids::{ExportId, PhoneNumberId, TenantId, Wamid};
use crate::domain::keywords::Language;
use crate::domain::message::{Direction, Message, MessageContent, MessageKind};
use crate::domain::outbound::{may_send, Outbound, Recipient as Addressee, Refusal};
use crate::domain::reply::ReplyKind;
use crate::domain::rights_keywords::{RightsKeyword, RightsMatch};
use crate::domain::rights_request::{
    new_code, ChatExport, ConfirmationCheck, PendingErasure, RightsChannel, RightsKind,
    RightsRequest, RightsState, CHAT_EXPORT_EVERY,
};
use crate::domain::rights_wording::{rights_text, PrivacyFacts, RightsAnswer};
use crate::domain::tenant::Tenant;
use crate::ports::archives::ArchiveStore;
use crate::ports::messenger::{Messenger, OutboundBody, OutboundSend, Recipient, TextReply};
use crate::store::{DataError, ErasureReason, ExportNotice, ReplyClaim, Store, Versioned};
use crate::workflows::erasure::complete_erasure;
use crate::workflows::reply::ReplyError;
use std::sync::Arc;

/// Where a download link points: the signer of its token and the API's public address.
pub struct ExportLinks {
    pub signer: Arc<TokenSigner>,
    /// `MIZAN_PUBLIC_BASE_URL` (the runner: its own address).
    pub base_url: String,
}

impl ExportLinks {
    pub fn url(&self, job: &ExportJob) -> String {
        download_url(
            &self.signer,
            &self.base_url,
            &job.tenant,
            &job.id,
            job.expires_at,
        )
    }
}

/// What answering rights requests needs.
pub struct RightsDesk<'a> {
    pub store: &'a Store,
    pub messenger: &'a dyn Messenger,
    /// Erasure removes the contact's export archives.
    pub archives: &'a dyn ArchiveStore,
    /// `None` where links cannot be made (no public address or signing key configured): a
    /// request for a copy is then recorded for the business to answer.
    pub links: Option<&'a ExportLinks>,
}

/// The inbound message that carried a request, as the reply workflow claimed it.
pub struct RequestMessage<'a> {
    pub tenant: &'a Tenant,
    pub contact: &'a Versioned<Contact>,
    pub claim: &'a ReplyClaim,
    pub from: PhoneNumberId,
    pub to: Recipient,
    pub quoting: Wamid,
    /// When the person wrote it: the window of the answers runs from it.
    pub sent_at: crate::domain::time::Timestamp,
}

/// What became of a request message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsOutcome {
    Answered,
    /// The gate refused the answer (the request is still recorded).
    NotAnswered(Refusal),
}

fn audit(
    message: &RequestMessage<'_>,
    action: &str,
    at: crate::domain::time::Timestamp,
) -> AuditEvent {
    AuditEvent::new(
        message.tenant.id.clone(),
        Actor::DataSubject,
        action,
        Some(message.contact.value.id.clone()),
        at,
    )
}

/// Answers one request message (claimed by the caller, who gives the claim back on a retryable
/// error).
pub async fn answer(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    request: &RightsMatch,
) -> Result<RightsOutcome, ReplyError> {
    let language = request.language;
    let text = match &request.keyword {
        RightsKeyword::Privacy => privacy(desk, message, language).await?,
        RightsKeyword::MyData => my_data(desk, message, language).await?,
        RightsKeyword::DeleteMyData => delete_my_data(desk, message, language).await?,
        RightsKeyword::ConfirmDeletion { code } => {
            return confirm_deletion(desk, message, code, language).await;
        }
    };
    send_answer(desk, message, &text.sent, &text.kept).await
}

/// The words sent, and those kept in the conversation (without a link's token).
struct Answer {
    sent: String,
    kept: String,
}

impl Answer {
    fn plain(text: String) -> Answer {
        Answer {
            kept: text.clone(),
            sent: text,
        }
    }
}

async fn privacy(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    language: Language,
) -> Result<Answer, DataError> {
    let tenant = message.tenant;
    let policy = tenant.retention();
    let text = rights_text(
        &RightsAnswer::Privacy(PrivacyFacts {
            business: &tenant.name,
            policy: &policy,
            notice_url: tenant.settings.privacy_notice_url.as_deref(),
        }),
        language,
    );
    desk.store
        .append_audit(&audit(
            message,
            "rights.information_requested",
            desk.store.now(),
        ))
        .await?;
    Ok(Answer::plain(text))
}

/// A request the business handles itself (self-service off): recorded, and the person told.
async fn forward_to_business(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    kind: RightsKind,
    language: Language,
) -> Result<Answer, DataError> {
    let now = desk.store.now();
    let mut request = new_request(message, kind, language, RightsState::PendingBusiness, now);
    let why = if message.tenant.settings.rights_self_service {
        "links_not_configured"
    } else {
        "self_service_off"
    };
    request.outcome = Some(why.into());
    let event = audit(message, requested_action(kind), now).with_detail(
        serde_json::json!({ "rights_request": request.id, "state": request.state.as_str() }),
    );
    desk.store.record_rights_request(&request, &event).await?;
    Ok(Answer::plain(rights_text(
        &RightsAnswer::ForwardedToBusiness {
            business: &message.tenant.name,
        },
        language,
    )))
}

fn requested_action(kind: RightsKind) -> &'static str {
    match kind {
        RightsKind::Access => "rights.access_requested",
        RightsKind::Erasure => "rights.erasure_requested",
        RightsKind::Rectification => "rights.rectification_requested",
        RightsKind::Restriction => "rights.restriction_requested",
    }
}

/// A request of the message's person, received `now` (Mizan's time, to the millisecond: WhatsApp
/// dates messages to the second, and the register orders requests by receipt).
fn new_request(
    message: &RequestMessage<'_>,
    kind: RightsKind,
    language: Language,
    state: RightsState,
    now: crate::domain::time::Timestamp,
) -> RightsRequest {
    RightsRequest::new(
        message.tenant.id.clone(),
        message.contact.value.id.clone(),
        kind,
        RightsChannel::Chat,
        language,
        now,
        state,
    )
}

async fn my_data(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    language: Language,
) -> Result<Answer, DataError> {
    let Some(links) = desk
        .links
        .filter(|_| message.tenant.settings.rights_self_service)
    else {
        return forward_to_business(desk, message, RightsKind::Access, language).await;
    };
    let store = desk.store;
    let (tenant, contact) = (&message.tenant.id, &message.contact.value.id);
    let now = store.now();
    let previous = store.chat_export(tenant, contact).await?;
    if let Some(made) = previous.as_ref().filter(|m| m.value.still_current(now)) {
        // One export a day: the one made is what they get.
        let job = store.export(tenant, &made.value.export).await?;
        let answer = match job.as_ref().map(|j| &j.value) {
            Some(job) if job.state == ExportState::Pending => {
                Answer::plain(rights_text(&RightsAnswer::ExportBeingPrepared, language))
            }
            Some(job) if job.downloadable(now) => link_answer(links, job, language),
            _ => Answer::plain(rights_text(&RightsAnswer::ExportAlreadySent, language)),
        };
        let event = audit(message, "rights.access_repeated", now)
            .with_detail(serde_json::json!({ "rights_request": made.value.request }));
        store.append_audit(&event).await?;
        return Ok(answer);
    }
    let mut request = new_request(
        message,
        RightsKind::Access,
        language,
        RightsState::InProgress,
        now,
    );
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: tenant.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(CHAT_EXPORT_EVERY),
        requested_by: "data_subject".into(),
        downloads: 0,
        download_limit: Some(1),
        last_audited_download_at: None,
        chat_request: Some(request.id.clone()),
    };
    request.export = Some(job.id.clone());
    let marker = ChatExport {
        export: job.id.clone(),
        request: request.id.clone(),
        requested_at: now,
    };
    let event = audit(message, "rights.access_requested", now).with_detail(serde_json::json!({
        "rights_request": request.id,
        "export": job.id,
        "channel": "chat",
    }));
    // Made now or by a duplicate of this message a moment ago: either way it is being prepared.
    store
        .request_chat_export(&job, &request, &marker, previous.map(|p| p.version), &event)
        .await?;
    Ok(Answer::plain(rights_text(
        &RightsAnswer::ExportBeingPrepared,
        language,
    )))
}

fn link_answer(links: &ExportLinks, job: &ExportJob, language: Language) -> Answer {
    let hours = CHAT_EXPORT_EVERY.as_secs() / 3600;
    let url = links.url(job);
    Answer {
        sent: rights_text(
            &RightsAnswer::ExportLink {
                url: &url,
                valid_hours: hours,
            },
            language,
        ),
        // The link is a credential: the conversation keeps the words, not the token.
        kept: rights_text(
            &RightsAnswer::ExportLink {
                url: "[download link]",
                valid_hours: hours,
            },
            language,
        ),
    }
}

async fn delete_my_data(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    language: Language,
) -> Result<Answer, DataError> {
    if !message.tenant.settings.rights_self_service {
        return forward_to_business(desk, message, RightsKind::Erasure, language).await;
    }
    let store = desk.store;
    let now = store.now();
    if message.tenant.settings.legal_hold || message.contact.value.legal_hold {
        let mut request = new_request(
            message,
            RightsKind::Erasure,
            language,
            RightsState::Held,
            now,
        );
        request.outcome = Some("legal_hold".into());
        let event = audit(message, "rights.erasure_requested", now).with_detail(
            serde_json::json!({ "rights_request": request.id, "state": "held", "refused_because": "legal_hold" }),
        );
        store.record_rights_request(&request, &event).await?;
        return Ok(Answer::plain(rights_text(&RightsAnswer::Held, language)));
    }
    let (tenant, contact) = (&message.tenant.id, &message.contact.value.id);
    let request = new_request(
        message,
        RightsKind::Erasure,
        language,
        RightsState::AwaitingConfirmation,
        now,
    );
    let code = new_code();
    let pending = PendingErasure::new(request.id.clone(), code.clone(), now);
    // A question asked before gives way to this one: its request lapses.
    let replaced = match store.pending_erasure(tenant, contact).await? {
        Some(old) => store
            .rights_request(tenant, &old.value.request)
            .await?
            .map(|mut lapsed| {
                lapsed.value.finish(RightsState::Lapsed, "superseded", now);
                (old, lapsed)
            }),
        None => None,
    };
    let event = audit(message, "rights.erasure_requested", now).with_detail(serde_json::json!({
        "rights_request": request.id,
        "state": request.state.as_str(),
    }));
    store
        .ask_erasure_confirmation(
            &request,
            &pending,
            replaced.as_ref().map(|(old, lapsed)| (old, lapsed)),
            &event,
        )
        .await?;
    Ok(Answer::plain(rights_text(
        &RightsAnswer::DeleteQuestion { code: &code },
        language,
    )))
}

async fn confirm_deletion(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    code: &str,
    language: Language,
) -> Result<RightsOutcome, ReplyError> {
    let store = desk.store;
    let (tenant, contact) = (&message.tenant.id, &message.contact.value.id);
    let now = store.now();
    let say = |answer: RightsAnswer<'_>| Answer::plain(rights_text(&answer, language));
    let pending = store.pending_erasure(tenant, contact).await?;
    let found = match &pending {
        Some(p) => store
            .rights_request(tenant, &p.value.request)
            .await?
            .map(|r| (p, r)),
        None => None,
    };
    let Some((pending, mut request)) = found else {
        let event = audit(message, "rights.erasure_confirmation_unmatched", now)
            .with_outcome(AuditOutcome::Refused);
        store.append_audit(&event).await?;
        let text = say(RightsAnswer::NoDeletionWaiting);
        return send_answer(desk, message, &text.sent, &text.kept).await;
    };
    let mut checked = pending.clone();
    let check = checked.value.check(code, now);
    let settled = |request: &Versioned<RightsRequest>, outcome: &str| {
        audit(message, "rights.erasure_confirmation", now)
            .with_outcome(if outcome == "erased" {
                AuditOutcome::Succeeded
            } else {
                AuditOutcome::Refused
            })
            .with_detail(
                serde_json::json!({ "rights_request": request.value.id, "outcome": outcome }),
            )
    };
    match check {
        ConfirmationCheck::Wrong => {
            store
                .save_pending_erasure(tenant, contact, &checked)
                .await?;
            let event = settled(&request, "wrong_code");
            store.append_audit(&event).await?;
            let text = say(RightsAnswer::WrongCode);
            send_answer(desk, message, &text.sent, &text.kept).await
        }
        ConfirmationCheck::Expired | ConfirmationCheck::WrongTooOften => {
            let (outcome, answer) = if check == ConfirmationCheck::Expired {
                ("code_expired", RightsAnswer::CodeExpired)
            } else {
                ("too_many_wrong_codes", RightsAnswer::TooManyWrongCodes)
            };
            request.value.finish(RightsState::Lapsed, outcome, now);
            let event = settled(&request, outcome);
            store
                .settle_pending_erasure(pending, &request, &event)
                .await?;
            let text = say(answer);
            send_answer(desk, message, &text.sent, &text.kept).await
        }
        ConfirmationCheck::Confirmed => erase(desk, message, pending, request, language).await,
    }
}

/// The confirmed erasure: the last message first (nothing may be sent once the key is gone),
/// then the existing erasure (flag, key destroyed, every record and archive removed; the purge
/// finishes what fails), then the request completed and its code removed.
async fn erase(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    pending: &Versioned<PendingErasure>,
    mut request: Versioned<RightsRequest>,
    language: Language,
) -> Result<RightsOutcome, ReplyError> {
    let store = desk.store;
    let (tenant, contact) = (&message.tenant.id, &message.contact.value.id);
    let last = rights_text(&RightsAnswer::Erasing, language);
    let sent = send_unrecorded(desk, message, &last).await?;
    let now = store.now();
    let requested = audit(message, "contact.erasure_requested", now)
        .with_detail(serde_json::json!({ "reason": "request", "channel": "chat", "rights_request": request.value.id }));
    let mut flagged = false;
    for _ in 0..3 {
        let Some(current) = store.contact(tenant, contact).await? else {
            break;
        };
        if current.value.erasure_requested_at.is_some() {
            flagged = true;
            break;
        }
        match store
            .request_erasure(&current, ErasureReason::Request, &requested)
            .await
        {
            Ok(()) => {
                flagged = true;
                break;
            }
            Err(DataError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if !flagged {
        return Err(
            DataError::Conflict("the contact kept changing during its erasure".into()).into(),
        );
    }
    request.value.finish(RightsState::Completed, "erased", now);
    let event = audit(message, "rights.erasure_confirmation", now).with_detail(
        serde_json::json!({ "rights_request": request.value.id, "outcome": "erased" }),
    );
    store
        .settle_pending_erasure(pending, &request, &event)
        .await?;
    let log_contact = store.hasher().for_logs(contact.as_str());
    match complete_erasure(store, desk.archives, tenant, contact).await {
        Ok(report) => tracing::info!(
            tenant = %tenant,
            contact = %log_contact,
            records_removed = report.records_removed,
            "erasure asked in the chat completed"
        ),
        // The content is unreadable already; the purge finds the request and finishes it.
        Err(e) => tracing::warn!(
            tenant = %tenant,
            contact = %log_contact,
            retryable = e.is_retryable(),
            error = %e,
            "erasure asked in the chat left for the purge to finish"
        ),
    }
    Ok(sent)
}

/// The gate's decision for an answer to the contact as it is now.
async fn gate(
    store: &Store,
    tenant: &TenantId,
    contact: &crate::domain::ids::ContactId,
    wrote_at: crate::domain::time::Timestamp,
) -> Result<Result<(), Refusal>, DataError> {
    let current = store.contact_state(tenant, contact).await?;
    Ok(may_send(
        Outbound::RightsAnswer,
        &Addressee {
            contact: current.as_ref().map(|c| &c.value),
            last_inbound_at: Some(wrote_at),
            suppressed: false,
            now: store.now(),
        },
    ))
}

/// Sends an answer quoting the request, and records it in the conversation with the claim.
async fn send_answer(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    sent: &str,
    kept: &str,
) -> Result<RightsOutcome, ReplyError> {
    let store = desk.store;
    let (tenant, contact) = (&message.tenant.id, &message.contact.value.id);
    if let Err(refusal) = gate(store, tenant, contact, message.sent_at).await? {
        store.release_reply(message.claim).await?;
        return Ok(RightsOutcome::NotAnswered(refusal));
    }
    let wamid = desk
        .messenger
        .send_text(&TextReply {
            from: message.from.clone(),
            to: message.to.clone(),
            quoting: message.quoting.clone(),
            body: sent.to_owned().into(),
        })
        .await?;
    let now = store.now();
    let outbound = Message::outbound(
        tenant.clone(),
        contact.clone(),
        store.message_id(tenant, &wamid),
        wamid,
        MessageKind::Text,
        MessageContent::text(kept),
        now,
    );
    // Sent: a failure to record is logged, never a reason to send again.
    if let Err(e) = store
        .record_sent_reply(message.claim, &outbound, ReplyKind::RightsAnswer, None)
        .await
    {
        tracing::error!(tenant = %tenant, error = %e, "rights answer sent but not fully recorded");
    }
    Ok(RightsOutcome::Answered)
}

/// The last message before an erasure: nothing of it is stored (the contact is going).
async fn send_unrecorded(
    desk: &RightsDesk<'_>,
    message: &RequestMessage<'_>,
    text: &str,
) -> Result<RightsOutcome, ReplyError> {
    let (tenant, contact) = (&message.tenant.id, &message.contact.value.id);
    if let Err(refusal) = gate(desk.store, tenant, contact, message.sent_at).await? {
        // The erasure goes ahead: the person asked for it and confirmed.
        return Ok(RightsOutcome::NotAnswered(refusal));
    }
    desk.messenger
        .send_text(&TextReply {
            from: message.from.clone(),
            to: message.to.clone(),
            quoting: message.quoting.clone(),
            body: text.to_owned().into(),
        })
        .await?;
    Ok(RightsOutcome::Answered)
}

/// What telling the person about their finished export came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeOutcome {
    LinkSent,
    FailureSent,
    /// The request was handled already (a redelivered notice).
    AlreadyHandled,
    /// The person could not be told (the gate refused, the contact is gone): the business
    /// handles the request.
    LeftToBusiness(Refusal),
}

/// Sends the link of an export asked for in the chat once the worker has built it (or says it
/// could not be built), and completes the request.
pub async fn deliver_export_notice(
    desk: &RightsDesk<'_>,
    notice: &ExportNotice,
) -> Result<NoticeOutcome, ReplyError> {
    let store = desk.store;
    let Some(mut request) = store
        .rights_request(&notice.tenant, &notice.request)
        .await?
    else {
        return Ok(NoticeOutcome::AlreadyHandled);
    };
    if request.value.state != RightsState::InProgress {
        return Ok(NoticeOutcome::AlreadyHandled);
    }
    let now = store.now();
    let language = request.value.language;
    let job = store.export(&notice.tenant, &notice.export).await?;
    let (answer, outcome, state) = match (job.as_ref().map(|j| &j.value), desk.links) {
        (Some(job), Some(links)) if job.downloadable(now) => (
            link_answer(links, job, language),
            NoticeOutcome::LinkSent,
            (RightsState::Completed, "link_sent"),
        ),
        _ => (
            Answer::plain(rights_text(&RightsAnswer::ExportFailed, language)),
            NoticeOutcome::FailureSent,
            (RightsState::PendingBusiness, "export_failed"),
        ),
    };
    let tenant = store.tenant(&notice.tenant).await?;
    let contact = store.contact(&notice.tenant, &notice.contact).await?;
    let last_inbound = match (&tenant, &contact) {
        (Some(t), Some(_)) => last_inbound_at(store, t, &notice.contact).await?,
        _ => None,
    };
    let refused = match (&tenant, &contact, last_inbound) {
        // A closed account sends nothing more.
        (Some(t), _, _) if !t.is_active() => Some(Refusal::AccountClosed),
        (Some(_), Some(_), Some(wrote_at)) => {
            gate(store, &notice.tenant, &notice.contact, wrote_at)
                .await?
                .err()
        }
        (_, Some(_), None) => Some(Refusal::WindowClosed),
        _ => Some(Refusal::Gone),
    };
    let addressed = tenant
        .as_ref()
        .and_then(|t| t.phone_numbers.first().cloned())
        .zip(contact.as_ref().and_then(|c| Recipient::of(&c.value)));
    let (from, to) = match (refused, addressed) {
        (None, Some(addressed)) => addressed,
        (refusal, _) => {
            let refusal = refusal.unwrap_or(Refusal::Gone);
            let (state, outcome) = if refusal == Refusal::Gone || refusal == Refusal::BeingErased {
                (RightsState::Lapsed, "contact_erased".to_owned())
            } else {
                (
                    RightsState::PendingBusiness,
                    format!("link_not_sent_{}", refusal.as_str()),
                )
            };
            request.value.finish(state, &outcome, now);
            save_request(store, &request, &notice.contact, &outcome).await?;
            return Ok(NoticeOutcome::LeftToBusiness(refusal));
        }
    };
    let wamid = desk
        .messenger
        .send(&OutboundSend {
            from,
            to,
            body: OutboundBody::Text(answer.sent.into()),
        })
        .await?;
    let outbound = Message::outbound(
        notice.tenant.clone(),
        notice.contact.clone(),
        store.message_id(&notice.tenant, &wamid),
        wamid,
        MessageKind::Text,
        MessageContent::text(&answer.kept),
        now,
    );
    if let Err(e) = store.put_message(&outbound).await {
        tracing::error!(tenant = %notice.tenant, error = %e, "export link sent but not recorded");
    }
    request.value.finish(state.0, state.1, now);
    save_request(store, &request, &notice.contact, state.1).await?;
    Ok(outcome)
}

async fn save_request(
    store: &Store,
    request: &Versioned<RightsRequest>,
    contact: &crate::domain::ids::ContactId,
    outcome: &str,
) -> Result<(), DataError> {
    let event = AuditEvent::new(
        request.value.tenant.clone(),
        Actor::System("ai-reply".into()),
        "rights.access_completed",
        Some(contact.clone()),
        store.now(),
    )
    .with_detail(serde_json::json!({
        "rights_request": request.value.id,
        "state": request.value.state.as_str(),
        "outcome": outcome,
    }));
    match store.save_rights_request(request, &event).await {
        // Another delivery of the notice finished it.
        Ok(()) | Err(DataError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// When the contact last wrote, from the newest messages of the conversation.
async fn last_inbound_at(
    store: &Store,
    tenant: &Tenant,
    contact: &crate::domain::ids::ContactId,
) -> Result<Option<crate::domain::time::Timestamp>, DataError> {
    let page = store
        .conversation(&tenant.id, contact, &tenant.retention(), 20, None)
        .await?;
    Ok(page
        .items
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .map(|m| m.sent_at)
        .max())
}
