//! The router, the OpenAPI document and `template.yaml` name the same routes: every route served
//! is documented and deployed, and nothing is documented or deployed that is not served. The
//! worker is deployed on the stream of new export jobs only.

use mizan_data_export::{resolve, Resolved, ROUTES};
use serde_yaml::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "patch", "delete", "put"];

fn yaml(relative: &str) -> Value {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn served() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect()
}

#[test]
fn every_served_route_is_in_the_openapi_document_and_vice_versa() {
    let doc = yaml("openapi.yaml");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        for method in METHODS.into_iter().filter(|m| !item[*m].is_null()) {
            documented.insert((method.to_uppercase(), path.to_owned()));
            let concrete = path.replace("{id}", "exp_0123456789abcdef0123456789abcdef");
            assert!(
                matches!(resolve(method, &concrete), Resolved::Found { .. }),
                "{method} {path}"
            );
        }
    }
    assert_eq!(documented, served());
    let text = serde_yaml::to_string(&doc).unwrap();
    for line in text.lines().filter(|l| l.contains("$ref")) {
        let target = line.split("#/").nth(1).unwrap().trim_matches(['\'', '"']);
        let mut node = &doc;
        for part in target.split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "{target} is defined");
    }
}

#[test]
fn template_deploys_the_api_on_exactly_its_routes_and_the_worker_on_new_export_jobs() {
    let t = yaml("../../template.yaml");
    let api = &t["Resources"]["DataExportFunction"];
    assert_eq!(api["Metadata"]["BuildProperties"]["Binary"], "data-export");
    let mut declared = BTreeSet::new();
    for event in api["Properties"]["Events"].as_mapping().unwrap().values() {
        assert_eq!(event["Type"], "HttpApi");
        declared.insert((
            event["Properties"]["Method"].as_str().unwrap().to_owned(),
            event["Properties"]["Path"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(declared, served());

    let worker = &t["Resources"]["DataExportWorkerFunction"];
    assert_eq!(
        worker["Metadata"]["BuildProperties"]["Binary"],
        "data-export-worker"
    );
    // It reads the queue the change router hands new export jobs to (the stream's second
    // reader, DESIGN §9); its retries end in the failure queue.
    let events = worker["Properties"]["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 1);
    let queued = events.values().next().unwrap();
    assert_eq!(queued["Type"], "SQS");
    assert_eq!(queued["Properties"]["BatchSize"], 1);
    let responses = &queued["Properties"]["FunctionResponseTypes"];
    assert_eq!(responses[0], "ReportBatchItemFailures");
    let queue = &t["Resources"]["ExportJobQueue"]["Properties"];
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"], 4);
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 900);

    // Only the worker writes archives; only the API presigns reads; neither touches data keys
    // beyond reading them.
    let actions = |function: &Value| -> BTreeSet<String> {
        function["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_sequence().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    let (api, worker) = (actions(api), actions(worker));
    assert!(worker.contains("s3:PutObject") && !api.contains("s3:PutObject"));
    assert!(api.contains("s3:GetObject") && !worker.contains("s3:GetObject"));
    assert!(worker.contains("kms:GenerateDataKey") && !api.contains("kms:GenerateDataKey"));
    for set in [&api, &worker] {
        assert!(!set.iter().any(|a| a.contains('*') || a == "dynamodb:Scan"));
    }
}
