//! business-events: tells businesses what happened in their accounts, through their webhooks.
//!
//! - `change-router` reads the data table's stream (the one reader beside ai-reply, DESIGN §9):
//!   each change's events become deliveries queued on an SQS FIFO queue, and new export jobs go
//!   to the export worker's queue.
//! - `webhook-sender` takes deliveries from that queue, signs and posts them, and puts back the
//!   ones to retry (their group waits with them).
//! - `analytics-counter` counts the changes the router queues for it into the tenants' daily
//!   usage counters, each once.

pub mod counter;
pub mod router;
pub mod sender;

pub use counter::CounterDeps;
pub use mizan_shared::startup::{StartupError, Wiring};
pub use router::RouterDeps;
pub use sender::SenderDeps;

use mizan_shared::backend::{BackendError, Services};

/// The SDK configuration of a function on AWS; these functions run nowhere else (the runner
/// builds their dependencies itself, over in-process queues).
fn aws_sdk(services: &Services) -> Result<&mizan_shared::backend::SdkConfig, StartupError> {
    services
        .aws
        .as_ref()
        .ok_or(StartupError::Backend(BackendError::NotAws))
}
