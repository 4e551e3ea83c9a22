//! The real `change-router`, `webhook-sender` and `analytics-counter` binaries, started as
//! Lambda starts them (the environment `template.yaml` gives each, DynamoDB Local and moto, a
//! Runtime API of our own): the router queues a message's delivery on the FIFO queue and hands
//! the message on to the analytics queue; the sender takes the delivery from the queue and, as a
//! Lambda may only call public HTTPS endpoints, refuses the loopback receiver and reports the
//! delivery for retry; the counter counts the message once, and reports a message that is no
//! stream record for retry; an event of the wrong shape is the runtime's error; a missing queue
//! stops the start naming the variable.

use aws_lambda_events::event::dynamodb::Event;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::webhook::{DeliveryState, UrlPolicy};
use mizan_shared::ports::webhook_delivery::QueuedDelivery;
use mizan_shared::store::layout;
use mizan_shared::workflows::webhooks::{Endpoints, NewEndpoint};
use mizan_test_support::aws_emulators::{self, Deployment};
use mizan_test_support::lambda_binary::{self, FunctionProcess};
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, seed};
use serde_json::{json, Value};
use std::path::Path;

#[tokio::test]
async fn the_router_binary_queues_deliveries_and_the_sender_binary_takes_them() {
    let deployment = Deployment::create().await;
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, None).await;
    let (endpoint, _) = Endpoints {
        store: &seeding.store,
        policy: UrlPolicy {
            allow_loopback: true,
        },
    }
    .add(
        &tenant.id,
        Actor::Admin,
        NewEndpoint {
            url: "http://127.0.0.1:9/hook".into(),
            events: vec!["message.received".into()],
            description: None,
        },
    )
    .await
    .unwrap();
    let contact = seed::contact(&seeding.store, &tenant.id, "212600000801").await;
    let message = seed::text_message(
        &seeding.store,
        (&tenant.id, &contact),
        "wamid.BIN1",
        Direction::Inbound,
        "Bonjour",
        seeding.store.now(),
    )
    .await;
    let mut batch = Event::default();
    batch.records = vec![
        events::stream_insert(
            &seeding.store,
            layout::message(&tenant.id, &contact, &message.id),
            1,
        )
        .await,
    ];

    let router = lambda_binary::start_function(
        &deployment,
        "ChangeRouterFunction",
        env!("CARGO_BIN_EXE_change-router"),
        &[],
    )
    .await;
    let routed = router
        .api
        .invoke(serde_json::to_value(&batch).unwrap())
        .await
        .response();
    assert_eq!(
        routed,
        json!({"batchItemFailures": []}),
        "{}",
        router.logs()
    );
    router
        .api
        .invoke(json!({"not": "a stream batch"}))
        .await
        .error();

    let got = aws_emulators::sqs(None)
        .receive_message()
        .queue_url(&deployment.webhook_queue)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let message = &got.messages()[0];
    let body = message.body().unwrap();
    let queued: QueuedDelivery = serde_json::from_str(body).unwrap();
    let event = json!({"Records": [{
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": body,
        "attributes": {"MessageGroupId": queued.group, "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhook-deliveries.fifo",
        "awsRegion": "us-east-1"
    }]});

    let sender = lambda_binary::start_function(
        &deployment,
        "WebhookSenderFunction",
        env!("CARGO_BIN_EXE_webhook-sender"),
        &[],
    )
    .await;
    let answer = sender.api.invoke(event).await.response();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": message.message_id()}]}),
        "{}",
        sender.logs()
    );
    let logged = seeding
        .store
        .webhook_delivery(&tenant.id, &endpoint.id, &queued.delivery)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(logged.value.state, DeliveryState::Pending);
    assert_eq!(logged.value.last_error.as_deref(), Some("url_refused"));
    sender.api.invoke(json!({"Records": "none"})).await.error();

    let got = aws_emulators::sqs(None)
        .receive_message()
        .queue_url(&deployment.analytics_queue)
        .send()
        .await
        .unwrap();
    let countable = &got.messages()[0];
    let sqs_message = |id: &str, body: &str| {
        json!({
            "messageId": id,
            "receiptHandle": "r",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:analytics",
            "awsRegion": "us-east-1"
        })
    };
    let counter = lambda_binary::start_function(
        &deployment,
        "AnalyticsCounterFunction",
        env!("CARGO_BIN_EXE_analytics-counter"),
        &[],
    )
    .await;
    let batch = json!({"Records": [
        sqs_message("m-1", countable.body().unwrap()),
        sqs_message("m-2", "not a stream record"),
    ]});
    for _ in 0..2 {
        let answer = counter.api.invoke(batch.clone()).await.response();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]}),
            "{}",
            counter.logs()
        );
    }
    let day = mizan_shared::domain::analytics::day_of(seeding.store.now());
    let counted = seeding
        .store
        .analytics_days(&tenant.id, &day, &day)
        .await
        .unwrap();
    assert_eq!(counted[&day].get("messages.in.text"), Some(&1));
    counter.api.invoke(json!({"Records": 7})).await.error();
    router.assert_logs_are_json_without(&["212600000801", "Bonjour"]);
    sender.assert_logs_are_json_without(&["212600000801", "Bonjour"]);
    counter.assert_logs_are_json_without(&["212600000801", "Bonjour"]);
}

#[tokio::test]
async fn without_its_queue_the_sender_serves_nothing_and_says_which_variable() {
    let deployment = Deployment::create().await;
    let resources = lambda_binary::resources(&deployment, &[]).await;
    let mut environment = lambda_binary::template_environment("WebhookSenderFunction", &resources);
    environment.retain(|(n, _)| n != "MIZAN_WEBHOOK_QUEUE_URL");
    // A function's own settings are read with its secrets, after init: each invocation fails
    // as NotStarted, naming the variable, and nothing is delivered.
    let sender = FunctionProcess::start(
        Path::new(env!("CARGO_BIN_EXE_webhook-sender")),
        "WebhookSenderFunction",
        &environment,
    )
    .await;
    let deliveries: Value =
        serde_json::from_str(&events::text("webhook-sender", "deliveries")).unwrap();
    for _ in 0..2 {
        let error = sender.api.invoke(deliveries.clone()).await.error();
        assert_eq!(error["errorType"], "NotStarted", "{error}");
        assert!(
            error["errorMessage"]
                .as_str()
                .unwrap()
                .contains("MIZAN_WEBHOOK_QUEUE_URL"),
            "{error}"
        );
    }
    let logs = sender.logs();
    let said = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "the function cannot start")
        .unwrap_or_else(|| panic!("no structured line says why: {logs}"));
    assert!(
        said["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("MIZAN_WEBHOOK_QUEUE_URL"),
        "{said}"
    );
}
