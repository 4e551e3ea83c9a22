//! The storage port: typed records in one table with composite keys (DESIGN §3).
//!
//! Both adapters (DynamoDB and the embedded database) implement exactly this, and
//! `crate::store::Store` builds every entity on top of it, so the single-table layout is written
//! once and the adapters cannot drift apart.

use crate::domain::time::Timestamp;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// An entry in the sparse retention index: partition `{tenant}#{category}#{shard}`, sorted by time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionEntry {
    pub partition: String,
    pub at: Timestamp,
}

/// One stored item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: Key,
    /// What the record is (`message_in`, `contact`, …); stream filters match on it.
    pub kind: String,
    /// Non-personal fields as JSON.
    pub doc: serde_json::Value,
    /// Personal data, sealed under the contact's data key.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_base64")]
    pub sealed: Option<Vec<u8>>,
    /// Rank for conditional writes (status order, job state).
    pub version: i64,
    /// Sort time in the partition's time index (messages: when sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionEntry>,
    /// Past this, reads never return the record; DynamoDB's TTL deletes it eventually.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl Record {
    pub fn new(key: Key, kind: impl Into<String>, doc: serde_json::Value) -> Self {
        Record {
            key,
            kind: kind.into(),
            doc,
            sealed: None,
            version: 0,
            time: None,
            retention: None,
            expires_at: None,
        }
    }

    /// Reads hide a record from the second its expiry falls in (TTL has second precision).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at
            .is_some_and(|e| e.as_unix_seconds() <= now.as_unix_seconds())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// Only if no record has this key (idempotent inserts).
    Absent,
    /// Only if the record exists.
    Exists,
    /// Only if the record exists with a version below this (forward-only transitions).
    VersionBelow(i64),
    /// Only if the record exists with exactly this version (optimistic concurrency).
    VersionIs(i64),
}

/// A partial update of an existing record; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    pub doc: Option<serde_json::Value>,
    pub version: Option<i64>,
    /// `Some(None)` removes the sealed content (retention's first phase).
    pub sealed: Option<Option<Vec<u8>>>,
    pub retention: Option<Option<RetentionEntry>>,
    pub expires_at: Option<Option<Timestamp>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Put {
        record: Record,
        condition: Condition,
    },
    /// Fails with `ConditionFailed` when the record does not exist.
    Update {
        key: Key,
        changes: Changes,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
}

impl Write {
    pub fn key(&self) -> &Key {
        match self {
            Write::Put { record, .. } => &record.key,
            Write::Update { key, .. } | Write::Delete { key, .. } => key,
        }
    }
}

/// Which records of a partition a query reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    /// Sort keys starting with a prefix, in sort-key order.
    Prefix(String),
    /// Records with a time in `[from, to]`, in time order (the partition's time index).
    Time { from: Timestamp, to: Timestamp },
    /// Sort keys in `[from, to]`, in sort-key order (partitions whose keys begin with a time).
    Keys { from: String, to: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub pk: String,
    pub range: Range,
    pub newest_first: bool,
    pub limit: usize,
    pub after: Option<Cursor>,
}

impl Query {
    pub fn prefix(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        Query {
            pk: pk.into(),
            range: Range::Prefix(prefix.into()),
            newest_first: false,
            limit: 100,
            after: None,
        }
    }
}

/// Where the next page starts; opaque to callers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Set when more may follow.
    pub next: Option<Cursor>,
}

/// The most partitions one [`RecordStore::due`] request may name (DynamoDB's PartiQL takes at
/// most 50 partition key values in one `IN`).
pub const MAX_DUE_PARTITIONS: usize = 50;

/// A key found in the retention index with its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub key: Key,
    pub at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's condition did not hold; `index` is the write's position in a transaction.
    #[error("condition failed on write {index}")]
    ConditionFailed { index: usize },
    /// Throttled or conflicting with a concurrent transaction: try again with backoff.
    #[error("storage is busy: {0}")]
    Busy(String),
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// A stored record that does not decode: a bug or manual edit, never retried.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("request rejected by storage: {0}")]
    Rejected(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Busy(_) | StoreError::Unavailable(_))
    }
}

/// The most writes one transaction may hold (DynamoDB's TransactWriteItems limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The record, unless missing or expired at `now`.
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError>;

    /// A page of records, expired ones left out.
    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError>;

    /// Keys in the given retention-index partitions (at most [`MAX_DUE_PARTITIONS`]: a
    /// category's shards) with a time at or before `up_to`, in one request. A page may mix
    /// partitions in any order, and may be empty with more to follow; `after` continues where
    /// the last page stopped. Expired records
    /// are included: this is how the purge finds them.
    async fn due(
        &self,
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError>;

    /// All writes or none.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Deletes records unconditionally, in batches, not atomically.
    async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError>;

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.transact(vec![write]).await
    }
}

/// Sealed bytes travel as base64 inside JSON (the embedded change feed).
mod opt_base64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => s.serialize_some(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| STANDARD.decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
