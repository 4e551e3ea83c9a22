//! ai-reply's own overhead per reply on the embedded store: decode the stream record, read the
//! tenant, contact and conversation (decrypted), decide, claim, build the prompt, compose, send,
//! store the sealed reply and finish the claim. The model and the Graph API are in-process
//! stand-ins that answer at once, so their time is excluded.
//! Run: `cargo bench -p mizan-ai-reply --bench reply`. Target: p99 under 5 ms.

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mizan_ai_reply::{handle_batch, Deps, Outcome};
use mizan_shared::adapters::embedded::stream_event::to_stream_event;
use mizan_shared::adapters::embedded::EmbeddedStore;
use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::domain::ids::PhoneNumberId;
use mizan_shared::domain::tenant::{FaqEntry, Tenant};
use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::ports::responder::{Answer, Prompt, Responder, ResponderError};
use mizan_shared::store::Store;
use mizan_shared::workflows::intake;
use mizan_test_support::bench::Percentiles;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PHONE: &str = "100000000000001";
const CONTACTS: u64 = 1_000;

/// Answers at once: the model's time is not ai-reply's overhead.
struct InstantModel;

#[async_trait]
impl Responder for InstantModel {
    fn name(&self) -> &'static str {
        "instant"
    }
    async fn respond(&self, prompt: &Prompt) -> Result<Answer, ResponderError> {
        Ok(Answer::Text(
            format!("Thank you for asking {}.", prompt.business_name).into(),
        ))
    }
}

struct Bench {
    deps: Deps,
    embedded: EmbeddedStore,
    position: std::sync::Mutex<i64>,
    counter: AtomicU64,
}

impl Bench {
    /// The `n`-th customer message, stored by intake; its stream event (not timed).
    async fn next_event(&self) -> Event {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let store: &Store = &self.deps.store;
        let wa_id = format!("2126{:08}", n % CONTACTS);
        let body = serde_json::to_vec(&serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
                "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": format!("wamid.bench.{n}"),
                              "timestamp": store.now().as_unix_seconds().to_string(),
                              "type": "text", "text": {"body": "What are your opening hours?"}}]
            }}]}]
        }))
        .unwrap();
        intake::ingest(store, &parse_delivery(&body).unwrap())
            .await
            .unwrap();
        let from = *self.position.lock().unwrap();
        let changes = self.embedded.changes_after(from, 10_000).await.unwrap();
        *self.position.lock().unwrap() = changes.last().map_or(from, |c| c.seq);
        let inbound: Vec<_> = changes
            .into_iter()
            .filter(|c| c.new.as_ref().is_some_and(|r| r.kind == "message_in") && c.old.is_none())
            .collect();
        to_stream_event(&inbound).unwrap()
    }
}

fn reply(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bench = rt.block_on(async {
        let config = Config {
            // MIZAN_EMBEDDED_DURABILITY=normal measures the no-fsync mode.
            embedded_durability: Config::from_env()
                .map(|c| c.embedded_durability)
                .unwrap_or_default(),
            ..Config::embedded(dir.path().to_owned(), [5; 32])
        };
        let services = backend::connect(&config).await.unwrap();
        let mut tenant = Tenant::new("Bench Tea", services.store.now());
        tenant.settings.faq = vec![FaqEntry::new(
            "What are your opening hours?".into(),
            "9 to 19, Monday to Saturday.".into(),
        )];
        services.store.create_tenant(&tenant).await.unwrap();
        services
            .store
            .attach_phone_number(&tenant.id, &PhoneNumberId::new(PHONE))
            .await
            .unwrap();
        let embedded = services.embedded.clone().unwrap();
        Bench {
            deps: Deps::from_parts(
                services.store,
                Arc::new(InstantModel),
                Arc::new(Outbox::new("v24.0")),
                services.pace_ledger,
                20,
            ),
            embedded,
            position: std::sync::Mutex::new(0),
            counter: AtomicU64::new(0),
        }
    });
    let run = |event: Event| {
        let report = rt.block_on(handle_batch(&bench.deps, event));
        assert!(
            matches!(report.outcomes[..], [(_, _, Outcome::Replied(_))]),
            "{:?}",
            report.outcomes
        );
    };

    let durability = match Config::from_env().map(|c| c.embedded_durability) {
        Ok(mizan_shared::adapters::embedded::Durability::Normal) => "no fsync",
        _ => "fsync",
    };
    let mut group = c.benchmark_group("ai_reply");
    group.throughput(Throughput::Elements(1));
    let name = format!("one reply, own overhead (embedded, {durability})");
    group.bench_function(name.as_str(), |b| {
        b.iter_batched(
            || rt.block_on(bench.next_event()),
            run,
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();

    // Criterion reports means; the target is a tail latency, so measure the distribution too.
    let samples: Vec<Duration> = (0..2_000)
        .map(|_| {
            let event = rt.block_on(bench.next_event());
            let start = Instant::now();
            run(event);
            start.elapsed()
        })
        .collect();
    let count = samples.len();
    println!(
        "ai_reply overhead ({durability}) over {count} sequential replies: {}",
        Percentiles::of(samples)
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = reply
}
criterion_main!(benches);
