//! Ports of webhook deliveries: the queue that carries them to the sender (SQS FIFO on AWS, a
//! task per group in the runner), and the HTTP call to the business's endpoint.

use crate::domain::ids::TenantId;
use crate::domain::webhook::{AttemptResult, EndpointId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A delivery handed to the queue: where its record is, and the group it keeps order in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub tenant: TenantId,
    pub endpoint: EndpointId,
    pub delivery: String,
    /// Deliveries of one group are attempted one at a time, in the order they were queued:
    /// one group per endpoint and contact (or the account, for events about no contact).
    pub group: String,
    /// Tells a replay apart from the first sending (queues drop a repeated message id).
    #[serde(default)]
    pub replay: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("the delivery queue is unavailable: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Queues `deliveries`, in this order within each group.
    async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError>;
}

/// One signed request to an endpoint.
pub struct WebhookRequest<'a> {
    pub url: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

#[async_trait]
pub trait WebhookPoster: Send + Sync {
    /// Posts `request` once (no redirects followed, bounded by `ATTEMPT_TIMEOUT`).
    async fn post(&self, request: WebhookRequest<'_>) -> AttemptResult;
}

/// How a queue consumer puts back a message it took, to be handed out again after `wait` (SQS:
/// its visibility timeout); a FIFO group waits with it.
#[async_trait]
pub trait Redelivery: Send + Sync {
    async fn redeliver_after(
        &self,
        receipt_handle: &str,
        wait: std::time::Duration,
    ) -> Result<(), QueueError>;
}
