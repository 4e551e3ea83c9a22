//! Shared by the intake benches and the DynamoDB cost test: signed one-message deliveries, as
//! Meta sends them, and a store on DynamoDB Local.
// Each includer uses part of this file.
#![allow(dead_code)]

use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::local_vault::LocalVault;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{random_id, PhoneNumberId};
use mizan_shared::domain::signature::{sign, AppSecret};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::SystemClock;
use mizan_shared::store::Store;
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
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .endpoint_url(url)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let (data, keys) = (random_id("bench-data"), random_id("bench-keys"));
    create_table(&client, &data, &data_table()).await.unwrap();
    create_table(&client, &keys, &key_table()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records = DynamoStore::new(client.clone(), data);
    let store = Store::new(
        Arc::new(records.clone()),
        Arc::new(Envelope::new(
            Arc::new(LocalVault::open_or_create(&dir.path().join("master.key")).unwrap()),
            Arc::new(DynamoKeyStore::new(client, keys)),
            CacheSettings::default(),
        )),
        Arc::new(IdentityHasher::new([3; 32])),
        Arc::new(SystemClock),
    );
    let tenant = Tenant::new("Bench", store.now());
    store.create_tenant(&tenant).await.unwrap();
    store
        .attach_phone_number(&tenant.id, &PhoneNumberId::new(PHONE))
        .await
        .unwrap();
    (store, records, dir)
}
