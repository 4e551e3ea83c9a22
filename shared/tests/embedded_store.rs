//! The embedded store beyond the contract: its change feed (DynamoDB Streams shape) and group commit.

use mizan_shared::adapters::dynamodb::item::item_to_record;
use mizan_shared::adapters::embedded::stream_event::to_stream_event;
use mizan_shared::adapters::embedded::{ChangeEvent, EmbeddedStore};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::records::{Changes, Condition, Key, Record, RecordStore, Write};

fn record(sk: &str) -> Record {
    Record::new(
        Key::new("T#t#C#c", sk),
        "message_in",
        serde_json::json!({"n": 1}),
    )
}

/// A write that stores `record(sk)` if it is not there yet.
fn put_new(sk: &str) -> Write {
    Write::Put {
        record: record(sk),
        condition: Condition::Absent,
    }
}

#[tokio::test]
async fn writes_appear_in_order_with_old_and_new_images() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store.write(put_new("MSG#1")).await.unwrap();
    // A refused write leaves no change behind.
    assert!(store.write(put_new("MSG#1")).await.is_err());
    store
        .write(Write::Update {
            key: Key::new("T#t#C#c", "MSG#1"),
            changes: Changes {
                version: Some(2),
                ..Changes::default()
            },
            condition: Condition::Exists,
        })
        .await
        .unwrap();
    store
        .delete_many(vec![Key::new("T#t#C#c", "MSG#1")])
        .await
        .unwrap();

    let changes = store.changes_after(0, 10).await.unwrap();
    let events: Vec<ChangeEvent> = changes.iter().map(|c| c.event).collect();
    assert_eq!(
        events,
        [
            ChangeEvent::Insert,
            ChangeEvent::Modify,
            ChangeEvent::Remove
        ]
    );
    assert_eq!(changes[1].old.as_ref().unwrap().version, 0);
    assert_eq!(changes[1].new.as_ref().unwrap().version, 2);

    let event = to_stream_event(&changes).unwrap();
    let json = serde_json::to_value(&event).unwrap();
    let first = &json["Records"][0];
    assert_eq!(first["eventName"], "INSERT");
    assert_eq!(first["eventSource"], "aws:dynamodb");
    assert_eq!(first["dynamodb"]["NewImage"]["kind"]["S"], "message_in");
    assert_eq!(first["dynamodb"]["Keys"]["sk"]["S"], "MSG#1");
    assert_eq!(first["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    let image = event.records[1].change.new_image.clone();
    let decoded = item_to_record(&image.into()).unwrap();
    assert_eq!(decoded.version, 2);
}

#[tokio::test]
async fn a_consumer_resumes_where_it_left_off_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        for i in 0..3 {
            store.write(put_new(&format!("MSG#{i}"))).await.unwrap();
        }
        let changes = store.changes_after(0, 2).await.unwrap();
        store
            .set_feed_position("runner", changes[1].seq)
            .await
            .unwrap();
    }
    let reopened = EmbeddedStore::open(dir.path()).unwrap();
    let position = reopened.feed_position("runner").await.unwrap();
    let rest = reopened.changes_after(position, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].key.sk, "MSG#2");
    assert!(reopened
        .get(&Key::new("T#t#C#c", "MSG#0"), Timestamp::now())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_waiting_consumer_wakes_on_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move { store.wait_for_change().await })
    };
    tokio::task::yield_now().await;
    store.write(put_new("MSG#w")).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn sample_stream_event_decodes_into_a_message_record() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/dynamodb-stream-insert-message.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_str(&text).unwrap();
    let image = event.records[0].change.new_image.clone();
    let record = item_to_record(&image.into()).unwrap();
    assert_eq!(record.kind, "message_in");
    assert!(record.sealed.is_some());
    let message: mizan_shared::domain::message::Message =
        serde_json::from_value(record.doc).unwrap();
    assert_eq!(
        message.direction,
        mizan_shared::domain::message::Direction::Inbound
    );
}

#[tokio::test]
async fn concurrent_transactions_commit_together_and_fail_alone() {
    concurrent_transactions_commit_together_and_fail_alone_on_this_runtime().await;
}

// Tasks on a multi-threaded runtime's workers hand their transactions to the writer thread, the
// test body (in `block_on`) commits in place: the same outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transactions_commit_together_and_fail_alone_on_worker_threads() {
    concurrent_transactions_commit_together_and_fail_alone_on_this_runtime().await;
}

// Callers blocking on their own threads (as the Lambda runtime's loop does) commit in place,
// one leader at a time, and hand what queued meanwhile to the writer thread.
#[test]
fn callers_blocking_on_their_own_threads_commit_in_place_in_turn() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let callers: Vec<_> = (0..8)
        .map(|t| {
            let (store, handle) = (store.clone(), runtime.handle().clone());
            std::thread::spawn(move || {
                for i in 0..25 {
                    handle
                        .block_on(store.write(put_new(&format!("MSG#{t}#{i:02}"))))
                        .unwrap();
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    let all = runtime
        .block_on(store.query(
            &mizan_shared::ports::records::Query {
                limit: 1000,
                ..mizan_shared::ports::records::Query::prefix("T#t#C#c", "MSG#")
            },
            Timestamp::now(),
        ))
        .unwrap();
    assert_eq!(all.items.len(), 8 * 25);
    let changes = runtime.block_on(store.changes_after(0, 1000)).unwrap();
    assert_eq!(changes.len(), 8 * 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_folded_into_the_database_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let data_file = dir.path().join("data.sqlite3");
    let before = std::fs::metadata(&data_file).unwrap().len();
    for i in 0..300 {
        store.write(put_new(&format!("MSG#{i:04}"))).await.unwrap();
    }
    // Far below the writer's own checkpoint threshold: only the background checkpoint copies
    // these pages into the database file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&data_file).unwrap().len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint folded the log into the database file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn concurrent_transactions_commit_together_and_fail_alone_on_this_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store.write(put_new("MSG#taken")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Every tenth transaction collides with an existing record and must fail alone.
            let sk = if i % 10 == 0 {
                "MSG#taken".to_owned()
            } else {
                format!("MSG#{i}")
            };
            store
                .transact(vec![
                    Write::Put {
                        record: record(&format!("{sk}#side")),
                        condition: Condition::Always,
                    },
                    put_new(&sk),
                ])
                .await
        }));
    }
    let mut failed = 0;
    for task in tasks {
        if task.await.unwrap().is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 20);
    let all = store
        .query(
            &mizan_shared::ports::records::Query {
                limit: 1000,
                ..mizan_shared::ports::records::Query::prefix("T#t#C#c", "MSG#")
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    // 180 records plus their side records, plus the one taken before; no side record of a failed one.
    assert_eq!(all.items.len(), 1 + 180 * 2);
    assert!(all.items.iter().all(|r| r.key.sk != "MSG#taken#side"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_cannot_be_synced_stops_writes_instead_of_answering_them_as_stored() {
    // Given a store in full durability whose write-ahead log the syncer cannot open (standing in
    // for a disk that refuses an fsync)
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join("data.sqlite3-wal")).unwrap();

    // When writes arrive
    let first = store.write(put_new("MSG#first")).await;
    let second = store.write(put_new("MSG#second")).await;

    // Then none is answered as stored, and the store keeps refusing: after a failed fsync a
    // later one may succeed without the lost pages
    for outcome in [first, second] {
        assert!(
            matches!(outcome, Err(mizan_shared::ports::records::StoreError::Unavailable(ref m)) if m.contains("fsync")),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn only_one_store_at_a_time_opens_a_data_directory() {
    // Given a store open on a directory
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store.write(put_new("MSG#1")).await.unwrap();

    // When another opens it meanwhile (as an admin command beside a running runner would)
    let refused = EmbeddedStore::open(dir.path()).err().expect("refused");

    // Then it is refused with the reason, and it opens once the first is closed
    assert!(
        refused.to_string().contains("in use by another process"),
        "{refused}"
    );
    drop(store);
    let reopened = EmbeddedStore::open(dir.path()).unwrap();
    let found = reopened
        .get(&Key::new("T#t#C#c", "MSG#1"), Timestamp::now())
        .await
        .unwrap();
    assert!(found.is_some());
}

/// Reads of a key racing the commits that change it: once a write is answered, no read started
/// afterwards returns what it replaced, and a deleted record is not served from memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_an_answered_write_sees_it_while_other_reads_race_the_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let key = Key::new("T#t#C#c", "PROFILE");
    let versioned = |version: i64| {
        let mut record = Record::new(key.clone(), "contact", serde_json::json!({}));
        record.version = version;
        record
    };
    store
        .write(Write::Put {
            record: versioned(0),
            condition: Condition::Absent,
        })
        .await
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let (store, key, stop) = (store.clone(), key.clone(), stop.clone());
            tokio::spawn(async move {
                let mut reads = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    store.get(&key, Timestamp::now()).await.unwrap();
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();

    for version in 1..=300 {
        store
            .write(Write::Put {
                record: versioned(version),
                condition: Condition::VersionIs(version - 1),
            })
            .await
            .unwrap();
        let read = store.get(&key, Timestamp::now()).await.unwrap();
        assert_eq!(read.map(|r| r.version), Some(version));
    }
    store
        .write(Write::Delete {
            key: key.clone(),
            condition: Condition::Always,
        })
        .await
        .unwrap();
    assert_eq!(store.get(&key, Timestamp::now()).await.unwrap(), None);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for racer in racers {
        assert!(racer.await.unwrap() > 0, "every racer read");
    }
}

#[tokio::test]
async fn a_transaction_that_fails_while_writing_leaves_nothing_behind() {
    // Given a store whose database refuses one record at the moment it is written (as a full or
    // failing disk would), after every condition has been checked
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store.write(put_new("MSG#0")).await.unwrap();
    let sabotage = rusqlite::Connection::open(dir.path().join("data.sqlite3")).unwrap();
    sabotage
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON records WHEN NEW.sk = 'MSG#bad' \
             BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;",
        )
        .unwrap();

    // When a transaction writes a good record and then the refused one
    let failed = store
        .transact(vec![put_new("MSG#good"), put_new("MSG#bad")])
        .await;

    // Then it fails, its first write is not stored, and the change log has nothing of it
    assert!(failed.is_err());
    let now = Timestamp::now();
    let key = |sk: &str| Key::new("T#t#C#c", sk);
    assert_eq!(store.get(&key("MSG#good"), now).await.unwrap(), None);
    let changes = store.changes_after(0, 10).await.unwrap();
    assert_eq!(changes.len(), 1, "only MSG#0's change");
    // And the store keeps working once the disk is well again
    sabotage.execute_batch("DROP TRIGGER refuse").unwrap();
    store
        .transact(vec![put_new("MSG#good"), put_new("MSG#bad")])
        .await
        .unwrap();
    assert!(store.get(&key("MSG#bad"), now).await.unwrap().is_some());
}

#[tokio::test]
async fn a_transaction_writing_one_key_twice_is_refused_as_dynamodb_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let refused = store
        .transact(vec![put_new("MSG#1"), put_new("MSG#1")])
        .await
        .expect_err("refused");
    assert!(refused.to_string().contains("at most once"), "{refused}");
    let gone = store
        .get(&Key::new("T#t#C#c", "MSG#1"), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(gone, None);
}
