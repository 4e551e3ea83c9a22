//! The embedded database's tables: the same attributes as the DynamoDB data table, plus the
//! change log that stands in for DynamoDB Streams.

use rusqlite::Connection;

pub const DATA_FILE: &str = "data.sqlite3";
pub const KEYS_FILE: &str = "keys.sqlite3";
/// Locked by the process that has the store open.
pub const LOCK_FILE: &str = "store.lock";

/// How hard a commit is pushed to disk before it is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// fsync per commit (batched by group commit): survives a power cut. The default.
    #[default]
    Full,
    /// WAL without fsync per commit: survives a killed process, not a power cut; several times
    /// faster on slow disks.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// Prepared statements kept per connection: the store's reads, writes, query shapes and change
/// feed statements together are more than rusqlite's default of 16, and a statement evicted from
/// the cache is parsed and planned again on its next use.
const STATEMENT_CACHE: usize = 64;

/// Page size of a new database (an existing one keeps its own). A commit writes and fsyncs whole
/// pages: a one-message commit writes 11 log frames of 4 KiB, 45 KB, against 8 frames and 66 KB
/// with 8 KiB pages. In 14 interleaved pairs of handler bench runs the 4 KiB build had the lower
/// median latency 11 times; the p99 went either way (it follows the disk's flush latency, which
/// moves more than that from one run to the next), and the load bench measured the same.
pub(super) const PAGE_SIZE: i64 = 4096;

/// WAL mode with the chosen durability.
pub fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Statement journals and sorts stay in memory: on disk each savepoint of a group commit
    // created, wrote and unlinked a file in /var/tmp.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

pub fn create_data_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS records (
            pk TEXT NOT NULL,
            sk TEXT NOT NULL,
            kind TEXT NOT NULL,
            doc TEXT NOT NULL,
            sealed BLOB,
            version INTEGER NOT NULL,
            time INTEGER,
            rk TEXT,
            rt INTEGER,
            ttl INTEGER,
            PRIMARY KEY (pk, sk)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS records_by_time ON records (pk, time, sk) WHERE time IS NOT NULL;
        CREATE INDEX IF NOT EXISTS records_retention ON records (rk, rt, pk, sk) WHERE rk IS NOT NULL;
        CREATE TABLE IF NOT EXISTS changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            event TEXT NOT NULL,
            pk TEXT NOT NULL,
            sk TEXT NOT NULL,
            old TEXT,
            new TEXT
        );
        CREATE TABLE IF NOT EXISTS feed_positions (
            consumer TEXT PRIMARY KEY,
            seq INTEGER NOT NULL
        );",
    )
}

pub fn create_key_table(conn: &Connection) -> rusqlite::Result<()> {
    // secure_delete overwrites a destroyed key's bytes instead of leaving them in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS data_keys (
            tenant TEXT NOT NULL,
            contact TEXT NOT NULL,
            wrapped BLOB NOT NULL,
            PRIMARY KEY (tenant, contact)
        ) WITHOUT ROWID;",
    )
}
