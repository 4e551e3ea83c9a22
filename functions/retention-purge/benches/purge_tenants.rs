//! The purge across many tenants on DynamoDB Local, each run bounded by a time budget as the
//! Lambda function's 15 minutes bound it: every tenant must be reached within a bounded number
//! of runs (a run resumes where the last one stopped), and the cost per removed item stays flat.
//! Each tenant has one message past the 90-day metadata minimum (removed), one past the chat
//! retention (content removed) and one recent (untouched). Prints, per run, the tenants it went
//! through, index queries and items read; then the runs needed and the costs per tenant and per
//! removed item; then the same for the next round, once every tenant has been swept (only its
//! frequent and marked categories queried).
//!
//!     MIZAN_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench -p mizan-retention-purge --bench purge_tenants
//!
//! `PURGE_BENCH_TENANTS` (default 2000) and `PURGE_BENCH_RUN_SECONDS` (default 30) change it.

mod common;

use common::{message_record, Bench};
use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::records::{Condition, RecordStore, Write};
use mizan_shared::workflows::purge::{self, PurgeOptions};
use std::time::{Duration, Instant};

fn setting(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let tenants = setting("PURGE_BENCH_TENANTS", 2_000);
    let budget = Duration::from_secs(setting("PURGE_BENCH_RUN_SECONDS", 30));
    let now = Timestamp::from_millis(1_767_225_600_000);
    let Bench {
        store,
        dynamo,
        counting,
        dir,
    } = Bench::connect(now).await;

    println!("seeding {tenants} tenants, 3 messages each, into DynamoDB Local ...");
    let seeding = Instant::now();
    for n in 0..tenants {
        let tenant = Tenant::new("Bench", now);
        store.create_tenant(&tenant).await.unwrap();
        let writes = [days(120), days(45), days(1)]
            .into_iter()
            .enumerate()
            .map(|(i, age)| Write::Put {
                record: message_record(&tenant.id, n * 3 + i as u64, now.minus(age)),
                condition: Condition::Always,
            })
            .collect();
        dynamo.transact(writes).await.unwrap();
    }
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    let archives = LocalArchives::new(dir.path());
    let (reads_before, queries_before) = (counting.items(), counting.index_queries());
    let mut removed = 0;
    let mut visited = 0;
    let mut runs = 0;
    let started = Instant::now();
    loop {
        runs += 1;
        let (reads, queries) = (counting.items(), counting.index_queries());
        let run_started = Instant::now();
        let mut options = PurgeOptions::at(now);
        options.deadline = Some(run_started + budget);
        let report = purge::run(&store, &archives, options).await.unwrap();
        let total = report.total();
        removed += total.removed + total.content_removed;
        visited += report.tenants_visited;
        println!(
            "run {runs}: {} tenants gone through{}, {} index queries, {} items read, {} removed, {:.1} s",
            report.tenants_visited,
            if report.resumed_from.is_some() { " (resumed)" } else { "" },
            counting.index_queries() - queries,
            counting.items() - reads,
            total.removed + total.content_removed,
            run_started.elapsed().as_secs_f64()
        );
        // Every tenant (and the platform's own entry) gone through once: done. A run that
        // cannot go through all of them in its budget is never `complete`; the next resumes.
        if report.complete || visited > tenants {
            break;
        }
    }
    let reads = counting.items() - reads_before;
    let queries = counting.index_queries() - queries_before;
    println!(
        "every tenant reached in {runs} run(s) of at most {} s ({visited} tenant visits, {:.1} s in all)",
        budget.as_secs(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{removed} items removed (of {} expected); {reads} items read ({:.2} per removed item); {queries} index queries ({:.1} per tenant visit)",
        tenants * 2,
        reads as f64 / removed.max(1) as f64,
        queries as f64 / visited.max(1) as f64
    );

    // The next round: every tenant swept once already, as in every later hour.
    let queries_before = counting.index_queries();
    let (mut visited, mut runs) = (0, 0);
    let started = Instant::now();
    loop {
        runs += 1;
        let mut options = PurgeOptions::at(now);
        options.deadline = Some(Instant::now() + budget);
        let report = purge::run(&store, &archives, options).await.unwrap();
        visited += report.tenants_visited;
        if report.complete || visited > tenants {
            break;
        }
    }
    println!(
        "next round (tenants swept): every tenant reached in {runs} run(s), {:.1} s; {:.1} index queries per tenant visit",
        started.elapsed().as_secs_f64(),
        (counting.index_queries() - queries_before) as f64 / visited.max(1) as f64
    );
}
