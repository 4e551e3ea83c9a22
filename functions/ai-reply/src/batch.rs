//! One stream batch: which records are new inbound messages, grouped by contact, each group
//! answered once; which are a person's accepted sends, each sent once; and the records that
//! failed retryably reported back.

use crate::Deps;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use futures_util::future::join_all;
use mizan_shared::domain::ids::{ContactId, TenantId};
use mizan_shared::domain::message::Message;
use mizan_shared::store::{ExportNotice, OutboundOrder};
use mizan_shared::stream_batch::{
    new_export_notice, new_inbound_message, new_outbound_order, retry_only, sequence_of,
};
use mizan_shared::workflows::analytics::{count_skips, SkippedBurst};
use mizan_shared::workflows::outbound_send::{send_order, SendOutcome};
use mizan_shared::workflows::reply::{reply_to_burst, Outcome, Replier, ReplyError};
use mizan_shared::workflows::rights_chat::{deliver_export_notice, NoticeOutcome, RightsDesk};
use std::collections::BTreeMap;
use tokio::sync::Semaphore;

/// How many contacts' replies one invocation makes at the same time.
const CONCURRENT_REPLIES: usize = 8;

/// One contact's new messages in a batch, and their records' sequence numbers and event ids.
#[derive(Default)]
struct Burst {
    messages: Vec<Message>,
    sequences: Vec<String>,
    event_ids: Vec<String>,
}

/// What a batch did, per contact, and which records Lambda must retry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub outcomes: Vec<(TenantId, ContactId, Outcome)>,
    /// A person's sends: how each ended (`None`: failed, retryably or not).
    pub sends: Vec<(TenantId, ContactId, Option<SendOutcome>)>,
    /// Sequence numbers of the records to retry.
    pub failures: Vec<String>,
    /// Exports asked for in the chat, now built or failed: how telling the person ended.
    pub notices: Vec<Option<NoticeOutcome>>,
    /// Records that are not new inbound messages (other kinds, updates, deletes).
    pub ignored: usize,
}

/// The Lambda handler: partial batch failures so one contact's failure replays only its records.
pub async fn handle(
    deps: &Deps,
    event: Event,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    let report = handle_batch(deps, event).await;
    Ok(retry_only(report.failures))
}

pub async fn handle_batch(deps: &Deps, event: Event) -> BatchReport {
    let mut report = BatchReport::default();
    // Each contact's new messages (metadata only) and the sequence numbers and event ids of
    // their records.
    let mut bursts: BTreeMap<(TenantId, ContactId), Burst> = BTreeMap::new();
    let mut orders: Vec<(OutboundOrder, String)> = Vec::new();
    let mut notices: Vec<(ExportNotice, String)> = Vec::new();
    for record in &event.records {
        match new_export_notice(record) {
            Ok(Some(notice)) => {
                notices.push((notice, sequence_of(record)));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                // The request stays in progress, visible to the business.
                report.ignored += 1;
                tracing::error!(error = %e, "stream record of an export notice does not decode");
                continue;
            }
        }
        match new_outbound_order(record) {
            Ok(Some(order)) => {
                orders.push((order, sequence_of(record)));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                // The message and its order are safe in the table; the order stays queued.
                report.ignored += 1;
                tracing::error!(error = %e, "stream record of a send order does not decode");
                continue;
            }
        }
        match new_inbound_message(record) {
            Ok(Some(message)) => {
                let burst = bursts
                    .entry((message.tenant.clone(), message.contact.clone()))
                    .or_default();
                burst.messages.push(message);
                burst.sequences.push(sequence_of(record));
                burst.event_ids.push(record.event_id.clone());
            }
            Ok(None) => report.ignored += 1,
            Err(e) => {
                // Retrying cannot make it readable; the message itself is safe in the table.
                report.ignored += 1;
                tracing::error!(
                    error = %e,
                    "stream record of an inbound message does not decode; not answered"
                );
            }
        }
    }
    // Contacts are independent: their replies are made side by side, a few at a time, within
    // this task (they mostly wait on the store and the network; a task each would add a hop to
    // another thread and back per reply).
    let permits = Semaphore::new(CONCURRENT_REPLIES);
    let rights = || RightsDesk {
        store: &deps.store,
        messenger: deps.messenger.as_ref(),
        archives: deps.archives.as_ref(),
        links: deps.links.as_deref(),
    };
    let replier = Replier {
        store: &deps.store,
        responder: deps.responder.as_ref(),
        messenger: deps.messenger.as_ref(),
        history: deps.history,
        rights: rights(),
    };
    let replies = bursts.into_iter().map(|((tenant, contact), burst)| {
        let (permits, replier) = (&permits, &replier);
        async move {
            let _permit = permits.acquire().await;
            let outcome = reply_to_burst(replier, &tenant, &contact, &burst.messages).await;
            (tenant, contact, burst, outcome)
        }
    });
    let mut skipped = Vec::new();
    for (tenant, contact, burst, outcome) in join_all(replies).await {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                log_failure(deps, &tenant, &contact, &e);
                report.failures.extend(burst.sequences);
                Outcome::Failed {
                    retryable: e.is_retryable(),
                }
            }
        };
        if let (Outcome::Skipped(reason), Some(first), Some(newest)) = (
            &outcome,
            burst.event_ids.first(),
            burst.messages.iter().map(|m| m.sent_at).max(),
        ) {
            skipped.push(SkippedBurst {
                tenant: tenant.clone(),
                sent_at: newest,
                event_id: first.clone(),
                reason: *reason,
            });
        }
        report.outcomes.push((tenant, contact, outcome));
    }
    // Usage analytics of what was not answered; a failure here loses a count, never a reply.
    if let Err(e) = count_skips(&deps.store, &skipped).await {
        tracing::warn!(error = %e, skipped = skipped.len(), "skipped replies were not counted");
    }
    let sends = orders.into_iter().map(|(order, sequence)| {
        let permits = &permits;
        async move {
            let _permit = permits.acquire().await;
            let outcome = send_order(&deps.store, deps.messenger.as_ref(), &order).await;
            (order, sequence, outcome)
        }
    });
    for (order, sequence, outcome) in join_all(sends).await {
        let outcome = match outcome {
            Ok(outcome) => Some(outcome),
            Err(e) => {
                tracing::warn!(
                    tenant = %order.tenant,
                    contact = %deps.store.hasher().for_logs(order.contact.as_str()),
                    retryable = e.is_retryable(),
                    error = %e,
                    "a person's message was not sent"
                );
                if e.is_retryable() {
                    report.failures.push(sequence);
                }
                None
            }
        };
        report.sends.push((order.tenant, order.contact, outcome));
    }
    let desk = rights();
    for (notice, sequence) in notices {
        let outcome = match deliver_export_notice(&desk, &notice).await {
            Ok(outcome) => Some(outcome),
            Err(e) => {
                tracing::warn!(
                    tenant = %notice.tenant,
                    contact = %deps.store.hasher().for_logs(notice.contact.as_str()),
                    retryable = e.is_retryable(),
                    error = %e,
                    "an export link was not sent"
                );
                if e.is_retryable() {
                    report.failures.push(sequence);
                }
                None
            }
        };
        report.notices.push(outcome);
    }
    tracing::info!(
        records = event.records.len(),
        notices = report.notices.len(),
        sends = report.sends.len(),
        bursts = report.outcomes.len(),
        ignored = report.ignored,
        failures = report.failures.len(),
        "ai-reply batch handled"
    );
    report
}

fn log_failure(deps: &Deps, tenant: &TenantId, contact: &ContactId, e: &ReplyError) {
    tracing::warn!(
        tenant = %tenant,
        contact = %deps.store.hasher().for_logs(contact.as_str()),
        retryable = e.is_retryable(),
        error = %e,
        "reply failed; the burst's records are reported for retry"
    );
}
