//! The change router: the data table's stream, filtered in `template.yaml` to the changes that
//! make events (and to new export jobs and replayed deliveries). Records are handled in the
//! stream's order; the first that fails is reported, so Lambda retries from it (the records
//! before it are done, and doing one again makes nothing new).

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use mizan_shared::adapters::sqs_queues::SqsQueue;
use mizan_shared::backend::Services;
use mizan_shared::config::{Config, EventQueues};
use mizan_shared::ports::change_forward::ChangeForward;
use mizan_shared::ports::webhook_delivery::DeliveryQueue;
use mizan_shared::store::Store;
use mizan_shared::stream_batch::{new_export_job, retry_only, sequence_of};
use mizan_shared::workflows::analytics::counting::counts_change;
use mizan_shared::workflows::webhooks::Router;
use std::sync::Arc;

#[derive(Clone)]
pub struct RouterDeps {
    pub store: Store,
    /// Where deliveries are queued for the sender.
    pub deliveries: Arc<dyn DeliveryQueue>,
    /// Where new export jobs go for the worker (`None`: the runner's worker reads its feed).
    pub export_jobs: Option<Arc<dyn ChangeForward>>,
    /// Where countable changes go for the analytics counter (`None`: the runner's counter
    /// reads its feed).
    pub analytics: Option<Arc<dyn ChangeForward>>,
}

impl crate::Wiring for RouterDeps {
    type Settings = EventQueues;

    fn settings(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<EventQueues, crate::StartupError> {
        Ok(EventQueues::from_lookup(lookup))
    }

    fn new(
        services: &Services,
        _config: &Config,
        queues: &EventQueues,
    ) -> Result<RouterDeps, crate::StartupError> {
        let deliveries = queues.require_webhook_queue("by change-router to queue deliveries")?;
        let export_jobs = queues.require_export_queue("by change-router to hand on export jobs")?;
        let analytics =
            queues.require_analytics_queue("by change-router to hand on countable changes")?;
        let sdk = crate::aws_sdk(services)?;
        Ok(RouterDeps {
            store: services.store.clone(),
            deliveries: Arc::new(SqsQueue::connect(sdk, deliveries)),
            export_jobs: Some(Arc::new(SqsQueue::connect(sdk, export_jobs))),
            analytics: Some(Arc::new(SqsQueue::connect(sdk, analytics))),
        })
    }
}

/// What one batch came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RouterReport {
    pub events: usize,
    pub queued: usize,
    pub replays: usize,
    pub export_jobs: usize,
    /// Changes handed on to the analytics counter.
    pub countable: usize,
    /// The sequence number Lambda retries from, if a record failed.
    pub retry_from: Option<String>,
}

pub async fn handle(
    deps: &RouterDeps,
    event: Event,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    let report = handle_batch(deps, &event).await;
    Ok(retry_only(report.retry_from))
}

pub async fn handle_batch(deps: &RouterDeps, event: &Event) -> RouterReport {
    let mut report = RouterReport::default();
    let mut router = Router::new(&deps.store, deps.deliveries.as_ref());
    // Export jobs and countable changes are handed on together at the end; if that fails,
    // the batch is retried from the first of them (the records after it route again, which
    // makes nothing new).
    // Positions in the batch: what to hand on, and where a retry starts.
    let mut jobs: Vec<usize> = Vec::new();
    let mut countable: Vec<usize> = Vec::new();
    for (position, record) in event.records.iter().enumerate() {
        match router.route(record).await {
            Ok(routed) => {
                report.events += routed.events;
                report.queued += routed.queued;
                report.replays += routed.replays;
                if deps.export_jobs.is_some() && matches!(new_export_job(record), Ok(Some(_))) {
                    jobs.push(position);
                }
                if deps.analytics.is_some() && counts_change(record) {
                    countable.push(position);
                }
            }
            Err(e) => {
                tracing::warn!(
                    retryable = e.is_retryable(),
                    error = %e,
                    "a change could not be routed; the batch is retried from it"
                );
                report.retry_from = Some(sequence_of(record));
                break;
            }
        }
    }
    let mut failed_at: Option<usize> = None;
    for (forward, records, what, done) in [
        (
            &deps.export_jobs,
            &jobs,
            "export jobs",
            &mut report.export_jobs,
        ),
        (
            &deps.analytics,
            &countable,
            "countable changes",
            &mut report.countable,
        ),
    ] {
        let (Some(forward), Some(first)) = (forward, records.first()) else {
            continue;
        };
        let batch: Vec<EventRecord> = records.iter().map(|&p| event.records[p].clone()).collect();
        match forward.forward(&batch).await {
            Ok(()) => *done = batch.len(),
            Err(e) => {
                tracing::warn!(error = %e, what, "changes could not be handed on; retried");
                failed_at = Some(failed_at.map_or(*first, |f| f.min(*first)));
            }
        }
    }
    // Records past a routing failure are not handed on: retry from the earlier point.
    if let Some(position) = failed_at {
        let current = report
            .retry_from
            .as_ref()
            .and_then(|from| event.records.iter().position(|r| sequence_of(r) == *from));
        if current.is_none_or(|p| position < p) {
            report.retry_from = Some(sequence_of(&event.records[position]));
        }
    }
    tracing::info!(
        records = event.records.len(),
        events = report.events,
        queued = report.queued,
        replays = report.replays,
        export_jobs = report.export_jobs,
        countable = report.countable,
        retried = report.retry_from.is_some(),
        "change batch routed"
    );
    report
}
