//! The analytics counter: the changes the router queues for it (stream records, one a
//! message), counted into each tenant's daily usage counters, each change once however often
//! SQS delivers it. A storage failure retries the whole batch (nothing counts twice); a message
//! that is not a readable stream record is retried, then kept in the failure queue.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use mizan_shared::backend::Services;
use mizan_shared::config::Config;
use mizan_shared::queue_batch::retry_messages;
use mizan_shared::store::Store;
use mizan_shared::workflows::analytics::{count_changes, CountReport};

#[derive(Clone)]
pub struct CounterDeps {
    pub store: Store,
}

impl crate::Wiring for CounterDeps {
    type Settings = ();

    fn settings(_: &dyn Fn(&str) -> Option<String>) -> Result<(), crate::StartupError> {
        Ok(())
    }

    fn new(services: &Services, _: &Config, _: &()) -> Result<CounterDeps, crate::StartupError> {
        Ok(CounterDeps {
            store: services.store.clone(),
        })
    }
}

pub async fn handle(
    deps: &CounterDeps,
    event: SqsEvent,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut records = Vec::with_capacity(event.records.len());
    let mut message_of = std::collections::HashMap::new();
    let mut retry = Vec::new();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        match message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<EventRecord>(body).ok())
        {
            Some(record) => {
                message_of.insert(record.event_id.clone(), id);
                records.push(record);
            }
            None => {
                tracing::error!(message = %id, "a queued change is not a stream record");
                retry.push(id);
            }
        }
    }
    match count_changes(&deps.store, &records).await {
        Ok(report) => {
            log(&report);
            retry.extend(
                report
                    .undecodable
                    .iter()
                    .filter_map(|u| message_of.get(&u.event_id).cloned()),
            );
        }
        Err(e) => {
            tracing::warn!(
                retryable = e.is_retryable(),
                error = %e,
                "changes could not be counted; the batch is retried"
            );
            retry.extend(event.records.iter().filter_map(|m| m.message_id.clone()));
        }
    }
    Ok(retry_messages(retry))
}

fn log(report: &CountReport) {
    tracing::info!(
        records = report.records,
        ignored = report.ignored,
        counted = report.counted.counted,
        already_counted = report.counted.already_counted,
        writes = report.counted.writes,
        undecodable = report.undecodable.len(),
        "changes counted"
    );
}
