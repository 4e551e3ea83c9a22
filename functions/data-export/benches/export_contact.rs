//! Exports one contact with 100,000 messages (`MIZAN_BENCH_MESSAGES` to change) on the embedded
//! backend, the local runner's default, and reports wall time, archive size and the peak
//! resident memory of the process that built it (target: under 64 MB).
//!
//! `cargo bench -p mizan-data-export --bench export_contact`
//!
//! The store is seeded first (durability `normal`, for speed); the export then runs in a fresh
//! child process, so its peak memory (`VmHWM`) is the export's own and not the seeding's.

use mizan_shared::adapters::embedded::Durability;
use mizan_shared::backend::{self, Services};
use mizan_shared::config::Config;
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::{ExportId, TenantId, Wamid};
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::personal::Personal;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::workflows::export::{run_job, JobOutcome};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const CHILD: &str = "--export-child";
const TEXTS: [&str; 3] = [
    "Hello, I ordered two boxes of mint tea last week and the tracking page still says pending. Can you check?",
    "Bonjour, est-ce que la livraison à Fès est possible avant vendredi ? Merci d'avance pour votre réponse.",
    "مرحبا، هل يمكنني تغيير عنوان التوصيل لطلبي الأخير؟ شكرا جزيلا على مساعدتكم",
];

fn config(dir: &Path, durability: Durability) -> Config {
    Config {
        embedded_durability: durability,
        ..Config::embedded(dir.to_owned(), [5; 32])
    }
}

async fn connect(dir: &Path, durability: Durability) -> Services {
    backend::connect(&config(dir, durability))
        .await
        .expect("embedded backend")
}

/// A tenant, one contact with `count` messages (alternating in and out), and a pending job.
async fn seed(dir: &Path, count: usize) -> (TenantId, ExportId) {
    let services = connect(dir, Durability::Normal).await;
    let store = &services.store;
    let tenant = Tenant::new("Atlas Tea", store.now());
    store.create_tenant(&tenant).await.unwrap();
    let profile = ContactProfile {
        wa_id: Some("212600000001".to_owned().into()),
        name: Some("Amina Benali".to_owned().into()),
        ..ContactProfile::default()
    };
    let contact = store
        .upsert_contact(&tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    let start = store.now().as_millis() - 20 * 86_400_000;
    for i in 0..count {
        let at = Timestamp::from_millis(start + i as i64 * 10_000);
        let wamid = Wamid::new(format!("wamid.bench.{i:07}"));
        let direction = if i % 2 == 0 {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let make = match direction {
            Direction::Inbound => Message::inbound,
            Direction::Outbound => Message::outbound,
        };
        let mut message = make(
            tenant.id.clone(),
            contact.clone(),
            store.message_id(&tenant.id, &wamid),
            wamid,
            MessageKind::Text,
            MessageContent(Personal::new(
                serde_json::json!({ "text": { "body": TEXTS[i % TEXTS.len()] } }),
            )),
            at,
        );
        if direction == Direction::Outbound {
            message.apply_status(Status::Read, at, Vec::new());
        }
        store.put_message(&message).await.unwrap();
    }
    let now = store.now();
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: tenant.id.clone(),
        scope: ExportScope::Contact { contact },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(days(7)),
        requested_by: "bench".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    store.create_export(&job).await.unwrap();
    (tenant.id, job.id)
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The child: builds the archive as the worker does and prints `wall_ms size_bytes peak_kb`.
async fn export(dir: &Path, tenant: &str, id: &str) {
    let services = connect(dir, Durability::Full).await;
    let started = Instant::now();
    let outcome = run_job(
        &services.store,
        services.archives.as_ref(),
        &TenantId::new(tenant),
        &ExportId::new(id),
    )
    .await
    .expect("the export runs");
    let JobOutcome::Ready(built) = outcome else {
        panic!("the export is built: {outcome:?}");
    };
    println!(
        "{} {} {}",
        started.elapsed().as_millis(),
        built.size_bytes,
        peak_rss_kb()
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == CHILD) {
        let dir = Path::new(&args[at + 1]);
        runtime.block_on(export(dir, &args[at + 2], &args[at + 3]));
        return;
    }
    let count: usize = std::env::var("MIZAN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let seeding = Instant::now();
    let (tenant, id) = runtime.block_on(seed(dir.path(), count));
    println!(
        "seeded one contact with {count} messages in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD,
            &dir.path().display().to_string(),
            tenant.as_str(),
            id.as_str(),
        ])
        .output()
        .expect("the export process runs");
    assert!(
        output.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let figures: Vec<u64> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split(' ')
        .filter_map(|f| f.parse().ok())
        .collect();
    let [wall_ms, size, peak_kb] = figures[..] else {
        panic!("unexpected child output: {text}");
    };
    println!(
        "export of {count} messages: wall {:.2} s, archive {:.1} MiB, peak RSS {:.1} MB ({peak_kb} kB)",
        wall_ms as f64 / 1000.0,
        size as f64 / (1024.0 * 1024.0),
        peak_kb as f64 / 1024.0,
    );
}
