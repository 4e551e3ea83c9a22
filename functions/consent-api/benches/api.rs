//! The handler on the embedded store: an authenticated read of a contact (key lookup, alias,
//! profile opened), a consent decision (history, contact state and audit event in one
//! transaction, acknowledged once durable: fsync), and a person's message accepted (the gate's
//! reads, the message sealed, its order, the idempotency key and the audit event in one
//! transaction; the Graph API call happens later, in the sender, and is not measured).
//! Run: `cargo bench -p mizan-consent-api --bench api`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mizan_consent_api::{handle, Deps};
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::{PhoneNumberId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::tenant::Tenant;
use mizan_test_support::bench::Percentiles;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONTACTS: u64 = 1_000;

fn wa_id(n: u64) -> String {
    format!("1555{:07}", n % CONTACTS)
}

fn request(method: &str, path: &str, token: &str, body: Option<&str>) -> lambda_http::Request {
    let body = body.map_or(lambda_http::Body::Empty, |b| {
        lambda_http::Body::Text(b.to_owned())
    });
    lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

fn percentiles(name: &str, samples: Vec<Duration>) {
    let count = samples.len();
    println!(
        "{name} over {count} sequential requests: {}",
        Percentiles::of(samples)
    );
}

fn api(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (deps, token) = rt.block_on(async {
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
        // A person's answers go out from the tenant's number.
        services
            .store
            .attach_phone_number(&tenant.id, &PhoneNumberId::new("100000000000001"))
            .await
            .unwrap();
        for n in 0..CONTACTS {
            let profile = ContactProfile {
                wa_id: Some(wa_id(n).into()),
                name: Some("Amina".into()),
                ..ContactProfile::default()
            };
            let contact = services
                .store
                .upsert_contact(&tenant.id, &profile)
                .await
                .unwrap()
                .contact
                .value
                .id;
            // The contact wrote: the customer service window is open for a person's answer.
            let wamid = Wamid::new(format!("wamid.BENCH{n}"));
            let message = Message::inbound(
                tenant.id.clone(),
                contact,
                services.store.message_id(&tenant.id, &wamid),
                wamid,
                MessageKind::Text,
                MessageContent::text("Is my order ready?"),
                services.store.now(),
            );
            services.store.put_message(&message).await.unwrap();
        }
        let (_, token) = services
            .store
            .issue_api_key(&tenant.id, "bench", Actor::Admin)
            .await
            .unwrap();
        let deps = Deps::with_catalog(
            &services,
            std::sync::Arc::new(mizan_shared::adapters::local_templates::LocalTemplates::default()),
        );
        (deps, token.expose_secret().to_owned())
    });
    let counter = AtomicU64::new(0);
    let read = || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        request("GET", &format!("/v1/contacts/{}", wa_id(n)), &token, None)
    };
    let decide = || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let action = if n.is_multiple_of(2) {
            "opt_in"
        } else {
            "opt_out"
        };
        let body = format!(
            r#"{{"purpose":"marketing","action":"{action}","source":"bench","evidence":"e-{n}"}}"#
        );
        request(
            "POST",
            &format!("/v1/contacts/{}/consent", wa_id(n)),
            &token,
            Some(&body),
        )
    };
    let answer = || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let mut r = request(
            "POST",
            &format!("/v1/contacts/{}/messages", wa_id(n)),
            &token,
            Some(r#"{"text":"Yes, you can pick it up today."}"#),
        );
        r.headers_mut()
            .insert("idempotency-key", format!("bench-{n}").parse().unwrap());
        r
    };

    let mut group = c.benchmark_group("consent_api");
    group.throughput(Throughput::Elements(1));
    group.bench_function("GET /v1/contacts/{contact} (embedded)", |b| {
        b.iter_batched(
            read,
            |r| assert_eq!(rt.block_on(handle(&deps, r)).unwrap().status(), 200),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function(
        "POST /v1/contacts/{contact}/consent (embedded, fsync)",
        |b| {
            b.iter_batched(
                decide,
                |r| assert_eq!(rt.block_on(handle(&deps, r)).unwrap().status(), 201),
                criterion::BatchSize::SmallInput,
            )
        },
    );
    group.bench_function(
        "POST /v1/contacts/{contact}/messages (embedded, fsync)",
        |b| {
            b.iter_batched(
                answer,
                |r| assert_eq!(rt.block_on(handle(&deps, r)).unwrap().status(), 202),
                criterion::BatchSize::SmallInput,
            )
        },
    );
    group.finish();

    for (name, make) in [
        ("GET contact", &read as &dyn Fn() -> lambda_http::Request),
        ("POST consent", &decide),
        ("POST message", &answer),
    ] {
        let samples = (0..1_000)
            .map(|_| {
                let r = make();
                let start = Instant::now();
                rt.block_on(handle(&deps, r)).unwrap();
                start.elapsed()
            })
            .collect();
        percentiles(name, samples);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = api
}
criterion_main!(benches);
