//! Point reads of the embedded store, kept in memory until a commit writes their key.
//!
//! A reader connection starts every read with an empty page cache once the writer has committed
//! (SQLite resets it when the write-ahead log changed), so under a load each point read copied
//! four pages out of the log and took a shared-memory lock: about a tenth of the processor time of
//! a webhook delivery went to reading its contact.
//!
//! Coherent because every write of this process goes through the group committer, which forgets
//! the keys of each batch after it commits and before it answers, and because no other process
//! writes while the store is open (it holds the data directory's lock). A read that raced a
//! commit cannot put back what the commit replaced: it brings the ticket it took before reading,
//! and a commit of any key of its shard since then voids the ticket.

use crate::ports::records::{Key, Record};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

/// Shards of the cache, each behind its own lock: readers on the request threads and the writer
/// rarely meet on one.
const SHARDS: usize = 16;

pub(super) struct RecordCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: RandomState,
}

#[derive(Default)]
struct Shard {
    /// Counts the commits that wrote a key of this shard.
    generation: u64,
    /// A key's record, or `None` when it is known to be absent.
    entries: HashMap<Key, Option<Record>>,
    /// Keys in the order they were filled; the oldest goes first when the shard is full.
    filled: VecDeque<Key>,
}

/// What a lookup found.
pub(super) enum Lookup {
    /// The stored record, or `None` for a key known to be absent.
    Hit(Option<Record>),
    /// Read the store, then `fill` with this ticket.
    Miss(Ticket),
}

/// Taken before a read from the store; only valid if no commit wrote into its shard since.
pub(super) struct Ticket {
    shard: usize,
    generation: u64,
}

impl RecordCache {
    /// A cache of at most about `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        RecordCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    pub fn lookup(&self, key: &Key) -> Lookup {
        let index = self.shard_of(key);
        let shard = self.shard(index);
        match shard.entries.get(key) {
            Some(record) => Lookup::Hit(record.clone()),
            None => Lookup::Miss(Ticket {
                shard: index,
                generation: shard.generation,
            }),
        }
    }

    /// Keeps what a read found, unless a commit wrote into the shard since the ticket was taken.
    pub fn fill(&self, key: &Key, record: Option<Record>, ticket: Ticket) {
        let mut shard = self.shard(ticket.shard);
        if shard.generation != ticket.generation || shard.entries.contains_key(key) {
            return;
        }
        while shard.filled.len() >= self.per_shard {
            match shard.filled.pop_front() {
                Some(oldest) => {
                    shard.entries.remove(&oldest);
                }
                None => break,
            }
        }
        shard.entries.insert(key.clone(), record);
        shard.filled.push_back(key.clone());
    }

    /// Called by the writer once a batch that wrote `keys` has committed (or failed).
    pub fn forget<'a>(&self, keys: impl IntoIterator<Item = &'a Key>) {
        for key in keys {
            let mut shard = self.shard(self.shard_of(key));
            shard.generation = shard.generation.wrapping_add(1);
            shard.entries.remove(key);
        }
    }

    fn shard_of(&self, key: &Key) -> usize {
        (self.hasher.hash_one(key) % SHARDS as u64) as usize
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding the lock cannot leave a shard half-changed in a way that matters:
        // at worst an entry is missing from `filled` and is evicted late.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sk: &str, version: i64) -> Record {
        let mut record = Record::new(Key::new("T#t#C#c", sk), "contact", serde_json::json!({}));
        record.version = version;
        record
    }

    fn version_of(lookup: Lookup) -> Option<Option<i64>> {
        match lookup {
            Lookup::Hit(found) => Some(found.map(|r| r.version)),
            Lookup::Miss(_) => None,
        }
    }

    fn ticket(cache: &RecordCache, key: &Key) -> Ticket {
        match cache.lookup(key) {
            Lookup::Miss(ticket) => ticket,
            Lookup::Hit(_) => panic!("{key:?} is cached"),
        }
    }

    #[test]
    fn a_filled_key_is_served_until_a_commit_writes_it() {
        let cache = RecordCache::new(64);
        let key = Key::new("T#t#C#c", "PROFILE");
        let ticket = ticket(&cache, &key);
        cache.fill(&key, Some(record("PROFILE", 3)), ticket);
        assert_eq!(version_of(cache.lookup(&key)), Some(Some(3)));

        cache.forget([&key]);
        assert_eq!(version_of(cache.lookup(&key)), None);
    }

    #[test]
    fn an_absent_key_is_remembered_as_absent() {
        let cache = RecordCache::new(64);
        let key = Key::new("T#t#C#c", "PROFILE");
        let ticket = ticket(&cache, &key);
        cache.fill(&key, None, ticket);
        assert_eq!(version_of(cache.lookup(&key)), Some(None));
    }

    #[test]
    fn a_read_that_raced_a_commit_is_not_kept() {
        // Given a reader that missed and read version 1 from its snapshot
        let cache = RecordCache::new(64);
        let key = Key::new("T#t#C#c", "PROFILE");
        let ticket = ticket(&cache, &key);
        // When a commit writes version 2 and forgets the key before the reader fills
        cache.forget([&key]);
        cache.fill(&key, Some(record("PROFILE", 1)), ticket);
        // Then the next lookup goes to the store instead of serving version 1
        assert_eq!(version_of(cache.lookup(&key)), None);
    }

    #[test]
    fn a_full_shard_drops_its_oldest_key() {
        let cache = RecordCache::new(SHARDS * 2);
        let keys: Vec<Key> = (0..200)
            .map(|n| Key::new("T#t#C#c", format!("MSG#{n}")))
            .collect();
        for key in &keys {
            let ticket = ticket(&cache, key);
            cache.fill(key, Some(record(&key.sk, 1)), ticket);
        }
        let cached = keys
            .iter()
            .filter(|k| matches!(cache.lookup(k), Lookup::Hit(_)))
            .count();
        assert!(cached <= SHARDS * 2, "{cached} keys cached");
        // The newest key is always kept.
        assert_eq!(version_of(cache.lookup(&keys[199])), Some(Some(1)));
    }
}
