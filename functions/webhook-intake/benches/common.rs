//! Shared by the intake benches and the DynamoDB cost test: signed one-message deliveries, as
//! Meta sends them, and a store on DynamoDB Local.
// Each includer uses part of this file.
#![allow(dead_code)]

use mizan_shared::adapters::dynamodb::DynamoStore;
use mizan_shared::domain::signature::{sign, AppSecret};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::SystemClock;
use mizan_shared::store::Store;
use mizan_test_support::seed;
use mizan_test_support::store::{dynamodb_client_at, fresh_tables, store_over};
use std::sync::Arc;

pub const APP_SECRET: &str = "mizan-bench-app-secret";
pub const PHONE: &str = "100000000000001";

const TEXTS: [&str; 3] = [
    "Hello, do you deliver to Casablanca this week?",
    "Bonjour, est-ce que la boutique est ouverte dimanche ?",
    "مرحبا، هل لديكم شاي بالنعناع؟",
];

/// The `n`-th delivery: one text message from one of `contacts` customers; body and signature.
pub fn delivery(n: u64, contacts: u64, now: Timestamp) -> (Vec<u8>, String) {
    let wa_id = format!("1555{:07}", n % contacts);
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": format!("wamid.bench.{n}"),
                          "timestamp": now.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": TEXTS[(n % 3) as usize]}}]
        }}]}]
    }))
    .expect("a delivery serializes");
    let signature = sign(&body, &AppSecret::new(APP_SECRET));
    (body, signature)
}

/// A store on fresh tables in DynamoDB Local at `url`, with a tenant owning `PHONE`.
pub async fn dynamodb_store(url: &str) -> (Store, DynamoStore, tempfile::TempDir) {
    let (records, keys) = fresh_tables(&dynamodb_client_at(url)).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_over(
        Arc::new(records.clone()),
        Arc::new(keys),
        dir.path(),
        Arc::new(SystemClock),
    );
    seed::tenant(&store, "Bench", None, Some(PHONE)).await;
    (store, records, dir)
}
