//! Signed webhooks to the business, on the embedded backend and DynamoDB Local alike: endpoints
//! per tenant, one delivery per event and endpoint however often a change is read, signatures a
//! receiver can check, retries and the day after which an endpoint is disabled (and the others
//! told), replays, and the erasure of a contact taking the deliveries that name it.

use mizan_shared::adapters::webhook_http::HttpWebhookPoster;
use mizan_shared::domain::audit::{Actor, AuditFilter};
use mizan_shared::domain::business_event::EventType;
use mizan_shared::domain::ids::{ContactId, TenantId};
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::days;
use mizan_shared::domain::webhook::{
    Delivery, DeliveryState, EndpointState, UrlPolicy, WebhookEndpoint, DELIVERY_LOG_DAYS,
    MAX_ENDPOINTS,
};
use mizan_shared::domain::webhook_signature::{
    DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER,
};
use mizan_shared::ports::webhook_delivery::QueuedDelivery;
use mizan_shared::store::{layout, ErasureReason};
use mizan_shared::workflows::webhooks::{
    Endpoints, NewEndpoint, Router, Sender, Turn, WebhookError,
};
use mizan_test_support::events::{stream_insert, stream_record};
use mizan_test_support::receiver::{Answer, RecordingQueue, WebhookReceiver};
use mizan_test_support::store::Harness;
use mizan_test_support::{on_both_backends, seed};
use secrecy::SecretString;
use std::time::Duration;

const RUNNER: UrlPolicy = UrlPolicy {
    allow_loopback: true,
};

fn endpoints(h: &Harness) -> Endpoints<'_> {
    Endpoints {
        store: &h.store,
        policy: RUNNER,
    }
}

async fn add(
    h: &Harness,
    tenant: &TenantId,
    url: &str,
    events: &[&str],
) -> (WebhookEndpoint, SecretString) {
    endpoints(h)
        .add(
            tenant,
            Actor::Admin,
            NewEndpoint {
                url: url.to_owned(),
                events: events.iter().map(|e| e.to_string()).collect(),
                description: Some("helpdesk".into()),
            },
        )
        .await
        .expect("the endpoint is added")
}

/// An inbound text stored for `contact`, as its stream record.
async fn message_record(
    h: &Harness,
    tenant: &TenantId,
    contact: &ContactId,
    n: u64,
) -> aws_lambda_events::event::dynamodb::EventRecord {
    let message = seed::text_message(
        &h.store,
        (tenant, contact),
        &format!("wamid.{contact}.{n}"),
        Direction::Inbound,
        "Bonjour, je m'appelle Salma",
        h.store.now(),
    )
    .await;
    stream_insert(&h.store, layout::message(tenant, contact, &message.id), n).await
}

async fn delivery(h: &Harness, queued: &QueuedDelivery) -> Delivery {
    h.store
        .webhook_delivery(&queued.tenant, &queued.endpoint, &queued.delivery)
        .await
        .unwrap()
        .expect("the delivery is in the log")
        .value
}

async fn endpoints_are_managed_per_tenant_and_checked(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let u = seed::tenant(&h.store, "Rif Oils", None, None).await;
    let (endpoint, secret) = add(
        &h,
        &t.id,
        "http://127.0.0.1:9/hook",
        &["message.received", "handoff.requested", "message.received"],
    )
    .await;
    assert!(secrecy::ExposeSecret::expose_secret(&secret).starts_with("whsec_"));
    assert_eq!(
        endpoint.events,
        [EventType::HandoffRequested, EventType::MessageReceived]
    );
    let listed = endpoints(&h).list(&t.id).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&endpoint));
    // The secret is derived again the same, never stored.
    let stored = serde_json::to_string(&listed[0]).unwrap();
    assert!(!stored.contains(secrecy::ExposeSecret::expose_secret(&secret)));
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&endpoints(&h).secret_of(&endpoint)),
        secrecy::ExposeSecret::expose_secret(&secret)
    );

    // Another tenant neither sees nor removes it.
    assert!(endpoints(&h).list(&u.id).await.unwrap().is_empty());
    assert!(matches!(
        endpoints(&h)
            .remove(&u.id, Actor::Admin, endpoint.id.as_str())
            .await,
        Err(WebhookError::EndpointNotFound)
    ));

    let refused = |input: NewEndpoint, policy: UrlPolicy| {
        let h = &h;
        let t = &t;
        async move {
            Endpoints {
                store: &h.store,
                policy,
            }
            .add(&t.id, Actor::Admin, input)
            .await
            .expect_err("refused")
        }
    };
    let input = |url: &str, events: &[&str]| NewEndpoint {
        url: url.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        description: None,
    };
    let aws = UrlPolicy::default();
    match refused(input("http://127.0.0.1:9/hook", &["export.ready"]), aws).await {
        WebhookError::Invalid { field: "url", .. } => {}
        other => panic!("{other:?}"),
    }
    match refused(input("https://hooks.example.com/", &["message.sent"]), aws).await {
        WebhookError::Invalid {
            field: "events",
            reason,
        } => assert!(reason.contains("message.sent") && reason.contains("export.ready")),
        other => panic!("{other:?}"),
    }
    match refused(input("https://hooks.example.com/", &[]), aws).await {
        WebhookError::Invalid {
            field: "events", ..
        } => {}
        other => panic!("{other:?}"),
    }
    for n in 1..MAX_ENDPOINTS {
        add(
            &h,
            &t.id,
            &format!("https://hooks{n}.example.com/"),
            &["export.ready"],
        )
        .await;
    }
    assert!(matches!(
        refused(
            input("https://one-more.example.com/", &["export.ready"]),
            aws
        )
        .await,
        WebhookError::TooMany
    ));

    endpoints(&h)
        .remove(&t.id, Actor::Admin, endpoint.id.as_str())
        .await
        .unwrap();
    assert_eq!(
        endpoints(&h).list(&t.id).await.unwrap().len(),
        MAX_ENDPOINTS - 1
    );
    let added = h
        .store
        .audit_events_matching(
            &t.id,
            &AuditFilter {
                action: Some("webhook.".into()),
                ..AuditFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(added.len(), MAX_ENDPOINTS + 1, "added ten, removed one");
}

async fn a_change_makes_one_signed_delivery_per_endpoint_that_wants_it(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let u = seed::tenant(&h.store, "Rif Oils", None, None).await;
    let receiver = WebhookReceiver::start().await;
    let (wanting, secret) = add(&h, &t.id, &receiver.url, &["message.received"]).await;
    add(&h, &t.id, &receiver.url, &["consent.changed"]).await;
    add(&h, &u.id, &receiver.url, &["message.received"]).await;
    let contact = seed::contact(&h.store, &t.id, "212600000001").await;
    let record = message_record(&h, &t.id, &contact, 1).await;

    let queue = RecordingQueue::default();
    let routed = Router::new(&h.store, &queue).route(&record).await.unwrap();
    assert_eq!((routed.events, routed.queued), (1, 1));
    let queued = queue.take();
    assert_eq!(queued[0].endpoint, wanting.id);
    assert_eq!(queued[0].group, format!("{}:{contact}", wanting.id));
    // The same change read again (a stream retry) records nothing new; a delivery never
    // attempted yet is queued again (the first read may have stopped before queueing it), the
    // same delivery under the same id, which the queue and the sender take once.
    let again = Router::new(&h.store, &queue).route(&record).await.unwrap();
    assert_eq!((again.events, again.queued), (1, 1));
    assert_eq!(queue.take(), queued);
    let log = h
        .store
        .webhook_deliveries(&t.id, &wanting.id, 10, None)
        .await
        .unwrap();
    assert_eq!(log.items.len(), 1);

    let poster = HttpWebhookPoster::new(RUNNER);
    let sender = Sender {
        store: &h.store,
        poster: &poster,
    };
    assert_eq!(sender.turn(&queued[0]).await, Turn::Finished);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let delivered = &received[0];
    // Signed at Mizan's clock (the manual one here).
    assert!(delivered.verified_at(&secret, h.store.now().as_unix_seconds()));
    assert!(!delivered.verified_at(
        &SecretString::from("whsec_other"),
        h.store.now().as_unix_seconds()
    ));
    let body = delivered.json();
    assert_eq!(body["type"], "message.received");
    assert_eq!(body["contact"]["id"], contact.as_str());
    assert_eq!(body["data"]["message"]["kind"], "text");
    assert_eq!(
        delivered.header(EVENT_TYPE_HEADER),
        Some("message.received")
    );
    assert_eq!(delivered.header(EVENT_ID_HEADER), body["id"].as_str());
    assert_eq!(
        delivered.header(DELIVERY_ID_HEADER),
        Some(queued[0].delivery.as_str())
    );
    // Nothing personal: not the number, not the words, not the wamid.
    let text = String::from_utf8(delivered.body.clone()).unwrap();
    for personal in ["212600000001", "Salma", "Bonjour", "wamid"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    let logged = delivery(&h, &queued[0]).await;
    assert_eq!(logged.state, DeliveryState::Delivered);
    assert_eq!((logged.attempts, logged.last_status), (1, Some(204)));
    // A turn of a delivery already made sends nothing more, and a later read of the change
    // queues nothing.
    assert_eq!(sender.turn(&queued[0]).await, Turn::Finished);
    assert_eq!(receiver.received().len(), 1);
    let late = Router::new(&h.store, &queue).route(&record).await.unwrap();
    assert_eq!(late.queued, 0);
}

async fn failures_are_retried_and_an_endpoint_failing_a_day_is_disabled_and_announced(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let failing = WebhookReceiver::start().await;
    let healthy = WebhookReceiver::start().await;
    let (shaky, _) = add(&h, &t.id, &failing.url, &["message.received"]).await;
    let (other, _) = add(&h, &t.id, &healthy.url, &["export.ready"]).await;
    let contact = seed::contact(&h.store, &t.id, "212600000001").await;
    let queue = RecordingQueue::default();
    let poster = HttpWebhookPoster::new(RUNNER);
    let sender = Sender {
        store: &h.store,
        poster: &poster,
    };

    // A 503, then the endpoint recovers: delivered on the retry.
    failing.script([Answer::Status(503)]);
    let record = message_record(&h, &t.id, &contact, 1).await;
    Router::new(&h.store, &queue).route(&record).await.unwrap();
    let first = queue.take().remove(0);
    assert_eq!(
        sender.turn(&first).await,
        Turn::RetryIn(Duration::from_secs(5))
    );
    let logged = delivery(&h, &first).await;
    assert_eq!(logged.state, DeliveryState::Pending);
    assert_eq!(
        (
            logged.attempts,
            logged.last_status,
            logged.last_error.as_deref()
        ),
        (1, Some(503), Some("http_503"))
    );
    assert_eq!(
        logged.next_attempt_at,
        Some(h.store.now().plus(Duration::from_secs(5)))
    );
    let noted = h
        .store
        .webhook_endpoint(&t.id, &shaky.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(noted.value.failing_since, Some(h.store.now()));
    h.clock.advance(Duration::from_secs(5));
    assert_eq!(sender.turn(&first).await, Turn::Finished);
    assert_eq!(delivery(&h, &first).await.state, DeliveryState::Delivered);
    let healed = h
        .store
        .webhook_endpoint(&t.id, &shaky.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(healed.value.failing_since, None);

    // Then it fails for a day: the delivery fails and the endpoint is disabled.
    failing.answer_all(Some(500));
    let record = message_record(&h, &t.id, &contact, 2).await;
    Router::new(&h.store, &queue).route(&record).await.unwrap();
    let second = queue.take().remove(0);
    let mut turns = 0;
    loop {
        turns += 1;
        match sender.turn(&second).await {
            Turn::RetryIn(wait) => h.clock.advance(wait),
            Turn::Finished => break,
        }
    }
    assert!(turns >= 24, "{turns} attempts in a day");
    let failed = delivery(&h, &second).await;
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.attempts, turns);
    let disabled = h
        .store
        .webhook_endpoint(&t.id, &shaky.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        disabled.value.state,
        EndpointState::Disabled { ref reason, .. } if reason == "failing"
    ));
    // Audited, and the audit event reaches the other endpoint (not the disabled one).
    let audit = h
        .store
        .audit_events_matching(
            &t.id,
            &AuditFilter {
                action: Some("webhook.endpoint_disabled".into()),
                ..AuditFilter::default()
            },
            10,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(audit.len(), 1);
    let audit_record =
        stream_insert(&h.store, layout::audit(&t.id, audit[0].at, &audit[0].id), 3).await;
    Router::new(&h.store, &queue)
        .route(&audit_record)
        .await
        .unwrap();
    let announced = queue.take();
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].endpoint, other.id);
    assert_eq!(sender.turn(&announced[0]).await, Turn::Finished);
    let told = healthy.received()[0].json();
    assert_eq!(told["type"], "webhook.endpoint_disabled");
    assert_eq!(told["data"]["endpoint"]["id"], shaky.id.as_str());

    // A new event does not reach the disabled endpoint; a replay waits for it to be enabled.
    let record = message_record(&h, &t.id, &contact, 4).await;
    let routed = Router::new(&h.store, &queue).route(&record).await.unwrap();
    assert_eq!(routed.queued, 0);
    let book = endpoints(&h);
    match book
        .replay(&t.id, Actor::Admin, shaky.id.as_str(), &second.delivery)
        .await
    {
        Err(WebhookError::State {
            code: "endpoint_disabled",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    book.enable(&t.id, Actor::Admin, shaky.id.as_str())
        .await
        .unwrap();
    failing.answer_all(None);
    let before = h
        .store
        .stored_record(&layout::webhook_delivery(
            &t.id,
            &shaky.id,
            &second.delivery,
        ))
        .await
        .unwrap()
        .unwrap();
    let replayed = book
        .replay(&t.id, Actor::Admin, shaky.id.as_str(), &second.delivery)
        .await
        .unwrap();
    assert_eq!(
        (replayed.state, replayed.replays),
        (DeliveryState::Pending, 1)
    );
    match book
        .replay(&t.id, Actor::Admin, shaky.id.as_str(), &second.delivery)
        .await
    {
        Err(WebhookError::State {
            code: "delivery_pending",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // The change of its record is what queues it again.
    let after = h
        .store
        .stored_record(&layout::webhook_delivery(
            &t.id,
            &shaky.id,
            &second.delivery,
        ))
        .await
        .unwrap()
        .unwrap();
    let routed = Router::new(&h.store, &queue)
        .route(&stream_record(Some(&before), Some(&after), 5))
        .await
        .unwrap();
    assert_eq!(routed.replays, 1);
    let again = queue.take().remove(0);
    assert_eq!(
        (again.delivery.as_str(), again.replay),
        (second.delivery.as_str(), 1)
    );
    assert_eq!(sender.turn(&again).await, Turn::Finished);
    let delivered = delivery(&h, &again).await;
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(delivered.attempts, turns + 1);
}

async fn erasing_a_contact_removes_the_deliveries_that_name_it(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, _) = add(&h, &t.id, &receiver.url, &["message.received"]).await;
    let erased = seed::contact(&h.store, &t.id, "212600000001").await;
    let kept = seed::contact(&h.store, &t.id, "212600000002").await;
    let queue = RecordingQueue::default();
    for (n, contact) in [(1, &erased), (2, &kept)] {
        let record = message_record(&h, &t.id, contact, n).await;
        Router::new(&h.store, &queue).route(&record).await.unwrap();
    }
    let queued = queue.take();
    assert_eq!(queued.len(), 2);
    // A message of theirs the router has not read yet.
    let late = message_record(&h, &t.id, &erased, 3).await;

    let versioned = h.store.contact(&t.id, &erased).await.unwrap().unwrap();
    let audit = mizan_shared::domain::audit::AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(erased.clone()),
        h.store.now(),
    );
    h.store
        .request_erasure(&versioned, ErasureReason::Request, &audit)
        .await
        .unwrap();
    h.store.erase_contact(&t.id, &erased).await.unwrap();

    let log = h
        .store
        .webhook_deliveries(&t.id, &endpoint.id, 10, None)
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event.contact.as_ref(), Some(&kept));
    // The erased contact's pending delivery is never sent.
    let poster = HttpWebhookPoster::new(RUNNER);
    let sender = Sender {
        store: &h.store,
        poster: &poster,
    };
    assert_eq!(sender.turn(&queued[0]).await, Turn::Finished);
    assert_eq!(sender.turn(&queued[1]).await, Turn::Finished);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["contact"]["id"], kept.as_str());

    // Read after the erasure, what they did is not told, and nothing is written for them.
    let routed = Router::new(&h.store, &queue).route(&late).await.unwrap();
    assert_eq!((routed.events, routed.queued), (1, 0));
    let partition = h
        .store
        .records()
        .query(
            &mizan_shared::ports::records::Query::prefix(
                layout::contact_partition(&t.id, &erased),
                "",
            ),
            mizan_shared::domain::time::Timestamp::EPOCH,
        )
        .await
        .unwrap();
    assert!(partition
        .items
        .iter()
        .all(|r| r.kind != layout::kind::WEBHOOK_DELIVERY_REF));
}

async fn a_closed_account_is_told_nothing_more(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let receiver = WebhookReceiver::start().await;
    add(&h, &t.id, &receiver.url, &["message.received"]).await;
    let contact = seed::contact(&h.store, &t.id, "212600000001").await;
    let record = message_record(&h, &t.id, &contact, 1).await;
    mizan_shared::workflows::account::change_account(
        &h.store,
        &t.id,
        mizan_shared::workflows::account::AccountChange::Close,
        Actor::Admin,
    )
    .await
    .unwrap();
    let queue = RecordingQueue::default();
    let routed = Router::new(&h.store, &queue).route(&record).await.unwrap();
    assert_eq!((routed.events, routed.queued), (1, 0));
}

async fn logged(h: &Harness, endpoint: &WebhookEndpoint) -> usize {
    h.store
        .webhook_deliveries(&endpoint.tenant, &endpoint.id, 10, None)
        .await
        .unwrap()
        .items
        .len()
}

async fn the_delivery_log_keeps_thirty_days(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let (endpoint, _) = add(
        &h,
        &t.id,
        "https://hooks.example.com/in",
        &["message.received"],
    )
    .await;
    let contact = seed::contact(&h.store, &t.id, "212600000001").await;
    let record = message_record(&h, &t.id, &contact, 1).await;
    let queue = RecordingQueue::default();
    Router::new(&h.store, &queue).route(&record).await.unwrap();
    let queued = queue.take().remove(0);
    h.clock
        .advance(days(DELIVERY_LOG_DAYS) - std::time::Duration::from_secs(1));
    assert_eq!(logged(&h, &endpoint).await, 1, "kept to its last second");
    h.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(
        logged(&h, &endpoint).await,
        0,
        "gone from the log after 30 days"
    );
    assert!(h
        .store
        .webhook_delivery(&t.id, &endpoint.id, &queued.delivery)
        .await
        .unwrap()
        .is_none());
}

on_both_backends!(
    the_delivery_log_keeps_thirty_days,
    a_closed_account_is_told_nothing_more,
    endpoints_are_managed_per_tenant_and_checked,
    a_change_makes_one_signed_delivery_per_endpoint_that_wants_it,
    failures_are_retried_and_an_endpoint_failing_a_day_is_disabled_and_announced,
    erasing_a_contact_removes_the_deliveries_that_name_it,
);
