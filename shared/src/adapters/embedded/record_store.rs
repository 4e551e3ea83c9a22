//! The storage port on SQLite: one transaction per call, conditions checked inside it, and every
//! change appended to the change log in the same transaction.

use super::change_feed::{self, Change};
use super::checkpointer::{self, Checkpointer};
use super::group_commit::GroupCommitter;
use super::record_cache::{Lookup, RecordCache};
use super::rows::{load, row_to_record, COLUMNS};
use super::{schema, sqlite_error};
use crate::domain::time::Timestamp;
use crate::ports::records::{
    Condition, Cursor, Due, Key, Page, Query, Range, Record, RecordStore, StoreError, Write,
    MAX_DUE_PARTITIONS,
};
use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// Reader connections: WAL lets them read beside the writer and each other.
const READERS: usize = 4;

/// Point reads kept in memory (see record_cache): a contact with its profile is about 1.5 KB
/// there, so the cache stays under about 6 MB.
const CACHED_RECORDS: usize = 4_096;

struct Inner {
    /// Change-feed bookkeeping and long reads, off the async threads.
    conn: Mutex<Connection>,
    /// Point reads and short queries, run in place when a connection is free.
    readers: Vec<Mutex<Connection>>,
    writer: GroupCommitter,
    changed: Notify,
    cache: Arc<RecordCache>,
    /// Held while the store is open: the cache is only coherent while this process is the
    /// directory's one writer.
    _lock: File,
}

impl EmbeddedStore {
    /// Opens (or creates) the data file in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        EmbeddedStore::open_with(dir, schema::Durability::default())
    }

    pub fn open_with(dir: &Path, durability: schema::Durability) -> Result<Self, StoreError> {
        super::create_private_dir(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        let lock = lock_directory(dir)?;
        let path = dir.join(schema::DATA_FILE);
        let write_conn = Connection::open(&path).map_err(sqlite_error)?;
        // In full durability the group committer fsyncs the log itself, beside the next batch
        // (see group_commit), so SQLite's own commit does not.
        schema::configure(&write_conn, schema::Durability::Normal).map_err(sqlite_error)?;
        let sync_wal = (durability == schema::Durability::Full).then(|| {
            let mut wal = path.clone().into_os_string();
            wal.push("-wal");
            std::path::PathBuf::from(wal)
        });
        schema::create_data_tables(&write_conn).map_err(sqlite_error)?;
        checkpointer::prepare_writer(&write_conn).map_err(sqlite_error)?;
        let open_reader = || -> Result<Mutex<Connection>, StoreError> {
            let conn = Connection::open(&path).map_err(sqlite_error)?;
            schema::configure(&conn, durability).map_err(sqlite_error)?;
            Ok(Mutex::new(conn))
        };
        let readers = (0..READERS)
            .map(|_| open_reader())
            .collect::<Result<Vec<_>, _>>()?;
        let checkpoint_conn = Connection::open(&path).map_err(sqlite_error)?;
        schema::configure(&checkpoint_conn, durability).map_err(sqlite_error)?;
        let checkpointer =
            Checkpointer::new(checkpoint_conn, &path, checkpointer::RESTART_AT_BYTES)?;
        let cache = Arc::new(RecordCache::new(CACHED_RECORDS));
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                conn: open_reader()?,
                readers,
                writer: GroupCommitter::start(write_conn, checkpointer, sync_wal, cache.clone())?,
                changed: Notify::new(),
                cache,
                _lock: lock,
            }),
        })
    }

    /// Runs `f` on the connection off the async threads.
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .conn
                .lock()
                .map_err(|_| StoreError::Unavailable("embedded store lock poisoned".into()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("embedded store task failed: {e}")))?
    }

    /// Runs a short read on a free reader connection right here: a point read of a cached page
    /// takes microseconds, less than handing it to another thread. When every reader is busy it
    /// waits off the async threads instead.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        for reader in &self.inner.readers {
            if let Ok(conn) = reader.try_lock() {
                return f(&conn);
            }
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers[0]
                .lock()
                .map_err(|_| StoreError::Unavailable("embedded store lock poisoned".into()))?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("embedded store task failed: {e}")))?
    }

    /// Changes after `seq`, oldest first: the embedded stand-in for a DynamoDB stream shard.
    pub async fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.read(move |conn| change_feed::read_after(conn, seq, limit))
            .await
    }

    /// Resolves when a write commits after this call (or soon after, if one raced it).
    pub async fn wait_for_change(&self) {
        self.inner.changed.notified().await;
    }

    /// The sequence number of the newest change written so far.
    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        self.read(change_feed::latest).await
    }

    pub async fn feed_position(&self, consumer: &str) -> Result<i64, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |conn| change_feed::position(conn, &consumer))
            .await
    }

    /// Records that `consumer` has handled every change up to `seq`, and drops changes that
    /// every consumer has handled.
    pub async fn set_feed_position(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        self.inner
            .writer
            .run(Box::new(move |conn| {
                change_feed::set_position(conn, &consumer, seq)
            }))
            .await
    }
}

/// Takes the data directory's lock, or says who holds it: one process at a time may open the store.
fn lock_directory(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(schema::LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "{} is in use by another process (a running `mizan-local serve`?): the embedded store \
             has one process at a time; stop it first",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Unavailable(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// Cursor contents: the sort position of the last record returned.
#[derive(Serialize, Deserialize)]
struct Position {
    time: Option<i64>,
    sk: String,
    pk: Option<String>,
}

fn encode_cursor(position: &Position) -> Cursor {
    Cursor(serde_json::to_string(position).expect("position serializes"))
}

fn decode_cursor(cursor: &Option<Cursor>) -> Result<Option<Position>, StoreError> {
    cursor
        .as_ref()
        .map(|c| {
            serde_json::from_str(&c.0)
                .map_err(|_| StoreError::Rejected("cursor is not one this store issued".into()))
        })
        .transpose()
}

fn run_query(conn: &Connection, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
    let after = decode_cursor(&query.after)?;
    let order = if query.newest_first { "DESC" } else { "ASC" };
    let cmp = if query.newest_first { "<" } else { ">" };
    let limit = i64::try_from(query.limit.max(1)).unwrap_or(i64::MAX);
    // A record is hidden from the second its expiry falls in, exactly as the DynamoDB adapter does.
    let live = "(ttl IS NULL OR (ttl / 1000) > ?3)";
    let now_secs = now.as_unix_seconds();
    let rows: Vec<Result<Record, StoreError>> = match &query.range {
        Range::Prefix(prefix) => {
            let start = after.map(|p| p.sk).unwrap_or_default();
            // The cursor bound is written only when there is one: an `OR` with "no cursor" would
            // hide it from the planner and make every page scan the pages before it.
            let from_cursor = if start.is_empty() {
                "?4 = ''".to_owned()
            } else {
                format!("sk {cmp} ?4")
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE pk = ?1 AND sk >= ?2 \
                 AND substr(sk, 1, length(?2)) = ?2 AND {live} AND {from_cursor} \
                 ORDER BY sk {order} LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
            let rows = stmt
                .query_map(
                    params![query.pk, prefix, now_secs, start, limit],
                    row_to_record,
                )
                .map_err(sqlite_error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sqlite_error)?;
            rows
        }
        Range::Keys { from, to } => {
            let start = after.map(|p| p.sk).unwrap_or_default();
            let from_cursor = if start.is_empty() {
                "?4 = ''".to_owned()
            } else {
                format!("sk {cmp} ?4")
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE pk = ?1 AND sk >= ?2 AND sk <= ?6 \
                 AND {live} AND {from_cursor} ORDER BY sk {order} LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
            let rows = stmt
                .query_map(
                    params![query.pk, from, now_secs, start, limit, to],
                    row_to_record,
                )
                .map_err(sqlite_error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sqlite_error)?;
            rows
        }
        Range::Time { from, to } => {
            let (after_time, after_sk) = match after {
                Some(Position {
                    time: Some(t), sk, ..
                }) => (Some(t), sk),
                _ => (None, String::new()),
            };
            // As above, and more: SQLite seeks on one bound per side, so a cursor inside the
            // range replaces the range's bound on its side with a row value the index on
            // (pk, time, sk) seeks to; a cursor outside the range starts the range afresh.
            let (from, to) = (from.as_millis(), to.as_millis());
            let (bounds, values): (&str, Vec<Value>) = match after_time {
                Some(t) if query.newest_first && t <= to => (
                    "time >= ?4 AND (time, sk) < (?5, ?6)",
                    vec![from.into(), t.into(), after_sk.into()],
                ),
                Some(t) if !query.newest_first && t >= from => (
                    "time <= ?4 AND (time, sk) > (?5, ?6)",
                    vec![to.into(), t.into(), after_sk.into()],
                ),
                _ => ("time BETWEEN ?4 AND ?5", vec![from.into(), to.into()]),
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE pk = ?1 AND time IS NOT NULL \
                 AND {bounds} AND {live} ORDER BY time {order}, sk {order} LIMIT ?2"
            );
            let mut all: Vec<Value> = vec![query.pk.clone().into(), limit.into(), now_secs.into()];
            all.extend(values);
            let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
            let rows = stmt
                .query_map(params_from_iter(all), row_to_record)
                .map_err(sqlite_error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sqlite_error)?;
            rows
        }
    };
    let items: Vec<Record> = rows.into_iter().collect::<Result<_, _>>()?;
    let next = if items.len() as i64 == limit {
        items.last().map(|r| {
            encode_cursor(&Position {
                time: r.time.map(Timestamp::as_millis),
                sk: r.key.sk.clone(),
                pk: None,
            })
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

fn run_due(
    conn: &Connection,
    partitions: &[String],
    up_to: Timestamp,
    limit: usize,
    after: &Option<Cursor>,
) -> Result<Page<Due>, StoreError> {
    let after = decode_cursor(after)?;
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
    let (at, pk, sk) = match after {
        Some(p) => (p.time, p.pk.unwrap_or_default(), p.sk),
        None => (None, String::new(), String::new()),
    };
    if partitions.is_empty() || partitions.len() > MAX_DUE_PARTITIONS {
        return Err(StoreError::Rejected(format!(
            "a due read names 1 to {MAX_DUE_PARTITIONS} partitions, not {}",
            partitions.len()
        )));
    }
    // The partitions follow the fixed parameters (?6, ?7, …); a statement per count is cached.
    let listed = (0..partitions.len())
        .map(|i| format!("?{}", i + 6))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT pk, sk, rt FROM records WHERE rk IN ({listed}) AND rt <= ?1 \
             AND (?2 IS NULL OR (rt, pk, sk) > (?2, ?3, ?4)) ORDER BY rt, pk, sk LIMIT ?5"
        ))
        .map_err(sqlite_error)?;
    let up_to = up_to.as_millis();
    let fixed: [&dyn rusqlite::ToSql; 5] = [&up_to, &at, &pk, &sk, &limit];
    let parameters: Vec<&dyn rusqlite::ToSql> = fixed
        .into_iter()
        .chain(partitions.iter().map(|p| p as &dyn rusqlite::ToSql))
        .collect();
    let items: Vec<Due> = stmt
        .query_map(rusqlite::params_from_iter(parameters), |row| {
            Ok(Due {
                key: Key::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                at: Timestamp::from_millis(row.get(2)?),
            })
        })
        .map_err(sqlite_error)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sqlite_error)?;
    let next = if items.len() as i64 == limit {
        items.last().map(|d| {
            encode_cursor(&Position {
                time: Some(d.at.as_millis()),
                sk: d.key.sk.clone(),
                pk: Some(d.key.pk.clone()),
            })
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

#[async_trait]
impl RecordStore for EmbeddedStore {
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError> {
        let record = match self.inner.cache.lookup(key) {
            Lookup::Hit(record) => record,
            Lookup::Miss(ticket) => {
                let owned = key.clone();
                let record = self.read(move |conn| load(conn, &owned)).await?;
                self.inner.cache.fill(key, record.clone(), ticket);
                record
            }
        };
        Ok(record.filter(|r| !r.is_expired(now)))
    }

    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
        let query = query.clone();
        self.read(move |conn| run_query(conn, &query, now)).await
    }

    async fn due(
        &self,
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        let partitions = partitions.to_vec();
        self.with_conn(move |conn| run_due(conn, &partitions, up_to, limit, &after))
            .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.len() > crate::ports::records::MAX_TRANSACTION_WRITES {
            return Err(StoreError::Rejected(format!(
                "a transaction holds at most {} writes",
                crate::ports::records::MAX_TRANSACTION_WRITES
            )));
        }
        let changes = self.inner.writer.commit(writes).await?;
        if !changes.is_empty() {
            self.inner.changed.notify_one();
        }
        Ok(())
    }

    async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        for chunk in keys.chunks(crate::ports::records::MAX_TRANSACTION_WRITES) {
            let writes = chunk
                .iter()
                .map(|key| Write::Delete {
                    key: key.clone(),
                    condition: Condition::Always,
                })
                .collect();
            self.transact(writes).await?;
        }
        Ok(())
    }
}
