//! A 100,000-recipient campaign (`MIZAN_BENCH_RECIPIENTS`) against a fake Graph API that holds
//! Meta's limits (80 messages a second per business number, one message per recipient per 6 s)
//! and answers 130429 / 131056 when they are exceeded, on the embedded backend with a simulated
//! clock for pacing (the work itself takes real time; waiting takes none). 10% of recipients
//! opted out of everything, 5% blocked. Prints sends over the limit in any one-second window,
//! the sustained rate against the limit, duplicates, ineligible sends and peak RSS.
//! Run: `cargo bench -p mizan-shared --bench campaign_pace`
//! (`MIZAN_EMBEDDED_DURABILITY=normal` for speed; pacing does not depend on it).

mod common;

use async_trait::async_trait;
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::domain::campaign::CampaignRequest;
use mizan_shared::domain::ids::{ApiKeyId, PhoneNumberId, Wamid};
use mizan_shared::ports::messenger::{Messenger, OutboundSend, Recipient, SendError, TextReply};
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer};
use mizan_shared::workflows::campaigns;
use mizan_shared::workflows::pacing::PaceClock;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: usize = 80;
const PAIR_GAP: Duration = Duration::from_secs(6);

/// Time that moves only when someone waits.
#[derive(Default)]
struct Simulated {
    now: Mutex<Duration>,
}

#[async_trait]
impl PaceClock for Simulated {
    fn now(&self) -> Duration {
        *self.now.lock().unwrap()
    }
    async fn sleep(&self, duration: Duration) {
        *self.now.lock().unwrap() += duration;
    }
}

#[derive(Default)]
struct Seen {
    window: VecDeque<Duration>,
    last_to: HashMap<String, Duration>,
    accepted: HashMap<String, u32>,
    accepted_at: Vec<Duration>,
    over_limit: u32,
    pair_refusals: u32,
}

/// Meta's limits, on the simulated clock.
struct LimitedGraph {
    clock: Arc<Simulated>,
    seen: Mutex<Seen>,
}

#[async_trait]
impl Messenger for LimitedGraph {
    fn name(&self) -> &'static str {
        "limited-fake-graph"
    }
    async fn mark_read(&self, _: &PhoneNumberId, _: &Wamid) -> Result<(), SendError> {
        Ok(())
    }
    async fn send_text(&self, _: &TextReply) -> Result<Wamid, SendError> {
        unreachable!("a campaign sends templates")
    }
    async fn send(&self, message: &OutboundSend) -> Result<Wamid, SendError> {
        let now = self.clock.now();
        let to = match &message.to {
            Recipient::WaId(w) | Recipient::UserId(w) => w.expose().clone(),
        };
        let mut seen = self.seen.lock().unwrap();
        while seen
            .window
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= Duration::from_secs(1))
        {
            seen.window.pop_front();
        }
        if seen.window.len() >= LIMIT {
            seen.over_limit += 1;
            return Err(SendError::Retryable {
                code: Some(130429),
                http_status: Some(400),
                title: "(#130429) Rate limit hit".into(),
            });
        }
        if seen
            .last_to
            .get(&to)
            .is_some_and(|t| now.saturating_sub(*t) < PAIR_GAP)
        {
            seen.pair_refusals += 1;
            return Err(SendError::Retryable {
                code: Some(131056),
                http_status: Some(400),
                title: "(#131056) pair rate limit hit".into(),
            });
        }
        seen.window.push_back(now);
        seen.last_to.insert(to.clone(), now);
        *seen.accepted.entry(to).or_default() += 1;
        seen.accepted_at.push(now);
        let n = seen.accepted_at.len();
        Ok(Wamid::new(format!("wamid.PACE{n}")))
    }
}

const SEND_CHILD: &str = "--send-child";
const CREATE_CHILD: &str = "--create-child";

fn config(dir: &std::path::Path) -> Config {
    Config {
        embedded_durability: Config::from_env()
            .map(|c| c.embedded_durability)
            .unwrap_or_default(),
        ..Config::embedded(dir.to_owned(), [9; 32])
    }
}

/// Seeding, the campaign's creation (as the API makes it from the request's body) and the
/// sending each run in a process of their own, so each peak RSS is its own.
fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == SEND_CHILD) {
        let recipients: usize = args[at + 4].parse().unwrap();
        rt.block_on(send(
            std::path::Path::new(&args[at + 1]),
            &args[at + 2],
            &args[at + 3],
            recipients,
        ));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == CREATE_CHILD) {
        rt.block_on(create(std::path::Path::new(&args[at + 1]), &args[at + 2]));
        return;
    }
    let recipients: usize = std::env::var("MIZAN_BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let tenant = rt.block_on(async {
        let services = backend::connect(&config(dir.path())).await.unwrap();
        let (tenant, body) = common::seed(&services.store, recipients, LIMIT as u32).await;
        std::fs::write(
            dir.path().join(BODY_FILE),
            serde_json::to_vec(&body).unwrap(),
        )
        .unwrap();
        tenant.id
    });
    let dir_arg = dir.path().display().to_string();
    let created = std::process::Command::new(std::env::current_exe().unwrap())
        .args([CREATE_CHILD, &dir_arg, tenant.as_str()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(created.status.success());
    let campaign = String::from_utf8(created.stdout).unwrap();
    let campaign = campaign.lines().last().unwrap().trim().to_owned();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            SEND_CHILD,
            &dir_arg,
            tenant.as_str(),
            &campaign,
            &recipients.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

const BODY_FILE: &str = "campaign-request.json";

/// The API's side: the request's body parsed, checked and stored; prints its figures on stderr
/// and the campaign's id on stdout.
async fn create(dir: &std::path::Path, tenant: &str) {
    let services = backend::connect(&config(dir)).await.unwrap();
    let store = services.store.clone();
    let tenant = store
        .tenant(&mizan_shared::domain::ids::TenantId::new(tenant))
        .await
        .unwrap()
        .unwrap();
    let body = std::fs::read(dir.join(BODY_FILE)).unwrap();
    let creating = Instant::now();
    // Decoded as the API decodes it (its 6 MiB body limit).
    let request: CampaignRequest =
        mizan_shared::http_api::input::decode_within(&body, 6 * 1024 * 1024).unwrap();
    drop(body);
    let campaign = campaigns::create(
        &store,
        &tenant,
        &ApiKeyId::new("key_0123456789ab"),
        request.check().unwrap(),
    )
    .await
    .unwrap();
    eprintln!(
        "the campaign's creation from its request body: {:.0} ms, peak RSS {:.0} MB (the API's side)",
        creating.elapsed().as_secs_f64() * 1000.0,
        common::peak_rss_mb()
    );
    println!("{}", campaign.id);
}

async fn send(dir: &std::path::Path, tenant: &str, campaign: &str, recipients: usize) {
    let services = backend::connect(&config(dir)).await.unwrap();
    let store = services.store.clone();
    let tenant = mizan_shared::domain::ids::TenantId::new(tenant);
    let campaign = mizan_shared::domain::ids::CampaignId::new(campaign);
    let clock = Arc::new(Simulated::default());
    let graph = LimitedGraph {
        clock: clock.clone(),
        seen: Mutex::new(Seen::default()),
    };
    let pacer = Pacer::with_clock(clock.clone());
    let sender = CampaignSender {
        store: &store,
        messenger: &graph,
        pacer: &pacer,
        batch: 1_000,
        started_at: store.now(),
    };
    let real = Instant::now();
    loop {
        sender.turn().await.unwrap();
        let state = store
            .campaign(&tenant, &campaign)
            .await
            .unwrap()
            .unwrap()
            .value
            .state;
        if state.is_final() {
            break;
        }
    }
    let seen = graph.seen.lock().unwrap();
    let sent = seen.accepted_at.len();
    let span = seen
        .accepted_at
        .last()
        .zip(seen.accepted_at.first())
        .map_or(Duration::ZERO, |(l, f)| l.saturating_sub(*f));
    let duplicates = seen.accepted.values().filter(|n| **n > 1).count();
    let ineligible = (0..recipients)
        .filter(|n| !common::eligible(*n) && seen.accepted.contains_key(&common::wa_id(*n)))
        .count();
    let eligible = (0..recipients).filter(|n| common::eligible(*n)).count();
    let rate = sent as f64 / span.as_secs_f64().max(0.001);
    println!(
        "campaign of {recipients} recipients at {LIMIT}/s (simulated clock): {sent} of {eligible} eligible sent \
         over {:.0} simulated s in {:.1} real s",
        span.as_secs_f64(),
        real.elapsed().as_secs_f64()
    );
    println!(
        "sends over the limit in any one-second window: {} (refused 130429: {}, pair-rate refusals: {}); \
         sustained {rate:.1} messages/s = {:.1}% of the limit; duplicates {duplicates}; ineligible sends {ineligible}; \
         the sender's peak RSS {:.0} MB",
        seen.over_limit,
        seen.over_limit,
        seen.pair_refusals,
        100.0 * rate / LIMIT as f64,
        common::peak_rss_mb()
    );
}
