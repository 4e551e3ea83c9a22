//! `GET /v1/audit` filters: by action (or family), by subject in any contact form (an erased
//! contact's events too), by time; bad filters name their field; a cursor keeps its filters.

mod support;

use serde_json::json;
use support::{api_request, harness, Answer, Harness, WA_ID};

async fn get(h: &Harness, query: Vec<(&'static str, String)>) -> Answer {
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    h.call(api_request(
        "GET",
        "/v1/audit",
        &pairs,
        Some(&h.a.token),
        None,
    ))
    .await
}

#[tokio::test]
async fn the_audit_trail_filters_by_action_subject_and_time() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let other = h.contact_of(&h.a, "15550100099", None).await;
    let path = format!("/v1/contacts/{WA_ID}");
    assert_eq!(
        h.as_a("POST", &format!("{path}/restriction"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.as_a("DELETE", &format!("{path}/restriction"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.as_a("POST", "/v1/contacts/15550100099/restriction", None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.as_a("POST", &format!("{path}/erasure"), None)
            .await
            .status,
        202
    );

    // The erased contact's events, by its phone number and by its id.
    for subject in [WA_ID.to_owned(), contact.id.to_string()] {
        let found = get(&h, vec![("subject", subject.clone())]).await;
        assert_eq!(found.status, 200, "{:?}", found.body);
        let events = found.body["events"].as_array().unwrap();
        assert!(events.len() >= 3, "{subject}: {events:?}");
        assert!(events.iter().all(|e| e["subject"] == json!(contact.id)));
    }
    let family = get(&h, vec![("action", "contact.".into())]).await;
    let actions: Vec<&str> = family.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        !actions.is_empty() && actions.iter().all(|a| a.starts_with("contact.")),
        "{actions:?}"
    );
    let exact = get(
        &h,
        vec![
            ("action", "restriction.set".into()),
            ("subject", other.id.to_string()),
        ],
    )
    .await;
    assert!(exact.body["events"].as_array().unwrap().len() <= 1);
    let future = get(&h, vec![("from", "2099-01-01T00:00:00Z".into())]).await;
    assert_eq!(future.body["events"], json!([]));

    for (query, field) in [
        (vec![("from", "yesterday".to_owned())], "from"),
        (vec![("action", "DROP_TABLE".to_owned())], "action"),
        (vec![("subject", "a%23b".to_owned())], "subject"),
        (
            vec![
                ("from", "2026-02-01T00:00:00Z".to_owned()),
                ("to", "2026-01-01T00:00:00Z".to_owned()),
            ],
            "from",
        ),
    ] {
        let bad = get(&h, query).await;
        assert_eq!((bad.status, bad.error_field()), (400, Some(field)));
    }
}
