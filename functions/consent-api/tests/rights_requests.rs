//! The register of rights requests: what the API carried out is on it beside what people asked
//! in the chat, newest first with its deadline, filtered by state, paged, closed by the business
//! when it was the business's to handle, and never another tenant's.

mod support;

use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::keywords::Language;
use mizan_shared::domain::rights_request::{RightsChannel, RightsKind, RightsRequest, RightsState};
use mizan_shared::domain::tenant::Tenant;
use serde_json::{json, Value};
use support::{api_request, harness, Harness, WA_ID};

async fn chat_request(h: &Harness, tenant: &Tenant, state: RightsState) -> RightsRequest {
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let request = RightsRequest::new(
        tenant.id.clone(),
        contact.id,
        RightsKind::Erasure,
        RightsChannel::Chat,
        Language::French,
        h.store().now(),
        state,
    );
    h.store().file_rights_request(&request).await.unwrap();
    request
}

fn states(answer: &Value) -> Vec<(String, String, String)> {
    answer["rights_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["channel"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn what_the_api_carries_out_is_on_the_register_with_its_deadline() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let path = format!("/v1/contacts/{WA_ID}");
    assert_eq!(
        h.as_a("PATCH", &path, Some(json!({"name": "Amina B."})))
            .await
            .status,
        200
    );
    assert_eq!(
        h.as_a("POST", &format!("{path}/restriction"), None)
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
    let listed = h.as_a("GET", "/v1/rights-requests", None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let mut kinds = states(&listed.body);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("erasure".into(), "api".into(), "completed".into()),
            ("rectification".into(), "api".into(), "completed".into()),
            ("restriction".into(), "api".into(), "completed".into()),
        ]
    );
    let first = &listed.body["rights_requests"][0];
    assert_eq!(first["contact_id"], json!(contact.id));
    assert_eq!(first["overdue"], json!(false));
    let received = first["received_at"].as_str().unwrap();
    let due = first["due_by"].as_str().unwrap();
    assert!(due > received, "{received} {due}");
}

#[tokio::test]
async fn the_business_closes_what_it_handles_and_nothing_else() {
    let h = harness().await;
    let tenant = h.a.tenant.clone();
    let held = chat_request(&h, &tenant, RightsState::Held).await;
    let waiting = chat_request(&h, &tenant, RightsState::AwaitingConfirmation).await;

    let pending = h
        .call(api_request(
            "GET",
            "/v1/rights-requests",
            &[("state", "held")],
            Some(&h.a.token),
            None,
        ))
        .await;
    assert_eq!(
        states(&pending.body),
        vec![("erasure".into(), "chat".into(), "held".into())]
    );

    let close = |id: &str| format!("/v1/rights-requests/{id}/close");
    let closed = h
        .as_a(
            "POST",
            &close(held.id.as_str()),
            Some(json!({"outcome": "done", "note": "Ticket 4411"})),
        )
        .await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert_eq!(closed.body["state"], "completed");
    assert_eq!(closed.body["outcome"], "done");
    assert_eq!(closed.body["note"], "Ticket 4411");
    let audit = h.audit_of_a().await;
    assert!(audit
        .iter()
        .any(|e| e.action == "rights_request.closed" && matches!(e.actor, Actor::ApiKey(_))));

    let again = h
        .as_a(
            "POST",
            &close(held.id.as_str()),
            Some(json!({"outcome": "done"})),
        )
        .await;
    assert_eq!(
        (again.status, again.error_code()),
        (409, "rights_request_not_closable")
    );
    let not_ours = h
        .as_a(
            "POST",
            &close(waiting.id.as_str()),
            Some(json!({"outcome": "refused"})),
        )
        .await;
    assert_eq!(not_ours.status, 409);
    let bad = h
        .as_a(
            "POST",
            &close(waiting.id.as_str()),
            Some(json!({"outcome": "maybe"})),
        )
        .await;
    assert_eq!((bad.status, bad.error_field()), (400, Some("outcome")));
    let long = h
        .as_a(
            "POST",
            &close(held.id.as_str()),
            Some(json!({"outcome": "done", "note": "x".repeat(501)})),
        )
        .await;
    assert_eq!(long.status, 409, "closed already, whatever the note");
}

#[tokio::test]
async fn filtered_pages_follow_their_cursor_to_the_end() {
    let h = harness().await;
    let tenant = h.a.tenant.clone();
    for i in 0..7 {
        let state = if i % 2 == 0 {
            RightsState::PendingBusiness
        } else {
            RightsState::Completed
        };
        chat_request(&h, &tenant, state).await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut query = vec![("state", "pending_business"), ("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page = h
            .call(api_request(
                "GET",
                "/v1/rights-requests",
                &query,
                Some(&h.a.token),
                None,
            ))
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let found = states(&page.body);
        assert!(found.len() <= 2 && found.iter().all(|f| f.2 == "pending_business"));
        seen += found.len();
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 4);
    let bad = h
        .call(api_request(
            "GET",
            "/v1/rights-requests",
            &[("state", "waiting")],
            Some(&h.a.token),
            None,
        ))
        .await;
    assert_eq!((bad.status, bad.error_field()), (400, Some("state")));
}

#[tokio::test]
async fn another_tenant_neither_sees_nor_closes_them() {
    let h = harness().await;
    let tenant = h.a.tenant.clone();
    let held = chat_request(&h, &tenant, RightsState::Held).await;
    let theirs = h.as_b("GET", "/v1/rights-requests", None).await;
    assert_eq!(theirs.status, 200);
    assert!(states(&theirs.body).is_empty());
    let closing = h
        .as_b(
            "POST",
            &format!("/v1/rights-requests/{}/close", held.id),
            Some(json!({"outcome": "done"})),
        )
        .await;
    assert_eq!(
        (closing.status, closing.error_code()),
        (404, "rights_request_not_found")
    );
    // A cursor of tenant A's list is refused to tenant B.
    for _ in 0..3 {
        chat_request(&h, &tenant, RightsState::Held).await;
    }
    let page = h
        .call(api_request(
            "GET",
            "/v1/rights-requests",
            &[("limit", "1")],
            Some(&h.a.token),
            None,
        ))
        .await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let stolen = h
        .call(api_request(
            "GET",
            "/v1/rights-requests",
            &[("cursor", cursor.as_str())],
            Some(&h.b.token),
            None,
        ))
        .await;
    assert_eq!((stolen.status, stolen.error_field()), (400, Some("cursor")));
}
