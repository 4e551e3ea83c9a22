//! The real `consent-api` binary, started as Lambda starts it (the environment `template.yaml`
//! gives it, its secrets from Secrets Manager, DynamoDB Local and moto, a Runtime API of our
//! own): an API Gateway request answered, bad input answered 400, and an event that is no API
//! Gateway request reported as the handler's failure.

use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::lambda_binary;
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, seed};
use serde_json::{json, Value};

const PLACEHOLDER_KEY: &str = "mzn_key_000000000000_replace-with-an-api-key-of-your-tenant";

fn event(name: &str, key: &str) -> Value {
    serde_json::from_str(&events::text("consent-api", name).replace(PLACEHOLDER_KEY, key)).unwrap()
}

#[tokio::test]
async fn the_binary_serves_the_business_api_from_its_template_environment() {
    let deployment = Deployment::create().await;
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, Some("100000000000001")).await;
    let key = seed::api_key(&seeding.store, &tenant.id).await;
    let function = lambda_binary::start_function(
        &deployment,
        "ConsentApiFunction",
        env!("CARGO_BIN_EXE_consent-api"),
        &[],
    )
    .await;

    let settings = function
        .api
        .invoke(event("get-settings", &key))
        .await
        .response();
    assert_eq!(settings["statusCode"], 200, "{settings}");
    let body: Value = serde_json::from_str(settings["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["chat_retention_days"], 30,
        "the seeded tenant's settings: {body}"
    );

    let malformed = function
        .api
        .invoke(event("post-consent-malformed-json", &key))
        .await
        .response();
    assert_eq!(malformed["statusCode"], 400, "{malformed}");

    let unauthenticated = function
        .api
        .invoke(event("get-contact-without-api-key", &key))
        .await
        .response();
    assert_eq!(unauthenticated["statusCode"], 401, "{unauthenticated}");

    function
        .api
        .invoke(json!({"not": "an API Gateway event"}))
        .await
        .error();
    function.assert_logs_are_json_without(&[&key]);
}
