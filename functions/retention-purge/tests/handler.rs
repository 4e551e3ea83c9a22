//! The scheduled handler driven by the events in `events/retention-purge/`.

use lambda_runtime::{Context, LambdaEvent};
use mizan_retention_purge::{handle, Deps, PurgeFailure, Wiring};
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::clock::Clock;
use mizan_shared::store::layout;
use mizan_test_support::seed;
use mizan_test_support::system::TestSystem;

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

async fn system_and_deps() -> (TestSystem, Deps) {
    let system = TestSystem::start().await;
    let deps = Deps::new(&system.services, &system.config, &()).unwrap();
    (system, deps)
}

#[tokio::test]
async fn the_scheduled_event_purges_what_is_due_and_reports_it() {
    let (system, deps) = system_and_deps().await;
    let tenant = seed::tenant(&deps.store, "Atlas Tea", None, None).await;
    let contact = seed::contact(&deps.store, &tenant.id, "212600000001").await;
    let message = seed::text_message(
        &deps.store,
        (&tenant.id, &contact),
        "wamid.handler.1",
        Direction::Inbound,
        "hello",
        system.clock().now(),
    )
    .await;
    let id = message.id;

    system.clock().advance(days(31));
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
    let (_system, deps) = system_and_deps().await;
    let failure = handle(&deps, event("not-scheduled")).await.unwrap_err();
    assert!(matches!(failure, PurgeFailure::NotScheduled(_)));
    let mut garbage = event("scheduled");
    garbage.payload = serde_json::json!([1, 2]);
    assert!(matches!(
        handle(&deps, garbage).await.unwrap_err(),
        PurgeFailure::NotScheduled(_)
    ));
}
