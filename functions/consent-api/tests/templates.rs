//! The template registry through the API, against a fake Graph API that answers as Meta does:
//! a submission goes to Meta and is stored `PENDING`, Meta's status webhook (through
//! webhook-intake) approves it, a duplicate is Meta's refusal, a deletion removes it at Meta and
//! here, every change audited; another tenant sees none of it.

mod support;

use mizan_consent_api::{graph_templates, handle, Deps};
use mizan_shared::config::GraphConfig;
use mizan_test_support::fakes::graph::FakeGraph;
use serde_json::{json, Value};
use support::{api_request, harness, Answer, Harness, BUSINESS_ACCOUNT};

struct Api {
    h: Harness,
    deps: Deps,
    graph: FakeGraph,
}

async fn api() -> Api {
    let h = harness().await;
    let graph = FakeGraph::start().await;
    let config = GraphConfig::from_lookup(|var| match var {
        "MIZAN_GRAPH_BASE_URL" => Some(graph.base_url.clone()),
        "MIZAN_WHATSAPP_ACCESS_TOKEN" => Some("EAAG-test-token".into()),
        _ => None,
    })
    .unwrap();
    let catalog = graph_templates(&config, config.require_token("in tests").unwrap());
    let deps = Deps::with_catalog(&h.system.services, catalog);
    Api { h, deps, graph }
}

impl Api {
    async fn call(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        let request = api_request(method, path, &[], Some(token), body.map(|b| b.to_string()));
        let response = handle(&self.deps, request).await.unwrap();
        let status = response.status().as_u16();
        let bytes: &[u8] = response.body().as_ref();
        Answer::json(status, serde_json::from_slice(bytes).unwrap_or(Value::Null))
    }

    async fn as_a(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call(&self.h.a.token, method, path, body).await
    }
}

fn order_update() -> Value {
    json!({
        "name": "order_update", "language": "en_US", "category": "utility",
        "components": [
            {"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}.",
             "example": {"body_text": [["Amina", "Monday"]]}},
            {"type": "FOOTER", "text": "Atlas Tea"}
        ]
    })
}

fn approved_webhook(meta_id: &str, at: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": BUSINESS_ACCOUNT, "time": at, "changes": [{
            "field": "message_template_status_update",
            "value": {"event": "APPROVED", "message_template_id": meta_id.parse::<u64>().unwrap(),
                      "message_template_name": "order_update", "message_template_language": "en_US",
                      "reason": "NONE", "message_template_category": "UTILITY"}
        }]}]
    }))
    .unwrap()
}

#[tokio::test]
async fn a_submitted_template_is_pending_until_meta_approves_it() {
    let api = api().await;
    let submitted = api
        .as_a("POST", "/v1/templates", Some(order_update()))
        .await;
    assert_eq!(submitted.status, 201, "{:?}", submitted.body);
    assert_eq!(submitted.body["status"], "PENDING");
    assert_eq!(submitted.body["sendable"], false);
    assert_eq!(submitted.body["placeholders"]["body"], json!(["1", "2"]));
    // Meta got exactly the submission, with the token.
    let requests = api.graph.requests();
    let post = requests
        .iter()
        .find(|r| r.path.ends_with("/message_templates"))
        .unwrap();
    assert_eq!(
        post.path,
        format!("/v24.0/{BUSINESS_ACCOUNT}/message_templates")
    );
    assert_eq!(
        post.authorization.as_deref(),
        Some("Bearer EAAG-test-token")
    );
    assert_eq!(post.body["category"], "UTILITY");
    assert_eq!(post.body["components"], order_update()["components"]);

    let meta_id = submitted.body["meta_id"].as_str().unwrap().to_owned();
    let now = api.h.store().now().as_unix_seconds();
    assert_eq!(
        api.h.post_delivery(approved_webhook(&meta_id, now)).await,
        200
    );
    let approved = api
        .as_a("GET", "/v1/templates/order_update/en_US", None)
        .await;
    assert_eq!(approved.status, 200);
    assert_eq!(
        (
            approved.body["status"].as_str(),
            approved.body["sendable"].as_bool()
        ),
        (Some("APPROVED"), Some(true))
    );
    let listed = api.as_a("GET", "/v1/templates", None).await;
    assert_eq!(listed.body["templates"].as_array().unwrap().len(), 1);
    let actions: Vec<String> = api
        .h
        .audit_of_a()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"template.submitted".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"template.status_changed".to_owned()),
        "{actions:?}"
    );

    // Meta refuses a second one with the same name and language.
    let again = api
        .as_a("POST", "/v1/templates", Some(order_update()))
        .await;
    assert_eq!(
        (again.status, again.body["error"]["code"].as_str()),
        (422, Some("refused_by_meta"))
    );
    assert!(again.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
}

#[tokio::test]
async fn a_deleted_template_is_gone_at_meta_and_here_and_other_tenants_never_see_it() {
    let api = api().await;
    assert_eq!(
        api.as_a("POST", "/v1/templates", Some(order_update()))
            .await
            .status,
        201
    );
    let b = api
        .call(
            &api.h.b.token,
            "GET",
            "/v1/templates/order_update/en_US",
            None,
        )
        .await;
    assert_eq!(
        (b.status, b.body["error"]["code"].as_str()),
        (404, Some("template_not_found"))
    );
    let b_list = api.call(&api.h.b.token, "GET", "/v1/templates", None).await;
    assert_eq!(b_list.body["templates"], json!([]));
    let b_delete = api
        .call(
            &api.h.b.token,
            "DELETE",
            "/v1/templates/order_update/en_US",
            None,
        )
        .await;
    assert_eq!(b_delete.status, 404);

    let deleted = api
        .as_a("DELETE", "/v1/templates/order_update/en_US", None)
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert!(
        api.graph.templates(BUSINESS_ACCOUNT).is_empty(),
        "deleted at Meta"
    );
    assert_eq!(
        api.as_a("GET", "/v1/templates/order_update/en_US", None)
            .await
            .status,
        404
    );
    let actions: Vec<String> = api
        .h
        .audit_of_a()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"template.deleted".to_owned()));
}

#[tokio::test]
async fn bad_submissions_name_their_field_and_reach_no_one() {
    let api = api().await;
    let mut unnamed = order_update();
    unnamed["name"] = json!("Order Update!");
    let cases = [
        (unnamed, "name"),
        (
            json!({"name": "x", "language": "en", "category": "utility", "components": [{"type": "CAROUSEL"}]}),
            "components",
        ),
        (
            json!({"name": "x", "language": "en", "category": "utility", "components": [], "extra": 1}),
            "extra",
        ),
    ];
    for (body, field) in cases {
        let answer = api.as_a("POST", "/v1/templates", Some(body)).await;
        assert_eq!(answer.status, 400, "{field}");
        assert_eq!(answer.body["error"]["field"], field);
    }
    assert!(api.graph.requests().is_empty(), "nothing was sent to Meta");
    let bad_path = api.as_a("GET", "/v1/templates/Order/en_US", None).await;
    assert_eq!(
        (bad_path.status, bad_path.body["error"]["field"].as_str()),
        (400, Some("name"))
    );
}
