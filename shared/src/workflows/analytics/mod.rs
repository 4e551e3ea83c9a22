//! Usage analytics: the changes of a batch (stream records, as the change router queues them
//! or the runner's feed gives them) counted into each tenant's days, each change once. A reply
//! also measures the response time from the first customer message it answers.

pub mod counting;
pub mod report;

use crate::domain::analytics::response_metric;
use crate::store::{CountedOnce, DataError, Store};
use crate::stream_batch::UndecodableRecord;
use aws_lambda_events::event::dynamodb::EventRecord;
use counting::contribution_of;
use std::collections::BTreeMap;

/// What a batch came to.
#[derive(Debug, Default)]
pub struct CountReport {
    pub records: usize,
    /// Records that count for nothing (most changes).
    pub ignored: usize,
    pub counted: CountedOnce,
    /// Records that could not be read: their event ids, to be retried and then kept aside.
    pub undecodable: Vec<UndecodableRecord>,
}

/// Counts `records` once each. A storage failure fails the whole batch (nothing is counted
/// twice when it is delivered again); an undecodable record is reported and the rest counted.
pub async fn count_changes(
    store: &Store,
    records: &[EventRecord],
) -> Result<CountReport, DataError> {
    let mut report = CountReport {
        records: records.len(),
        ..CountReport::default()
    };
    let mut days: BTreeMap<(crate::domain::ids::TenantId, String), Vec<(String, _)>> =
        BTreeMap::new();
    for record in records {
        let contribution = match contribution_of(record) {
            Ok(Some(c)) => c,
            Ok(None) => {
                report.ignored += 1;
                continue;
            }
            Err(e) => {
                tracing::warn!(event_id = %e.event_id, reason = %e.reason, "undecodable change");
                report.undecodable.push(e);
                continue;
            }
        };
        let mut counts = contribution.counts;
        if let Some(reply) = &contribution.reply {
            let answered = store
                .first_unanswered_inbound(
                    &contribution.tenant,
                    &reply.contact,
                    &reply.message,
                    reply.sent_at,
                )
                .await?;
            if let Some(first) = answered {
                let seconds = reply.sent_at.since(first).as_secs();
                *counts.entry(response_metric(seconds)).or_insert(0) += 1;
            }
        }
        days.entry((contribution.tenant, contribution.day))
            .or_default()
            .push((record.event_id.clone(), counts));
    }
    for ((tenant, day), changes) in days {
        report.counted += store.count_once(&tenant, &day, &changes).await?;
    }
    Ok(report)
}

/// A burst of a contact's messages the assistant did not answer, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedBurst {
    pub tenant: crate::domain::ids::TenantId,
    /// When the burst's newest message was sent: the day it counts on.
    pub sent_at: crate::domain::time::Timestamp,
    /// The stream event of its first message: what makes counting it once possible.
    pub event_id: String,
    pub reason: crate::domain::reply::SkipReason,
}

/// Counts the assistant's skipped bursts (`replies.skipped.{reason}`), each once. ai-reply
/// decides them and stores nothing of them, so it counts them itself, through the same marks
/// and shards as the analytics counter. A burst seen again because its batch was retried
/// (`already_claimed`) is not a skip of its own.
pub async fn count_skips(
    store: &Store,
    skipped: &[SkippedBurst],
) -> Result<CountedOnce, DataError> {
    use crate::domain::analytics::{day_of, Counts};
    use crate::domain::reply::SkipReason;
    let mut days: BTreeMap<(crate::domain::ids::TenantId, String), Vec<(String, Counts)>> =
        BTreeMap::new();
    for burst in skipped {
        if matches!(
            burst.reason,
            SkipReason::AlreadyClaimed | SkipReason::NotInbound
        ) {
            continue;
        }
        let counts = Counts::from([(format!("replies.skipped.{}", burst.reason.as_str()), 1)]);
        days.entry((burst.tenant.clone(), day_of(burst.sent_at)))
            .or_default()
            // Its own mark: the analytics counter marks the same record for the message itself.
            .push((format!("skip:{}", burst.event_id), counts));
    }
    let mut counted = CountedOnce::default();
    for ((tenant, day), changes) in days {
        counted += store.count_once(&tenant, &day, &changes).await?;
    }
    Ok(counted)
}
