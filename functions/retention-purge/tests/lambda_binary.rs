//! The real `retention-purge` binary, started as Lambda starts it (the environment
//! `template.yaml` gives it, DynamoDB Local and moto, a Runtime API of our own): EventBridge's
//! scheduled event runs a purge; any other event is refused as the handler's failure.

use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::events;
use mizan_test_support::lambda_binary::{self, FunctionProcess, StartFailure};
use serde_json::Value;
use std::path::Path;

fn event(name: &str) -> Value {
    serde_json::from_str(&events::text("retention-purge", name)).unwrap()
}

#[tokio::test]
async fn the_binary_purges_on_its_schedule_and_refuses_other_events() {
    let deployment = Deployment::create().await;
    let function = lambda_binary::start_function(
        &deployment,
        "RetentionPurgeFunction",
        env!("CARGO_BIN_EXE_retention-purge"),
        &[],
    )
    .await;
    let report = function.api.invoke(event("scheduled")).await.response();
    assert!(report.is_object(), "the purge's report: {report}");
    function.api.invoke(event("not-scheduled")).await.error();
    function.assert_logs_are_json_without(&[]);
}

/// Starts the purge's binary with its template environment changed by `change`, expecting
/// the start to fail.
async fn failed_start(change: &[(&str, &str)]) -> StartFailure {
    let deployment = Deployment::create().await;
    let resources = lambda_binary::resources(&deployment, &[]).await;
    let mut environment = lambda_binary::template_environment("RetentionPurgeFunction", &resources);
    for (name, value) in change {
        environment.retain(|(n, _)| n != name);
        environment.push(((*name).to_owned(), (*value).to_owned()));
    }
    let failure = FunctionProcess::try_start(
        Path::new(env!("CARGO_BIN_EXE_retention-purge")),
        "RetentionPurgeFunction",
        &environment,
    )
    .await
    .err()
    .expect("the start fails");
    assert_eq!(failure.exit_code, Some(1), "{failure:?}");
    failure
}

/// A configuration that cannot work stops the start: the process exits non-zero (Lambda reports
/// the init failure) after saying why in one structured log line that names the variable.
#[tokio::test]
async fn a_bad_configuration_stops_the_start_saying_which_variable() {
    let failure = failed_start(&[("MIZAN_KEY_CACHE_SECONDS", "soon")]).await;
    let said = failure
        .logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "the function cannot start")
        .unwrap_or_else(|| panic!("no structured line says why: {}", failure.logs));
    assert!(
        said["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("MIZAN_KEY_CACHE_SECONDS"),
        "{said}"
    );
}

/// A Lambda binary runs on the aws backend only (the embedded system runs in mizan-local, which
/// hosts every function): asked for the embedded one, it stops at start-up saying so.
#[tokio::test]
async fn a_function_binary_refuses_the_embedded_backend() {
    let failure = failed_start(&[
        ("MIZAN_BACKEND", "embedded"),
        ("MIZAN_DATA_DIR", "/tmp/mizan-never-opened"),
    ])
    .await;
    assert!(
        failure.logs.contains("runs on the aws backend"),
        "{}",
        failure.logs
    );
    assert!(!Path::new("/tmp/mizan-never-opened").exists());
}
