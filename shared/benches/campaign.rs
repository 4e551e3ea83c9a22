//! A campaign at WhatsApp's highest pace, in real time, on the embedded backend: N recipients
//! (`MIZAN_BENCH_RECIPIENTS`, default 10,000; 10% opted out of everything, 5% blocked), the
//! tenant's limit 1,000 messages a second, the local outbox as the Graph API. Prints the
//! sustained send rate, the most sends in any one-second window, CPU time per recipient (the
//! process's user + system time over the sending, from /proc) and peak RSS.
//! Run: `cargo bench -p mizan-shared --bench campaign`
//! (`MIZAN_EMBEDDED_DURABILITY=normal` measures without an fsync per commit).

use async_trait::async_trait;
use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::campaign::CampaignRequest;
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::{ApiKeyId, PhoneNumberId, Wamid};
use mizan_shared::domain::template::{LanguageCode, Template, TemplateCategory, TemplateName};
use mizan_shared::domain::tenant::Tenant;
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

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports in USER_HZ, 100 on every architecture Mizan builds for.
    Duration::from_millis(ticks * 10)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
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
    let seeding = Instant::now();
    let tenant = rt.block_on(async {
        let mut tenant = Tenant::new("Bench", store.now());
        tenant.settings.messages_per_second = 1_000;
        store.create_tenant(&tenant).await.unwrap();
        let tenant = store
            .attach_phone_number(&tenant.id, &PhoneNumberId::new("100000000000001"))
            .await
            .unwrap();
        let template = Template {
            tenant: tenant.id.clone(),
            name: TemplateName::parse("order_update").unwrap(),
            language: LanguageCode::parse("en").unwrap(),
            meta_id: None,
            category: TemplateCategory::Utility,
            status: "APPROVED".into(),
            quality: "GREEN".into(),
            reason: None,
            parameter_format: Default::default(),
            components: Some(vec![
                serde_json::json!({"type": "BODY", "text": "Order {{1}} ships today."}),
            ]),
            updated_at: store.now(),
            applied: Default::default(),
        };
        let audit = AuditEvent::new(
            tenant.id.clone(),
            Actor::Admin,
            "template.synced",
            None,
            store.now(),
        );
        store.save_template(&template, &audit).await.unwrap();
        for n in 0..recipients {
            let profile = ContactProfile {
                wa_id: Some(format!("1555{n:07}").as_str().into()),
                ..ContactProfile::default()
            };
            let contact = store
                .upsert_contact(&tenant.id, &profile)
                .await
                .unwrap()
                .contact
                .value;
            let decision = match n % 20 {
                0 | 1 => Some((Purpose::All, ConsentAction::OptOut)),
                2 => Some((Purpose::All, ConsentAction::Block)),
                _ => None,
            };
            if let Some((purpose, action)) = decision {
                let event = ConsentEvent::from_api(
                    tenant.id.clone(),
                    contact.id,
                    store.now(),
                    purpose,
                    action,
                    format!("bench:{n}"),
                    &ApiKeyId::new("key_0123456789ab"),
                );
                store.record_consent(&event, None).await.unwrap();
            }
        }
        tenant
    });
    println!(
        "seeded {recipients} contacts in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let contacts: Vec<_> = (0..recipients)
        .map(|n| serde_json::json!({"contact": format!("1555{n:07}"), "parameters": {"body": {"1": format!("#{n}")}}}))
        .collect();
    let request: CampaignRequest = serde_json::from_value(serde_json::json!({
        "name": "Bench", "template": {"name": "order_update", "language": "en"},
        "audience": {"contacts": contacts}
    }))
    .unwrap();
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
    let cpu_before = cpu_time();
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
    let cpu = cpu_time().saturating_sub(cpu_before);
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
        peak_rss_mb()
    );
    println!("counts: {counts:?}");
}
