//! retention-purge: on its EventBridge schedule, enforces retention, completes erasures and
//! closes accounts (`mizan_shared::workflows::purge`). The handler only reads the schedule event, sets the
//! deadline and maps the report to the Lambda outcome.

use lambda_runtime::LambdaEvent;
use mizan_shared::backend::Services;
use mizan_shared::config::Config;
use mizan_shared::ports::archives::ArchiveStore;
pub use mizan_shared::startup::{StartupError, Wiring};
use mizan_shared::store::{DataError, Store};
use mizan_shared::workflows::purge::{self, PurgeOptions, PurgeReport};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Time kept back from the Lambda deadline to finish the page in hand and report.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

pub struct Deps {
    pub store: Store,
    pub archives: Arc<dyn ArchiveStore>,
}

impl Wiring for Deps {
    /// Erasures and expiries delete export archives: S3's DeleteObject alone is linked.
    const AWS_ARCHIVES: mizan_shared::backend::AwsArchives =
        mizan_shared::backend::s3_archive_deletion;

    type Settings = ();

    fn settings(_: &dyn Fn(&str) -> Option<String>) -> Result<(), StartupError> {
        Ok(())
    }

    fn new(services: &Services, _config: &Config, _: &()) -> Result<Deps, StartupError> {
        Ok(Deps {
            store: services.store.clone(),
            archives: services.archives.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeFailure {
    /// The event is not an EventBridge scheduled event (a mistaken manual invocation).
    #[error("not an EventBridge scheduled event: {0}")]
    NotScheduled(String),
    #[error("the tenant directory could not be read: {0}")]
    Directory(#[from] DataError),
    /// Some items could not be processed; the next run retries them. Failing the invocation
    /// makes the error alarm fire.
    #[error("{failed} purge operations failed; see retention_purge_failed logs")]
    Partial { failed: u64 },
}

/// The fields of EventBridge's scheduled event the purge checks.
#[derive(Debug, Deserialize)]
struct ScheduledEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
}

pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<PurgeReport, PurgeFailure> {
    let scheduled: ScheduledEvent = serde_json::from_value(event.payload)
        .map_err(|e| PurgeFailure::NotScheduled(e.to_string()))?;
    if scheduled.detail_type != "Scheduled Event" || scheduled.source != "aws.events" {
        return Err(PurgeFailure::NotScheduled(format!(
            "detail-type {:?} from {:?}",
            scheduled.detail_type, scheduled.source
        )));
    }
    let mut options = PurgeOptions::at(deps.store.now());
    options.deadline = Some(deadline(event.context.deadline));
    let report = purge::run(&deps.store, deps.archives.as_ref(), options).await?;
    match report.failures() {
        0 => Ok(report),
        failed => Err(PurgeFailure::Partial { failed }),
    }
}

/// The instant to stop at: the invocation's deadline (epoch milliseconds) less the margin.
fn deadline(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(DEADLINE_MARGIN)
}

impl PurgeFailure {
    /// Whether running again soon can help (the schedule does so anyway).
    pub fn is_retryable(&self) -> bool {
        match self {
            PurgeFailure::NotScheduled(_) => false,
            PurgeFailure::Directory(e) => e.is_retryable(),
            PurgeFailure::Partial { .. } => true,
        }
    }
}

/// The Lambda failure: an error type the error alarm and logs can tell apart.
impl From<PurgeFailure> for lambda_runtime::Diagnostic {
    fn from(failure: PurgeFailure) -> Self {
        let error_type = match &failure {
            PurgeFailure::NotScheduled(_) => "NotScheduled",
            PurgeFailure::Directory(_) => "DirectoryUnreadable",
            PurgeFailure::Partial { .. } => "PartialPurge",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: failure.to_string(),
        }
    }
}
