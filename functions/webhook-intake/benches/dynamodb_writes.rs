//! DynamoDB write requests and consumed write capacity per inbound text message, against
//! DynamoDB Local (needs MIZAN_TEST_DYNAMODB_ENDPOINT, as `infra/test.sh` sets it):
//!
//!     MIZAN_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench -p mizan-webhook-intake --bench dynamodb_writes
//!
//! Target: at most 2 write requests per inbound text message.

#[path = "common.rs"]
mod common;

use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::workflows::intake::ingest;

const CONTACTS: u64 = 100;
const MESSAGES: u64 = 1_000;

#[tokio::main]
async fn main() {
    let url = std::env::var("MIZAN_TEST_DYNAMODB_ENDPOINT")
        .expect("MIZAN_TEST_DYNAMODB_ENDPOINT must point at DynamoDB Local");
    let (store, records, _dir) = common::dynamodb_store(&url).await;

    let measure = |label: &str, range: std::ops::Range<u64>| {
        let before = (
            records.write_usage().requests(),
            records.write_usage().capacity_units(),
        );
        let store = store.clone();
        let records = records.clone();
        let label = label.to_owned();
        async move {
            let count = range.end - range.start;
            for n in range {
                let (body, _) = common::delivery(n, CONTACTS, store.now());
                ingest(&store, &parse_delivery(&body).unwrap())
                    .await
                    .unwrap();
            }
            let requests = records.write_usage().requests() - before.0;
            let capacity = records.write_usage().capacity_units() - before.1;
            println!(
                "{label:<38} {count:>5} messages: {:.2} write requests and {:.2} WCU per message",
                requests as f64 / count as f64,
                capacity / count as f64
            );
        }
    };
    println!("DynamoDB Local, one text message per delivery, {CONTACTS} contacts:");
    measure("first message of each contact", 0..CONTACTS).await;
    measure("returning contacts", CONTACTS..MESSAGES).await;
    measure("the same deliveries again (retries)", CONTACTS..MESSAGES).await;
}
