//! The real `webhook-intake` binary, started as Lambda starts it: the environment
//! `template.yaml` gives the function (its secrets read from Secrets Manager at start-up, the
//! tables and key on DynamoDB Local and moto) and a Runtime API of our own. Proves `main.rs`,
//! the configuration read from the environment and the Lambda glue, which the handler suites
//! (calling the handler in-process) cannot.

use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::lambda_binary;
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, seed};
use serde_json::{json, Value};

fn event(name: &str) -> Value {
    serde_json::from_str(&events::text("webhook-intake", name)).unwrap()
}

#[tokio::test]
async fn the_binary_answers_api_gateway_events_and_reports_a_bad_event_as_a_lambda_error() {
    let deployment = Deployment::create().await;
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, Some("100000000000001")).await;
    let function = lambda_binary::start_function(
        &deployment,
        "WebhookIntakeFunction",
        env!("CARGO_BIN_EXE_webhook-intake"),
        &[],
    )
    .await;

    let handshake = function.api.invoke(event("get-handshake")).await.response();
    assert_eq!(handshake["statusCode"], 200, "{handshake}");

    let delivery = function
        .api
        .invoke(event("post-messages-text"))
        .await
        .response();
    assert_eq!(delivery["statusCode"], 200, "{delivery}");
    let contact = seeding
        .store
        .find_contact(&tenant.id, IdentifierKind::WaId, "15550100001")
        .await
        .unwrap();
    assert!(contact.is_some(), "the delivery's contact is stored");

    let forged = function
        .api
        .invoke(event("post-bad-signature"))
        .await
        .response();
    assert_eq!(forged["statusCode"], 401, "{forged}");

    // Not an API Gateway event: the runtime reports the handler's failure to Lambda.
    function
        .api
        .invoke(json!({"not": "an API Gateway event"}))
        .await
        .error();

    function.assert_logs_are_json_without(&["15550100001"]);
}
