//! A record store that counts what it reads: every item handed back (index entries and records)
//! and every retention-index query. What the purge tests and benches measure cost with.

use async_trait::async_trait;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::records::{
    Cursor, Due, Key, Page, Query, Record, RecordStore, StoreError, Write,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub struct CountingReads {
    pub inner: Arc<dyn RecordStore>,
    items: AtomicU64,
    index_queries: AtomicU64,
}

impl CountingReads {
    pub fn new(inner: Arc<dyn RecordStore>) -> CountingReads {
        CountingReads {
            inner,
            items: AtomicU64::new(0),
            index_queries: AtomicU64::new(0),
        }
    }

    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    pub fn index_queries(&self) -> u64 {
        self.index_queries.load(Ordering::Relaxed)
    }

    /// Starts counting again from zero.
    pub fn reset(&self) {
        self.items.store(0, Ordering::Relaxed);
        self.index_queries.store(0, Ordering::Relaxed);
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
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        let page = self.inner.due(partitions, up_to, limit, after).await?;
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

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.inner.write(write).await
    }
}
