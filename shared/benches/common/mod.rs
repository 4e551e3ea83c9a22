//! What the campaign benches share (each uses its part): a tenant with N contacts (10% opted out of everything, 5%
//! blocked), an approved utility template, and a campaign request listing every contact.

use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::{ApiKeyId, PhoneNumberId};
use mizan_shared::domain::template::TemplateCategory;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::store::Store;
use std::time::Instant;

pub fn wa_id(n: usize) -> String {
    format!("1555{n:07}")
}

/// Whether the n-th contact may receive the campaign (not opted out, not blocked).
#[allow(dead_code)]
pub fn eligible(n: usize) -> bool {
    n % 20 > 2
}

/// Seeds the tenant and its contacts; returns the campaign request's body.
pub async fn seed(
    store: &Store,
    recipients: usize,
    per_second: u32,
) -> (Tenant, serde_json::Value) {
    let seeding = Instant::now();
    let mut tenant = Tenant::new("Bench", store.now());
    tenant.settings.messages_per_second = per_second;
    store.create_tenant(&tenant).await.unwrap();
    let tenant = store
        .attach_phone_number(&tenant.id, &PhoneNumberId::new("100000000000001"))
        .await
        .unwrap();
    mizan_test_support::seed::template(
        store,
        &tenant.id,
        ("order_update", "en"),
        TemplateCategory::Utility,
        "APPROVED",
        vec![serde_json::json!({"type": "BODY", "text": "Order {{1}} ships today."})],
    )
    .await;
    for n in 0..recipients {
        let profile = ContactProfile {
            wa_id: Some(wa_id(n).as_str().into()),
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
    println!(
        "seeded {recipients} contacts in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let contacts: Vec<_> = (0..recipients)
        .map(|n| serde_json::json!({"contact": wa_id(n), "parameters": {"body": {"1": format!("#{n}")}}}))
        .collect();
    let body = serde_json::json!({
        "name": "Bench", "template": {"name": "order_update", "language": "en"},
        "audience": {"contacts": contacts}
    });
    (tenant, body)
}

/// User + system CPU time of this process so far.
#[allow(dead_code)]
pub fn cpu_time() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports in USER_HZ, 100 on every architecture Mizan builds for.
    std::time::Duration::from_millis(ticks * 10)
}

pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}
