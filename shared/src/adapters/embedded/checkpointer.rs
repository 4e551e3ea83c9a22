//! Folds the write-ahead log into the database file beside the commits, on a thread of its own,
//! and starts the log over before it grows large.
//!
//! The log starts over only after a checkpoint that reaches its end while nothing commits, so
//! one that holds SQLite's write lock. SQLite syncs the database file after such a checkpoint and
//! only then: background passes, which the writer always outruns, never do. So the checkpoint
//! that restarted the log flushed everything copied since the last restart while every commit
//! waited for it, 10–67 ms under load. The checkpointer syncs the database file first, outside
//! any lock, folds and syncs what came meanwhile, and only then takes the lock for the last few
//! pages: the restart holds the writer for 1–5 ms.

use super::sqlite_error;
use crate::ports::records::StoreError;
use rusqlite::Connection;
use std::cell::Cell;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How often the checkpointer runs while there are commits to fold into the database. A page
/// rewritten by many commits in between is copied once: under load, 100 ms instead of 25 gave
/// about 8% more deliveries per second (means of 6 and 3 noisy runs; 50 ms gave less), and 200
/// instead of 100 about 10% more (4,329 against 3,924 per second at 16 connections, means of
/// four interleaved runs, each run better), with the same p99.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// Log size past which the checkpointer starts the log over. Each restart syncs the database
/// file three times, and a dirty page rewritten between two syncs is written to disk once: with
/// 8 KiB pages, restarting at 16,000 pages (125 MiB) cost the load bench about 8% of its
/// throughput, at 30,000 nothing (three interleaved runs each, on a machine whose speed drifts by
/// more). Sizes are in bytes because a database keeps the page size it was created with.
pub(super) const RESTART_AT_BYTES: i64 = 192 << 20;

/// Log size past which the writer checkpoints itself: a backstop for when restarts keep being
/// deferred. It runs inside a commit and every waiting request waits with it.
const BACKSTOP_CHECKPOINT_BYTES: i64 = 384 << 20;

/// How long a restart may wait, for the write lock and then for readers, before it gives up
/// until the next pass: while it waits for a reader it holds the write lock, and the writer waits
/// with it. A reader can take long: the runner's stream consumers run in the idle class, and
/// under load one may sit descheduled in the middle of a read for a second.
const RESTART_WAIT: Duration = Duration::from_millis(2);
const POLL: Duration = Duration::from_micros(100);

thread_local! {
    /// Until when the checkpointer's busy handler keeps waiting (none: it does not wait).
    static WAIT_UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// What one pass did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// Folded the log into the database; the log is below the restart size.
    Folded,
    /// Folded it and started it over.
    Restarted,
    /// Folded it, but a commit or a reader kept it from starting over.
    Deferred,
}

pub(super) struct Checkpointer {
    conn: Connection,
    database: File,
    restart_at_pages: i64,
}

impl Checkpointer {
    /// `conn` is a connection of its own to `database`, the data file; the log starts over once
    /// it holds more than `restart_at_bytes`.
    pub fn new(
        conn: Connection,
        database: &Path,
        restart_at_bytes: i64,
    ) -> Result<Self, StoreError> {
        conn.busy_handler(Some(wait_briefly))
            .map_err(sqlite_error)?;
        let restart_at_pages = pages(&conn, restart_at_bytes).map_err(sqlite_error)?;
        let database = File::open(database).map_err(|e| {
            StoreError::Unavailable(format!("cannot open {}: {e}", database.display()))
        })?;
        Ok(Checkpointer {
            conn,
            database,
            restart_at_pages,
        })
    }

    /// Runs a pass every interval in which `dirty` was set, until `dirty` is dropped.
    pub fn spawn(self, dirty: Weak<AtomicBool>) -> Result<(), StoreError> {
        std::thread::Builder::new()
            .name("mizan-embedded-checkpoint".into())
            .spawn(move || self.run(&dirty))
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpointer: {e}")))
    }

    fn run(&self, dirty: &Weak<AtomicBool>) {
        loop {
            std::thread::sleep(CHECKPOINT_INTERVAL);
            let Some(dirty) = dirty.upgrade() else {
                return;
            };
            if !dirty.swap(false, Ordering::AcqRel) {
                continue;
            }
            drop(dirty);
            match self.pass() {
                Ok(Pass::Deferred) => tracing::debug!("log restart deferred to the next pass"),
                Ok(_) => {}
                // The writer's own checkpoint still bounds the log.
                Err(e) => tracing::warn!(error = %e, "background checkpoint failed"),
            }
        }
    }

    /// Folds the log into the database (never waiting for readers or the writer), and starts it
    /// over once it has grown past the restart size.
    pub fn pass(&self) -> Result<Pass, StoreError> {
        if self.checkpoint("PASSIVE")?.log_pages < self.restart_at_pages {
            return Ok(Pass::Folded);
        }
        self.sync_database()?;
        self.checkpoint("PASSIVE")?;
        self.sync_database()?;
        WAIT_UNTIL.with(|until| until.set(Some(Instant::now() + RESTART_WAIT)));
        let restart = self.checkpoint("RESTART");
        WAIT_UNTIL.with(|until| until.set(None));
        Ok(match restart?.busy {
            true => Pass::Deferred,
            false => Pass::Restarted,
        })
    }

    fn checkpoint(&self, mode: &str) -> Result<Checkpoint, StoreError> {
        self.conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
                Ok(Checkpoint {
                    busy: row.get::<_, i64>(0)? != 0,
                    log_pages: row.get(1)?,
                })
            })
            .map_err(sqlite_error)
    }

    fn sync_database(&self) -> Result<(), StoreError> {
        self.database
            .sync_data()
            .map_err(|e| StoreError::Unavailable(format!("fsync of the database file failed: {e}")))
    }
}

struct Checkpoint {
    busy: bool,
    /// Pages in the log when the checkpoint began (-1 when it could not look).
    log_pages: i64,
}

/// Sets up the writer's side of checkpoints: its backstop, and a busy handler that notices a
/// restart's release of the write lock within 100 µs rather than SQLite's default sleeps of 1, 2,
/// 5, 10… ms, which would turn a 2 ms restart into a 10 ms stall.
pub(super) fn prepare_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        pages(conn, BACKSTOP_CHECKPOINT_BYTES)?,
    )?;
    conn.busy_handler(Some(wait_for_the_lock))
}

/// How many of the database's pages make `bytes`.
fn pages(conn: &Connection, bytes: i64) -> rusqlite::Result<i64> {
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
    Ok(bytes / page_size)
}

/// Polls every 100 µs for a tenth of a second, then every millisecond, and gives up after about
/// five seconds, as the busy timeout it replaces did.
fn wait_for_the_lock(count: i32) -> bool {
    const FINE_POLLS: i32 = 1_000;
    const COARSE_POLLS: i32 = 4_900;
    let pause = match count {
        c if c < FINE_POLLS => POLL,
        c if c < FINE_POLLS + COARSE_POLLS => Duration::from_millis(1),
        _ => return false,
    };
    std::thread::sleep(pause);
    true
}

fn wait_briefly(_count: i32) -> bool {
    let waiting = WAIT_UNTIL
        .with(Cell::get)
        .is_some_and(|until| Instant::now() < until);
    if waiting {
        std::thread::sleep(POLL);
    }
    waiting
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::embedded::schema::{self, Durability};

    const RESTART_AT: i64 = 50;
    const PAGE: i64 = schema::PAGE_SIZE;

    struct Files {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        writer: Connection,
        checkpointer: Checkpointer,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.sqlite3");
        let writer = Connection::open(&path).unwrap();
        schema::configure(&writer, Durability::Full).unwrap();
        // Only the checkpointer folds and restarts the log here.
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        schema::configure(&conn, Durability::Full).unwrap();
        let checkpointer = Checkpointer::new(conn, &path, RESTART_AT * PAGE).unwrap();
        Files {
            _dir: dir,
            path,
            writer,
            checkpointer,
        }
    }

    /// Commits `count` rows of 4 KiB, one transaction each.
    fn write(writer: &Connection, from: i64, count: i64) {
        for n in from..from + count {
            writer
                .execute("INSERT INTO t (n, body) VALUES (?1, zeroblob(4096))", [n])
                .unwrap();
        }
    }

    fn log_pages(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap()
    }

    #[test]
    fn a_log_past_the_restart_size_starts_over_and_keeps_every_commit() {
        let files = files();
        write(&files.writer, 0, 200);
        assert!(log_pages(&files.writer) > RESTART_AT);

        assert_eq!(files.checkpointer.pass().unwrap(), Pass::Restarted);

        // The next commit is written at the start of the log, and nothing was lost.
        write(&files.writer, 200, 1);
        assert!(log_pages(&files.writer) < 10);
        let reopened = Connection::open(&files.path).unwrap();
        let rows: i64 = reopened
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 201);
    }

    #[test]
    fn log_sizes_count_in_the_page_size_the_database_was_made_with() {
        let files = files();
        assert_eq!(files.checkpointer.restart_at_pages, RESTART_AT);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.pragma_update(None, "page_size", 8192).unwrap();
        old.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        schema::configure(&conn, Durability::Full).unwrap();
        let checkpointer = Checkpointer::new(conn, &path, RESTART_AT * PAGE).unwrap();
        assert_eq!(checkpointer.restart_at_pages, RESTART_AT / 2);
        prepare_writer(&old).unwrap();
        let backstop: i64 = old
            .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
            .unwrap();
        assert_eq!(backstop, BACKSTOP_CHECKPOINT_BYTES / 8192);
    }

    #[test]
    fn a_log_below_the_restart_size_is_folded_into_the_database() {
        let files = files();
        write(&files.writer, 0, 5);
        let size = || std::fs::metadata(&files.path).unwrap().len();
        let before = size();

        assert_eq!(files.checkpointer.pass().unwrap(), Pass::Folded);

        assert!(size() >= before + 5 * 4096);
    }

    #[test]
    fn a_reader_on_an_old_snapshot_defers_the_restart() {
        let files = files();
        write(&files.writer, 0, 10);
        let reader = Connection::open(&files.path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        write(&files.writer, 10, 200);

        // The restart gives up (the reader is on this thread: waiting for it would never end)
        // and the writer goes on committing.
        assert_eq!(files.checkpointer.pass().unwrap(), Pass::Deferred);
        write(&files.writer, 210, 1);

        reader.execute_batch("COMMIT").unwrap();
        assert_eq!(files.checkpointer.pass().unwrap(), Pass::Restarted);
    }
}
