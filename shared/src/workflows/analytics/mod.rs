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
