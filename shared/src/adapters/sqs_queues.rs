//! The queues of webhook deliveries and forwarded stream records, on SQS. Deliveries go to a
//! FIFO queue grouped by endpoint and contact (SQS hands a group's messages out one at a time,
//! in order, and holds the group while one is in flight); a delivery waiting for a retry is
//! made invisible for its wait, so its group waits with it.

use super::aws_errors::classify;
use crate::ports::change_forward::ChangeForward;
use crate::ports::webhook_delivery::{DeliveryQueue, QueueError, QueuedDelivery, Redelivery};
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::EventRecord;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// SQS takes at most ten messages a batch.
const BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            url: url.into(),
        }
    }

    /// The queue at `url`, reached with the function's SDK configuration.
    pub fn connect(sdk: &aws_config::SdkConfig, url: impl Into<String>) -> Self {
        SqsQueue::new(Client::new(sdk), url)
    }

    /// Sends `entries` in order, ten at a time; any entry refused fails the call (a retry
    /// resends all: the consumers take a message twice without harm).
    async fn send(&self, entries: Vec<SendMessageBatchRequestEntry>) -> Result<(), QueueError> {
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let chunk: Vec<_> = entries.by_ref().take(BATCH).collect();
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(chunk))
                .send()
                .await
                .map_err(|e| QueueError(classify(&e).shown))?;
            if let Some(failed) = sent.failed().first() {
                return Err(QueueError(format!(
                    "{} message(s) refused, first: {}",
                    sent.failed().len(),
                    failed.code()
                )));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Redelivery for SqsQueue {
    /// Makes a received message visible again after `wait` (rounded up to a second): what a
    /// delivery waiting for its retry does, holding its FIFO group meanwhile.
    async fn redeliver_after(
        &self,
        receipt_handle: &str,
        wait: Duration,
    ) -> Result<(), QueueError> {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(seconds.min(43_200)).unwrap_or(43_200))
            .send()
            .await
            .map_err(|e| QueueError(classify(&e).shown))?;
        Ok(())
    }
}

fn entry(index: usize, body: String) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(body)
        .build()
        .expect("id and body are set")
}

/// The FIFO deduplication id of a delivery's sending (a replay is another sending).
fn deduplication_id(delivery: &QueuedDelivery) -> String {
    let digest = Sha256::new()
        .chain_update(delivery.delivery.as_bytes())
        .chain_update(delivery.replay.to_be_bytes())
        .finalize();
    hex::encode(&digest[..20])
}

#[async_trait]
impl DeliveryQueue for SqsQueue {
    async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError> {
        let entries = deliveries
            .iter()
            .enumerate()
            .map(|(index, delivery)| {
                let body = serde_json::to_string(delivery)
                    .map_err(|e| QueueError(format!("a delivery does not serialize: {e}")))?;
                let mut entry = entry(index, body);
                entry.message_group_id = Some(delivery.group.clone());
                entry.message_deduplication_id = Some(deduplication_id(delivery));
                Ok(entry)
            })
            .collect::<Result<Vec<_>, QueueError>>()?;
        self.send(entries).await
    }
}

#[async_trait]
impl ChangeForward for SqsQueue {
    async fn forward(&self, records: &[EventRecord]) -> Result<(), QueueError> {
        let entries = records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                serde_json::to_string(record)
                    .map(|body| entry(index, body))
                    .map_err(|e| QueueError(format!("a stream record does not serialize: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.send(entries).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::TenantId;
    use crate::domain::webhook::EndpointId;

    #[test]
    fn a_replay_is_another_sending_and_the_same_sending_the_same_message() {
        let delivery = QueuedDelivery {
            tenant: TenantId::new("ten_a"),
            endpoint: EndpointId::generate(),
            delivery: "dlv_1".into(),
            group: "g".into(),
            replay: 0,
        };
        let replayed = QueuedDelivery {
            replay: 1,
            ..delivery.clone()
        };
        assert_eq!(
            deduplication_id(&delivery),
            deduplication_id(&delivery.clone())
        );
        assert_ne!(deduplication_id(&delivery), deduplication_id(&replayed));
        assert_eq!(deduplication_id(&delivery).len(), 40);
    }
}
