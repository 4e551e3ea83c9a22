//! The real `ai-reply` and `campaign-sender` binaries, started as Lambda starts them (the
//! environment `template.yaml` gives each, secrets from Secrets Manager, DynamoDB Local and
//! moto, a Runtime API of our own, Meta's Graph API faked): a stream batch answered, a partial
//! batch failure reported when WhatsApp cannot be reached, and the sender's scheduled turn.

use aws_lambda_events::event::dynamodb::Event;
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::store::layout;
use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::fakes::graph::FakeGraph;
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, lambda_binary, seed};
use serde_json::json;

const PHONE: &str = "100000000000001";

#[tokio::test]
async fn the_binary_answers_a_stream_batch_and_reports_a_failed_record_for_a_retry() {
    let deployment = Deployment::create().await;
    // The binary runs on the machine's clock: the message is written now, inside its window.
    deployment.clock.set(Timestamp::now());
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, Some(PHONE)).await;
    let contact = seed::contact(&seeding.store, &tenant.id, "212600000701").await;
    let message = seed::text_message(
        &seeding.store,
        (&tenant.id, &contact),
        "wamid.BIN1",
        Direction::Inbound,
        "What are your opening hours?",
        seeding.store.now(),
    )
    .await;
    let key = layout::message(&tenant.id, &contact, &message.id);
    let mut batch = Event::default();
    batch.records = vec![events::stream_insert(&seeding.store, key, 1).await];
    let batch = serde_json::to_value(&batch).unwrap();

    // WhatsApp cannot be reached: the record is reported failed, so Lambda retries it alone.
    let unreachable = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", port.local_addr().unwrap())
    };
    let first = lambda_binary::start_function(
        &deployment,
        "AiReplyFunction",
        env!("CARGO_BIN_EXE_ai-reply"),
        &[("MIZAN_GRAPH_BASE_URL", unreachable)],
    )
    .await;
    let failed = first.api.invoke(batch.clone()).await.response();
    assert_eq!(
        failed,
        json!({"batchItemFailures": [{"itemIdentifier": format!("{:021}", 1)}]}),
        "{}",
        first.logs()
    );
    drop(first);

    // The retry, in a new instance: answered once, with the token from its secret.
    let graph = FakeGraph::start().await;
    let function = lambda_binary::start_function(
        &deployment,
        "AiReplyFunction",
        env!("CARGO_BIN_EXE_ai-reply"),
        &[("MIZAN_GRAPH_BASE_URL", graph.base_url.clone())],
    )
    .await;
    let answered = function.api.invoke(batch).await.response();
    assert_eq!(answered, json!({"batchItemFailures": []}));
    let texts = graph.text_attempts();
    assert_eq!(texts.last().unwrap()["to"], "212600000701");
    assert!(graph.requests().iter().all(|r| r.authorization.as_deref()
        == Some(&format!("Bearer {}", lambda_binary::GRAPH_TOKEN)[..])));
    function.assert_logs_are_json_without(&["212600000701", "opening hours"]);
}

#[tokio::test]
async fn the_campaign_sender_binary_takes_its_turns_when_scheduled() {
    let deployment = Deployment::create().await;
    let graph = FakeGraph::start().await;
    let function = lambda_binary::start_function(
        &deployment,
        "CampaignSenderFunction",
        env!("CARGO_BIN_EXE_campaign-sender"),
        &[("MIZAN_GRAPH_BASE_URL", graph.base_url.clone())],
    )
    .await;
    let scheduled = serde_json::from_str(&events::text("retention-purge", "scheduled")).unwrap();
    let report = function.api.invoke(scheduled).await.response();
    assert_eq!(report["campaigns"], 0, "{report}");
    assert_eq!(report["sent"], 0, "{report}");
    function.assert_logs_are_json_without(&[]);
}
