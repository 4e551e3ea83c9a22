//! The real `data-export` and `data-export-worker` binaries, started as Lambda starts them (the
//! environment `template.yaml` gives each, secrets from Secrets Manager, DynamoDB Local and
//! moto, a Runtime API of our own): an export asked through the API binary is built by the
//! worker binary from the stream record of its job, into S3 under SSE-KMS, and then shown
//! ready with its download link.

mod support;

use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::store::layout;
use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, lambda_binary, seed};
use serde_json::{json, Value};

fn api_event(name: &str, key: &str, export: &str) -> Value {
    let text = std::fs::read_to_string(support::events_dir().join(format!("{name}.json")))
        .unwrap()
        .replace(support::PLACEHOLDER_KEY, key)
        .replace(support::PLACEHOLDER_EXPORT, export);
    serde_json::from_str(&text).unwrap()
}

fn body_of(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or_default()
}

#[tokio::test]
async fn an_export_asked_of_the_api_binary_is_built_by_the_worker_binary() {
    let deployment = Deployment::create().await;
    deployment.clock.set(Timestamp::now());
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, Some("100000000000001")).await;
    let key = seed::api_key(&seeding.store, &tenant.id).await;
    seed::contact_with_messages(&seeding.store, &tenant.id, "212600000801", 2).await;
    let api = lambda_binary::start_function(
        &deployment,
        "DataExportFunction",
        env!("CARGO_BIN_EXE_data-export"),
        &[],
    )
    .await;
    let worker = lambda_binary::start_function(
        &deployment,
        "DataExportWorkerFunction",
        env!("CARGO_BIN_EXE_data-export-worker"),
        &[],
    )
    .await;

    let asked = api
        .api
        .invoke(api_event("post-export-tenant", &key, ""))
        .await
        .response();
    assert_eq!(asked["statusCode"], 202, "{asked}");
    let id = ExportId::new(body_of(&asked)["id"].as_str().unwrap());
    // The job's stream record, as the change router queues it for the worker.
    let queued = events::queued_stream_records(&[events::stream_insert(
        &seeding.store,
        layout::export(&tenant.id, &id),
        1,
    )
    .await]);
    let built = worker
        .api
        .invoke(serde_json::to_value(&queued).unwrap())
        .await
        .response();
    assert_eq!(built, json!({"batchItemFailures": []}), "{}", worker.logs());

    let view = api
        .api
        .invoke(api_event("get-export", &key, id.as_str()))
        .await
        .response();
    let view = body_of(&view);
    assert_eq!(view["status"], "ready", "{view}");
    assert!(view["download_url"].is_string(), "{view}");
    let unknown = api
        .api
        .invoke(api_event("get-export-unknown", &key, ""))
        .await
        .response();
    assert_eq!(unknown["statusCode"], 404, "{unknown}");
    api.assert_logs_are_json_without(&["212600000801", &key]);
    worker.assert_logs_are_json_without(&["212600000801"]);
}
