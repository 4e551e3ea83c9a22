//! The purge's cost against DynamoDB Local: 100,000 messages of which 1% are past retention
//! (half past the chat retention only, half past the 90-day metadata minimum too). Prints
//! items read and write requests per expired item, and the wall time. Needs DynamoDB Local:
//!
//!     MIZAN_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench -p mizan-retention-purge --bench purge_dynamodb
//!
//! Target: at most 1.1 items read per item removed. `PURGE_BENCH_ITEMS` changes the size.

use async_trait::async_trait;
use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::adapters::local_vault::LocalVault;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{ContactId, MessageId, TenantId};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::ports::records::{
    Condition, Cursor, Due, Key, Page, Query, Record, RecordStore, StoreError, Write,
};
use mizan_shared::purge::{self, PurgeOptions};
use mizan_shared::store::{layout, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Counts every item a store hands back: index entries and records.
struct CountingReads {
    inner: Arc<DynamoStore>,
    items: AtomicU64,
}

#[async_trait]
impl RecordStore for CountingReads {
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError> {
        let found = self.inner.get(key, now).await?;
        self.items
            .fetch_add(u64::from(found.is_some()), Ordering::Relaxed);
        Ok(found)
    }
    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
        let page = self.inner.query(query, now).await?;
        self.items
            .fetch_add(page.items.len() as u64, Ordering::Relaxed);
        Ok(page)
    }
    async fn due(
        &self,
        partition: &str,
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        let page = self.inner.due(partition, up_to, limit, after).await?;
        self.items
            .fetch_add(page.items.len() as u64, Ordering::Relaxed);
        Ok(page)
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.transact(writes).await
    }
    async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        self.inner.delete_many(keys).await
    }
}

fn message_record(tenant: &TenantId, n: u64, sent_at: Timestamp) -> Record {
    let contact = ContactId::parse(&format!("c{:04}", n % 1_000)).unwrap();
    let id = MessageId::parse(&format!("m{n:08}")).unwrap();
    let key = layout::message(tenant, &contact, &id);
    let mut record = Record::new(
        key.clone(),
        layout::kind::MESSAGE_IN,
        serde_json::json!({"direction": "inbound", "kind": "text"}),
    );
    record.sealed = Some(vec![7; 96]); // the size of a short sealed text
    record.time = Some(sent_at);
    record.retention = Some(layout::retention_entry(
        tenant,
        Category::ChatContent,
        &key,
        sent_at,
    ));
    record
}

#[tokio::main]
async fn main() {
    let url = std::env::var("MIZAN_TEST_DYNAMODB_ENDPOINT")
        .expect("MIZAN_TEST_DYNAMODB_ENDPOINT must point at DynamoDB Local");
    let total: u64 = std::env::var("PURGE_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let sdk = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .endpoint_url(url)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(sdk);
    let suffix = std::process::id();
    let (data, keys) = (
        format!("purge-bench-{suffix}"),
        format!("purge-keys-{suffix}"),
    );
    create_table(&client, &data, &data_table()).await.unwrap();
    create_table(&client, &keys, &key_table()).await.unwrap();
    let dynamo = Arc::new(DynamoStore::new(client.clone(), data));
    let counting = Arc::new(CountingReads {
        inner: dynamo.clone(),
        items: AtomicU64::new(0),
    });
    let dir = tempfile::tempdir().unwrap();
    let now = Timestamp::from_millis(1_767_225_600_000);
    let store = Store::new(
        counting.clone(),
        Arc::new(Envelope::new(
            Arc::new(LocalVault::open_or_create(&dir.path().join("master.key")).unwrap()),
            Arc::new(DynamoKeyStore::new(client, keys)),
            CacheSettings::default(),
        )),
        Arc::new(IdentityHasher::new([7; 32])),
        Arc::new(ManualClock::at(now)),
    );
    let tenant = Tenant::new("Bench", now);
    store.create_tenant(&tenant).await.unwrap();

    let expired = total / 100;
    println!("seeding {total} messages ({expired} expired) into DynamoDB Local ...");
    let seeding = Instant::now();
    let mut batch = Vec::with_capacity(100);
    for n in 0..total {
        let age = if n < expired / 2 {
            days(120) // past the metadata minimum: removed
        } else if n < expired {
            days(45) // past the chat retention: content removed, metadata kept
        } else {
            days(1) + std::time::Duration::from_millis(n)
        };
        batch.push(Write::Put {
            record: message_record(&tenant.id, n, now.minus(age)),
            condition: Condition::Always,
        });
        if batch.len() == 100 {
            dynamo.transact(std::mem::take(&mut batch)).await.unwrap();
        }
    }
    if !batch.is_empty() {
        dynamo.transact(batch).await.unwrap();
    }
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let archives = LocalArchives::new(dir.path());
    let reads_before = counting.items.load(Ordering::Relaxed);
    let writes_before = dynamo.write_usage().requests();
    let started = Instant::now();
    let report = purge::run(&store, &archives, PurgeOptions::at(now))
        .await
        .unwrap();
    let wall = started.elapsed();
    let reads = counting.items.load(Ordering::Relaxed) - reads_before;
    let writes = dynamo.write_usage().requests() - writes_before;
    let t = report.total();
    let processed = t.removed + t.content_removed;
    println!(
        "purge of {total} items: {} removed, {} contents removed, {} failed, complete: {}",
        t.removed, t.content_removed, t.failed, report.complete
    );
    println!(
        "items read: {reads} ({:.3} per expired item); write requests: {writes} ({:.3} per expired item); wall time {:.2} s",
        reads as f64 / processed.max(1) as f64,
        writes as f64 / processed.max(1) as f64,
        wall.as_secs_f64()
    );
    let again = Instant::now();
    let second = purge::run(&store, &archives, PurgeOptions::at(now))
        .await
        .unwrap();
    println!(
        "a second run finds {} due and takes {:.2} s (nothing expired: the cost of the empty range queries)",
        second.total().due,
        again.elapsed().as_secs_f64()
    );
}
