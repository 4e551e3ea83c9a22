//! Webhook events through the runner's own change router and sender (its in-process FIFO queue
//! per endpoint and contact on the background thread, the real HTTP sender and retry schedule)
//! to a local receiver, beside webhook-intake on the request path as the runner serves it:
//!
//! 1. intake alone: `INTAKE` signed deliveries, 16 at a time;
//! 2. 10,000 events at once while the receiver answers one request in 20 with a 503: every one
//!    delivered, once, in order per contact; intake beside them;
//! 3. 10,000 events at 1,000 a second (the stream's batches of 100 every 100 ms) to a healthy
//!    receiver: the delay from queueing to the receiver's acceptance.
//!
//! Embedded store, `MIZAN_EMBEDDED_DURABILITY` (default `normal` here: the queue and the sender
//! are measured, not the disk). Run: `cargo bench -p mizan-local --bench webhook_delivery`
//! (`WEBHOOK_BENCH_EVENTS`, `WEBHOOK_BENCH_CONTACTS`, `WEBHOOK_BENCH_RATE` change the sizes).

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::EventRecord;
use mizan_local::background::Background;
use mizan_local::functions;
use mizan_shared::adapters::in_process_delivery_queue::InProcessDeliveryQueue;
use mizan_shared::backend::{self, Services};
use mizan_shared::config::{Config, WebhookConfig};
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::ids::{ContactId, TenantId};
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::signature::{sign, AppSecret, AppSecrets};
use mizan_shared::domain::webhook::{DeliveryState, EndpointId, WebhookEndpoint};
use mizan_shared::ports::webhook_delivery::{DeliveryQueue, QueueError, QueuedDelivery};
use mizan_shared::startup::Wiring;
use mizan_shared::store::{layout, Store};
use mizan_shared::workflows::webhooks::{Endpoints, NewEndpoint, Router};
use mizan_test_support::bench::Percentiles;
use mizan_test_support::receiver::{Received, WebhookReceiver};
use mizan_test_support::{events, seed};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const APP_SECRET: &str = "mizan-bench-app-secret";
const PHONE: &str = "100000000000001";
const INTAKE: u64 = 4_000;
const INTAKE_CONCURRENCY: u64 = 16;

fn env_number(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The runner's queue, noting when each delivery was queued and in what order per group.
struct Timed {
    inner: Arc<InProcessDeliveryQueue>,
    queued: Mutex<HashMap<String, Instant>>,
    order: Mutex<HashMap<String, Vec<String>>>,
}

#[async_trait]
impl DeliveryQueue for Timed {
    async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError> {
        let now = Instant::now();
        {
            let mut queued = self.queued.lock().unwrap();
            let mut order = self.order.lock().unwrap();
            for d in deliveries {
                queued.insert(d.delivery.clone(), now);
                order
                    .entry(d.group.clone())
                    .or_default()
                    .push(d.delivery.clone());
            }
        }
        self.inner.enqueue(deliveries).await
    }
}

/// `INTAKE` signed one-message deliveries from 500 customers, handled by webhook-intake
/// `INTAKE_CONCURRENCY` at a time on the request path's runtime; messages per second.
async fn intake_rate(intake: &Arc<mizan_webhook_intake::Deps>, offset: u64) -> f64 {
    let started = Instant::now();
    let mut lanes = Vec::new();
    for lane in 0..INTAKE_CONCURRENCY {
        let intake = intake.clone();
        lanes.push(tokio::spawn(async move {
            let mut n = lane;
            while n < INTAKE {
                let i = offset + n;
                let wa_id = format!("1666{:07}", i % 500);
                let body = serde_json::to_vec(&serde_json::json!({
                    "object": "whatsapp_business_account",
                    "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
                        "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
                        "messages": [{"from": wa_id, "id": format!("wamid.intake.{i}"),
                                      "timestamp": "1767225600",
                                      "type": "text", "text": {"body": "Bonjour"}}]
                    }}]}]
                }))
                .unwrap();
                let signature = sign(&body, &AppSecret::new(APP_SECRET));
                let request = lambda_http::http::Request::builder()
                    .method("POST")
                    .uri("/webhooks/whatsapp")
                    .header("x-hub-signature-256", signature)
                    .body(lambda_http::Body::Binary(body))
                    .unwrap();
                let answer = mizan_webhook_intake::handle(&intake, request).await.unwrap();
                assert_eq!(answer.status(), 200);
                n += INTAKE_CONCURRENCY;
            }
        }));
    }
    for lane in lanes {
        lane.await.unwrap();
    }
    INTAKE as f64 / started.elapsed().as_secs_f64()
}

struct Bench {
    store: Store,
    tenant: TenantId,
    contacts: Vec<ContactId>,
    next: usize,
}

impl Bench {
    /// `count` messages of the contacts in turn, as their changes reach the router.
    async fn messages(&mut self, count: usize) -> Vec<EventRecord> {
        let mut records = Vec::with_capacity(count);
        for _ in 0..count {
            let n = self.next;
            self.next += 1;
            let contact = &self.contacts[n % self.contacts.len()];
            let message = seed::text_message(
                &self.store,
                (&self.tenant, contact),
                &format!("wamid.bench.{n}"),
                Direction::Inbound,
                "Bonjour",
                self.store.now(),
            )
            .await;
            records.push(
                events::stream_insert(
                    &self.store,
                    layout::message(&self.tenant, contact, &message.id),
                    n as u64 + 1,
                )
                .await,
            );
        }
        records
    }
}

/// Routes `records` on the background thread in batches of 100, `gap` apart, then waits for
/// every delivery; the time it all took.
async fn route(
    background: &Background,
    store: &Store,
    queue: &Arc<Timed>,
    records: Vec<EventRecord>,
    gap: Duration,
) -> tokio::task::JoinHandle<Duration> {
    let store = store.clone();
    let queue = queue.clone();
    background.spawn(async move {
        let started = Instant::now();
        for batch in records.chunks(100) {
            let mut router = Router::new(&store, queue.as_ref());
            for record in batch {
                router.route(record).await.unwrap();
            }
            tokio::time::sleep(gap).await;
        }
        queue.inner.drained().await;
        started.elapsed()
    })
}

/// What the receiver accepted of `endpoint` (each once?), in order per contact?, and the delays.
struct Outcome {
    delivered: usize,
    /// Deliveries the receiver accepted more than once.
    duplicates: usize,
    requests: usize,
    in_order: bool,
    first_attempts: Vec<Duration>,
    all: Vec<Duration>,
}

fn outcome(received: &[Received], queue: &Timed, endpoint: &WebhookEndpoint) -> Outcome {
    let queued = queue.queued.lock().unwrap();
    let order = queue.order.lock().unwrap();
    let mine: Vec<&Received> = received
        .iter()
        .filter(|r| {
            r.header("Mizan-Delivery-Id")
                .is_some_and(|id| queued.contains_key(id))
        })
        .collect();
    let mut attempts: HashMap<&str, usize> = HashMap::new();
    for r in &mine {
        *attempts
            .entry(r.header("Mizan-Delivery-Id").unwrap())
            .or_default() += 1;
    }
    let mut by_contact: HashMap<String, Vec<String>> = HashMap::new();
    let (mut first_attempts, mut all) = (Vec::new(), Vec::new());
    let accepted: Vec<&&Received> = mine
        .iter()
        .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
        .collect();
    for r in &accepted {
        let id = r.header("Mizan-Delivery-Id").unwrap();
        let contact = r.json()["contact"]["id"].as_str().unwrap().to_owned();
        by_contact.entry(contact).or_default().push(id.to_owned());
        let delay = r.at.duration_since(queued[id]);
        all.push(delay);
        if attempts[id] == 1 {
            first_attempts.push(delay);
        }
    }
    let in_order = order.iter().all(|(group, ids)| {
        let contact = group
            .strip_prefix(&format!("{}:", endpoint.id))
            .unwrap_or(group);
        by_contact.get(contact) == Some(ids)
    });
    let unique: std::collections::HashSet<_> = accepted
        .iter()
        .map(|r| r.header("Mizan-Delivery-Id").unwrap())
        .collect();
    Outcome {
        delivered: unique.len(),
        duplicates: accepted.len() - unique.len(),
        requests: mine.len(),
        in_order,
        first_attempts,
        all,
    }
}

async fn logged_delivered(
    store: &Store,
    tenant: &TenantId,
    endpoint: &EndpointId,
    queue: &Timed,
) -> usize {
    let ids: Vec<String> = queue.queued.lock().unwrap().keys().cloned().collect();
    let mut delivered = 0;
    for id in ids {
        let d = store
            .webhook_delivery(tenant, endpoint, &id)
            .await
            .unwrap()
            .unwrap();
        delivered += usize::from(d.value.state == DeliveryState::Delivered);
    }
    delivered
}

fn main() {
    let events_wanted = env_number("WEBHOOK_BENCH_EVENTS", 10_000);
    let contacts = env_number("WEBHOOK_BENCH_CONTACTS", 200);
    let rate = env_number("WEBHOOK_BENCH_RATE", 1_000).max(100);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let background = Background::start().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let durability = std::env::var("MIZAN_EMBEDDED_DURABILITY").unwrap_or("normal".into());
        let config = Config {
            embedded_durability: Config::from_lookup(|var| {
                (var == "MIZAN_EMBEDDED_DURABILITY").then(|| durability.clone())
            })
            .unwrap()
            .embedded_durability,
            ..Config::embedded(dir.path().to_owned(), [5; 32])
        };
        let services: Services = backend::connect(&config).await.unwrap();
        let store = services.store.clone();
        let tenant = seed::tenant(&store, "Bench", None, Some(PHONE)).await;
        let webhook = WebhookConfig {
            app_secrets: AppSecrets::from(AppSecret::new(APP_SECRET)),
            verify_token: secrecy::SecretString::from("verify"),
            max_body_bytes: 1024 * 1024,
        };
        let intake =
            Arc::new(mizan_webhook_intake::Deps::new(&services, &config, &webhook).unwrap());
        // The business's server is another machine: here it runs on the background thread too,
        // so it takes no processor time from intake either.
        let receiver = background.spawn(WebhookReceiver::start()).await.unwrap();
        let (endpoint, _) = Endpoints {
            store: &store,
            policy: functions::WEBHOOK_URLS,
        }
        .add(
            &tenant.id,
            Actor::Admin,
            NewEndpoint {
                url: receiver.url.clone(),
                events: vec!["message.received".into()],
                description: None,
            },
        )
        .await
        .unwrap();
        let mut people = Vec::new();
        for c in 0..contacts {
            people.push(seed::contact(&store, &tenant.id, &format!("2126{c:08}")).await);
        }
        let mut bench = Bench {
            store: store.clone(),
            tenant: tenant.id.clone(),
            contacts: people,
            next: 0,
        };
        let queue_of = || {
            Arc::new(Timed {
                inner: functions::webhook_deliveries(&services),
                queued: Mutex::new(HashMap::new()),
                order: Mutex::new(HashMap::new()),
            })
        };

        // 1. Intake alone (its messages' changes are not routed: they make no delivery here).
        intake_rate(&intake, 0).await;
        let alone = intake_rate(&intake, 100_000).await;

        // 2. A burst with transient failures, intake beside it.
        let records = bench.messages(events_wanted).await;
        receiver.fail_one_in(20);
        let burst = queue_of();
        let routing = route(&background, &store, &burst, records, Duration::ZERO).await;
        let beside = intake_rate(&intake, 200_000).await;
        let took = routing.await.unwrap();
        let failing = outcome(&receiver.received(), &burst, &endpoint);
        let failing_logged = logged_delivered(&store, &tenant.id, &endpoint.id, &burst).await;

        // 3. A steady flow to a healthy receiver.
        receiver.fail_one_in(0);
        let records = bench.messages(events_wanted).await;
        let steady = queue_of();
        let gap = Duration::from_secs_f64(100.0 / rate as f64);
        let flowing = route(&background, &store, &steady, records, gap)
            .await
            .await
            .unwrap();
        let healthy = outcome(&receiver.received(), &steady, &endpoint);
        // Intake alone again, for the noise between two runs of the same thing.
        let alone_after = intake_rate(&intake, 300_000).await;

        println!("webhook deliveries through the runner's router and sender, {contacts} contacts:");
        println!(
            "  {events_wanted} at once, 1 request in 20 answered 503: {} delivered of {events_wanted}, \
             {} twice ({} requests; log: {failing_logged} delivered), in order per contact: {}, all after {took:?}",
            failing.delivered, failing.duplicates, failing.requests, failing.in_order
        );
        println!(
            "    delay queued -> accepted: first attempts ({}) {}; all {}",
            failing.first_attempts.len(),
            Percentiles::of(failing.first_attempts),
            Percentiles::of(failing.all)
        );
        println!(
            "  {events_wanted} at {rate}/s, healthy receiver: {} delivered, {} twice, in order per contact: {}, all after {flowing:?}",
            healthy.delivered, healthy.duplicates, healthy.in_order
        );
        println!(
            "    delay queued -> accepted: {}",
            Percentiles::of(healthy.all)
        );
        println!(
            "intake ({INTAKE} deliveries, {INTAKE_CONCURRENCY} at a time): alone {alone:.0}/s, \
             beside the burst's deliveries {beside:.0}/s, alone again {alone_after:.0}/s"
        );
    });
    drop(background);
}
