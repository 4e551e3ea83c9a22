//! webhook-intake on the AWS adapters (DynamoDB Local; moto for KMS and Secrets Manager), its
//! role's clients recorded: the IAM contract. Every sample delivery in `events/webhook-intake/`
//! (messages of every type, statuses, preferences, errors, unparseable bodies, bad signatures)
//! goes through the handler as its Lambda runs it, started from its secrets; then every AWS call
//! it made is allowed by `WebhookIntakeFunction`'s policy in `template.yaml`, and every action
//! the policy grants is used. Needs `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT`.

use lambda_http::Request;
use mizan_shared::backend::Services;
use mizan_shared::config::{layered, Config, WebhookConfig};
use mizan_shared::domain::signature::{sign, AppSecret};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::store::layout;
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators::{self, Deployment};
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, iam_policy, seed};
use mizan_webhook_intake::{handle, Deps, Wiring};
use std::sync::Arc;

/// The number and app secret the sample events are made for.
const PHONE: &str = "100000000000001";
const APP_SECRET: &str = "mizan-events-app-secret";

/// Every sample event, in name order.
fn sample_events() -> Vec<(String, Request)> {
    events::names("webhook-intake")
        .into_iter()
        .map(|name| {
            let request = lambda_http::request::from_str(&events::text("webhook-intake", &name))
                .unwrap_or_else(|e| panic!("events/webhook-intake/{name}: {e}"));
            (name, request)
        })
        .collect()
}

/// A customer whose contact's erasure stopped halfway.
const HALFWAY: &str = "15550109999";

/// A text delivery from `wa_id` to the sample number, signed as Meta signs it.
fn text_delivery(wamid: &str, wa_id: &str) -> Request {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "contacts": [{"profile": {"name": "Amina"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid,
                          "timestamp": Timestamp::now().as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": "Hello again"}}]
        }}]}]
    })
    .to_string()
    .into_bytes();
    let signature = sign(&body, &AppSecret::new(APP_SECRET));
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://mizanapi.execute-api.us-east-1.amazonaws.com/webhooks/whatsapp")
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(lambda_http::Body::Binary(body))
        .unwrap()
}

/// The function as one Lambda instance starts it: its secrets, then its clients.
async fn started(deployment: &Deployment, calls: &AwsCalls, webhook_secret: &str) -> Deps {
    let (role, values) = deployment
        .start_up(calls, &[("WebhookSecret", webhook_secret.to_owned())])
        .await;
    let env = |_: &str| None;
    let lookup = layered(&env, &values, true).unwrap();
    let config = Config::from_lookup(&lookup).unwrap();
    let webhook = WebhookConfig::from_lookup(&lookup).unwrap();
    let ledger = Arc::new(
        mizan_shared::adapters::table_pace_ledger::TablePaceLedger::new(role.store.clone()),
    );
    let services = Services {
        store: role.store,
        pace_ledger: ledger,
        archives: Arc::new(role.archives),
        embedded: None,
        aws: None,
    };
    Deps::new(&services, &config, &webhook).unwrap()
}

async fn deliver_all(deps: &Deps, pass: &str) {
    let events = sample_events();
    assert!(events.len() > 60, "the sample events are there");
    for (name, request) in events {
        let answer = handle(deps, request).await.unwrap();
        let status = answer.status().as_u16();
        assert!(status < 500, "{pass}: {name}: {status}");
    }
}

/// Grants used by AWS on the function's behalf or on failure paths only. Each says why.
const INDIRECT: &[&str] = &[];

#[tokio::test]
async fn intake_calls_exactly_what_its_iam_policy_grants() {
    let deployment = Deployment::create().await;
    let seed_role = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed_role.store, "Atlas Tea", None, Some(PHONE)).await;
    let webhook_secret = aws_emulators::create_secret(
        "mizan-webhook",
        &serde_json::json!({
            "MIZAN_WHATSAPP_APP_SECRETS": APP_SECRET,
            "MIZAN_WHATSAPP_VERIFY_TOKEN": "mizan-events-verify-token",
        }),
    )
    .await;
    // A contact whose erasure stopped halfway: its alias outlived its profile.
    let halfway = seed::contact(&seed_role.store, &tenant.id, HALFWAY).await;
    seed_role
        .store
        .records()
        .delete_many(vec![layout::contact(&tenant.id, &halfway)])
        .await
        .unwrap();

    let calls = AwsCalls::default();
    let deps = started(&deployment, &calls, &webhook_secret).await;
    deliver_all(&deps, "first delivery").await;
    let answer = handle(&deps, text_delivery("wamid.HALFWAY", HALFWAY))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the person is new again");
    // Meta delivers everything again two hours later, to another instance whose key cache is
    // empty: nothing is stored twice, known contacts' data keys are unwrapped to seal what is
    // new, and the contacts who write again move up the contact list.
    deployment
        .clock
        .advance(std::time::Duration::from_secs(2 * 3600));
    let deps = started(&deployment, &calls, &webhook_secret).await;
    deliver_all(&deps, "redelivery").await;
    let answer = handle(&deps, text_delivery("wamid.HALFWAY.2", HALFWAY))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    iam_policy::assert_contract("WebhookIntakeFunction", &calls, INDIRECT);
}
