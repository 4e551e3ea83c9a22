//! What the runner hosts of each Lambda function besides its HTTP routes (those are mounted in
//! `routes::function_routes`): the stream consumers the change feed delivers to, and the
//! scheduled jobs. Each function issue registers its handler here, built from the same
//! `Services` its Lambda `main.rs` builds from AWS clients.
//!
//! - ai-reply: a `feed::StreamConsumer` wrapping its stream handler.
//! - data-export worker: a `feed::StreamConsumer` for export job records.
//! - retention-purge: a `schedule::Schedule` (`schedule::DEFAULT_INTERVAL` unless it needs another).

use crate::feed::StreamConsumer;
use crate::schedule::Schedule;
use mizan_shared::backend::Services;
use std::sync::Arc;

/// Stream-triggered functions, in the order they get each batch.
pub fn stream_consumers(_services: &Services) -> Vec<Arc<dyn StreamConsumer>> {
    Vec::new()
}

/// Scheduled functions.
pub fn schedules(services: &Services) -> Vec<Schedule> {
    let purge = Arc::new(mizan_retention_purge::Deps::new(services));
    vec![Schedule::new(
        "retention-purge",
        crate::schedule::DEFAULT_INTERVAL,
        move || {
            let deps = purge.clone();
            async move {
                mizan_retention_purge::handle(&deps, scheduled_event())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        },
    )]
}

/// What EventBridge delivers on a schedule, with a deadline like the template's timeout.
fn scheduled_event() -> lambda_runtime::LambdaEvent<serde_json::Value> {
    let now = mizan_shared::domain::time::Timestamp::now();
    let payload = serde_json::json!({
        "version": "0",
        "id": "local",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.to_rfc3339(),
        "region": "local",
        "resources": [],
        "detail": {}
    });
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(now.as_millis()).unwrap_or(0) + PURGE_TIMEOUT_MS;
    lambda_runtime::LambdaEvent::new(payload, context)
}

/// The purge function's timeout in `template.yaml` (15 minutes).
const PURGE_TIMEOUT_MS: u64 = 900_000;
