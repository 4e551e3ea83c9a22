//! P10: the purge's logs carry no phone number, name or message text, at every level, while it
//! removes expired content and completes an erasure. The subscriber logs TRACE from every
//! target, with the same payload cap as production (`telemetry::payload_cap`).

use lambda_runtime::{Context, LambdaEvent};
use mizan_retention_purge::{handle, Deps, Wiring};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::Wamid;
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::clock::Clock;
use mizan_shared::store::ErasureReason;
use mizan_test_support::logs::captured_logs;
use mizan_test_support::system::TestSystem;

const PHONE: &str = "212600000077";
const NAME: &str = "Yasmine Idrissi";
const TEXT: &str = "deliver to 12 rue des Oudayas";

fn scheduled_event() -> LambdaEvent<serde_json::Value> {
    let path = format!(
        "{}/../../events/retention-purge/scheduled.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let payload = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut context = Context::default();
    // Lambda's deadline is wall-clock time, whatever the test's clock says.
    context.deadline = u64::try_from(Timestamp::now().as_millis()).unwrap() + 900_000;
    LambdaEvent::new(payload, context)
}

async fn contact_with_a_message(deps: &Deps, tenant: &Tenant, wa_id: &str, wamid: &str) {
    let profile = ContactProfile {
        wa_id: Some(wa_id.to_owned().into()),
        name: Some(NAME.to_owned().into()),
        ..ContactProfile::default()
    };
    let contact = deps
        .store
        .upsert_contact(&tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    let wamid = Wamid::new(wamid);
    let now = deps.store.now();
    let message = Message::inbound(
        tenant.id.clone(),
        contact,
        deps.store.message_id(&tenant.id, &wamid),
        wamid,
        MessageKind::Text,
        MessageContent::text(TEXT),
        now,
    );
    deps.store.put_message(&message).await.unwrap();
}

#[tokio::test]
async fn the_purge_logs_no_phone_number_name_or_text_at_any_level() {
    let logs = captured_logs();
    let system = TestSystem::start().await;
    let clock = system.clock();
    let deps = Deps::new(&system.services, &system.config, &()).unwrap();
    let tenant = Tenant::new("Atlas Tea", clock.now());
    deps.store.create_tenant(&tenant).await.unwrap();
    contact_with_a_message(&deps, &tenant, PHONE, "wamid.logs.1").await;
    contact_with_a_message(&deps, &tenant, "212600000078", "wamid.logs.2").await;

    // One contact asks for erasure; the other's content expires.
    let erased = deps
        .store
        .find_contact(
            &tenant.id,
            mizan_shared::domain::identity_hash::IdentifierKind::WaId,
            PHONE,
        )
        .await
        .unwrap()
        .unwrap();
    let audit = AuditEvent::new(
        tenant.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(erased.value.id.clone()),
        clock.now(),
    );
    deps.store
        .request_erasure(&erased, ErasureReason::Request, &audit)
        .await
        .unwrap();
    clock.advance(days(31));
    let report = handle(&deps, scheduled_event()).await.unwrap();
    assert!(report.complete, "{report:?}");

    let written = logs.text();
    assert!(
        written.contains("retention_purge_run") && written.contains("retention_purge_category"),
        "the purge logged its run: {written}"
    );
    logs.assert_free_of(&[
        PHONE,
        "212600000078",
        "Yasmine",
        "Idrissi",
        "rue des Oudayas",
    ]);
}
