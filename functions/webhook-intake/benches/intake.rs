//! The handler on the embedded store: verify + parse + store one signed one-message delivery,
//! acknowledged only once durable (fsync). Run: `cargo bench -p mizan-webhook-intake --bench intake`.
//! Target: p99 under 1 ms.

#[path = "common.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lambda_http::Body;
use mizan_shared::backend;
use mizan_shared::config::{Config, WebhookConfig};
use mizan_shared::domain::ids::PhoneNumberId;
use mizan_shared::domain::signature::{AppSecret, AppSecrets};
use mizan_shared::domain::tenant::Tenant;
use mizan_webhook_intake::{handle, Deps};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
        Deps {
            store: services.store,
            webhook: WebhookConfig {
                app_secrets: AppSecrets::from(AppSecret::new(common::APP_SECRET)),
                verify_token: "bench".to_owned().into(),
                max_body_bytes: 1 << 20,
            },
        }
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
    let mut samples: Vec<Duration> = (0..2_000)
        .map(|_| {
            let request = next();
            let start = Instant::now();
            rt.block_on(handle(&deps, request)).unwrap();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "webhook_intake latency over {} sequential deliveries: p50 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = intake
}
criterion_main!(benches);
