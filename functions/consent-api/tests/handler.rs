//! The consent-api handler, driven by the API Gateway events in `events/consent-api/` and by
//! requests built in the same shape, against the embedded store: answers, tenant isolation,
//! bad input, authentication and the audit trail.

mod support;

use mizan_consent_api::ROUTES;
use mizan_shared::domain::audit::{Actor, Outcome};
use mizan_shared::domain::consent::Decision;
use serde_json::{json, Value};
use support::{api_request, event, harness, sample_names, USER_ID, WA_ID};

/// The answer each sample event gets when tenant A has the contact the events name, and the
/// field a refused one names.
fn expected(name: &str) -> (u16, Option<&'static str>) {
    match name {
        "post-consent" | "post-consent-opt-out-all" | "post-api-keys" | "post-templates" => {
            (201, None)
        }
        // A fresh tenant's registry is empty, and it has no campaign.
        "get-template" | "delete-template" => (404, None),
        "post-campaigns" | "post-campaigns-no-template" => (404, Some("template")),
        "post-campaigns-bad-contact" => (422, Some("audience.contacts[1].contact")),
        "get-campaign"
        | "get-campaign-recipients"
        | "post-campaign-pause"
        | "post-campaign-resume"
        | "post-campaign-cancel" => (404, None),
        "post-templates-bad-category" => (400, Some("category")),
        "get-template-bad-language" => (400, Some("language")),
        "delete-api-key" => (404, None),
        "patch-settings-legal-hold-without-reason" => (400, Some("legal_hold_reason")),
        "post-api-keys-unknown-scope" => (400, Some("scopes")),
        "post-erasure" | "post-minor" | "post-messages" => (202, None),
        // The sample tenant has no template of that name.
        "post-messages-template" => (404, Some("template")),
        "post-messages-text-and-template" => (400, Some("body")),
        "post-messages-bad-idempotency-key" => (400, Some("Idempotency-Key")),
        "get-contact-without-api-key" | "get-contact-revoked-api-key" => (401, None),
        "get-contact-invalid-reference" => (400, Some("contact")),
        "post-consent-malformed-json" => (400, Some("body")),
        "post-consent-unknown-purpose" => (400, Some("purpose")),
        "post-consent-unknown-field" => (400, Some("email")),
        "patch-contact-identifier" => (400, Some("wa_id")),
        "patch-settings-retention-out-of-range" => (400, Some("chat_retention_days")),
        "patch-settings-wrong-type" => (400, Some("automation_enabled")),
        "get-audit-bad-limit" => (400, Some("limit")),
        "get-contacts-unknown-flag" => (400, Some("flag")),
        "patch-account-bad-email" => (400, Some("contact_email")),
        "get-analytics-bad-granularity" => (400, Some("granularity")),
        "get-billing-statement-bad-month" => (400, Some("month")),
        // A fresh tenant has no statement yet.
        "get-billing-statement" => (404, None),
        "get-rights-requests-bad-state" => (400, Some("state")),
        "post-faq" | "post-webhooks" => (201, None),
        "post-webhooks-http-url" => (400, Some("url")),
        "post-webhooks-unknown-event" => (400, Some("events")),
        // A fresh tenant has no webhook endpoint.
        "delete-webhook"
        | "post-webhook-enable"
        | "get-webhook-deliveries"
        | "post-webhook-delivery-replay" => (404, None),
        // The sample's entry id names no entry of a fresh tenant.
        "put-faq-entry" | "delete-faq-entry" => (404, None),
        // A fresh tenant has no rights request.
        "post-rights-request-close" => (404, None),
        _ => (200, None),
    }
}

#[tokio::test]
async fn every_sample_event_gets_its_documented_answer() {
    let names = sample_names();
    assert!(names.len() >= 20, "the sample events are there");
    for name in names {
        let h = harness().await;
        h.contact_of(&h.a, WA_ID, Some(USER_ID)).await;
        // The contact wrote: the customer service window is open.
        assert_eq!(h.whatsapp_text("wamid.SAMPLE1", WA_ID, "Hello").await, 200);
        let answer = h.call(event(&name, &h.a.token)).await;
        let (status, field) = expected(&name);
        assert_eq!(answer.status, status, "{name}: {:?}", answer.body);
        if status >= 400 {
            assert_eq!(answer.error_field(), field, "{name}: {:?}", answer.body);
            assert!(answer.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }
}

#[tokio::test]
async fn every_route_has_a_sample_event() {
    let names = sample_names();
    for route in ROUTES {
        let stem = route
            .path
            .trim_start_matches("/v1/")
            .replace("contacts/{contact}", "contact");
        let stem = match stem.as_str() {
            "contacts" => "contacts".to_owned(),
            "analytics/report" => "analytics-report".to_owned(),
            "billing/statements" => "billing-statements".to_owned(),
            "billing/statements/{month}" => "billing-statement".to_owned(),
            "contact/consent" => "consent".to_owned(),
            "contact/messages" => "messages".to_owned(),
            "contact/restriction" => "restriction".to_owned(),
            "contact/takeover" => "takeover".to_owned(),
            "contact/erasure" => "erasure".to_owned(),
            "contact/minor" => "minor".to_owned(),
            "api-keys/{id}" => "api-key".to_owned(),
            "templates/{name}/{language}" => "template".to_owned(),
            "campaigns/{id}" => "campaign".to_owned(),
            "campaigns/{id}/recipients" => "campaign-recipients".to_owned(),
            "campaigns/{id}/pause" => "campaign-pause".to_owned(),
            "campaigns/{id}/resume" => "campaign-resume".to_owned(),
            "campaigns/{id}/cancel" => "campaign-cancel".to_owned(),
            "rights-requests/{id}/close" => "rights-request-close".to_owned(),
            "account/close" => "account-close".to_owned(),
            "faq/{id}" => "faq-entry".to_owned(),
            "webhooks/{id}" => "webhook".to_owned(),
            "webhooks/{id}/enable" => "webhook-enable".to_owned(),
            "webhooks/{id}/deliveries" => "webhook-deliveries".to_owned(),
            "webhooks/{id}/deliveries/{delivery}/replay" => "webhook-delivery-replay".to_owned(),
            other => other.to_owned(),
        };
        let name = format!("{}-{stem}", route.method.to_lowercase());
        assert!(
            names.contains(&name),
            "{} {}: no events/consent-api/{name}.json",
            route.method,
            route.path
        );
    }
}

/// A request to every contact route for `contact`, with a valid body where one is needed.
fn contact_requests(contact: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let c = format!("/v1/contacts/{contact}");
    vec![
        ("GET", c.clone(), None),
        ("PATCH", c.clone(), Some(json!({"name": "Someone Else"}))),
        ("GET", format!("{c}/consent"), None),
        (
            "POST",
            format!("{c}/consent"),
            Some(
                json!({"purpose": "all", "action": "opt_out", "source": "api", "evidence": "x-1"}),
            ),
        ),
        ("POST", format!("{c}/restriction"), None),
        ("DELETE", format!("{c}/restriction"), None),
        ("POST", format!("{c}/takeover"), None),
        ("DELETE", format!("{c}/takeover"), None),
        ("POST", format!("{c}/erasure"), None),
        ("POST", format!("{c}/minor"), None),
    ]
}

#[tokio::test]
async fn another_tenants_contact_is_answered_exactly_like_a_missing_one_on_every_route() {
    let h = harness().await;
    let theirs = h.contact_of(&h.a, WA_ID, Some(USER_ID)).await;
    for reference in [WA_ID, USER_ID, "%2B15550100001"] {
        for ((method, path, body), (_, missing_path, _)) in contact_requests(reference)
            .into_iter()
            .zip(contact_requests("15550100999"))
        {
            let other = h.as_b(method, &path, body.clone()).await;
            let missing = h.as_b(method, &missing_path, body).await;
            assert_eq!(other.status, 404, "B {method} {path}: {:?}", other.body);
            assert_eq!(
                other.body, missing.body,
                "{method} {path}: indistinguishable from missing"
            );
        }
    }
    // Nothing B did reached A's contact or A's audit trail.
    let after = h.find(&h.a, WA_ID).await.unwrap();
    assert_eq!(after, theirs);
    assert!(h
        .store()
        .consent_history(&h.a.tenant.id, &theirs.id)
        .await
        .unwrap()
        .is_empty());
    assert!(h
        .audit_of_a()
        .await
        .iter()
        .all(|e| e.action == "api_key.issued"));
}

#[tokio::test]
async fn the_same_person_at_two_businesses_is_two_contacts_with_separate_rights() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, None).await;
    h.contact_of(&h.b, WA_ID, None).await;
    let answer = h
        .as_b(
            "POST",
            &format!("/v1/contacts/{WA_ID}/consent"),
            Some(
                json!({"purpose": "all", "action": "opt_out", "source": "api", "evidence": "b-1"}),
            ),
        )
        .await;
    assert_eq!(answer.status, 201);
    let b_restrict = h
        .as_b("POST", &format!("/v1/contacts/{WA_ID}/restriction"), None)
        .await;
    assert_eq!(b_restrict.status, 200);
    let at_a = h.as_a("GET", &format!("/v1/contacts/{WA_ID}"), None).await;
    assert_eq!(at_a.status, 200);
    assert_eq!(at_a.body["consent"]["automated_replies"], "unset");
    assert_eq!(at_a.body["restricted"], false);
    assert_eq!(at_a.body["may_send"]["automated_replies"], true);
    let at_b = h.as_b("GET", &format!("/v1/contacts/{WA_ID}"), None).await;
    assert_eq!(at_b.body["consent"]["automated_replies"], "withdrawn");
    assert_ne!(at_a.body["id"], Value::Null);
}

#[tokio::test]
async fn settings_and_audit_routes_only_ever_see_the_callers_tenant() {
    let h = harness().await;
    let patched = h
        .as_b(
            "PATCH",
            "/v1/settings",
            Some(json!({"chat_retention_days": 90, "legal_hold": true, "legal_hold_reason": "case 7"})),
        )
        .await;
    assert_eq!(patched.status, 200);
    let a_settings = h.as_a("GET", "/v1/settings", None).await;
    assert_eq!(a_settings.body["chat_retention_days"], 30);
    assert_eq!(a_settings.body["legal_hold"], false);
    let a_tenant = h.store().tenant(&h.a.tenant.id).await.unwrap().unwrap();
    assert_eq!(a_tenant.settings, h.a.tenant.settings);

    let a_audit = h.as_a("GET", "/v1/audit", None).await;
    let b_audit = h.as_b("GET", "/v1/audit", None).await;
    let actions = |a: &support::Answer| -> Vec<String> {
        a.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(actions(&a_audit), vec!["api_key.issued"]);
    // Both events may fall in the same millisecond (the harness runs on the system clock),
    // where newest-first has no order to give.
    let mut b_actions = actions(&b_audit);
    b_actions.sort();
    assert_eq!(b_actions, vec!["api_key.issued", "settings.updated"]);
}

/// A request (method, path, body, query) and the field its 400 must name.
type BadInput = (
    &'static str,
    String,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// Bad input for every route: each a 400 naming its field, none a 500, nothing changed.
#[tokio::test]
async fn bad_input_on_every_route_is_a_400_naming_the_field() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let c = format!("/v1/contacts/{WA_ID}");
    let bad_ref = "/v1/contacts/12%2334";
    let cases: Vec<BadInput> = vec![
        ("GET", bad_ref.to_owned(), None, &[], "contact"),
        (
            "GET",
            "/v1/contacts/%E9t%E9".to_owned(),
            None,
            &[],
            "contact",
        ),
        (
            "PATCH",
            bad_ref.to_owned(),
            Some(r#"{"name": "A"}"#),
            &[],
            "contact",
        ),
        ("PATCH", c.clone(), None, &[], "body"),
        ("PATCH", c.clone(), Some("{"), &[], "body"),
        ("PATCH", c.clone(), Some("[]"), &[], "body"),
        ("PATCH", c.clone(), Some("{}"), &[], "body"),
        ("PATCH", c.clone(), Some(r#"{"name": 7}"#), &[], "name"),
        ("PATCH", c.clone(), Some(r#"{"name": ""}"#), &[], "name"),
        (
            "PATCH",
            c.clone(),
            Some(r#"{"user_id": "US.9"}"#),
            &[],
            "user_id",
        ),
        ("GET", format!("{bad_ref}/consent"), None, &[], "contact"),
        (
            "POST",
            format!("{bad_ref}/consent"),
            Some(r#"{"purpose":"all","action":"opt_out","source":"api","evidence":"e"}"#),
            &[],
            "contact",
        ),
        ("POST", format!("{c}/consent"), None, &[], "body"),
        (
            "POST",
            format!("{c}/consent"),
            Some("not json"),
            &[],
            "body",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(r#"{"purpose":"spam","action":"opt_out","source":"api","evidence":"e"}"#),
            &[],
            "purpose",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(r#"{"purpose":"all","action":"maybe","source":"api","evidence":"e"}"#),
            &[],
            "action",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(r#"{"purpose":"all","action":"opt_out","evidence":"e"}"#),
            &[],
            "source",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(r#"{"purpose":"all","action":"opt_out","source":"Web Form","evidence":"e"}"#),
            &[],
            "source",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(
                r#"{"purpose":"all","action":"opt_out","source":"api","evidence":"amina@example.com"}"#,
            ),
            &[],
            "evidence",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(
                r#"{"purpose":"all","action":"opt_out","source":"api","evidence":"e","at":"2020"}"#,
            ),
            &[],
            "at",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(r#"{"purpose":1,"action":"opt_out","source":"api","evidence":"e"}"#),
            &[],
            "purpose",
        ),
        (
            "POST",
            format!("{bad_ref}/restriction"),
            None,
            &[],
            "contact",
        ),
        (
            "POST",
            format!("{c}/restriction"),
            Some(r#"{"reason": "x"}"#),
            &[],
            "reason",
        ),
        ("POST", format!("{c}/restriction"), Some("{"), &[], "body"),
        (
            "DELETE",
            format!("{bad_ref}/restriction"),
            None,
            &[],
            "contact",
        ),
        (
            "DELETE",
            format!("{c}/restriction"),
            Some(r#"{"x": 1}"#),
            &[],
            "x",
        ),
        ("POST", format!("{bad_ref}/takeover"), None, &[], "contact"),
        (
            "POST",
            format!("{c}/takeover"),
            Some(r#"{"agent": "x"}"#),
            &[],
            "agent",
        ),
        (
            "DELETE",
            format!("{bad_ref}/takeover"),
            None,
            &[],
            "contact",
        ),
        ("DELETE", format!("{c}/takeover"), Some("[1]"), &[], "body"),
        ("POST", format!("{bad_ref}/erasure"), None, &[], "contact"),
        (
            "POST",
            format!("{c}/erasure"),
            Some(r#"{"confirm": true}"#),
            &[],
            "confirm",
        ),
        ("POST", format!("{c}/erasure"), Some("{"), &[], "body"),
        ("POST", format!("{bad_ref}/minor"), None, &[], "contact"),
        (
            "POST",
            format!("{c}/minor"),
            Some(r#"{"age": 12}"#),
            &[],
            "age",
        ),
        ("POST", format!("{c}/minor"), Some("12"), &[], "body"),
        ("PATCH", "/v1/settings".to_owned(), None, &[], "body"),
        ("PATCH", "/v1/settings".to_owned(), Some("{}"), &[], "body"),
        ("PATCH", "/v1/settings".to_owned(), Some("{]"), &[], "body"),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"chat_retention_days": 0}"#),
            &[],
            "chat_retention_days",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"chat_retention_days": 366}"#),
            &[],
            "chat_retention_days",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"chat_retention_days": -5}"#),
            &[],
            "chat_retention_days",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"chat_retention_days": "30"}"#),
            &[],
            "chat_retention_days",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"retention_days": 30}"#),
            &[],
            "retention_days",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"faq": [{"question": "q"}]}"#),
            &[],
            "faq[0].answer",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"faq": [{"question": " ", "answer": "a"}]}"#),
            &[],
            "faq",
        ),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(r#"{"legal_hold": "on"}"#),
            &[],
            "legal_hold",
        ),
        (
            "GET",
            "/v1/audit".to_owned(),
            None,
            &[("limit", "0")],
            "limit",
        ),
        (
            "GET",
            "/v1/audit".to_owned(),
            None,
            &[("limit", "abc")],
            "limit",
        ),
        (
            "GET",
            "/v1/audit".to_owned(),
            None,
            &[("cursor", "forged.cursor")],
            "cursor",
        ),
        (
            "GET",
            "/v1/audit".to_owned(),
            None,
            &[("page", "2")],
            "page",
        ),
    ];
    for (method, path, body, query, field) in cases {
        let answer = h
            .call(api_request(
                method,
                &path,
                query,
                Some(&h.a.token),
                body.map(str::to_owned),
            ))
            .await;
        assert_eq!(
            answer.status, 400,
            "{method} {path} {body:?}: {:?}",
            answer.body
        );
        assert_eq!(
            answer.error_field(),
            Some(field),
            "{method} {path} {body:?}: {:?}",
            answer.body
        );
    }
    // Nothing was changed by any of them.
    assert_eq!(h.find(&h.a, WA_ID).await.unwrap(), contact);
    assert!(h
        .audit_of_a()
        .await
        .iter()
        .all(|e| e.action == "api_key.issued"));
    let tenant = h.store().tenant(&h.a.tenant.id).await.unwrap().unwrap();
    assert_eq!(tenant.settings, h.a.tenant.settings);
}

#[tokio::test]
async fn missing_unknown_and_revoked_keys_get_401_on_every_route() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, None).await;
    let keys = h.store().api_keys(&h.a.tenant.id).await.unwrap();
    let (_, revoked) = h
        .store()
        .issue_api_key(&h.a.tenant.id, "to revoke", Actor::Admin)
        .await
        .unwrap();
    let revoked_id = h
        .store()
        .api_keys(&h.a.tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| !keys.contains(k))
        .unwrap()
        .id;
    h.store()
        .revoke_api_key(&h.a.tenant.id, &revoked_id, Actor::Admin)
        .await
        .unwrap();
    let revoked = secrecy::ExposeSecret::expose_secret(&revoked).to_owned();
    // The key with its last character changed (to another one, whatever it was).
    let last = if h.a.token.ends_with('0') { "1" } else { "0" };
    let tampered = format!("{}{last}", &h.a.token[..h.a.token.len() - 1]);
    for route in ROUTES {
        let path = route.path.replace("{contact}", WA_ID);
        for token in [
            None,
            Some("not-a-key"),
            Some(revoked.as_str()),
            Some(tampered.as_str()),
        ] {
            let answer = h
                .call(api_request(route.method, &path, &[], token, None))
                .await;
            assert_eq!(answer.status, 401, "{} {path} with {token:?}", route.method);
            assert_eq!(answer.error_code(), "unauthorized");
        }
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_in_json() {
    let h = harness().await;
    let answer = h.as_a("GET", "/v1/nothing-here", None).await;
    assert_eq!((answer.status, answer.error_code()), (404, "not_found"));
    let answer = h.as_a("PUT", "/v1/settings", None).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (405, "method_not_allowed")
    );
    let answer = h
        .as_a("GET", &format!("/v1/contacts/{WA_ID}/erasure"), None)
        .await;
    assert_eq!(answer.status, 405);
}

#[tokio::test]
async fn every_change_commits_an_audit_event_naming_key_action_and_subject() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let key = h.store().api_keys(&h.a.tenant.id).await.unwrap().remove(0);
    let c = format!("/v1/contacts/{WA_ID}");
    let changes: Vec<(&str, String, Option<Value>, &str)> = vec![
        (
            "PATCH",
            c.clone(),
            Some(json!({"name": "Amina B."})),
            "contact.rectified",
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(
                json!({"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": "f-1"}),
            ),
            "consent.recorded",
        ),
        (
            "POST",
            format!("{c}/restriction"),
            None,
            "contact.restricted",
        ),
        (
            "DELETE",
            format!("{c}/restriction"),
            None,
            "contact.restriction_lifted",
        ),
        ("POST", format!("{c}/takeover"), None, "contact.taken_over"),
        (
            "DELETE",
            format!("{c}/takeover"),
            None,
            "contact.handed_back",
        ),
        (
            "PATCH",
            "/v1/settings".into(),
            Some(json!({"legal_hold": true, "legal_hold_reason": "case 8"})),
            "settings.updated",
        ),
    ];
    for (method, path, body, action) in changes {
        let before = h.audit_of_a().await.len();
        let answer = h.as_a(method, &path, body).await;
        assert!(answer.status < 300, "{method} {path}: {:?}", answer.body);
        let events = h.audit_of_a().await;
        assert_eq!(
            events.len(),
            before + 1,
            "{method} {path} wrote one audit event"
        );
        let event = &events[0];
        assert_eq!(event.action, action);
        assert_eq!(event.actor, Actor::ApiKey(key.id.clone()));
        assert_eq!(event.outcome, Outcome::Succeeded);
        if path.starts_with("/v1/contacts/") {
            assert_eq!(event.subject.as_ref(), Some(&contact.id));
        }
        let text = serde_json::to_string(event).unwrap();
        assert!(
            !text.contains(WA_ID) && !text.contains("Amina"),
            "no personal data: {text}"
        );
    }
    // Repeating a change that is already in force changes and audits nothing.
    let before = h.audit_of_a().await.len();
    assert_eq!(
        h.as_a("DELETE", &format!("{c}/restriction"), None)
            .await
            .status,
        200
    );
    assert_eq!(h.audit_of_a().await.len(), before);
    let legal = h.audit_of_a().await.remove(0);
    assert_eq!(legal.detail["legal_hold"], true);
}

#[tokio::test]
async fn the_audit_trail_pages_newest_first_and_cursors_do_not_cross_tenants() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, None).await;
    for on in ["POST", "DELETE", "POST", "DELETE"] {
        assert_eq!(
            h.as_a(on, &format!("/v1/contacts/{WA_ID}/takeover"), None)
                .await
                .status,
            200
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut first_cursor = None;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page = h
            .call(api_request(
                "GET",
                "/v1/audit",
                &query,
                Some(&h.a.token),
                None,
            ))
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let events = page.body["events"].as_array().unwrap();
        assert!(events.len() <= 2);
        seen.extend(
            events
                .iter()
                .map(|e| e["action"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => {
                first_cursor.get_or_insert(next.to_owned());
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "contact.handed_back",
            "contact.taken_over",
            "contact.handed_back",
            "contact.taken_over",
            "api_key.issued"
        ]
    );
    let stolen = first_cursor.unwrap();
    let answer = h
        .call(api_request(
            "GET",
            "/v1/audit",
            &[("cursor", stolen.as_str())],
            Some(&h.b.token),
            None,
        ))
        .await;
    assert_eq!((answer.status, answer.error_field()), (400, Some("cursor")));
}

#[tokio::test]
async fn settings_changes_are_validated_saved_and_take_effect() {
    let h = harness().await;
    let answer = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(
                json!({"chat_retention_days": 90, "automation_enabled": false,
                        "faq": [{"question": "Open on Sunday?", "answer": "No."}]}),
            ),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["chat_retention_days"], 90);
    assert_eq!(
        answer.body["chat_retention_days_bounds"],
        json!({"min": 1, "max": 365})
    );
    let tenant = h.store().tenant(&h.a.tenant.id).await.unwrap().unwrap();
    assert_eq!(tenant.settings.chat_retention_days, 90);
    assert!(!tenant.settings.automation_enabled);
    assert_eq!(tenant.settings.faq.len(), 1);
    assert_eq!(
        tenant
            .retention()
            .period(mizan_shared::domain::retention::Category::ChatContent),
        mizan_shared::domain::time::days(90)
    );
    let got = h.as_a("GET", "/v1/settings", None).await;
    assert_eq!(got.body, answer.body);
}

#[tokio::test]
async fn a_contact_reads_back_with_profile_consent_and_flags() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, Some(USER_ID)).await;
    for reference in [WA_ID, USER_ID, "+15550100001", "%2B15550100001"] {
        let answer = h
            .as_a("GET", &format!("/v1/contacts/{reference}"), None)
            .await;
        assert_eq!(answer.status, 200, "{reference}");
        assert_eq!(answer.body["profile"]["wa_id"], WA_ID);
        assert_eq!(answer.body["profile"]["user_id"], USER_ID);
        assert_eq!(answer.body["profile"]["name"], "Amina");
        assert_eq!(answer.body["consent"]["marketing"], "unset");
        assert_eq!(answer.body["may_send"]["marketing"], false);
        assert_eq!(answer.body["may_send"]["automated_replies"], true);
        for flag in ["restricted", "taken_over", "legal_hold", "minor"] {
            assert_eq!(answer.body[flag], false, "{flag}");
        }
    }
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    assert_eq!(contact.consent.marketing, Decision::Unset);
}

async fn as_key(
    h: &support::Harness,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> support::Answer {
    h.call(support::api_request(
        method,
        path,
        &[],
        Some(token),
        body.map(|b| b.to_string()),
    ))
    .await
}

/// Keys carry scopes: a `read` key reads and is refused every change with 403 naming the scope
/// it lacks; the legal hold, settings and keys need `admin`.
#[tokio::test]
async fn a_key_may_do_only_what_its_scopes_allow() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, Some(USER_ID)).await;
    let issued = h
        .as_a(
            "POST",
            "/v1/api-keys",
            Some(json!({"label": "dashboard (read only)", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(issued.status, 201, "{:?}", issued.body);
    let reader = issued.body["api_key"].as_str().unwrap().to_owned();
    assert_eq!(issued.body["scopes"], json!(["read"]));

    let c = format!("/v1/contacts/{WA_ID}");
    for (method, path) in [
        ("GET", c.clone()),
        ("GET", "/v1/settings".into()),
        ("GET", "/v1/audit".into()),
        ("GET", "/v1/account".into()),
        ("GET", "/v1/contacts".into()),
    ] {
        assert_eq!(
            as_key(&h, &reader, method, &path, None).await.status,
            200,
            "{method} {path}"
        );
    }
    for (method, path, body, scope) in [
        ("POST", format!("{c}/erasure"), None, "rights"),
        ("POST", format!("{c}/takeover"), None, "messages"),
        (
            "PATCH",
            "/v1/settings".to_owned(),
            Some(json!({"legal_hold": true, "legal_hold_reason": "case 1"})),
            "admin",
        ),
        (
            "PATCH",
            "/v1/account".to_owned(),
            Some(json!({"business_name": "Not mine"})),
            "admin",
        ),
        ("GET", "/v1/api-keys".to_owned(), None, "admin"),
    ] {
        let refused = as_key(&h, &reader, method, &path, body).await;
        assert_eq!(
            (refused.status, refused.error_code()),
            (403, "missing_scope"),
            "{method} {path}"
        );
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{scope}`")),
            "{method} {path}: {:?}",
            refused.body
        );
    }
    // Nothing was changed by the refused calls.
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    assert!(!contact.taken_over && contact.erasure_requested_at.is_none());
}

/// Keys are rotated without downtime through the API: issue, list, revoke; an expired key
/// stops working; a legal hold set by the operator is not lifted by a tenant's key.
#[tokio::test]
async fn api_keys_are_issued_listed_and_revoked_through_the_api() {
    let h = harness().await;
    let issued = h
        .as_a(
            "POST",
            "/v1/api-keys",
            Some(json!({"label": "helpdesk", "scopes": ["read", "messages"]})),
        )
        .await;
    assert_eq!(issued.status, 201);
    let id = issued.body["id"].as_str().unwrap().to_owned();
    let token = issued.body["api_key"].as_str().unwrap().to_owned();
    let listed = h.as_a("GET", "/v1/api-keys", None).await;
    let text = listed.body.to_string();
    assert!(text.contains(&id) && !text.contains(&token), "{text}");
    assert_eq!(
        as_key(&h, &token, "GET", "/v1/settings", None).await.status,
        200
    );

    // Tenant B can neither see nor revoke it.
    assert_eq!(
        h.as_b("DELETE", &format!("/v1/api-keys/{id}"), None)
            .await
            .status,
        404
    );
    let revoked = h.as_a("DELETE", &format!("/v1/api-keys/{id}"), None).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.body["active"], false);
    assert_eq!(
        as_key(&h, &token, "GET", "/v1/settings", None).await.status,
        401
    );
    let actions: Vec<String> = h.audit_of_a().await.into_iter().map(|e| e.action).collect();
    assert!(
        actions.contains(&"api_key.issued".to_owned())
            && actions.contains(&"api_key.revoked".to_owned())
    );

    // Bad input names its field.
    for (body, field) in [
        (json!({"label": "x", "scopes": []}), "scopes"),
        (json!({"label": "", "scopes": ["read"]}), "label"),
        (
            json!({"label": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"label": "x", "scopes": ["read"], "expires_at": "soon"}),
            "expires_at",
        ),
    ] {
        let answer = h.as_a("POST", "/v1/api-keys", Some(body)).await;
        assert_eq!((answer.status, answer.error_field()), (400, Some(field)));
    }

    // An operator's hold: the tenant's admin key cannot lift it.
    let mut tenant = h
        .store()
        .tenant_versioned(&h.a.tenant.id)
        .await
        .unwrap()
        .unwrap();
    tenant.value.settings = mizan_shared::domain::settings_patch::SettingsPatch {
        legal_hold: Some(true),
        legal_hold_reason: Some("regulator request 12".into()),
        by_operator: true,
        ..Default::default()
    }
    .apply(&tenant.value.settings)
    .unwrap()
    .settings;
    h.store().save_tenant(&tenant, None).await.unwrap();
    let lift = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"legal_hold": false, "legal_hold_reason": "we are done"})),
        )
        .await;
    assert_eq!(
        (lift.status, lift.error_code()),
        (403, "legal_hold_by_operator")
    );
    assert_eq!(
        h.as_a("GET", "/v1/settings", None).await.body["legal_hold"],
        true
    );
}
