//! The scheduled handler driven by the events in `events/retention-purge/`.

use lambda_runtime::{Context, LambdaEvent};
use mizan_retention_purge::{handle, Deps, PurgeFailure, Wiring};
use mizan_shared::backend::connect_with_clock;
use mizan_shared::config::Config;
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::Wamid;
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::clock::{Clock, ManualClock};
use mizan_shared::store::layout;
use std::sync::Arc;

fn event(name: &str) -> LambdaEvent<serde_json::Value> {
    let path = format!(
        "{}/../../events/retention-purge/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let payload = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut context = Context::default();
    context.deadline = (Timestamp::now().as_millis() + 900_000) as u64;
    LambdaEvent::new(payload, context)
}

async fn deps(dir: &std::path::Path, clock: Arc<ManualClock>) -> Deps {
    let config = Config::from_lookup(|var| match var {
        "MIZAN_DATA_DIR" => Some(dir.display().to_string()),
        _ => None,
    })
    .unwrap();
    let services = connect_with_clock(&config, clock).await.unwrap();
    Deps::new(&services, &config, &()).unwrap()
}

#[tokio::test]
async fn the_scheduled_event_purges_what_is_due_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(Timestamp::from_millis(1_767_225_600_000)));
    let deps = deps(dir.path(), clock.clone()).await;
    let tenant = Tenant::new("Atlas Tea", clock.now());
    deps.store.create_tenant(&tenant).await.unwrap();
    let profile = ContactProfile {
        wa_id: Some("212600000001".to_owned().into()),
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
    let wamid = Wamid::new("wamid.handler.1");
    let id = deps.store.message_id(&tenant.id, &wamid);
    let now = clock.now();
    let message = Message::inbound(
        tenant.id.clone(),
        contact.clone(),
        id.clone(),
        wamid,
        MessageKind::Text,
        MessageContent::text("hello"),
        now,
    );
    deps.store.put_message(&message).await.unwrap();

    clock.advance(days(31));
    let report = handle(&deps, event("scheduled")).await.unwrap();
    assert!(report.complete);
    assert_eq!(
        report
            .counts(&tenant.id, Category::ChatContent)
            .content_removed,
        1
    );
    let stored = deps
        .store
        .stored_record(&layout::message(&tenant.id, &contact, &id))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.sealed.is_none());
    // The report is what the invocation returns: counts and tenant ids, no personal data.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("212600000001") && !json.contains("hello"));
}

#[tokio::test]
async fn another_event_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(Timestamp::from_millis(1_767_225_600_000)));
    let deps = deps(dir.path(), clock).await;
    let failure = handle(&deps, event("not-scheduled")).await.unwrap_err();
    assert!(matches!(failure, PurgeFailure::NotScheduled(_)));
    let mut garbage = event("scheduled");
    garbage.payload = serde_json::json!([1, 2]);
    assert!(matches!(
        handle(&deps, garbage).await.unwrap_err(),
        PurgeFailure::NotScheduled(_)
    ));
}
