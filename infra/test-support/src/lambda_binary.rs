//! A function's real binary started as Lambda starts it: the environment `template.yaml` gives
//! the function (its references resolved to the emulators' tables, key, bucket and secrets),
//! Lambda's own variables, and a Runtime API of our own ([`RuntimeApi`]) to take its events
//! from. What it logs is kept in a file the test can read.

use crate::aws_emulators::{create_secret, Deployment};
pub use crate::runtime_api::{Outcome, RuntimeApi};
use crate::store::{endpoint, AWS_ENDPOINT_VAR, DYNAMODB_ENDPOINT_VAR};
use serde_yaml::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The values `!Ref X` / `!GetAtt X.Arn` stand for, by logical id.
pub type Resources = HashMap<String, String>;

/// The app secret and verify token the sample events of `events/webhook-intake/` are made with.
pub const EVENTS_APP_SECRET: &str = "mizan-events-app-secret";
pub const EVENTS_VERIFY_TOKEN: &str = "mizan-events-verify-token";
pub const GRAPH_TOKEN: &str = "EAAG-binary-test";

/// The secrets of `template.yaml` beside the core one, as a test deployment holds them.
pub fn test_secrets() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "WebhookSecret",
            serde_json::json!({"MIZAN_WHATSAPP_APP_SECRETS": EVENTS_APP_SECRET,
                               "MIZAN_WHATSAPP_VERIFY_TOKEN": EVENTS_VERIFY_TOKEN}),
        ),
        (
            "GraphSecret",
            serde_json::json!({ "MIZAN_WHATSAPP_ACCESS_TOKEN": GRAPH_TOKEN }),
        ),
        // The template's default: no model, the built-in FAQ responder.
        ("ReplySecret", serde_json::json!({ "MIZAN_AI_API_KEY": "" })),
        (
            "ExportSecret",
            serde_json::json!({ "MIZAN_EXPORT_TOKEN_SECRET": "42".repeat(32) }),
        ),
    ]
}

/// Starts `binary` as `template.yaml`'s `function` over `deployment` (every secret made in
/// the emulator, see [`test_secrets`]), with `overrides` on top of the template's environment
/// (where the test stands in for something outside AWS, such as Meta's Graph API).
pub async fn start_function(
    deployment: &Deployment,
    function: &str,
    binary: &str,
    overrides: &[(&str, String)],
) -> FunctionProcess {
    let resources = resources(deployment, &test_secrets()).await;
    let mut environment = template_environment(function, &resources);
    for (name, value) in overrides {
        environment.retain(|(n, _)| n != name);
        environment.push(((*name).to_owned(), value.clone()));
    }
    FunctionProcess::start(Path::new(binary), function, &environment).await
}

/// The deployment's resources, with a secret made in the emulator for each of `secrets`
/// (logical id, the JSON object of variables it holds).
pub async fn resources(
    deployment: &Deployment,
    secrets: &[(&str, serde_json::Value)],
) -> Resources {
    let mut resources = Resources::from([
        ("DataTable".to_owned(), deployment.data.clone()),
        ("KeyTable".to_owned(), deployment.keys.clone()),
        ("DataKey".to_owned(), deployment.key_arn.clone()),
        ("ExportBucket".to_owned(), deployment.bucket.clone()),
        ("CoreSecret".to_owned(), deployment.core_secret.clone()),
        // `!Ref` of a queue is its URL.
        (
            "WebhookDeliveryQueue".to_owned(),
            deployment.webhook_queue.clone(),
        ),
        ("ExportJobQueue".to_owned(), deployment.export_queue.clone()),
        (
            "AnalyticsQueue".to_owned(),
            deployment.analytics_queue.clone(),
        ),
        // The API's id, in the address download links sent in the chat point at.
        ("HttpApi".to_owned(), "mizanlocal".to_owned()),
    ]);
    for (logical, value) in secrets {
        let arn = create_secret(&format!("mizan-{}", logical.to_lowercase()), value).await;
        resources.insert((*logical).to_owned(), arn);
    }
    resources
}

/// The environment `template.yaml` gives `function` (its Globals, then its own variables),
/// references resolved through `resources` and parameters to their defaults. Panics naming
/// anything it cannot resolve: a variable the template sets must mean something here too.
pub fn template_environment(function: &str, resources: &Resources) -> Vec<(String, String)> {
    let template = crate::iam_policy::template();
    let mut variables: Vec<(String, String)> = Vec::new();
    let sources = [
        &template["Globals"]["Function"]["Environment"]["Variables"],
        &template["Resources"][function]["Properties"]["Environment"]["Variables"],
    ];
    assert!(
        template["Resources"][function].is_mapping(),
        "template.yaml has no {function}"
    );
    for source in sources {
        let Some(map) = source.as_mapping() else {
            continue;
        };
        for (name, value) in map {
            let name = name.as_str().expect("a variable name").to_owned();
            let value = resolve(&template, value, resources)
                .unwrap_or_else(|| panic!("{function}: cannot resolve {name} = {value:?}"));
            variables.retain(|(n, _)| *n != name);
            variables.push((name, value));
        }
    }
    variables
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn resolve(template: &Value, value: &Value, resources: &Resources) -> Option<String> {
    match value {
        Value::Tagged(tagged) => match tagged.tag.to_string().trim_start_matches('!') {
            "Ref" => {
                let name = tagged.value.as_str()?;
                resources
                    .get(name)
                    .cloned()
                    .or_else(|| scalar(&template["Parameters"][name]["Default"]))
            }
            "GetAtt" => {
                let name = tagged.value.as_str()?.strip_suffix(".Arn")?;
                resources.get(name).cloned()
            }
            "Join" => {
                let parts = tagged.value.as_sequence()?;
                let separator = parts.first()?.as_str()?;
                let items = parts.get(1)?.as_sequence()?;
                let items: Option<Vec<String>> = items
                    .iter()
                    .map(|item| resolve(template, item, resources))
                    .collect();
                Some(items?.join(separator))
            }
            "If" => {
                let parts = tagged.value.as_sequence()?;
                let condition = parts.first()?.as_str()?;
                let holds =
                    condition_holds(template, &template["Conditions"][condition], resources)?;
                resolve(template, parts.get(if holds { 1 } else { 2 })?, resources)
            }
            "Sub" => {
                let mut text = tagged.value.as_str()?.to_owned();
                while let Some(start) = text.find("${") {
                    let end = start + text[start..].find('}')?;
                    let name = &text[start + 2..end];
                    let value = match name {
                        "AWS::Region" => "us-east-1".to_owned(),
                        "AWS::URLSuffix" => "amazonaws.com".to_owned(),
                        name => resources.get(name).cloned()?,
                    };
                    text.replace_range(start..=end, &value);
                }
                Some(text)
            }
            _ => None,
        },
        other => scalar(other),
    }
}

/// A template condition (`!Equals`, `!Not`) with parameters at their defaults.
fn condition_holds(template: &Value, condition: &Value, resources: &Resources) -> Option<bool> {
    let Value::Tagged(tagged) = condition else {
        return None;
    };
    let parts = tagged.value.as_sequence()?;
    match tagged.tag.to_string().trim_start_matches('!') {
        "Not" => Some(!condition_holds(template, parts.first()?, resources)?),
        "Equals" => Some(
            resolve(template, parts.first()?, resources)?
                == resolve(template, parts.get(1)?, resources)?,
        ),
        _ => None,
    }
}

/// The log file opened to append (both streams share it without overwriting each other).
fn appending(logs: &tempfile::NamedTempFile) -> std::fs::File {
    std::fs::OpenOptions::new()
        .append(true)
        .open(logs.path())
        .expect("the log file")
}

/// How a start that failed ended.
#[derive(Debug)]
pub struct StartFailure {
    /// `None` when it had to be stopped (it neither polled nor exited).
    pub exit_code: Option<i32>,
    pub init_error: Option<serde_json::Value>,
    pub logs: String,
}

/// A running function binary and the Runtime API it polls.
pub struct FunctionProcess {
    pub api: RuntimeApi,
    /// Right before the process was spawned (cold starts are measured from here).
    pub spawned_at: std::time::Instant,
    child: Child,
    logs: tempfile::NamedTempFile,
}

impl FunctionProcess {
    /// Starts `binary` with `environment` (plus Lambda's own variables and the emulators'
    /// endpoints), and waits until it polls for its first event.
    pub async fn start(binary: &Path, name: &str, environment: &[(String, String)]) -> Self {
        match Self::try_start(binary, name, environment).await {
            Ok(process) => process,
            Err(failure) => panic!("{name} did not start: {failure:?}"),
        }
    }

    /// The same, for a start that may fail: then how it ended and what it wrote.
    pub async fn try_start(
        binary: &Path,
        name: &str,
        environment: &[(String, String)],
    ) -> Result<Self, StartFailure> {
        Self::launch(Command::new(binary), name, environment).await
    }

    /// Starts `command` (a binary, or a peer's interpreter with its runtime client) as a
    /// function: the same environment and Runtime API, the same wait for its first poll.
    pub async fn launch(
        mut command: Command,
        name: &str,
        environment: &[(String, String)],
    ) -> Result<Self, StartFailure> {
        let api = RuntimeApi::start().await;
        let logs = tempfile::NamedTempFile::new().expect("a log file");
        command
            .env_clear()
            .envs(lambda_environment(&api.address, name))
            .env("AWS_ENDPOINT_URL", endpoint(AWS_ENDPOINT_VAR, "moto"))
            .env(
                "AWS_ENDPOINT_URL_DYNAMODB",
                endpoint(DYNAMODB_ENDPOINT_VAR, "DynamoDB Local"),
            )
            .envs(environment.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(appending(&logs))
            .stderr(appending(&logs));
        let spawned_at = std::time::Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", command.get_program()));
        let mut process = FunctionProcess {
            api,
            child,
            logs,
            spawned_at,
        };
        let started = std::time::Instant::now();
        while !process
            .api
            .wait_for_first_poll(Duration::from_millis(50))
            .await
        {
            let exited = process.child.try_wait().ok().flatten();
            if exited.is_some()
                || process.api.init_error().is_some()
                || started.elapsed() > Duration::from_secs(30)
            {
                // Whatever it still writes while exiting is part of what it said.
                let exit = match exited {
                    Some(status) => Some(status),
                    None => {
                        let _ = process.child.kill();
                        None
                    }
                };
                let _ = process.child.wait();
                return Err(StartFailure {
                    exit_code: exit.and_then(|s| s.code()),
                    init_error: process.api.init_error(),
                    logs: process.logs(),
                });
            }
        }
        Ok(process)
    }

    /// What it wrote so far (Lambda sends both streams to CloudWatch Logs).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.logs.path()).unwrap_or_default()
    }

    /// Every line it logged is structured (JSON), and none holds any of `personal` (P10).
    pub fn assert_logs_are_json_without(&self, personal: &[&str]) {
        let logs = self.logs();
        for line in logs.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                serde_json::from_str::<serde_json::Value>(line).is_ok(),
                "a log line that is not JSON: {line}"
            );
            for value in personal {
                assert!(!line.contains(value), "P10: {value} in the logs: {line}");
            }
        }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The variables Lambda itself sets for a function (the runtime client reads them).
pub fn lambda_environment(runtime_api: &str, name: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/mizan-test"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/05/[$LATEST]0"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
