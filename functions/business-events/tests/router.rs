//! The change router, driven by the sample stream batch in `events/change-router/`: a
//! customer's message and a hand-off become deliveries to the endpoints that want them, a new
//! export job is handed on to the worker's queue, and a failing queue makes Lambda retry from
//! the right record without anything made twice.

mod support;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use mizan_business_events::router;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::days;
use mizan_shared::ports::record_item::{attr, get_s};
use mizan_shared::store::layout::kind;
use mizan_shared::workflows::webhooks::events::{INSERTS, MODIFICATIONS};
use mizan_test_support::receiver::RecordingQueue;
use mizan_test_support::seed;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use support::{events_dir, harness, Harness, WA_ID};

fn sample_path() -> std::path::PathBuf {
    events_dir("change-router").join("changes.json")
}

/// What the template's stream filter passes to the router.
fn passes_the_filter(record: &EventRecord) -> bool {
    let Ok(kind) = get_s(&record.change.new_image, attr::KIND) else {
        return false;
    };
    match record.event_name.as_str() {
        "INSERT" => INSERTS.contains(&kind) || kind == kind::EXPORT_JOB,
        "MODIFY" => MODIFICATIONS.contains(&kind),
        _ => false,
    }
}

/// A customer writes, ai-reply hands the conversation to a person, the business asks for the
/// contact's export: the changes, as the stream (filtered) delivers them.
async fn the_changes_of_a_hand_off(h: &Harness) -> Event {
    let contact = seed::contact(h.store(), &h.tenant.id, WA_ID).await;
    h.system.skip_changes().await;
    seed::text_message(
        h.store(),
        (&h.tenant.id, &contact),
        "wamid.ROUTER1",
        Direction::Inbound,
        "Je veux parler à quelqu'un",
        h.store().now(),
    )
    .await;
    h.store()
        .change_contact(
            &h.tenant.id,
            &contact,
            &ContactChange::TakeOver {
                until: h.store().now().plus(days(1)),
            },
            &Actor::System("ai-reply".into()),
        )
        .await
        .unwrap();
    let now = h.store().now();
    h.store()
        .create_export(&ExportJob {
            id: ExportId::new("exp_0123456789abcdef0123456789abcdef"),
            tenant: h.tenant.id.clone(),
            scope: ExportScope::Contact { contact },
            state: ExportState::Pending,
            requested_at: now,
            expires_at: now.plus(days(7)),
            requested_by: "key_0123456789ab".into(),
            downloads: 0,
            last_audited_download_at: None,
            chat_request: None,
            download_limit: None,
        })
        .await
        .unwrap();
    let mut event = h.system.stream_event().await;
    event.records.retain(passes_the_filter);
    event
}

#[tokio::test]
async fn the_sample_batch_makes_deliveries_for_the_endpoints_that_want_them() {
    let h = harness().await;
    // MIZAN_WRITE_EVENTS=1 rewrites the sample (after a change of the record layout).
    if std::env::var_os("MIZAN_WRITE_EVENTS").is_some() {
        let produced = the_changes_of_a_hand_off(&h).await;
        std::fs::write(
            sample_path(),
            serde_json::to_string_pretty(&produced).unwrap() + "\n",
        )
        .unwrap();
    }
    let sample: Event =
        serde_json::from_str(&std::fs::read_to_string(sample_path()).unwrap()).unwrap();
    assert_eq!(
        sample
            .records
            .iter()
            .map(|r| get_s(&r.change.new_image, attr::KIND).unwrap())
            .collect::<Vec<_>>(),
        [kind::MESSAGE_IN, kind::AUDIT, kind::EXPORT_JOB],
        "the message, the hand-off's audit event, the export job"
    );
    let h = harness().await;
    // The contact the sample's changes are about (the same id: the same tenant and hash key).
    seed::contact(h.store(), &h.tenant.id, WA_ID).await;
    let (wants_both, _) = h
        .endpoint(
            "https://helpdesk.example.com/hooks",
            &["message.received", "handoff.requested"],
        )
        .await;
    let (wants_consent, _) = h
        .endpoint("https://crm.example.com/hooks", &["consent.changed"])
        .await;

    let response = router::handle(&h.router, sample.clone()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let queued = h.queue.take();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|q| q.endpoint == wants_both.id));
    let types: Vec<String> = {
        let mut types = Vec::new();
        for q in &queued {
            let d = h
                .store()
                .webhook_delivery(&q.tenant, &q.endpoint, &q.delivery)
                .await
                .unwrap()
                .unwrap();
            types.push(d.value.event.event_type.as_str().to_owned());
        }
        types
    };
    assert_eq!(types, ["message.received", "handoff.requested"]);
    assert!(h
        .store()
        .webhook_deliveries(&h.tenant.id, &wants_consent.id, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    // The export job goes on to the worker's queue as the record it is.
    let forwarded = h.forward.records.lock().unwrap().clone();
    assert_eq!(forwarded, [sample.records[2].clone()]);

    // Lambda delivers at least once: the batch again records nothing new.
    let again = router::handle_batch(&h.router, &sample).await;
    assert_eq!(again.retry_from, None);
    assert_eq!(
        h.store()
            .webhook_deliveries(&h.tenant.id, &wants_both.id, 10, None)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
}

#[tokio::test]
async fn a_failing_queue_retries_the_batch_from_the_record_it_stopped_at() {
    let h = harness().await;
    h.endpoint("https://helpdesk.example.com/hooks", &["message.received"])
        .await;
    let batch = the_changes_of_a_hand_off(&h).await;

    // The delivery queue is down: the batch is retried from the message, nothing handed on.
    struct Down;
    #[async_trait::async_trait]
    impl mizan_shared::ports::webhook_delivery::DeliveryQueue for Down {
        async fn enqueue(
            &self,
            _: &[mizan_shared::ports::webhook_delivery::QueuedDelivery],
        ) -> Result<(), mizan_shared::ports::webhook_delivery::QueueError> {
            Err(mizan_shared::ports::webhook_delivery::QueueError(
                "SQS is down".into(),
            ))
        }
    }
    let mut deps = h.router.clone();
    deps.deliveries = Arc::new(Down);
    let response = router::handle(&deps, batch.clone()).await.unwrap();
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        batch.records[0].change.sequence_number,
    );
    assert!(h.forward.records.lock().unwrap().is_empty());

    // The export job queue is down: retried from the job's record (the deliveries before it
    // are made, and not made again on the retry).
    h.forward.down.store(true, Ordering::SeqCst);
    let report = router::handle_batch(&h.router, &batch).await;
    assert_eq!(report.retry_from, batch.records[2].change.sequence_number);
    assert_eq!(h.queue.take().len(), 1);
    h.forward.down.store(false, Ordering::SeqCst);
    let mut retried = Event::default();
    retried.records = batch.records[2..].to_vec();
    let report = router::handle_batch(&h.router, &retried).await;
    assert_eq!((report.retry_from, report.export_jobs), (None, 1));
    assert!(h.queue.take().is_empty());
}

#[tokio::test]
async fn the_runner_s_router_hands_no_export_job_on() {
    let h = harness().await;
    let batch = the_changes_of_a_hand_off(&h).await;
    let queue = Arc::new(RecordingQueue::default());
    let deps = mizan_business_events::RouterDeps {
        store: h.store().clone(),
        deliveries: queue,
        export_jobs: None,
        analytics: None,
    };
    let report = router::handle_batch(&deps, &batch).await;
    assert_eq!((report.export_jobs, report.retry_from), (0, None));
}
