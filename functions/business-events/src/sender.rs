//! The webhook sender: deliveries from their SQS FIFO queue. A batch may hold several groups
//! (endpoint and contact); groups are attempted side by side, each in its order. A delivery to
//! retry is made invisible for its wait and reported failed with the rest of its group behind
//! it, so the group keeps its order; a message that is not a delivery is dropped (logged):
//! no retry can make it one.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;
use mizan_shared::adapters::sqs_queues::SqsQueue;
use mizan_shared::adapters::webhook_http::HttpWebhookPoster;
use mizan_shared::backend::Services;
use mizan_shared::config::{Config, EventQueues};
use mizan_shared::domain::webhook::UrlPolicy;
use mizan_shared::ports::webhook_delivery::{QueuedDelivery, Redelivery, WebhookPoster};
use mizan_shared::queue_batch::retry_messages;
use mizan_shared::store::Store;
use mizan_shared::workflows::webhooks::{Sender, Turn};
use std::sync::Arc;

#[derive(Clone)]
pub struct SenderDeps {
    pub store: Store,
    pub poster: Arc<dyn WebhookPoster>,
    /// Puts a delivery to retry back on its queue for its wait.
    pub redelivery: Arc<dyn Redelivery>,
}

impl crate::Wiring for SenderDeps {
    type Settings = EventQueues;

    fn settings(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<EventQueues, crate::StartupError> {
        Ok(EventQueues::from_lookup(lookup))
    }

    fn new(
        services: &Services,
        _config: &Config,
        queues: &EventQueues,
    ) -> Result<SenderDeps, crate::StartupError> {
        let url = queues.require_webhook_queue("by webhook-sender to retry deliveries")?;
        Ok(SenderDeps {
            store: services.store.clone(),
            // Only public HTTPS endpoints, as consent-api accepts them.
            poster: Arc::new(HttpWebhookPoster::new(UrlPolicy::default())),
            redelivery: Arc::new(SqsQueue::connect(crate::aws_sdk(services)?, url)),
        })
    }
}

/// What one batch came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SenderReport {
    pub finished: usize,
    pub retried: usize,
    /// Behind a delivery to retry in its group: not attempted, handed out again after it.
    pub held: usize,
    pub dropped: usize,
    /// Message ids reported failed (retried or held).
    pub failures: Vec<String>,
}

pub async fn handle(
    deps: &SenderDeps,
    event: SqsEvent,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let report = handle_batch(deps, &event).await;
    Ok(retry_messages(report.failures))
}

/// The group a message belongs to: SQS's attribute, else the delivery's own.
fn group_of(message: &SqsMessage, delivery: Option<&QueuedDelivery>) -> String {
    message
        .attributes
        .get("MessageGroupId")
        .cloned()
        .or_else(|| delivery.map(|d| d.group.clone()))
        .unwrap_or_default()
}

/// A message and the delivery it carries, if it is one.
type Taken<'a> = (&'a SqsMessage, Option<QueuedDelivery>);

pub async fn handle_batch(deps: &SenderDeps, event: &SqsEvent) -> SenderReport {
    let mut groups: Vec<(String, Vec<Taken>)> = Vec::new();
    for message in &event.records {
        let delivery = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<QueuedDelivery>(body).ok());
        let group = group_of(message, delivery.as_ref());
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, messages)) => messages.push((message, delivery)),
            None => groups.push((group, vec![(message, delivery)])),
        }
    }
    let reports = join_all(
        groups
            .iter()
            .map(|(_, messages)| send_group(deps, messages)),
    )
    .await;
    let mut report = SenderReport::default();
    for group in reports {
        report.finished += group.finished;
        report.retried += group.retried;
        report.held += group.held;
        report.dropped += group.dropped;
        report.failures.extend(group.failures);
    }
    tracing::info!(
        messages = event.records.len(),
        finished = report.finished,
        retried = report.retried,
        held = report.held,
        dropped = report.dropped,
        "webhook deliveries handled"
    );
    report
}

async fn send_group(deps: &SenderDeps, messages: &[Taken<'_>]) -> SenderReport {
    let sender = Sender {
        store: &deps.store,
        poster: deps.poster.as_ref(),
    };
    let mut report = SenderReport::default();
    let mut holding = false;
    for (message, delivery) in messages {
        let id = message.message_id.clone().unwrap_or_default();
        if holding {
            report.held += 1;
            report.failures.push(id);
            continue;
        }
        let Some(delivery) = delivery else {
            tracing::error!(message = %id, "a queued message is not a delivery; dropped");
            report.dropped += 1;
            continue;
        };
        match sender.turn(delivery).await {
            Turn::Finished => report.finished += 1,
            Turn::RetryIn(wait) => {
                let receipt = message.receipt_handle.as_deref().unwrap_or_default();
                if let Err(e) = deps.redelivery.redeliver_after(receipt, wait).await {
                    // It comes back after the queue's visibility timeout instead.
                    tracing::warn!(error = %e, "a delivery's retry wait could not be set");
                }
                report.retried += 1;
                report.failures.push(id);
                holding = true;
            }
        }
    }
    report
}
