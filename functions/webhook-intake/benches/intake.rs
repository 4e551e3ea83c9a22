//! The handler on the embedded store: verify + parse + store one signed one-message delivery,
//! acknowledged only once durable (fsync). Run: `cargo bench -p mizan-webhook-intake --bench intake`.
//! Target: p99 under 1 ms.
//!
//! Each acknowledgement waits for one flush of the disk, so the bench also measures the disk
//! alone, before and after the deliveries: the same number of bytes written and `fdatasync`ed in
//! the same directory. On a virtual disk that figure moves by several times from one minute to
//! the next, and the handler's tail moves with it.

#[path = "common.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lambda_http::Body;
use mizan_shared::backend;
use mizan_shared::config::{Config, WebhookConfig};
use mizan_shared::domain::ids::PhoneNumberId;
use mizan_shared::domain::signature::{AppSecret, AppSecrets};
use mizan_shared::domain::tenant::Tenant;
use mizan_test_support::bench::Percentiles;
use mizan_webhook_intake::{handle, Deps, Wiring};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a one-message commit writes to the log: 11 frames of a 4 KiB page and its 24-byte header.
const COMMIT_BYTES: usize = 11 * (4096 + 24);
const FLUSHES: usize = 1_000;
const DELIVERIES: usize = 2_000;

fn request(body: Vec<u8>, signature: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/webhooks/whatsapp")
        .header("x-hub-signature-256", signature)
        .body(Body::Binary(body))
        .unwrap()
}

fn intake(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deps = rt.block_on(async {
        let config = Config {
            // MIZAN_EMBEDDED_DURABILITY=normal measures the no-fsync mode.
            embedded_durability: Config::from_env()
                .map(|c| c.embedded_durability)
                .unwrap_or_default(),
            ..Config::embedded(dir.path().to_owned(), [5; 32])
        };
        let services = backend::connect(&config).await.unwrap();
        let tenant = Tenant::new("Bench", services.store.now());
        services.store.create_tenant(&tenant).await.unwrap();
        services
            .store
            .attach_phone_number(&tenant.id, &PhoneNumberId::new(common::PHONE))
            .await
            .unwrap();
        let webhook = WebhookConfig {
            app_secrets: AppSecrets::from(AppSecret::new(common::APP_SECRET)),
            verify_token: "bench".to_owned().into(),
            max_body_bytes: 1 << 20,
        };
        Deps::new(&services, &config, &webhook).unwrap()
    });
    let counter = AtomicU64::new(0);
    let next = || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let (body, signature) = common::delivery(n, 1_000, deps.store.now());
        request(body, &signature)
    };

    let mut group = c.benchmark_group("webhook_intake");
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        "verify+parse+store one-message delivery (embedded, fsync)",
        |b| {
            b.iter_batched(
                next,
                |request| {
                    let answer = rt.block_on(handle(&deps, request)).unwrap();
                    assert_eq!(answer.status(), 200);
                },
                criterion::BatchSize::SmallInput,
            )
        },
    );
    group.finish();

    // Criterion reports means; the target is a tail latency, so measure the distribution too.
    let mut flushes = disk_flush_latencies(dir.path());
    let deliveries: Vec<Duration> = (0..DELIVERIES)
        .map(|_| {
            let request = next();
            let start = Instant::now();
            rt.block_on(handle(&deps, request)).unwrap();
            start.elapsed()
        })
        .collect();
    flushes.extend(disk_flush_latencies(dir.path()));
    println!(
        "webhook_intake latency over {DELIVERIES} sequential deliveries: {}",
        Percentiles::of(deliveries)
    );
    println!(
        "the disk alone, {FLUSHES} fdatasyncs of {COMMIT_BYTES} bytes before and as many after: {}",
        Percentiles::of(flushes)
    );
}

/// Latencies of `FLUSHES` writes of a commit's size, each flushed, over space already written
/// once (as the log's is once it has started over).
fn disk_flush_latencies(dir: &Path) -> Vec<Duration> {
    let path = dir.join("disk-probe");
    let file = File::create(&path).unwrap();
    let room = vec![0u8; COMMIT_BYTES * FLUSHES];
    file.write_all_at(&room, 0).unwrap();
    file.sync_all().unwrap();
    let commit = vec![0x5a; COMMIT_BYTES];
    let latencies = (0..FLUSHES)
        .map(|n| {
            file.write_all_at(&commit, (n * COMMIT_BYTES) as u64)
                .unwrap();
            let start = Instant::now();
            file.sync_data().unwrap();
            start.elapsed()
        })
        .collect();
    std::fs::remove_file(path).unwrap();
    latencies
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = intake
}
criterion_main!(benches);
