//! What an inbound text message costs on DynamoDB (DynamoDB Local; needs
//! MIZAN_TEST_DYNAMODB_ENDPOINT, set by infra/test.sh): at most 2 write requests, and 1 for a
//! contact who wrote before.

#[path = "../benches/common.rs"]
mod common;

use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::workflows::intake::ingest;

#[tokio::test]
async fn an_inbound_text_message_costs_at_most_two_write_requests() {
    let url = std::env::var("MIZAN_TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!("MIZAN_TEST_DYNAMODB_ENDPOINT is not set: run infra/test.sh, which starts DynamoDB Local")
    });
    let (store, records, _dir) = common::dynamodb_store(&url).await;
    let cost = |before: u64| records.write_usage().requests() - before;

    let before = records.write_usage().requests();
    let (first, _) = common::delivery(0, 10, store.now());
    ingest(&store, &parse_delivery(&first).unwrap())
        .await
        .unwrap();
    assert!(
        cost(before) <= 2,
        "a new contact's first message: {} requests",
        cost(before)
    );

    let before = records.write_usage().requests();
    let (again, _) = common::delivery(10, 10, store.now());
    let report = ingest(&store, &parse_delivery(&again).unwrap())
        .await
        .unwrap();
    assert_eq!(report.messages_stored, 1);
    assert_eq!(
        cost(before),
        1,
        "a returning contact's message is one conditional put"
    );
}
