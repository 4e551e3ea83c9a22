//! The change router, the webhook sender and the analytics counter on the AWS adapters
//! (DynamoDB Local; moto for SQS and Secrets Manager), each through its own role's recorded
//! clients: the IAM contract. The router queues a message's delivery on the FIFO queue (grouped
//! by endpoint and contact) and hands a new export job and the countable message on to their
//! queues; the sender takes the delivery from the queue as Lambda hands it out, posts it
//! signed, and sets a retry's wait on the queue; the counter counts the message once, however
//! often it is handed out. Needs `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT`
//! (set by `infra/test.sh`).

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use mizan_business_events::{counter, router, sender, CounterDeps, RouterDeps, SenderDeps};
use mizan_shared::adapters::sqs_queues::SqsQueue;
use mizan_shared::adapters::webhook_http::HttpWebhookPoster;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::days;
use mizan_shared::domain::webhook::{DeliveryState, UrlPolicy};
use mizan_shared::ports::clock::Clock;
use mizan_shared::ports::webhook_delivery::QueuedDelivery;
use mizan_shared::store::layout;
use mizan_shared::workflows::webhooks::{Endpoints, NewEndpoint};
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators::{self, Deployment};
use mizan_test_support::receiver::{Answer, WebhookReceiver};
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, iam_policy, seed};
use std::sync::Arc;

/// Grants used by AWS on the function's behalf or on failure paths only. Each says why.
const ROUTER_INDIRECT: &[&str] = &[
    // Lambda's on-failure destination sends with the function's role (and the router's own
    // sends use the action too, on its two queues).
    "sqs:SendMessage",
];
const SENDER_INDIRECT: &[&str] = &[];
const COUNTER_INDIRECT: &[&str] = &[];

/// Every message on `queue` now, as Lambda's SQS event source hands them to a function.
async fn received(queue: &str) -> SqsEvent {
    let got = aws_emulators::sqs(None)
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let mut event = SqsEvent::default();
    for message in got.messages() {
        let mut m = SqsMessage::default();
        m.message_id = message.message_id().map(str::to_owned);
        m.receipt_handle = message.receipt_handle().map(str::to_owned);
        m.body = message.body().map(str::to_owned);
        for (name, value) in message.attributes().into_iter().flatten() {
            m.attributes.insert(name.as_str().to_owned(), value.clone());
        }
        event.records.push(m);
    }
    event
}

#[tokio::test]
async fn the_router_and_the_sender_call_exactly_what_their_iam_policies_grant() {
    let deployment = Deployment::create().await;
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, None).await;
    let receiver = WebhookReceiver::start().await;
    let (endpoint, secret) = Endpoints {
        store: &seeding.store,
        policy: UrlPolicy {
            allow_loopback: true,
        },
    }
    .add(
        &tenant.id,
        Actor::Admin,
        NewEndpoint {
            url: receiver.url.clone(),
            events: vec!["message.received".into()],
            description: None,
        },
    )
    .await
    .unwrap();
    let contact = seed::contact(&seeding.store, &tenant.id, "212600000701").await;
    let message = seed::text_message(
        &seeding.store,
        (&tenant.id, &contact),
        "wamid.AWS1",
        Direction::Inbound,
        "Bonjour",
        seeding.store.now(),
    )
    .await;
    let now = seeding.store.now();
    let job = ExportJob {
        id: ExportId::new("exp_0123456789abcdef0123456789abcdef"),
        tenant: tenant.id.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(days(7)),
        requested_by: "admin".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    seeding.store.create_export(&job).await.unwrap();
    let mut batch = Event::default();
    batch.records = vec![
        events::stream_insert(
            &seeding.store,
            layout::message(&tenant.id, &contact, &message.id),
            1,
        )
        .await,
        events::stream_insert(&seeding.store, layout::export(&tenant.id, &job.id), 2).await,
    ];
    // The assistant's answer, five seconds on: counted with its response time.
    let reply = seed::text_message(
        &seeding.store,
        (&tenant.id, &contact),
        "wamid.AWS2",
        Direction::Outbound,
        "Oui, nous livrons.",
        now.plus(std::time::Duration::from_secs(5)),
    )
    .await;
    batch.records.push(
        events::stream_insert(
            &seeding.store,
            layout::message(&tenant.id, &contact, &reply.id),
            3,
        )
        .await,
    );

    // The router, as its Lambda starts.
    let router_calls = AwsCalls::default();
    let (role, _) = deployment.start_up(&router_calls, &[]).await;
    let sqs = aws_emulators::sqs(Some(&router_calls));
    let router_deps = RouterDeps {
        store: role.store,
        deliveries: Arc::new(SqsQueue::new(sqs.clone(), &deployment.webhook_queue)),
        export_jobs: Some(Arc::new(SqsQueue::new(
            sqs.clone(),
            &deployment.export_queue,
        ))),
        analytics: Some(Arc::new(SqsQueue::new(sqs, &deployment.analytics_queue))),
    };
    let report = router::handle_batch(&router_deps, &batch).await;
    assert_eq!(
        (
            report.queued,
            report.export_jobs,
            report.countable,
            report.retry_from
        ),
        (1, 1, 2, None)
    );

    // The counter counts the message, once however often SQS hands it out.
    let counter_calls = AwsCalls::default();
    let (role, _) = deployment.start_up(&counter_calls, &[]).await;
    let counter_deps = CounterDeps { store: role.store };
    let countable = received(&deployment.analytics_queue).await;
    assert_eq!(countable.records.len(), 2);
    for _ in 0..2 {
        let response = counter::handle(&counter_deps, countable.clone())
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    let day = mizan_shared::domain::analytics::day_of(seeding.store.now());
    let counted = seeding
        .store
        .analytics_days(&tenant.id, &day, &day)
        .await
        .unwrap();
    assert_eq!(counted[&day].get("messages.in.text"), Some(&1));
    assert_eq!(counted[&day].get("messages.out.ai.text"), Some(&1));
    assert_eq!(counted[&day].get("response.le_10"), Some(&1));
    let jobs = received(&deployment.export_queue).await;
    assert_eq!(jobs.records.len(), 1);
    let forwarded: aws_lambda_events::event::dynamodb::EventRecord =
        serde_json::from_str(jobs.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        forwarded.change.sequence_number,
        batch.records[1].change.sequence_number
    );

    // The sender takes the delivery as Lambda hands it out: the endpoint fails once.
    let sender_calls = AwsCalls::default();
    let (role, _) = deployment.start_up(&sender_calls, &[]).await;
    let deps = SenderDeps {
        store: role.store,
        poster: Arc::new(HttpWebhookPoster::new(UrlPolicy {
            allow_loopback: true,
        })),
        redelivery: Arc::new(SqsQueue::new(
            aws_emulators::sqs(Some(&sender_calls)),
            &deployment.webhook_queue,
        )),
    };
    let handed_out = received(&deployment.webhook_queue).await;
    assert_eq!(handed_out.records.len(), 1);
    let queued: QueuedDelivery =
        serde_json::from_str(handed_out.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        handed_out.records[0].attributes.get("MessageGroupId"),
        Some(&format!("{}:{contact}", endpoint.id))
    );
    receiver.script([Answer::Status(500)]);
    let response = sender::handle(&deps, handed_out.clone()).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    // Its wait set on the queue, it is not handed out again at once.
    assert!(received(&deployment.webhook_queue).await.records.is_empty());
    let response = sender::handle(&deps, handed_out).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let delivered = receiver.accepted();
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0].verified_at(&secret, deployment.clock.now().as_unix_seconds()));
    let logged = seeding
        .store
        .webhook_delivery(&tenant.id, &endpoint.id, &queued.delivery)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (logged.value.state, logged.value.attempts),
        (DeliveryState::Delivered, 2)
    );

    // Lambda hands the router the same batch again (a retry): the delivery made is read, not
    // made or queued again.
    let router_deps = RouterDeps {
        store: deployment.start_up(&router_calls, &[]).await.0.store,
        ..router_deps
    };
    let again = router::handle_batch(&router_deps, &batch).await;
    assert_eq!((again.queued, again.retry_from), (0, None));

    iam_policy::assert_contract("ChangeRouterFunction", &router_calls, ROUTER_INDIRECT);
    iam_policy::assert_contract("WebhookSenderFunction", &sender_calls, SENDER_INDIRECT);
    iam_policy::assert_contract("AnalyticsCounterFunction", &counter_calls, COUNTER_INDIRECT);
}
