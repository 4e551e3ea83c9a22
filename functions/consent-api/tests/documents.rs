//! The router, the OpenAPI document and `template.yaml` name the same routes: every route served
//! is documented and deployed, and nothing is documented or deployed that is not served.

use mizan_consent_api::{resolve, Resolved, ROUTES};
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

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if !item[method].is_null() {
                routes.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    routes
}

#[test]
fn every_served_route_is_in_the_openapi_document_and_vice_versa() {
    let doc = yaml("openapi.yaml");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(documented(&doc), served());
    // And each documented route is one the router resolves.
    for (method, path) in documented(&doc) {
        let concrete = path
            .replace("{contact}", "15550100001")
            .replace("{id}", "key_0123456789ab")
            .replace("{name}/{language}", "order_update/en_US");
        assert!(
            matches!(resolve(&method, &concrete), Resolved::Found { .. }),
            "{method} {path}"
        );
    }
}

#[test]
fn every_documented_operation_declares_its_errors_and_every_reference_resolves() {
    let doc = yaml("openapi.yaml");
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        for method in METHODS {
            let op = &item[method];
            if op.is_null() {
                continue;
            }
            let responses = op["responses"].as_mapping().unwrap();
            let has = |code: &str| responses.contains_key(Value::from(code));
            assert!(has("401"), "{method} {path} documents 401");
            if path.contains("{contact}") {
                assert!(
                    has("400") && has("404"),
                    "{method} {path} documents 400 and 404"
                );
            }
            if method != "get" {
                assert!(
                    has("400") || path == "/v1/settings",
                    "{method} {path} documents 400"
                );
            }
        }
    }
    let text = serde_yaml::to_string(&doc).unwrap();
    for line in text.lines().filter(|l| l.contains("$ref")) {
        let target = line
            .split("#/")
            .nth(1)
            .unwrap()
            .trim_matches(|c| c == '\'' || c == '"');
        let mut node = &doc;
        for part in target.split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "{target} is defined");
    }
}

#[test]
fn template_declares_exactly_the_served_routes_on_the_consent_function() {
    let t = yaml("../../template.yaml");
    let function = &t["Resources"]["ConsentApiFunction"];
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "consent-api"
    );
    let mut declared = BTreeSet::new();
    for event in function["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
    {
        assert_eq!(event["Type"], "HttpApi");
        declared.insert((
            event["Properties"]["Method"].as_str().unwrap().to_owned(),
            event["Properties"]["Path"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(declared, served());
}

#[test]
fn every_operation_names_the_scope_the_router_enforces_and_documents_403() {
    let doc = yaml("openapi.yaml");
    for (method, path) in documented(&doc) {
        let concrete = path
            .replace("{contact}", "15550100001")
            .replace("{id}", "key_0123456789ab")
            .replace("{name}/{language}", "order_update/en_US");
        let Resolved::Found { operation, .. } = resolve(&method, &concrete) else {
            panic!("{method} {path} resolves");
        };
        let op = &doc["paths"][path.as_str()][method.to_lowercase().as_str()];
        assert_eq!(
            op["x-required-scope"].as_str(),
            Some(operation.scope().as_str()),
            "{method} {path}"
        );
        assert!(
            op["responses"]
                .as_mapping()
                .unwrap()
                .contains_key(Value::from("403")),
            "{method} {path} documents 403"
        );
    }
}
