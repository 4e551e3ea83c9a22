//! The embedded store's single writer. Concurrent transactions are batched into one SQLite
//! transaction and answered only after the batch commits: one fsync covers many requests, so an
//! acknowledged write is durable and throughput stays high. A transaction whose condition fails
//! writes nothing and fails alone; one that fails while writing (the disk, not its input) fails
//! the batch, which is rolled back whole.
//!
//! A caller that may block its thread without stalling other tasks (outside any runtime, or in
//! `block_on` of a multi-threaded runtime: the Lambda runtime's loop, the admin commands) and finds
//! nobody committing leads: it commits its batch on its own thread, so a lone request pays no
//! hand-off to another thread and back. Transactions that arrive meanwhile queue up; the leader
//! hands them to the writer thread, which commits them in batches until the queue is empty. Tasks
//! on a runtime's workers (the local runner's requests) always hand their transactions to the
//! writer thread: blocking a worker would stall its other tasks, and `block_in_place` would move
//! them to another thread, which costs more than the hop it saves.
//!
//! In full durability the writer does not wait for the disk itself: SQLite commits without
//! syncing, and a syncer thread fsyncs the write-ahead log and only then answers the batch, while
//! the writer already applies the next one. One fsync covers every batch committed before it
//! started, so an answer still means "on disk"; only the wait for the disk is taken off the
//! writer's path.
//!
//! Checkpoints (copying the write-ahead log into the database file) run on a thread of their
//! own, beside the commits instead of inside one of them (see checkpointer).
//!
//! Every batch makes the record cache forget the keys it wrote, after it commits and before
//! anyone is answered, so no read that starts after an answer is served what the write replaced.

use super::change_feed::{self, Change};
use super::checkpointer::Checkpointer;
use super::record_cache::RecordCache;
use super::rows::{apply_changes, holds, load, remove, store};
use super::sqlite_error;
use crate::domain::time::Timestamp;
use crate::ports::records::{StoreError, Write};
use rusqlite::Connection;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// How many transactions one commit may carry.
const MAX_BATCH: usize = 128;

type Reply = oneshot::Sender<Result<Vec<Change>, StoreError>>;

/// A transaction's outcome, waiting to be sent to its caller.
type Answer = (Reply, Result<Vec<Change>, StoreError>);

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

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Someone (a leading caller or the writer thread) is committing: new jobs wait for it.
    leading: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Only the leader touches it, so it is never contended.
    conn: Mutex<Connection>,
    /// Set by every commit, cleared by the checkpointer.
    dirty: Arc<AtomicBool>,
    /// Makes commits durable before they are answered, in full durability.
    wal: Option<WalSync>,
    cache: Arc<RecordCache>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the queue half-changed.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the next batch; when there is none, gives up the lead.
    fn next_batch(&self) -> Option<Vec<Job>> {
        let mut queue = self.queue();
        if queue.jobs.is_empty() {
            queue.leading = false;
            return None;
        }
        let take = queue.jobs.len().min(MAX_BATCH);
        Some(queue.jobs.drain(..take).collect())
    }

    /// Commits `batch`; `answer` gets its outcomes once they may be sent.
    fn commit(&self, batch: Vec<Job>, answer: impl FnOnce(Vec<Answer>)) {
        let answers = {
            let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            commit_batch(&mut conn, batch)
        };
        // A committed write is among its transaction's changes; a batch that did not commit has
        // none, and a write that changed nothing leaves the cached record right.
        self.cache.forget(
            answers
                .iter()
                .filter_map(|(_, outcome)| outcome.as_ref().ok())
                .flatten()
                .map(|change| &change.key),
        );
        self.dirty.store(true, Ordering::Release);
        answer(answers);
    }

    /// Answers a batch committed by a leading caller: synced here, on the caller's thread.
    fn answer_in_place(&self, answers: Vec<Answer>) {
        match &self.wal {
            Some(wal) => wal.sync_and_send(answers),
            None => send(answers),
        }
    }
}

/// The write-ahead log's fsync, shared by the syncer thread and leading callers. After a failed
/// fsync nothing is answered as stored again: the kernel may have dropped the unwritten pages and
/// a later fsync would not report it, so the store stops accepting writes until it is reopened.
struct WalSync {
    path: PathBuf,
    file: Mutex<Option<File>>,
    failed: AtomicBool,
}

impl WalSync {
    fn sync_and_send(&self, answers: Vec<Answer>) {
        let synced = self.sync();
        for (reply, outcome) in answers {
            let outcome = match &synced {
                Ok(()) => outcome,
                Err(e) => Err(clone_error(e)),
            };
            let _ = reply.send(outcome);
        }
    }

    fn sync(&self) -> Result<(), StoreError> {
        let refused =
            || StoreError::Unavailable("the disk refused an fsync; reopen the store".into());
        if self.failed.load(Ordering::Acquire) {
            return Err(refused());
        }
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = match &*file {
            Some(open) => open.sync_data(),
            // The log exists once the store has written (it is created with the first write).
            None => File::open(&self.path).and_then(|open| {
                let synced = open.sync_data();
                *file = Some(open);
                synced
            }),
        };
        outcome.map_err(|e| {
            self.failed.store(true, Ordering::Release);
            tracing::error!(error = %e, "fsync of the write-ahead log failed");
            refused()
        })
    }
}

fn send(answers: Vec<Answer>) {
    for (reply, outcome) in answers {
        let _ = reply.send(outcome);
    }
}

pub(super) struct GroupCommitter {
    shared: Arc<Shared>,
    /// Hands the lead to the writer thread.
    writer: mpsc::Sender<()>,
}

impl GroupCommitter {
    /// `conn` commits (set up by `checkpointer::prepare_writer`); `checkpointer` folds its log;
    /// `cache` forgets what each batch writes. With `sync_wal` (the write-ahead log's path),
    /// `conn` must commit without syncing (`synchronous = NORMAL`): the committer fsyncs the log
    /// before it answers.
    pub fn start(
        conn: Connection,
        checkpointer: Checkpointer,
        sync_wal: Option<PathBuf>,
        cache: Arc<RecordCache>,
    ) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            conn: Mutex::new(conn),
            dirty: Arc::new(AtomicBool::new(false)),
            wal: sync_wal.map(|path| WalSync {
                path,
                file: Mutex::new(None),
                failed: AtomicBool::new(false),
            }),
            cache,
        });
        let syncer = match shared.wal {
            Some(_) => {
                let (syncer, committed) = mpsc::channel::<Vec<Answer>>();
                let for_syncer = shared.clone();
                std::thread::Builder::new()
                    .name("mizan-embedded-sync".into())
                    .spawn(move || run_syncer(&for_syncer, &committed))
                    .map_err(|e| {
                        StoreError::Unavailable(format!("cannot start the syncer: {e}"))
                    })?;
                Some(syncer)
            }
            None => None,
        };
        let (writer, handoffs) = mpsc::channel::<()>();
        let for_writer = shared.clone();
        std::thread::Builder::new()
            .name("mizan-embedded-writer".into())
            .spawn(move || run_writer(&for_writer, &handoffs, syncer.as_ref()))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        checkpointer.spawn(Arc::downgrade(&shared.dirty))?;
        Ok(GroupCommitter { shared, writer })
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
        let lead = {
            let mut queue = self.shared.queue();
            queue.jobs.push(Job { work, reply });
            !std::mem::replace(&mut queue.leading, true)
        };
        if lead {
            if may_block_here() {
                self.lead();
            } else {
                self.hand_off();
            }
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the embedded writer has stopped".into()))?
    }

    /// Commits one batch here (it holds this caller's job), then hands what queued meanwhile to
    /// the writer thread, so this caller is answered without waiting for later ones.
    fn lead(&self) {
        let mut guard = LeadGuard {
            committer: self,
            done: false,
        };
        if let Some(batch) = self.shared.next_batch() {
            self.shared
                .commit(batch, |answers| self.shared.answer_in_place(answers));
            let mut queue = self.shared.queue();
            if queue.jobs.is_empty() {
                queue.leading = false;
            } else {
                drop(queue);
                self.hand_off();
            }
        }
        guard.done = true;
    }

    fn hand_off(&self) {
        if self.writer.send(()).is_err() {
            // The writer thread is gone (it only ends with the store): fail what waits.
            let mut queue = self.shared.queue();
            queue.leading = false;
            queue.jobs.clear();
        }
    }
}

/// If a leader panics mid-commit, the lead passes on rather than leaving every later caller
/// waiting.
struct LeadGuard<'a> {
    committer: &'a GroupCommitter,
    done: bool,
}

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.committer.hand_off();
        }
    }
}

/// Whether this thread may block for a commit without stalling other tasks: outside any runtime,
/// or outside any task on a multi-threaded runtime (its `block_on` thread runs no other task).
fn may_block_here() -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                && tokio::task::try_id().is_none()
        }
        Err(_) => true,
    }
}

fn run_writer(
    shared: &Shared,
    handoffs: &mpsc::Receiver<()>,
    syncer: Option<&mpsc::Sender<Vec<Answer>>>,
) {
    // Ends when the committer is dropped, i.e. when the store is.
    while handoffs.recv().is_ok() {
        while let Some(batch) = shared.next_batch() {
            shared.commit(batch, |answers| match syncer {
                // The syncer only ends with the store: if it is gone, sync here.
                Some(syncer) => {
                    if let Err(mpsc::SendError(answers)) = syncer.send(answers) {
                        shared.answer_in_place(answers);
                    }
                }
                None => send(answers),
            });
        }
    }
}

/// Answers committed batches once the log holding them is on disk: whatever has queued while one
/// fsync ran shares the next.
fn run_syncer(shared: &Shared, committed: &mpsc::Receiver<Vec<Answer>>) {
    while let Ok(mut answers) = committed.recv() {
        while let Ok(more) = committed.try_recv() {
            answers.extend(more);
        }
        shared.answer_in_place(answers);
    }
}

/// Why a job failed: refused before it wrote anything, or broken part-way through its writes,
/// which only rolling back the whole batch undoes.
enum JobError {
    Refused(StoreError),
    Broken(StoreError),
}

/// Applies `batch` in one transaction; the outcomes are for its callers once it is durable.
fn commit_batch(conn: &mut Connection, batch: Vec<Job>) -> Vec<Answer> {
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch.into_iter().map(|job| job.reply), &sqlite_error(e)),
    };
    let now = Timestamp::now();
    let mut outcomes: Vec<Answer> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        match perform(&mut tx, job.work, now) {
            Ok(changes) => outcomes.push((job.reply, Ok(changes))),
            Err(JobError::Refused(e)) => outcomes.push((job.reply, Err(e))),
            Err(JobError::Broken(e)) => {
                // Dropping the transaction rolls the batch back: nothing of it is stored.
                drop(tx);
                let replies = outcomes
                    .into_iter()
                    .map(|(reply, _)| reply)
                    .chain([job.reply])
                    .chain(jobs.map(|job| job.reply));
                return fail_all(replies, &e);
            }
        }
    }
    match tx.commit() {
        Ok(()) => outcomes,
        Err(e) => fail_all(
            outcomes.into_iter().map(|(reply, _)| reply),
            &sqlite_error(e),
        ),
    }
}

fn fail_all(replies: impl Iterator<Item = Reply>, error: &StoreError) -> Vec<Answer> {
    replies
        .map(|reply| (reply, Err(clone_error(error))))
        .collect()
}

fn perform(
    tx: &mut rusqlite::Transaction<'_>,
    work: Work,
    now: Timestamp,
) -> Result<Vec<Change>, JobError> {
    match work {
        Work::Writes(writes) => apply(tx, writes, now),
        // A chore may fail after writing: a savepoint undoes just its writes. Writes need none
        // (its statement journal copied every page a job touched: 2–3% of the runner's time).
        Work::Chore(chore) => {
            let savepoint = tx
                .savepoint()
                .map_err(|e| JobError::Refused(sqlite_error(e)))?;
            // Dropping a savepoint without committing rolls back just this chore's writes.
            chore(&savepoint).map_err(JobError::Refused)?;
            savepoint
                .commit()
                .map_err(|e| JobError::Refused(sqlite_error(e)))?;
            Ok(Vec::new())
        }
    }
}

/// One transaction's writes. Every condition is checked, against the state inside the batch,
/// before anything is written, so a refused transaction leaves nothing behind; an error while
/// writing breaks the batch.
fn apply(conn: &Connection, writes: Vec<Write>, now: Timestamp) -> Result<Vec<Change>, JobError> {
    if has_repeated_key(&writes) {
        // As DynamoDB refuses a transaction with two operations on one item.
        return Err(JobError::Refused(StoreError::Rejected(
            "a transaction writes each key at most once".into(),
        )));
    }
    let mut planned = Vec::with_capacity(writes.len());
    for (index, write) in writes.into_iter().enumerate() {
        let existing = load(conn, write.key()).map_err(JobError::Refused)?;
        let (condition, new) = match write {
            Write::Put { record, condition } => (condition, Some(record)),
            Write::Update {
                key,
                changes,
                condition,
            } => {
                let Some(current) = existing.clone() else {
                    return Err(JobError::Refused(StoreError::ConditionFailed { index }));
                };
                let mut updated = apply_changes(current, &changes);
                updated.key = key;
                (condition, Some(updated))
            }
            Write::Delete { condition, .. } => (condition, None),
        };
        if !holds(&condition, existing.as_ref()) {
            return Err(JobError::Refused(StoreError::ConditionFailed { index }));
        }
        planned.push((existing, new));
    }
    let mut changes = Vec::with_capacity(planned.len());
    for (existing, new) in planned {
        let key = new.as_ref().or(existing.as_ref()).map(|r| r.key.clone());
        match &new {
            Some(record) => store(conn, record).map_err(JobError::Broken)?,
            None => {
                if let Some(existing) = &existing {
                    remove(conn, &existing.key).map_err(JobError::Broken)?;
                }
            }
        }
        if let Some(change) = Change::between(key, existing, new, now) {
            changes.push(change_feed::append(conn, change).map_err(JobError::Broken)?);
        }
    }
    Ok(changes)
}

fn has_repeated_key(writes: &[Write]) -> bool {
    writes.iter().enumerate().any(|(i, write)| {
        writes[..i]
            .iter()
            .any(|earlier| earlier.key() == write.key())
    })
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
