//! The worker: builds the archive of every new export job the data table's stream delivers
//! (`template.yaml` filters the stream to export-job inserts). A job that failed retryably is
//! reported as a batch item failure, so Lambda retries only it.

use crate::Deps;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use mizan_shared::stream_batch::{new_export_job, retry_only, sequence_of};
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
    /// Sequence numbers of the records to retry.
    pub retry: Vec<String>,
}

pub async fn handle(
    deps: &Deps,
    event: Event,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    let report = handle_batch(deps, event).await;
    Ok(retry_only(report.retry))
}

pub async fn handle_batch(deps: &Deps, event: Event) -> BatchReport {
    let mut report = BatchReport::default();
    for record in &event.records {
        let job = match new_export_job(record) {
            Ok(Some(job)) => job,
            Ok(None) => {
                report.ignored += 1;
                continue;
            }
            Err(e) => {
                // Retrying cannot make it readable; the job stays pending and says so when read.
                report.ignored += 1;
                tracing::error!(error = %e, "export job record does not decode");
                continue;
            }
        };
        let started = std::time::Instant::now();
        match run_job(&deps.store, deps.archives.as_ref(), &job.tenant, &job.id).await {
            Ok(JobOutcome::Ready(built)) => {
                report.built += 1;
                tracing::info!(
                    tenant = %job.tenant,
                    export = %job.id,
                    size_bytes = built.size_bytes,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "export built"
                );
            }
            Ok(JobOutcome::Failed(reason)) => {
                report.failed += 1;
                tracing::warn!(tenant = %job.tenant, export = %job.id, reason, "export cannot be built");
            }
            Ok(JobOutcome::AlreadyDone | JobOutcome::Missing) => report.skipped += 1,
            Err(e) => {
                tracing::warn!(
                    tenant = %job.tenant,
                    export = %job.id,
                    retryable = e.is_retryable(),
                    error = %e,
                    "export failed; its record is reported for retry"
                );
                report.retry.push(sequence_of(record));
            }
        }
    }
    tracing::info!(
        records = event.records.len(),
        built = report.built,
        failed = report.failed,
        skipped = report.skipped,
        ignored = report.ignored,
        retry = report.retry.len(),
        "data-export batch handled"
    );
    report
}
