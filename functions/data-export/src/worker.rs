//! The worker: builds the archive of every new export job. On AWS the change router hands each
//! new job's stream record on to the worker's SQS queue (DynamoDB Streams serves two readers a
//! shard, DESIGN §9); in the runner the worker reads the change feed itself. Either way a job
//! that failed retryably is reported as a batch item failure, so only it is retried.

use crate::Deps;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use mizan_shared::queue_batch::retry_messages;
use mizan_shared::stream_batch::{new_export_job, sequence_of};
use mizan_shared::workflows::export::{run_job, JobOutcome};

/// What one batch did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub built: usize,
    /// Jobs that cannot be built (their contact was erased, …): the job records why.
    pub failed: usize,
    /// Jobs already built, or gone.
    pub skipped: usize,
    /// Records that are not new export jobs.
    pub ignored: usize,
    /// The records to retry: stream sequence numbers, or queue message ids.
    pub retry: Vec<String>,
}

/// What became of one record.
enum Handled {
    Built,
    Failed,
    Skipped,
    Ignored,
    Retry,
}

/// The export jobs the router queued: each message's body is the job's stream record.
pub async fn handle(
    deps: &Deps,
    event: SqsEvent,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut report = BatchReport::default();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let record = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<EventRecord>(body).ok());
        let Some(record) = record else {
            // Retrying cannot make it readable.
            tracing::error!(message = %id, "a queued export job is not a stream record");
            report.ignored += 1;
            continue;
        };
        tally(&mut report, handle_record(deps, &record).await, id);
    }
    log(&report, event.records.len());
    Ok(retry_messages(report.retry))
}

/// The change feed's records (the runner): those to retry named by sequence number.
pub async fn handle_batch(deps: &Deps, event: Event) -> BatchReport {
    let mut report = BatchReport::default();
    for record in &event.records {
        let handled = handle_record(deps, record).await;
        tally(&mut report, handled, sequence_of(record));
    }
    log(&report, event.records.len());
    report
}

fn tally(report: &mut BatchReport, handled: Handled, id: String) {
    match handled {
        Handled::Built => report.built += 1,
        Handled::Failed => report.failed += 1,
        Handled::Skipped => report.skipped += 1,
        Handled::Ignored => report.ignored += 1,
        Handled::Retry => report.retry.push(id),
    }
}

fn log(report: &BatchReport, records: usize) {
    tracing::info!(
        records,
        built = report.built,
        failed = report.failed,
        skipped = report.skipped,
        ignored = report.ignored,
        retry = report.retry.len(),
        "data-export batch handled"
    );
}

async fn handle_record(deps: &Deps, record: &EventRecord) -> Handled {
    let job = match new_export_job(record) {
        Ok(Some(job)) => job,
        Ok(None) => return Handled::Ignored,
        Err(e) => {
            // Retrying cannot make it readable; the job stays pending and says so when read.
            tracing::error!(error = %e, "export job record does not decode");
            return Handled::Ignored;
        }
    };
    let started = std::time::Instant::now();
    match run_job(&deps.store, deps.archives.as_ref(), &job.tenant, &job.id).await {
        Ok(JobOutcome::Ready(built)) => {
            tracing::info!(
                tenant = %job.tenant,
                export = %job.id,
                size_bytes = built.size_bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "export built"
            );
            Handled::Built
        }
        Ok(JobOutcome::Failed(reason)) => {
            tracing::warn!(tenant = %job.tenant, export = %job.id, reason, "export cannot be built");
            Handled::Failed
        }
        Ok(JobOutcome::AlreadyDone | JobOutcome::Missing) => Handled::Skipped,
        Err(e) => {
            tracing::warn!(
                tenant = %job.tenant,
                export = %job.id,
                retryable = e.is_retryable(),
                error = %e,
                "export failed; its record is reported for retry"
            );
            Handled::Retry
        }
    }
}
