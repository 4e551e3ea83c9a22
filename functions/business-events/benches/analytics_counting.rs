//! Usage analytics counting of 100,000 stream records (`MIZAN_BENCH_RECORDS`), as the analytics
//! counter gets them from its queue (batches of 100), on the embedded store and, when
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` names DynamoDB Local, on DynamoDB:
//!
//!     cargo bench -p mizan-business-events --bench analytics_counting
//!     MIZAN_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench -p mizan-business-events --bench analytics_counting
//!
//! The records: 10 tenants over two days; 70% customer messages, 20% assistant replies (each
//! reads the conversation for its response time), 5% opt-outs by keyword, 5% campaign messages
//! reaching `delivered`. Prints the time, records per second, write requests per record (target
//! at most 1) and the counts, checked exact; then the first 10% delivered again (a retry).

use aws_lambda_events::event::dynamodb::EventRecord;
use mizan_shared::adapters::embedded::{EmbeddedKeyStore, EmbeddedStore};
use mizan_shared::domain::analytics::{day_of, total};
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, ConsentSource, Purpose};
use mizan_shared::domain::ids::{CampaignId, ContactId, MessageId, TenantId, Wamid};
use mizan_shared::domain::message::{CampaignLink, Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::SystemClock;
use mizan_shared::ports::records::Record;
use mizan_shared::store::{layout, CountedOnce, Store};
use mizan_shared::workflows::analytics::count_changes;
use mizan_test_support::events::stream_record;
use mizan_test_support::store::{dynamodb_client_at, fresh_tables, store_over};
use std::sync::Arc;
use std::time::Instant;

const TENANTS: usize = 10;
const CONTACTS: usize = 1_000;
const BATCH: usize = 100;

fn message_record(message: &Message) -> Record {
    let key = layout::message(&message.tenant, &message.contact, &message.id);
    let kind = match message.direction {
        mizan_shared::domain::message::Direction::Inbound => layout::kind::MESSAGE_IN,
        _ => layout::kind::MESSAGE_OUT,
    };
    let mut record = Record::new(key, kind, serde_json::to_value(message).unwrap());
    record.time = Some(message.sent_at);
    record
}

/// The `n` stream records of the bench, and how many customer messages they hold.
fn records(n: usize, start: Timestamp) -> (Vec<EventRecord>, u64) {
    let tenants: Vec<TenantId> = (0..TENANTS)
        .map(|t| TenantId::new(format!("ten_{t:032x}")))
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut inbound = 0;
    for i in 0..n {
        let tenant = tenants[i % TENANTS].clone();
        let contact = ContactId::new(format!("c{:032x}", i % CONTACTS));
        // Two days: the first half on the first.
        let at = start.plus(std::time::Duration::from_secs((i * 2 * 86_400 / n) as u64));
        let id = MessageId::new(format!("m{i:032x}"));
        let wamid = Wamid::new(format!("wamid.{i}"));
        let content = MessageContent::text("Bonjour");
        let sequence = 1_000_000 + i as u64;
        let record = match i % 20 {
            0..=13 => {
                inbound += 1;
                let m =
                    Message::inbound(tenant, contact, id, wamid, MessageKind::Text, content, at);
                stream_record(None, Some(&message_record(&m)), sequence)
            }
            14..=17 => {
                let m =
                    Message::outbound(tenant, contact, id, wamid, MessageKind::Text, content, at);
                stream_record(None, Some(&message_record(&m)), sequence)
            }
            18 => {
                let event = ConsentEvent {
                    tenant: tenant.clone(),
                    contact: contact.clone(),
                    at,
                    purpose: Purpose::Marketing,
                    action: ConsentAction::OptOut,
                    source: ConsentSource::Keyword,
                    evidence: format!("wamid.{i}"),
                    actor: "contact".into(),
                };
                let key = layout::consent(&tenant, &contact, at, &event.evidence);
                let record = Record::new(
                    key,
                    layout::kind::CONSENT,
                    serde_json::to_value(&event).unwrap(),
                );
                stream_record(None, Some(&record), sequence)
            }
            _ => {
                let mut m = Message::outbound(
                    tenant,
                    contact,
                    id,
                    wamid,
                    MessageKind::Template,
                    content,
                    at,
                );
                m.campaign = Some(CampaignLink {
                    id: CampaignId::new("cmp_0123456789abcdef0123456789abcdef"),
                    ordinal: i as u32,
                });
                m.status = Status::Sent;
                let old = message_record(&m);
                m.status = Status::Delivered;
                let mut new = message_record(&m);
                new.version = 2;
                stream_record(Some(&old), Some(&new), sequence)
            }
        };
        out.push(record);
    }
    (out, inbound)
}

struct Run {
    seconds: f64,
    counted: CountedOnce,
}

async fn count_all(store: &Store, records: &[EventRecord]) -> Run {
    let started = Instant::now();
    let mut counted = CountedOnce::default();
    for batch in records.chunks(BATCH) {
        counted += count_changes(store, batch).await.unwrap().counted;
    }
    Run {
        seconds: started.elapsed().as_secs_f64(),
        counted,
    }
}

async fn bench(label: &str, store: &Store, requests: &dyn Fn() -> Option<u64>, n: usize) {
    let start = Timestamp::parse_rfc3339("2026-11-02T00:00:00Z").unwrap();
    let (records, inbound) = records(n, start);
    let before = requests();
    let run = count_all(store, &records).await;
    let sent = requests().zip(before).map(|(a, b)| a - b);
    // Exact: every tenant's two days add up to what was made.
    let mut counted_in = 0;
    for t in 0..TENANTS {
        let tenant = TenantId::new(format!("ten_{t:032x}"));
        let end = start.plus(std::time::Duration::from_secs(86_400));
        let days = store
            .analytics_days(&tenant, &day_of(start), &day_of(end))
            .await
            .unwrap();
        counted_in += days.values().map(|c| total(c, "messages.in.")).sum::<u64>();
    }
    println!("{label}: {n} records in batches of {BATCH}, {TENANTS} tenants, two days");
    println!(
        "  {:.2} s, {:.0} records/s; {} transactions ({:.4} per record){}",
        run.seconds,
        n as f64 / run.seconds,
        run.counted.writes,
        run.counted.writes as f64 / n as f64,
        sent.map_or(String::new(), |s| format!(
            "; {s} DynamoDB write requests ({:.4} per record)",
            s as f64 / n as f64
        ))
    );
    println!(
        "  counted {} changes; customer messages {counted_in} of {inbound} made: {}",
        run.counted.counted,
        if counted_in == inbound {
            "exact"
        } else {
            "WRONG"
        }
    );
    let again = &records[..n / 10];
    let before = requests();
    let retry = count_all(store, again).await;
    let sent = requests().zip(before).map(|(a, b)| a - b);
    println!(
        "  the first {} again: {:.2} s, {} counted, {} already counted{}",
        again.len(),
        retry.seconds,
        retry.counted.counted,
        retry.counted.already_counted,
        sent.map_or(String::new(), |s| format!(", {s} write requests"))
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("MIZAN_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_over(
        Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
        Arc::new(EmbeddedKeyStore::open(dir.path()).unwrap()),
        dir.path(),
        Arc::new(SystemClock),
    );
    bench("embedded", &store, &|| None, n).await;
    if let Ok(url) = std::env::var("MIZAN_TEST_DYNAMODB_ENDPOINT") {
        let (records, keys) = fresh_tables(&dynamodb_client_at(&url)).await;
        let dir = tempfile::tempdir().unwrap();
        let usage = records.clone();
        let (store, _) = store_over(
            Arc::new(records),
            Arc::new(keys),
            dir.path(),
            Arc::new(SystemClock),
        );
        bench(
            "DynamoDB Local",
            &store,
            &move || Some(usage.write_usage().requests()),
            n,
        )
        .await;
    } else {
        println!("(MIZAN_TEST_DYNAMODB_ENDPOINT unset: DynamoDB Local not measured)");
    }
}
