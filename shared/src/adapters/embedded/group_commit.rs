//! The embedded store's single writer. Concurrent transactions are batched into one SQLite
//! transaction, each inside its own savepoint, and answered only after the batch commits: one
//! fsync covers many requests, so an acknowledged write is durable and throughput stays high.

use super::change_feed::{self, Change};
use super::record_store::{apply_changes, holds, load, remove, store};
use super::sqlite_error;
use crate::domain::time::Timestamp;
use crate::ports::records::{StoreError, Write};
use rusqlite::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// How many transactions one commit may carry.
const MAX_BATCH: usize = 128;

type Reply = oneshot::Sender<Result<Vec<Change>, StoreError>>;

/// Bookkeeping run inside the writer's transaction (the change feed's positions), so it never
/// competes with data writes for SQLite's single write lock.
pub(super) type Chore = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

enum Work {
    Writes(Vec<Write>),
    Chore(Chore),
}

struct Job {
    work: Work,
    reply: Reply,
}

pub(super) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    pub fn start(conn: Connection) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mizan-embedded-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        Ok(GroupCommitter { jobs })
    }

    /// Applies `writes` atomically; resolves once they are durable (or refused).
    pub async fn commit(&self, writes: Vec<Write>) -> Result<Vec<Change>, StoreError> {
        self.send(Work::Writes(writes)).await
    }

    /// Runs `chore` in the next batch's transaction.
    pub async fn run(&self, chore: Chore) -> Result<(), StoreError> {
        self.send(Work::Chore(chore)).await.map(|_| ())
    }

    async fn send(&self, work: Work) -> Result<Vec<Change>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { work, reply })
            .map_err(|_| StoreError::Unavailable("the embedded writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the embedded writer has stopped".into()))?
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    // Ends when every sender is gone, i.e. when the store is dropped.
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, batch);
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let error = sqlite_error(e);
            for job in batch {
                let _ = job.reply.send(Err(clone_error(&error)));
            }
            return;
        }
    };
    let now = Timestamp::now();
    let mut outcomes: Vec<(Reply, Result<Vec<Change>, StoreError>)> =
        Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = match tx.savepoint() {
            // Dropping a savepoint without committing rolls back just this job's writes.
            Ok(savepoint) => match perform(&savepoint, job.work, now) {
                Ok(changes) => savepoint.commit().map(|_| changes).map_err(sqlite_error),
                Err(e) => Err(e),
            },
            Err(e) => Err(sqlite_error(e)),
        };
        outcomes.push((job.reply, outcome));
    }
    match tx.commit() {
        Ok(()) => {
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            let error = sqlite_error(e);
            for (reply, _) in outcomes {
                let _ = reply.send(Err(clone_error(&error)));
            }
        }
    }
}

fn perform(conn: &Connection, work: Work, now: Timestamp) -> Result<Vec<Change>, StoreError> {
    match work {
        Work::Writes(writes) => apply(conn, writes, now),
        Work::Chore(chore) => chore(conn).map(|()| Vec::new()),
    }
}

/// One transaction's writes, all conditions checked against the state inside the batch.
fn apply(conn: &Connection, writes: Vec<Write>, now: Timestamp) -> Result<Vec<Change>, StoreError> {
    let mut changes = Vec::with_capacity(writes.len());
    for (index, write) in writes.into_iter().enumerate() {
        let existing = load(conn, write.key())?;
        let (condition, new) = match write {
            Write::Put { record, condition } => (condition, Some(record)),
            Write::Update {
                key,
                changes,
                condition,
            } => {
                let Some(current) = existing.clone() else {
                    return Err(StoreError::ConditionFailed { index });
                };
                let mut updated = apply_changes(current, &changes);
                updated.key = key;
                (condition, Some(updated))
            }
            Write::Delete { condition, .. } => (condition, None),
        };
        if !holds(&condition, existing.as_ref()) {
            return Err(StoreError::ConditionFailed { index });
        }
        let key = new.as_ref().or(existing.as_ref()).map(|r| r.key.clone());
        match &new {
            Some(record) => store(conn, record)?,
            None => {
                if let Some(existing) = &existing {
                    remove(conn, &existing.key)?;
                }
            }
        }
        if let Some(change) = Change::between(key, existing, new, now) {
            changes.push(change_feed::append(conn, change)?);
        }
    }
    Ok(changes)
}

fn clone_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::ConditionFailed { index } => StoreError::ConditionFailed { index: *index },
        StoreError::Busy(m) => StoreError::Busy(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Rejected(m) => StoreError::Rejected(m.clone()),
    }
}
