//! A campaign at WhatsApp's highest pace, in real time, on the embedded backend: N recipients
//! (`MIZAN_BENCH_RECIPIENTS`, default 10,000; 10% opted out of everything, 5% blocked), the
//! tenant's limit 1,000 messages a second, the local outbox as the Graph API. Prints the
//! sustained send rate, the most sends in any one-second window, CPU time per recipient (the
//! process's user + system time over the sending, from /proc) and peak RSS.
//! Run: `cargo bench -p mizan-shared --bench campaign`
//! (`MIZAN_EMBEDDED_DURABILITY=normal` measures without an fsync per commit).

mod common;

use async_trait::async_trait;
use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::domain::campaign::CampaignRequest;
use mizan_shared::domain::ids::{ApiKeyId, PhoneNumberId, Wamid};
use mizan_shared::ports::messenger::{Messenger, OutboundSend, SendError, TextReply};
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer};
use mizan_shared::workflows::campaigns;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The outbox, remembering when each send happened.
struct Timed {
    outbox: Outbox,
    at: Mutex<Vec<Instant>>,
}

#[async_trait]
impl Messenger for Timed {
    fn name(&self) -> &'static str {
        "timed-outbox"
    }
    async fn mark_read(&self, from: &PhoneNumberId, message: &Wamid) -> Result<(), SendError> {
        self.outbox.mark_read(from, message).await
    }
    async fn send_text(&self, reply: &TextReply) -> Result<Wamid, SendError> {
        self.outbox.send_text(reply).await
    }
    async fn send(&self, message: &OutboundSend) -> Result<Wamid, SendError> {
        self.at.lock().unwrap().push(Instant::now());
        self.outbox.send(message).await
    }
}

fn main() {
    let recipients: usize = std::env::var("MIZAN_BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        embedded_durability: Config::from_env()
            .map(|c| c.embedded_durability)
            .unwrap_or_default(),
        ..Config::embedded(dir.path().to_owned(), [7; 32])
    };
    let services = rt.block_on(backend::connect(&config)).unwrap();
    let store = services.store.clone();
    let (tenant, body) = rt.block_on(common::seed(&store, recipients, 1_000));
    let request: CampaignRequest = serde_json::from_value(body).unwrap();
    let creating = Instant::now();
    let campaign = rt
        .block_on(campaigns::create(
            &store,
            &tenant,
            &ApiKeyId::new("key_0123456789ab"),
            request.check().unwrap(),
        ))
        .unwrap();
    println!(
        "campaign accepted in {:.0} ms",
        creating.elapsed().as_secs_f64() * 1000.0
    );

    let messenger = Timed {
        outbox: Outbox::new("v24.0"),
        at: Mutex::new(Vec::new()),
    };
    let pacer = Pacer::default();
    let sender = CampaignSender {
        store: &store,
        messenger: &messenger,
        pacer: &pacer,
        batch: 1_000,
        started_at: store.now(),
    };
    let cpu_before = common::cpu_time();
    let sending = Instant::now();
    loop {
        rt.block_on(sender.turn()).unwrap();
        let state = rt
            .block_on(store.campaign(&tenant.id, &campaign.id))
            .unwrap()
            .unwrap()
            .value
            .state;
        if state.is_final() {
            break;
        }
    }
    let wall = sending.elapsed();
    let cpu = common::cpu_time().saturating_sub(cpu_before);
    let at = messenger.at.lock().unwrap().clone();
    let sent = at.len();
    let mut most = 0;
    let mut start = 0;
    for end in 0..at.len() {
        while at[end].duration_since(at[start]) >= Duration::from_secs(1) {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    let counts = rt
        .block_on(store.campaign_counts(&tenant.id, &campaign.id))
        .unwrap();
    println!(
        "campaign of {recipients} recipients at 1,000 messages/s: {sent} sent in {:.1} s \
         ({:.0} messages/s sustained), at most {most} in any one-second window",
        wall.as_secs_f64(),
        sent as f64
            / at.last()
                .zip(at.first())
                .map_or(1.0, |(l, f)| l.duration_since(*f).as_secs_f64().max(0.001)),
    );
    println!(
        "CPU {:.3} ms per recipient (user + system over the sending), peak RSS {:.0} MB",
        cpu.as_secs_f64() * 1000.0 / recipients as f64,
        common::peak_rss_mb()
    );
    println!("counts: {counts:?}");
}
