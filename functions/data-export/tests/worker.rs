//! The worker fed by its queue (the stream records of new export jobs the change router hands
//! on) and, in the runner, by the change feed: the sample event in `events/data-export/`,
//! records that are not new export jobs, repeats, jobs that cannot be built and failing archive
//! storage.

mod support;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use mizan_data_export::worker;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::{ContactId, ExportId};
use mizan_shared::domain::time::days;
use mizan_shared::ports::archives::{ArchiveError, ArchiveLocation, ArchiveStore, ArchiveUpload};
use mizan_shared::stream_batch::new_export_job;
use mizan_test_support::events::queued_stream_records;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use support::{harness, Harness, WA_ID};

const SAMPLE_EXPORT: &str = "exp_0123456789abcdef0123456789abcdef";

fn job(h: &Harness, id: &str, contact: &ContactId) -> ExportJob {
    let now = h.store().now();
    ExportJob {
        id: ExportId::new(id),
        tenant: h.a.tenant.id.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(days(7)),
        requested_by: "key_0123456789ab".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    }
}

fn sample_path() -> std::path::PathBuf {
    support::events_dir().join("worker-export-job.json")
}

/// The change time is the store's wall clock: compared without it.
fn without_wall_clock(mut event: serde_json::Value) -> serde_json::Value {
    for message in event["Records"].as_array_mut().unwrap() {
        let mut record: serde_json::Value =
            serde_json::from_str(message["body"].as_str().unwrap()).unwrap();
        record["dynamodb"]
            .as_object_mut()
            .unwrap()
            .remove("ApproximateCreationDateTime");
        message["body"] = record;
    }
    event
}

async fn state(h: &Harness, id: &str) -> ExportState {
    h.store()
        .export(&h.a.tenant.id, &ExportId::new(id))
        .await
        .unwrap()
        .unwrap()
        .value
        .state
}

#[tokio::test]
async fn the_sample_event_is_what_the_change_feed_produces_and_builds_the_archive() {
    let h = harness().await;
    let contact = h.contact_with_messages(&h.a, WA_ID, 2).await;
    h.stream_event().await;
    h.store()
        .create_export(&job(&h, SAMPLE_EXPORT, &contact))
        .await
        .unwrap();
    let produced =
        serde_json::to_value(queued_stream_records(&h.stream_event().await.records)).unwrap();
    // MIZAN_WRITE_EVENTS=1 rewrites it (after a change of the record layout).
    if std::env::var_os("MIZAN_WRITE_EVENTS").is_some() {
        std::fs::write(
            sample_path(),
            serde_json::to_string_pretty(&produced).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap();
    assert_eq!(
        without_wall_clock(committed.clone()),
        without_wall_clock(produced),
        "events/data-export/worker-export-job.json is stale: regenerate with MIZAN_WRITE_EVENTS=1"
    );

    let event: SqsEvent = serde_json::from_value(committed).unwrap();
    let response = worker::handle(&h.deps, event.clone()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let ExportState::Ready { object_key, .. } = state(&h, SAMPLE_EXPORT).await else {
        panic!("the job is ready");
    };
    assert!(h.deps.archives.exists(&object_key).await.unwrap());

    // SQS delivers at least once: a repeat builds nothing more.
    let again = worker::handle(&h.deps, event).await.unwrap();
    assert!(again.batch_item_failures.is_empty());
    assert!(matches!(
        state(&h, SAMPLE_EXPORT).await,
        ExportState::Ready { object_key: same, .. } if same == object_key
    ));
}

#[tokio::test]
async fn records_other_than_new_export_jobs_are_ignored() {
    let h = harness().await;
    let contact = h.contact_with_messages(&h.a, WA_ID, 2).await;
    let report = h.run_worker().await;
    assert_eq!(report.built + report.failed + report.skipped, 0);
    assert!(report.ignored >= 3, "{report:?}");
    // A job's later updates (ready, downloads) are not new jobs either.
    h.store()
        .create_export(&job(&h, SAMPLE_EXPORT, &contact))
        .await
        .unwrap();
    assert_eq!(h.run_worker().await.built, 1);
    let report = h.run_worker().await;
    assert_eq!((report.built, report.skipped, report.ignored), (0, 0, 1));
}

#[tokio::test]
async fn a_job_whose_contact_is_gone_is_marked_failed_not_retried() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    h.store()
        .create_export(&job(&h, SAMPLE_EXPORT, &ContactId::new("c_not_a_contact")))
        .await
        .unwrap();
    let report = h.run_worker().await;
    assert_eq!((report.failed, report.retry.len()), (1, 0));
    assert!(matches!(
        state(&h, SAMPLE_EXPORT).await,
        ExportState::Failed { reason } if reason.contains("contact")
    ));
}

/// Archive storage that is down until told otherwise.
struct Flaky {
    inner: Arc<dyn ArchiveStore>,
    down: AtomicBool,
}

#[async_trait]
impl ArchiveStore for Flaky {
    async fn create(&self, key: &str) -> Result<Box<dyn ArchiveUpload>, ArchiveError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ArchiveError::Unavailable("S3 is down".into()));
        }
        self.inner.create(key).await
    }
    async fn location(
        &self,
        key: &str,
        valid_for: std::time::Duration,
    ) -> Result<ArchiveLocation, ArchiveError> {
        self.inner.location(key, valid_for).await
    }
    async fn read(&self, key: &str) -> Result<Vec<u8>, ArchiveError> {
        self.inner.read(key).await
    }
    async fn delete(&self, key: &str) -> Result<(), ArchiveError> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, ArchiveError> {
        self.inner.exists(key).await
    }
}

#[tokio::test]
async fn failing_archive_storage_reports_the_record_for_retry_and_loses_nothing() {
    let mut h = harness().await;
    let contact = h.contact_with_messages(&h.a, WA_ID, 1).await;
    let flaky = Arc::new(Flaky {
        inner: h.deps.archives.clone(),
        down: AtomicBool::new(true),
    });
    h.deps.archives = flaky.clone();
    h.stream_event().await;
    h.store()
        .create_export(&job(&h, SAMPLE_EXPORT, &contact))
        .await
        .unwrap();
    let event = h.stream_event().await;
    let queued = queued_stream_records(&event.records);
    let response = worker::handle(&h.deps, queued.clone()).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    let position = event
        .records
        .iter()
        .position(|r| matches!(new_export_job(r), Ok(Some(_))))
        .expect("the job's record");
    assert_eq!(
        Some(&response.batch_item_failures[0].item_identifier),
        queued.records[position].message_id.as_ref(),
        "only the job's message is retried"
    );
    // The runner's worker, on the change feed, names it by its sequence number.
    let on_feed = worker::handle_batch(&h.deps, event.clone()).await;
    assert_eq!(
        on_feed.retry,
        [event.records[position]
            .change
            .sequence_number
            .clone()
            .unwrap()]
    );
    assert_eq!(state(&h, SAMPLE_EXPORT).await, ExportState::Pending);
    // Lambda retries the record once S3 is back.
    flaky.down.store(false, Ordering::SeqCst);
    let retried = worker::handle_batch(&h.deps, event).await;
    assert_eq!(retried.built, 1);
}
