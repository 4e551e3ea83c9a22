//! Marks that let the purge skip what a tenant never filed: which rare retention categories
//! (`Category::is_rare`) a tenant has records under, and whether the purge has swept every
//! category of the tenant once. Every write through the store passes [`MarkingRecords`], which
//! puts a rare category's mark before the first record filed under it, so a record is never
//! filed under a category the purge would skip.

use super::{layout, DataError, Store};
use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::domain::time::Timestamp;
use crate::ports::records::{
    Condition, Cursor, Due, Key, Page, Query, Record, RecordStore, RetentionEntry, StoreError,
    Write,
};
use async_trait::async_trait;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

/// The record port with rare categories marked before anything is filed under them. Marks are
/// idempotent puts, remembered per process (by `{tenant}#{category}`) so each costs one write
/// per instance; a write filed under a frequent category costs no lookup at all.
pub(super) struct MarkingRecords {
    inner: Arc<dyn RecordStore>,
    marked: Mutex<HashSet<String>>,
}

impl MarkingRecords {
    pub(super) fn new(inner: Arc<dyn RecordStore>) -> MarkingRecords {
        MarkingRecords {
            inner,
            marked: Mutex::new(HashSet::new()),
        }
    }

    /// Puts the mark of every rare category `writes` file under that this process has not
    /// marked yet, before `writes` go: an entry never exists without its mark.
    async fn mark(&self, writes: &[Write]) -> Result<(), StoreError> {
        for entry in writes.iter().filter_map(filed) {
            let (tenant, category) = layout::retention_partition_parts(&entry.partition)
                .ok_or_else(|| {
                    StoreError::Rejected(format!(
                        "retention partition {:?} names no tenant and category",
                        entry.partition
                    ))
                })?;
            if !is_marked(tenant, category) {
                continue;
            }
            let mark = format!("{tenant}#{}", category.code());
            if self.marked.lock().expect("marks").contains(&mark) {
                continue;
            }
            self.inner
                .write(mark_write(&TenantId::new(tenant), category))
                .await?;
            self.marked.lock().expect("marks").insert(mark);
        }
        Ok(())
    }
}

/// The retention entry a write files its record under, if any.
fn filed(write: &Write) -> Option<&RetentionEntry> {
    match write {
        Write::Put { record, .. } => record.retention.as_ref(),
        Write::Update { changes, .. } => changes.retention.as_ref()?.as_ref(),
        Write::Delete { .. } => None,
    }
}

fn mark_write(tenant: &TenantId, category: Category) -> Write {
    Write::Put {
        record: Record::new(
            layout::retained_category(tenant, category),
            layout::kind::RETAINED_CATEGORY,
            serde_json::json!({ "category": category.code() }),
        ),
        condition: Condition::Always,
    }
}

#[async_trait]
impl RecordStore for MarkingRecords {
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError> {
        self.inner.get(key, now).await
    }

    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
        self.inner.query(query, now).await
    }

    async fn due(
        &self,
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        self.inner.due(partitions, up_to, limit, after).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.mark(&writes).await?;
        self.inner.transact(writes).await
    }

    async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        self.inner.delete_many(keys).await
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.mark(std::slice::from_ref(&write)).await?;
        self.inner.write(write).await
    }
}

/// Whether filing under `category` for `tenant` marks it first: a rare category, or any
/// category of the platform (which files raw payloads no tenant owns, and nothing else), so the
/// purge reads nothing of the platform but what it holds.
pub fn is_marked(tenant: &str, category: Category) -> bool {
    category.is_rare() || tenant == super::PLATFORM_TENANT
}

/// What the purge knows of a tenant's categories before it queries their shards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetainedCategories {
    /// The purge has swept every category of the tenant once (and marked the rare ones it
    /// found filled): from then on marks alone say which rare categories to query.
    pub swept: bool,
    /// The marked categories ([`is_marked`]: rare ones; any of the platform's).
    pub rare: BTreeSet<Category>,
}

impl RetainedCategories {
    /// The categories whose shards the purge queries: every one until the tenant is swept, then
    /// the unmarked (frequent) ones and the marked ones.
    pub fn to_visit(&self, tenant: &TenantId) -> Vec<Category> {
        Category::ALL
            .into_iter()
            .filter(|&c| !self.swept || !is_marked(tenant.as_str(), c) || self.rare.contains(&c))
            .collect()
    }
}

impl Store {
    /// The tenant's marks (one query).
    pub async fn retained_categories(
        &self,
        tenant: &TenantId,
    ) -> Result<RetainedCategories, DataError> {
        let query = Query::prefix(layout::tenant_partition(tenant), layout::RETAINED_PREFIX);
        let page = self.records.query(&query, self.now()).await?;
        let mut retained = RetainedCategories::default();
        for record in page.items {
            if record.key == layout::retention_swept(tenant) {
                retained.swept = true;
            } else if let Some(category) = record.doc["category"]
                .as_str()
                .and_then(Category::from_code)
            {
                retained.rare.insert(category);
            }
        }
        Ok(retained)
    }

    /// Whether anything at all is filed under `category` for the tenant, due or not (one
    /// index read over its shards, for one entry): how a sweep finds records filed before
    /// marks existed.
    pub async fn files_any(
        &self,
        tenant: &TenantId,
        category: Category,
    ) -> Result<bool, DataError> {
        let partitions = layout::retention_partitions(tenant, category);
        let mut after = None;
        loop {
            let page = self
                .records
                .due(&partitions, Timestamp::MAX, 1, after)
                .await?;
            if !page.items.is_empty() {
                return Ok(true);
            }
            // A page may come back empty with more to read (DynamoDB pages an IN over shards).
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(false),
            }
        }
    }

    /// Marks a rare category the tenant has records under.
    pub async fn mark_retained(
        &self,
        tenant: &TenantId,
        category: Category,
    ) -> Result<(), DataError> {
        Ok(self.records.write(mark_write(tenant, category)).await?)
    }

    /// Records that every category of the tenant was swept once.
    pub async fn mark_swept(&self, tenant: &TenantId) -> Result<(), DataError> {
        let record = Record::new(
            layout::retention_swept(tenant),
            layout::kind::RETENTION_SWEPT,
            serde_json::json!({}),
        );
        Ok(self
            .records
            .write(Write::Put {
                record,
                condition: Condition::Always,
            })
            .await?)
    }
}
