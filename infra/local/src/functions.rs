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
pub fn schedules(_services: &Services) -> Vec<Schedule> {
    Vec::new()
}
