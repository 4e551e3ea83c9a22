//! Cold starts of every function's release binary, and of two peers for comparison (a Node.js
//! handler with `@aws-sdk/client-dynamodb` under `aws-lambda-ric`, a Python handler with boto3
//! under `awslambdaric`): from the process's start to its first `GET /runtime/invocation/next`
//! (its init: configuration, secrets from Secrets Manager, SDK clients) and to its first
//! response (its first invocation, with its DynamoDB and KMS calls), against a Runtime API of
//! our own and the emulators. Prints median and p90 of `MIZAN_COLD_START_RUNS` (15) runs each.
//!
//! Run: `bash infra/bench/cold-start.sh` (builds the release binaries and the peers, starts the
//! emulators). Reads `MIZAN_COLD_START_BIN_DIR` (the binaries, default `target/release`) and
//! `MIZAN_COLD_START_PEERS` (the peers' directory; without it the peers are left out, said so)
//! and `MIZAN_COLD_START_ONLY` (measure only the cases whose name contains it).

use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::store::layout;
use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::fakes::graph::FakeGraph;
use mizan_test_support::lambda_binary::{self, FunctionProcess, Outcome, Resources};
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, seed};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Case {
    name: &'static str,
    /// The function in `template.yaml` whose environment it gets.
    function: &'static str,
    command: Box<dyn Fn() -> Command>,
    extra: Vec<(String, String)>,
    event: Value,
}

const PLACEHOLDER_KEY: &str = "mzn_key_000000000000_replace-with-an-api-key-of-your-tenant";

fn event(function: &str, name: &str, key: &str) -> Value {
    serde_json::from_str(&events::text(function, name).replace(PLACEHOLDER_KEY, key)).unwrap()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let runs: usize = std::env::var("MIZAN_COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin_dir = std::env::var("MIZAN_COLD_START_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/release"));

    let deployment = Deployment::create().await;
    // The binaries run on the machine's clock.
    deployment.clock.set(Timestamp::now());
    let seeding = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seeding.store, "Atlas Tea", None, Some("100000000000001")).await;
    let key = seed::api_key(&seeding.store, &tenant.id).await;
    let contact = seed::contact(&seeding.store, &tenant.id, "212600000901").await;
    let message = seed::text_message(
        &seeding.store,
        (&tenant.id, &contact),
        "wamid.COLD1",
        Direction::Inbound,
        "What are your opening hours?",
        seeding.store.now(),
    )
    .await;
    let mut batch = aws_lambda_events::event::dynamodb::Event::default();
    batch.records = vec![
        events::stream_insert(
            &seeding.store,
            layout::message(&tenant.id, &contact, &message.id),
            1,
        )
        .await,
    ];
    let queued = serde_json::to_value(events::queued_stream_records(&batch.records)).unwrap();
    let batch = serde_json::to_value(&batch).unwrap();
    let scheduled = event("retention-purge", "scheduled", "");
    let graph = FakeGraph::start().await;
    let resources = lambda_binary::resources(&deployment, &lambda_binary::test_secrets()).await;

    let binary = |name: &'static str| -> Box<dyn Fn() -> Command> {
        let path = bin_dir.join(name);
        Box::new(move || Command::new(&path))
    };
    let graph_url = vec![("MIZAN_GRAPH_BASE_URL".to_owned(), graph.base_url.clone())];
    let mut cases = vec![
        Case {
            name: "webhook-intake (signed delivery stored)",
            function: "WebhookIntakeFunction",
            command: binary("webhook-intake"),
            extra: vec![],
            event: event("webhook-intake", "post-messages-text", ""),
        },
        Case {
            name: "consent-api (GET /v1/settings)",
            function: "ConsentApiFunction",
            command: binary("consent-api"),
            extra: vec![],
            event: event("consent-api", "get-settings", &key),
        },
        Case {
            name: "ai-reply (stream batch of one message)",
            function: "AiReplyFunction",
            command: binary("ai-reply"),
            extra: graph_url.clone(),
            event: batch.clone(),
        },
        Case {
            name: "campaign-sender (scheduled turn)",
            function: "CampaignSenderFunction",
            command: binary("campaign-sender"),
            extra: graph_url,
            event: scheduled.clone(),
        },
        Case {
            name: "retention-purge (scheduled purge)",
            function: "RetentionPurgeFunction",
            command: binary("retention-purge"),
            extra: vec![],
            event: scheduled,
        },
        Case {
            name: "data-export (GET /v1/exports/{id})",
            function: "DataExportFunction",
            command: binary("data-export"),
            extra: vec![],
            event: event("data-export", "get-export-unknown", &key),
        },
        Case {
            name: "data-export-worker (queued job record)",
            function: "DataExportWorkerFunction",
            command: binary("data-export-worker"),
            extra: vec![],
            event: queued,
        },
        Case {
            name: "change-router (stream batch of one message)",
            function: "ChangeRouterFunction",
            command: binary("change-router"),
            extra: vec![],
            event: batch.clone(),
        },
        Case {
            name: "webhook-sender (SQS batch of three deliveries)",
            function: "WebhookSenderFunction",
            command: binary("webhook-sender"),
            extra: vec![],
            event: serde_json::from_str(&events::text("webhook-sender", "deliveries")).unwrap(),
        },
        Case {
            name: "analytics-counter (SQS batch of five changes)",
            function: "AnalyticsCounterFunction",
            command: binary("analytics-counter"),
            extra: vec![],
            event: serde_json::from_str(&events::text("analytics-counter", "changes")).unwrap(),
        },
    ];
    // What reading the secrets costs: the same function with its secrets in plain variables
    // (how it ran before the hardening issue moved them to Secrets Manager).
    cases.push(Case {
        name: "webhook-intake, secrets as plain variables",
        function: "WebhookIntakeFunction",
        command: binary("webhook-intake"),
        extra: plain_secrets(),
        event: event("webhook-intake", "post-messages-text", ""),
    });
    match std::env::var("MIZAN_COLD_START_PEERS") {
        Ok(peers) => cases.extend(peer_cases(Path::new(&peers), &deployment)),
        Err(_) => println!("(peers left out: MIZAN_COLD_START_PEERS is not set)"),
    }

    if let Ok(only) = std::env::var("MIZAN_COLD_START_ONLY") {
        cases.retain(|case| case.name.contains(only.as_str()));
    }
    println!(
        "{:<48} {:>22} {:>22}",
        format!("cold start, {runs} runs each"),
        "init: median / p90",
        "first response"
    );
    for case in &cases {
        let mut environment = environment_of(case.function, &resources);
        for (name, value) in &case.extra {
            environment.retain(|(n, _)| n != name);
            environment.push((name.clone(), value.clone()));
        }
        let mut init = Vec::with_capacity(runs);
        let mut first = Vec::with_capacity(runs);
        for _ in 0..runs {
            let process = FunctionProcess::launch((case.command)(), case.name, &environment)
                .await
                .unwrap_or_else(|failure| panic!("{}: {failure:?}", case.name));
            let outcome = process.api.invoke(case.event.clone()).await;
            if let Outcome::Error(error) = &outcome {
                panic!("{}: {error}\n{}", case.name, process.logs());
            }
            let timeline = process.api.timeline();
            init.push(timeline.first_poll.unwrap() - process.spawned_at);
            first.push(timeline.first_outcome.unwrap() - process.spawned_at);
        }
        println!(
            "{:<48} {:>22} {:>22}",
            case.name,
            median_p90(init),
            median_p90(first)
        );
    }
}

fn environment_of(function: &str, resources: &Resources) -> Vec<(String, String)> {
    if function.is_empty() {
        return Vec::new();
    }
    lambda_binary::template_environment(function, resources)
}

/// Every test secret's variables as plain variables, and no `MIZAN_SECRETS` to read.
fn plain_secrets() -> Vec<(String, String)> {
    let mut variables = vec![
        ("MIZAN_SECRETS".to_owned(), String::new()),
        ("MIZAN_HASH_KEY".to_owned(), hex::encode(HASH_KEY)),
    ];
    for (_, value) in lambda_binary::test_secrets() {
        for (name, value) in value.as_object().unwrap() {
            variables.push((name.clone(), value.as_str().unwrap().to_owned()));
        }
    }
    variables
}

/// The peers: the same first invocation a small function of theirs would make (one DynamoDB
/// GetItem on the data table), with the SDK client made at init as their guides advise.
fn peer_cases(peers: &Path, deployment: &Deployment) -> Vec<Case> {
    let node_dir = peers.join("node");
    let python_dir = peers.join("python");
    let environment = |dir: &Path| {
        vec![
            ("TABLE".to_owned(), deployment.data.clone()),
            ("LAMBDA_TASK_ROOT".to_owned(), dir.display().to_string()),
            ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ]
    };
    let (node_environment, python_environment) = (environment(&node_dir), environment(&python_dir));
    vec![
        Case {
            name: "peer: Node.js 20 + @aws-sdk/client-dynamodb",
            function: "",
            command: Box::new(move || {
                let mut command = Command::new("node");
                command
                    .arg(node_dir.join("node_modules/aws-lambda-ric/bin/index.mjs"))
                    .arg("index.handler")
                    .current_dir(&node_dir);
                command
            }),
            extra: node_environment,
            event: json!({"id": "cold"}),
        },
        Case {
            name: "peer: Python 3 + boto3",
            function: "",
            command: Box::new(move || {
                let mut command = Command::new(python_dir.join("venv/bin/python"));
                command
                    .args(["-m", "awslambdaric", "handler.handler"])
                    .current_dir(&python_dir);
                command
            }),
            extra: python_environment,
            event: json!({"id": "cold"}),
        },
    ]
}

fn median_p90(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "{:.1} / {:.1} ms",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.9).as_secs_f64() * 1000.0
    )
}
