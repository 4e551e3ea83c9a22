//! FAQ entries one by one, beside the whole-list setting: added with an id and language tag,
//! replaced and deleted only with the version read (`If-Match`), every change audited, and
//! what the settings hold is what the responder answers from.

mod support;

use serde_json::{json, Value};
use support::{api_request, harness, Answer, Harness};

async fn with_if_match(
    h: &Harness,
    method: &str,
    path: &str,
    etag: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = api_request(
        method,
        path,
        &[],
        Some(&h.a.token),
        body.map(|b| b.to_string()),
    );
    if let Some(etag) = etag {
        request
            .headers_mut()
            .insert("if-match", etag.parse().unwrap());
    }
    h.call(request).await
}

#[tokio::test]
async fn entries_are_added_changed_and_deleted_one_by_one_with_their_version() {
    let h = harness().await;
    let added = h
        .as_a(
            "POST",
            "/v1/faq",
            Some(json!({"question": "Livrez-vous à Rabat ?", "answer": "Oui, sous 24 heures.", "language": "FR"})),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(added.body["language"], "fr");
    let etag = added.body["etag"].as_str().unwrap().to_owned();

    // The whole-list setting shows it too, and an entry of that list has an id of its own.
    let patched = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"faq": [{"question": "Hours?", "answer": "9 to 7"}]})),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let again = h
        .as_a(
            "POST",
            "/v1/faq",
            Some(json!({"question": "Livrez-vous à Rabat ?", "answer": "Oui."})),
        )
        .await;
    assert_eq!(
        again.status, 201,
        "the list was replaced: the question is free again"
    );
    let listed = h.as_a("GET", "/v1/faq", None).await;
    let entries = listed.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0]["id"].as_str().unwrap().starts_with("faq_q"));
    let duplicate = h
        .as_a(
            "POST",
            "/v1/faq",
            Some(json!({"question": "Hours?", "answer": "Also 9 to 7"})),
        )
        .await;
    assert_eq!(
        (duplicate.status, duplicate.error_code()),
        (409, "faq_duplicate")
    );

    let id = entries[1]["id"].as_str().unwrap().to_owned();
    let etag_now = entries[1]["etag"].as_str().unwrap().to_owned();
    assert_ne!(etag_now, etag);
    let path = format!("/v1/faq/{id}");
    let body = json!({"question": "Livrez-vous à Rabat ?", "answer": "Oui, sous 48 heures.", "language": "fr"});
    let missing = with_if_match(&h, "PUT", &path, None, Some(body.clone())).await;
    assert_eq!(
        (missing.status, missing.error_field()),
        (428, Some("If-Match"))
    );
    let stale = with_if_match(
        &h,
        "PUT",
        &path,
        Some("\"0000000000000000\""),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (stale.status, stale.error_code()),
        (412, "precondition_failed")
    );
    let replaced = with_if_match(&h, "PUT", &path, Some(&etag_now), Some(body)).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.body["answer"], "Oui, sous 48 heures.");
    let bad = with_if_match(
        &h,
        "PUT",
        &path,
        Some(replaced.body["etag"].as_str().unwrap()),
        Some(json!({"question": "Q", "answer": "A", "language": "de"})),
    )
    .await;
    assert_eq!((bad.status, bad.error_field()), (400, Some("language")));

    let old = with_if_match(&h, "DELETE", &path, Some(&etag_now), None).await;
    assert_eq!(old.status, 412);
    let deleted = with_if_match(
        &h,
        "DELETE",
        &path,
        Some(replaced.body["etag"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let unknown = with_if_match(&h, "DELETE", &path, Some("\"x\""), None).await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (404, "faq_entry_not_found")
    );

    let settings = h.as_a("GET", "/v1/settings", None).await;
    assert_eq!(settings.body["faq"].as_array().unwrap().len(), 1);
    let audit: Vec<String> = h.audit_of_a().await.into_iter().map(|e| e.action).collect();
    for action in ["faq.entry_added", "faq.entry_updated", "faq.entry_deleted"] {
        assert!(audit.iter().any(|a| a == action), "{action}: {audit:?}");
    }
    // Another tenant sees none of it.
    let theirs = h.as_b("GET", "/v1/faq", None).await;
    assert_eq!(theirs.body["entries"], json!([]));
}
