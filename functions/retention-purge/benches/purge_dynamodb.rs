//! The purge's cost against DynamoDB Local: 100,000 messages of which 1% are past retention
//! (half past the chat retention only, half past the 90-day metadata minimum too). Prints
//! items read and write requests per expired item, and the wall time. Needs DynamoDB Local:
//!
//!     MIZAN_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench -p mizan-retention-purge --bench purge_dynamodb
//!
//! Target: at most 1.1 items read per item removed. `PURGE_BENCH_ITEMS` changes the size.

mod common;

use common::{message_record, Bench};
use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::records::{Condition, RecordStore, Write};
use mizan_shared::workflows::purge::{self, PurgeOptions};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let total: u64 = std::env::var("PURGE_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let now = Timestamp::from_millis(1_767_225_600_000);
    let Bench {
        store,
        dynamo,
        counting,
        dir,
    } = Bench::connect(now).await;
    let tenant = Tenant::new("Bench", now);
    store.create_tenant(&tenant).await.unwrap();

    let expired = total / 100;
    println!("seeding {total} messages ({expired} expired) into DynamoDB Local ...");
    let seeding = Instant::now();
    let mut batch = Vec::with_capacity(100);
    for n in 0..total {
        let age = if n < expired / 2 {
            days(120) // past the metadata minimum: removed
        } else if n < expired {
            days(45) // past the chat retention: content removed, metadata kept
        } else {
            days(1) + std::time::Duration::from_millis(n)
        };
        batch.push(Write::Put {
            record: message_record(&tenant.id, n, now.minus(age)),
            condition: Condition::Always,
        });
        if batch.len() == 100 {
            dynamo.transact(std::mem::take(&mut batch)).await.unwrap();
        }
    }
    if !batch.is_empty() {
        dynamo.transact(batch).await.unwrap();
    }
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let archives = LocalArchives::new(dir.path());
    let reads_before = counting.items();
    let queries_before = counting.index_queries();
    let writes_before = dynamo.write_usage().requests();
    let started = Instant::now();
    let report = purge::run(&store, &archives, PurgeOptions::at(now))
        .await
        .unwrap();
    let wall = started.elapsed();
    let reads = counting.items() - reads_before;
    let writes = dynamo.write_usage().requests() - writes_before;
    let t = report.total();
    let processed = t.removed + t.content_removed;
    println!(
        "purge of {total} items: {} removed, {} contents removed, {} failed, complete: {}",
        t.removed, t.content_removed, t.failed, report.complete
    );
    println!(
        "items read: {reads} ({:.3} per expired item); write requests: {writes} ({:.3} per expired item); wall time {:.2} s",
        reads as f64 / processed.max(1) as f64,
        writes as f64 / processed.max(1) as f64,
        wall.as_secs_f64()
    );
    let again = Instant::now();
    let second = purge::run(&store, &archives, PurgeOptions::at(now))
        .await
        .unwrap();
    println!(
        "index queries: {}",
        counting.index_queries() - queries_before
    );
    println!(
        "a second run finds {} due and takes {:.2} s (nothing expired: the cost of the empty range queries)",
        second.total().due,
        again.elapsed().as_secs_f64()
    );
}
