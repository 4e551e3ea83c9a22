//! `GET /v1/contacts/{contact}/messages` of one 10,000-message conversation on the embedded
//! store (each read audited, acknowledged once durable): the first page of 50, and a walk from
//! it to the end. Prints p50/p99 per page; the target is p99 under 5 ms.
//! Run: `cargo bench -p mizan-consent-api --bench conversation` (`MIZAN_BENCH_MESSAGES=N`).

use lambda_http::RequestExt;
use mizan_consent_api::{handle, Deps};
use mizan_shared::domain::message::Direction;
use mizan_test_support::bench::Percentiles;
use mizan_test_support::seed;
use mizan_test_support::system::TestSystem;
use std::time::{Duration, Instant};

const WA_ID: &str = "15550100001";

/// A request as API Gateway hands it over: the query string parsed into parameters.
fn request(token: &str, query: &[(&str, &str)]) -> lambda_http::Request {
    let parameters: std::collections::HashMap<String, String> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    lambda_http::http::Request::builder()
        .method("GET")
        .uri(format!("/v1/contacts/{WA_ID}/messages"))
        .header("authorization", format!("Bearer {token}"))
        .body(lambda_http::Body::Empty)
        .unwrap()
        .with_query_string_parameters(parameters)
}

fn main() {
    let messages: u64 = std::env::var("MIZAN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (system, deps, token) = rt.block_on(async {
        let system = TestSystem::start_in_real_time().await;
        let store = system.store();
        let tenant = seed::tenant(store, "Bench", None, None).await;
        let token = seed::api_key(store, &tenant.id).await;
        let contact = seed::contact(store, &tenant.id, WA_ID).await;
        let seeding = Instant::now();
        let start = store.now().minus(Duration::from_secs(messages));
        for n in 0..messages {
            let direction = if n % 2 == 0 {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
            seed::text_message(
                store,
                (&tenant.id, &contact),
                &format!("wamid.bench.{n:06}"),
                direction,
                "Bonjour, est-ce que la boutique est ouverte dimanche ?",
                start.plus(Duration::from_secs(n)),
            )
            .await;
        }
        println!(
            "seeded {messages} messages in {:.1} s",
            seeding.elapsed().as_secs_f64()
        );
        let deps = Deps::with_catalog(
            &system.services,
            std::sync::Arc::new(mizan_shared::adapters::local_templates::LocalTemplates::default()),
        );
        (system, deps, token)
    });
    let read = |query: &[(&str, &str)]| {
        let started = Instant::now();
        let response = rt.block_on(handle(&deps, request(&token, query))).unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert!(body["messages"].as_array().is_some_and(|m| m.len() <= 50));
        (
            started.elapsed(),
            body["next_cursor"].as_str().map(str::to_owned),
        )
    };

    let first: Vec<Duration> = (0..1_000).map(|_| read(&[("limit", "50")]).0).collect();
    println!(
        "first page of 50, {} sequential reads: {}",
        first.len(),
        Percentiles::of(first)
    );

    let mut pages = Vec::new();
    for _ in 0..5 {
        let (elapsed, mut next) = read(&[("limit", "50")]);
        pages.push(elapsed);
        while let Some(cursor) = next {
            let (elapsed, after) = read(&[("limit", "50"), ("cursor", &cursor)]);
            pages.push(elapsed);
            next = after;
        }
    }
    println!(
        "walks to the end, 5 × {} pages of 50: {}",
        pages.len() / 5,
        Percentiles::of(pages)
    );
    drop(system);
}
