//! The webhook sender, driven by SQS FIFO batches: the sample event in `events/webhook-sender/`,
//! deliveries signed to a receiver, a failing group held in order behind its failed delivery
//! (made invisible for its retry wait) while another group goes on, and a message that is not a
//! delivery dropped.

mod support;

use aws_lambda_events::event::sqs::SqsEvent;
use mizan_business_events::sender;
use mizan_shared::domain::ids::TenantId;
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::webhook::{DeliveryState, EndpointId};
use mizan_shared::ports::webhook_delivery::QueuedDelivery;
use mizan_shared::store::layout;
use mizan_shared::workflows::webhooks::Router;
use mizan_test_support::events::{sqs_event, stream_insert};
use mizan_test_support::receiver::{Answer, WebhookReceiver};
use mizan_test_support::seed;
use std::time::Duration;
use support::{events_dir, harness, Harness, SAMPLE_TENANT};

fn sample_path() -> std::path::PathBuf {
    events_dir("webhook-sender").join("deliveries.json")
}

/// A batch of three deliveries in two groups, as SQS hands them to the sender.
fn sample_batch() -> SqsEvent {
    let endpoint = EndpointId::parse("whk_0123456789abcdef0123456789abcdef").unwrap();
    let queued = |delivery: &str, contact: &str| QueuedDelivery {
        tenant: TenantId::new(SAMPLE_TENANT),
        endpoint: endpoint.clone(),
        delivery: delivery.to_owned(),
        group: format!("{endpoint}:{contact}"),
        replay: 0,
    };
    sqs_event(
        [
            queued("dlv_1767225600000_00000000000000000000000000000001", "c0a"),
            queued("dlv_1767225600001_00000000000000000000000000000002", "c0a"),
            queued("dlv_1767225600002_00000000000000000000000000000003", "c0b"),
        ]
        .map(|q| (serde_json::to_string(&q).unwrap(), Some(q.group.clone()))),
    )
}

#[tokio::test]
async fn the_sample_batch_of_deliveries_unknown_here_is_done_with() {
    if std::env::var_os("MIZAN_WRITE_EVENTS").is_some() {
        std::fs::write(
            sample_path(),
            serde_json::to_string_pretty(&sample_batch()).unwrap() + "\n",
        )
        .unwrap();
    }
    let sample: SqsEvent =
        serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&sample).unwrap(),
        serde_json::to_value(sample_batch()).unwrap(),
        "events/webhook-sender/deliveries.json is stale: regenerate with MIZAN_WRITE_EVENTS=1"
    );
    let h = harness().await;
    // No such deliveries in a fresh system (their log expired, their contact erased): nothing
    // to send, nothing to retry.
    let response = sender::handle(&h.sender, sample).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
}

/// Deliveries of two contacts' messages (two of the first, one of the second) to the receiver,
/// as the router queued them, as one SQS batch.
async fn queued_batch(h: &Harness, receiver: &WebhookReceiver) -> (SqsEvent, Vec<QueuedDelivery>) {
    h.endpoint(&receiver.url, &["message.received"]).await;
    let first = seed::contact(h.store(), &h.tenant.id, "212600000001").await;
    let second = seed::contact(h.store(), &h.tenant.id, "212600000002").await;
    let mut router = Router::new(h.store(), h.queue.as_ref());
    for (n, contact) in [(1, &first), (2, &first), (3, &second)] {
        let message = seed::text_message(
            h.store(),
            (&h.tenant.id, contact),
            &format!("wamid.SEND{n}"),
            Direction::Inbound,
            "Bonjour",
            h.store().now(),
        )
        .await;
        let record = stream_insert(
            h.store(),
            layout::message(&h.tenant.id, contact, &message.id),
            n,
        )
        .await;
        router.route(&record).await.unwrap();
        h.system.clock().advance(Duration::from_millis(1));
    }
    let queued = h.queue.take();
    let event = sqs_event(
        queued
            .iter()
            .map(|q| (serde_json::to_string(q).unwrap(), Some(q.group.clone()))),
    );
    (event, queued)
}

#[tokio::test]
async fn a_failing_delivery_holds_its_group_in_order_and_the_others_go_on() {
    let h = harness().await;
    let receiver = WebhookReceiver::start().await;
    let (batch, queued) = queued_batch(&h, &receiver).await;
    // The first contact's first delivery gets a 503; the second contact's goes through.
    receiver.script([Answer::Status(503)]);
    let response = sender::handle(&h.sender, batch.clone()).await.unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        ["msg-1", "msg-2"],
        "the failed one and the one behind it"
    );
    assert_eq!(
        *h.redelivery.0.lock().unwrap(),
        [("receipt-1".to_owned(), Duration::from_secs(5))]
    );
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].header("Mizan-Delivery-Id"),
        Some(queued[2].delivery.as_str())
    );

    // SQS hands the group out again after the wait: now both go, in order.
    let mut again = SqsEvent::default();
    again.records = batch.records[..2].to_vec();
    let response = sender::handle(&h.sender, again).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let order: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.header("Mizan-Delivery-Id").unwrap().to_owned())
        .collect();
    assert_eq!(
        order,
        [
            queued[2].delivery.clone(),
            queued[0].delivery.clone(),
            queued[1].delivery.clone()
        ]
    );
    for q in &queued {
        let d = h
            .store()
            .webhook_delivery(&q.tenant, &q.endpoint, &q.delivery)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.value.state, DeliveryState::Delivered);
    }
}

#[tokio::test]
async fn a_message_that_is_not_a_delivery_is_dropped_not_retried() {
    let h = harness().await;
    let event = sqs_event([("not a delivery".to_owned(), Some("g".to_owned()))]);
    let report = sender::handle_batch(&h.sender, &event).await;
    assert_eq!((report.dropped, report.failures.len()), (1, 0));
}
