//! The analytics counter, driven by `events/analytics-counter/changes.json` (an SQS batch of
//! the stream records the router hands on): a customer's question, the assistant's answer 42 s
//! later, the customer's opt-out by keyword, and a change that counts for nothing. Counted
//! once however often SQS delivers the batch, with the answer's response time.

mod support;

use aws_lambda_events::event::sqs::SqsEvent;
use mizan_business_events::{counter, CounterDeps};
use mizan_shared::domain::analytics::day_of;
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, ConsentSource, Purpose};
use mizan_shared::domain::message::Direction;
use mizan_test_support::{events, seed};
use std::path::PathBuf;
use std::time::Duration;
use support::{harness, Harness, WA_ID};

fn sample_path() -> PathBuf {
    events::dir("analytics-counter").join("changes.json")
}

/// What the router hands the counter for the scenario, as an SQS batch.
async fn the_changes_of_a_conversation(h: &Harness) -> serde_json::Value {
    let contact = seed::contact(h.store(), &h.tenant.id, WA_ID).await;
    h.system.skip_changes().await;
    let asked = h.store().now();
    seed::text_message(
        h.store(),
        (&h.tenant.id, &contact),
        "wamid.COUNT1",
        Direction::Inbound,
        "Vous livrez à Rabat ?",
        asked,
    )
    .await;
    seed::text_message(
        h.store(),
        (&h.tenant.id, &contact),
        "wamid.COUNT2",
        Direction::Outbound,
        "Oui, en 48 h.",
        asked.plus(Duration::from_secs(42)),
    )
    .await;
    let stop = ConsentEvent {
        tenant: h.tenant.id.clone(),
        contact: contact.clone(),
        at: asked.plus(Duration::from_secs(60)),
        purpose: Purpose::Marketing,
        action: ConsentAction::OptOut,
        source: ConsentSource::Keyword,
        evidence: "wamid.COUNT3".into(),
        actor: "contact".into(),
    };
    h.store().record_consent(&stop, None).await.unwrap();
    let records = h.system.stream_event().await.records;
    let mut batch = serde_json::to_value(events::queued_stream_records(&records)).unwrap();
    // Sealed content differs from run to run.
    for message in batch["Records"].as_array_mut().unwrap() {
        let mut record: serde_json::Value =
            serde_json::from_str(message["body"].as_str().unwrap()).unwrap();
        if let Some(image) = record["dynamodb"]["NewImage"].as_object_mut() {
            image.remove("c");
        }
        if let Some(image) = record["dynamodb"]["OldImage"].as_object_mut() {
            image.remove("c");
        }
        message["body"] = serde_json::json!(record.to_string());
    }
    batch
}

/// The batch without the stream's clock (the time the feed read the changes).
fn without_clock(batch: &serde_json::Value) -> serde_json::Value {
    let mut batch = batch.clone();
    for message in batch["Records"].as_array_mut().unwrap() {
        let mut record: serde_json::Value =
            serde_json::from_str(message["body"].as_str().unwrap()).unwrap();
        record["dynamodb"]
            .as_object_mut()
            .unwrap()
            .remove("ApproximateCreationDateTime");
        message["body"] = record;
    }
    batch
}

#[tokio::test]
async fn the_sample_batch_is_counted_once_with_its_response_time() {
    let h = harness().await;
    let produced = the_changes_of_a_conversation(&h).await;
    // MIZAN_WRITE_EVENTS=1 rewrites the sample (after a change of the record layout).
    if std::env::var_os("MIZAN_WRITE_EVENTS").is_some() {
        std::fs::create_dir_all(sample_path().parent().unwrap()).unwrap();
        std::fs::write(
            sample_path(),
            serde_json::to_string_pretty(&produced).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap();
    assert_eq!(
        without_clock(&committed),
        without_clock(&produced),
        "events/analytics-counter/changes.json is stale: regenerate with MIZAN_WRITE_EVENTS=1"
    );
    let sample: SqsEvent = serde_json::from_value(committed).unwrap();

    let deps = CounterDeps {
        store: h.store().clone(),
    };
    for _ in 0..3 {
        let answer = counter::handle(&deps, sample.clone()).await.unwrap();
        assert!(answer.batch_item_failures.is_empty());
    }
    let day = day_of(h.store().now());
    let counts = h
        .store()
        .analytics_days(&h.tenant.id, &day, &day)
        .await
        .unwrap()
        .remove(&day)
        .unwrap();
    let expected: Vec<(&str, u64)> = vec![
        ("consent.opt_out.keyword", 1),
        ("messages.in.text", 1),
        ("messages.out.ai.text", 1),
        ("response.le_60", 1),
    ];
    assert_eq!(
        counts
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        expected
    );
}
