//! `GET /v1/record-of-processing`: the business's Art. 30 record, as JSON or Markdown, with its
//! own settings applied (a retention change shows at once) and only for its own tenant.

mod support;

use serde_json::json;
use support::{api_request, harness};

#[tokio::test]
async fn the_record_shows_the_tenants_own_retention_and_reads_as_markdown() {
    let h = harness().await;
    let first = h.as_a("GET", "/v1/record-of-processing", None).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["controller"]["name"], "Atlas Tea");
    assert_eq!(first.body["processor"]["role"], "processor");
    let chat_days = |body: &serde_json::Value| {
        body["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "chat")
            .unwrap()["retention_days"]
            .clone()
    };
    assert_eq!(chat_days(&first.body), json!(30));

    let patched = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"chat_retention_days": 45})),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let after = h.as_a("GET", "/v1/record-of-processing", None).await;
    assert_eq!(chat_days(&after.body), json!(45));
    // Another tenant's record is its own.
    let theirs = h.as_b("GET", "/v1/record-of-processing", None).await;
    assert_eq!(theirs.body["controller"]["name"], "Baraka Bakery");
    assert_eq!(chat_days(&theirs.body), json!(30));

    let response = mizan_consent_api::handle(
        &h.deps,
        api_request(
            "GET",
            "/v1/record-of-processing",
            &[("format", "markdown")],
            Some(&h.a.token),
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let text = String::from_utf8(response.body().as_ref().to_vec()).unwrap();
    assert!(text.starts_with("# Record of processing activities (GDPR Art. 30)"));
    assert!(
        text.contains("| Message content (`chat`) |") && text.contains("45 days after the message")
    );

    let bad = h
        .call(api_request(
            "GET",
            "/v1/record-of-processing",
            &[("format", "pdf")],
            Some(&h.a.token),
            None,
        ))
        .await;
    assert_eq!((bad.status, bad.error_field()), (400, Some("format")));
}
