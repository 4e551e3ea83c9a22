//! What the purge benches share: a `Store` on fresh DynamoDB Local tables that counts every
//! item and index query it reads. Needs `MIZAN_TEST_DYNAMODB_ENDPOINT`.

use async_trait::async_trait;
use mizan_shared::adapters::dynamodb::DynamoStore;
use mizan_shared::domain::ids::{ContactId, MessageId, TenantId};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::ports::records::{
    Cursor, Due, Key, Page, Query, Record, RecordStore, StoreError, Write,
};
use mizan_shared::store::{layout, Store};
use mizan_test_support::store::{
    dynamodb_client_at, endpoint, fresh_tables, store_over, DYNAMODB_ENDPOINT_VAR,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts every item a store hands back (index entries and records) and every index query.
pub struct CountingReads {
    pub inner: Arc<DynamoStore>,
    pub items: AtomicU64,
    pub index_queries: AtomicU64,
}

impl CountingReads {
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    pub fn index_queries(&self) -> u64 {
        self.index_queries.load(Ordering::Relaxed)
    }
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
        self.index_queries.fetch_add(1, Ordering::Relaxed);
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

pub struct Bench {
    pub store: Store,
    pub dynamo: Arc<DynamoStore>,
    pub counting: Arc<CountingReads>,
    pub dir: tempfile::TempDir,
}

impl Bench {
    /// Fresh tables, and a store whose clock is `now` that counts what it reads.
    pub async fn connect(now: Timestamp) -> Bench {
        let url = endpoint(DYNAMODB_ENDPOINT_VAR, "DynamoDB Local");
        let (records, keys) = fresh_tables(&dynamodb_client_at(&url)).await;
        let dynamo = Arc::new(records);
        let counting = Arc::new(CountingReads {
            inner: dynamo.clone(),
            items: AtomicU64::new(0),
            index_queries: AtomicU64::new(0),
        });
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_over(
            counting.clone(),
            Arc::new(keys),
            dir.path(),
            Arc::new(ManualClock::at(now)),
        );
        Bench {
            store,
            dynamo,
            counting,
            dir,
        }
    }
}

/// An inbound message record of `tenant` as intake files it (content sealed, indexed under chat
/// content at `sent_at`), the `n`th of the bench.
pub fn message_record(tenant: &TenantId, n: u64, sent_at: Timestamp) -> Record {
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
