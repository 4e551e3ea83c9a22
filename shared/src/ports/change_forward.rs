//! The router's hand-off of stream records another function consumes from a queue (the export
//! worker's new jobs): DynamoDB Streams serves at most two readers a shard, so one router reads
//! it for every consumer beside ai-reply (DESIGN §9).

use crate::ports::webhook_delivery::QueueError;
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::EventRecord;

#[async_trait]
pub trait ChangeForward: Send + Sync {
    /// Queues `records` as they are (the consumer reads each as the stream record it is).
    async fn forward(&self, records: &[EventRecord]) -> Result<(), QueueError>;
}
