//! The data-export API driven by the events in `events/data-export/`: asking for an export,
//! following it, and downloading it by its link, on the embedded backend.

mod support;

use mizan_data_export::ROUTES;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::download_token::{DownloadGrant, TokenSigner};
use mizan_shared::domain::export::ExportState;
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::time::days;
use support::{harness, harness_with_limit, unzip, Harness, WA_ID};

/// Asks for an export with `event` and runs the worker; the export's id.
async fn ready_export(h: &Harness, event: &str) -> String {
    let asked = h.call(h.event(event, None, "", "")).await;
    assert_eq!(
        asked.status,
        202,
        "{}",
        String::from_utf8_lossy(&asked.body)
    );
    let id = asked.json()["id"].as_str().unwrap().to_owned();
    let report = h.run_worker().await;
    assert_eq!(report.built, 1, "{report:?}");
    id
}

async fn status(h: &Harness, id: &str) -> serde_json::Value {
    let answer = h.call(h.event("get-export", None, id, "")).await;
    assert_eq!(answer.status, 200);
    answer.json()
}

/// The token of a download URL.
fn token_of(url: &str) -> String {
    url.split_once("token=").unwrap().1.to_owned()
}

#[tokio::test]
async fn every_route_has_a_sample_event() {
    let names = mizan_test_support::events::names("data-export");
    for route in ROUTES {
        let stem = match (route.method, route.path) {
            (_, "/v1/exports") => "post-export-",
            ("DELETE", "/v1/exports/{id}") => "delete-export",
            (_, "/v1/exports/{id}") => "get-export",
            _ => "get-download",
        };
        assert!(
            names.iter().any(|n| n.starts_with(stem)),
            "{} {} has an event",
            route.method,
            route.path
        );
    }
}

#[tokio::test]
async fn a_contact_export_is_built_by_the_worker_and_downloaded_by_its_link() {
    let h = harness().await;
    let contact = h.contact_with_messages(&h.a, WA_ID, 3).await;
    h.contact_with_messages(&h.a, "15550100002", 2).await;
    let asked = h.call(h.event("post-export-contact", None, "", "")).await;
    assert_eq!(asked.status, 202);
    let view = asked.json();
    assert_eq!(view["status"], "pending");
    assert_eq!(view["scope"], "contact");
    assert_eq!(view["contact_id"], contact.as_str());
    assert_eq!(view["expires_at"], "2026-01-08T00:00:00.000Z");
    assert!(view.get("download_url").is_none());
    let id = view["id"].as_str().unwrap().to_owned();
    assert_eq!(status(&h, &id).await["status"], "pending");

    assert_eq!(h.run_worker().await.built, 1);
    let view = status(&h, &id).await;
    assert_eq!(view["status"], "ready");
    assert!(view["size_bytes"].as_u64().unwrap() > 0);
    let url = view["download_url"].as_str().unwrap();
    assert!(
        url.starts_with(
            "https://mizanapi.execute-api.us-east-1.amazonaws.com/exports/download?token=v1."
        ),
        "{url}"
    );

    // The runner's archive store serves the file itself (S3 redirects instead: tests/aws.rs).
    let got = h
        .call(h.event("get-download", None, "", &token_of(url)))
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), "application/zip");
    assert_eq!(got.header("cache-control"), "no-store");
    let files = unzip(&got.body);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "consent.csv",
            "data.json",
            "index.html",
            "messages.csv"
        ]
    );
    let data: serde_json::Value = serde_json::from_str(&files["data.json"]).unwrap();
    let contacts = data["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "only the contact asked for");
    assert_eq!(contacts[0]["messages"].as_array().unwrap().len(), 3);
    assert!(files["index.html"].contains("message 2 from 15550100001"));
    assert!(!files["messages.csv"].contains("15550100002"));

    // Counted and audited: who (a link holder), which export, about whom.
    let view = status(&h, &id).await;
    assert_eq!(view["downloads"], 1);
    let audit = h
        .store()
        .audit_events(&h.a.tenant.id, 10, None)
        .await
        .unwrap();
    let downloaded = audit
        .items
        .iter()
        .find(|e| e.action == "export.downloaded")
        .expect("the download is audited");
    assert_eq!(downloaded.actor, Actor::LinkHolder);
    assert_eq!(downloaded.subject.as_ref(), Some(&contact));
    assert_eq!(downloaded.detail["export"], id.as_str());
    let requested = audit
        .items
        .iter()
        .find(|e| e.action == "export.requested")
        .expect("the request is audited");
    assert!(matches!(requested.actor, Actor::ApiKey(_)));
}

#[tokio::test]
async fn a_tenant_export_covers_every_contact_of_that_tenant_only() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    h.contact_with_messages(&h.a, "15550100002", 1).await;
    h.contact_with_messages(&h.b, "15550100003", 1).await;
    let id = ready_export(&h, "post-export-tenant").await;
    let url = status(&h, &id).await["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = h
        .call(h.event("get-download", None, "", &token_of(&url)))
        .await;
    let data: serde_json::Value = serde_json::from_str(&unzip(&got.body)["data.json"]).unwrap();
    assert_eq!(data["contacts"].as_array().unwrap().len(), 2);
    assert!(!got.body.windows(11).any(|w| w == b"15550100003"));
}

#[tokio::test]
async fn bad_requests_name_their_field_and_lose_nothing() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    for (event, status, field) in [
        ("post-export-contact-and-tenant", 400, Some("scope")),
        ("post-export-nothing", 400, Some("contact")),
        ("post-export-unknown-contact", 404, None),
        ("post-export-without-api-key", 401, None),
    ] {
        let answer = h.call(h.event(event, None, "", "")).await;
        assert_eq!(answer.status, status, "{event}");
        assert_eq!(answer.json()["error"]["field"].as_str(), field, "{event}");
    }
    let unknown = h.call(h.event("get-export-unknown", None, "", "")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["code"], "export_not_found");
    assert!(h.store().exports(&h.a.tenant.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_tenant_can_neither_see_nor_export_nor_guess() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    let id = ready_export(&h, "post-export-contact").await;
    let b = Some(h.b.token.as_str());
    let seen = h.call(h.event("get-export", b, &id, "")).await;
    assert_eq!(seen.status, 404, "B does not see A's export");
    let asked = h.call(h.event("post-export-contact", b, "", "")).await;
    assert_eq!(asked.status, 404, "B cannot name A's contact");
    // A token for A's export naming B's tenant breaks the signature; one signed by another key
    // is refused like a tampered one.
    let foreign = TokenSigner::new(vec![1; 32]).sign(&DownloadGrant {
        tenant: h.a.tenant.id.clone(),
        export: ExportId::new(id.clone()),
        expires_at: h.store().now().plus(days(1)),
    });
    let refused = h.call(h.event("get-download", None, "", &foreign)).await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn tampered_expired_and_dangling_links_get_the_same_answers() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    let id = ready_export(&h, "post-export-contact").await;
    let url = status(&h, &id).await["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = token_of(&url);

    let tampered = h.call(h.event("get-download-tampered", None, "", "")).await;
    let missing = h
        .call(h.event("get-download-without-token", None, "", ""))
        .await;
    let flipped = support::tamper(&token);
    let flipped = h.call(h.event("get-download", None, "", &flipped)).await;
    for answer in [&tampered, &missing, &flipped] {
        assert_eq!(answer.status, 403);
        assert_eq!(
            answer.body, tampered.body,
            "one answer for every invalid link"
        );
    }

    // A valid signature on an export that does not exist answers like an expired link.
    let dangling = h.deps.signer.sign(&DownloadGrant {
        tenant: h.a.tenant.id.clone(),
        export: ExportId::generate(),
        expires_at: h.store().now().plus(days(1)),
    });
    let dangling = h.call(h.event("get-download", None, "", &dangling)).await;
    h.system
        .clock()
        .advance(days(7) + std::time::Duration::from_secs(3600));
    let expired = h.call(h.event("get-download", None, "", &token)).await;
    assert_eq!(expired.status, 410);
    assert_eq!(dangling.status, 410);
    assert_eq!(
        dangling.body, expired.body,
        "one answer for every gone link"
    );
    assert_eq!(status(&h, &id).await["status"], "expired");
}

#[tokio::test]
async fn the_download_limit_is_enforced_and_each_download_counted_once() {
    let h = harness_with_limit(Some(2)).await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    let id = ready_export(&h, "post-export-contact").await;
    let view = status(&h, &id).await;
    assert_eq!(view["download_limit"], 2);
    let token = token_of(view["download_url"].as_str().unwrap());
    let first = h.call(h.event("get-download", None, "", &token)).await;
    let second = h.call(h.event("get-download", None, "", &token)).await;
    let third = h.call(h.event("get-download", None, "", &token)).await;
    assert_eq!((first.status, second.status, third.status), (200, 200, 410));
    let view = status(&h, &id).await;
    assert_eq!(view["downloads"], 2);
    assert!(
        view.get("download_url").is_none(),
        "a used-up export offers no link"
    );
}

#[tokio::test]
async fn an_export_of_an_erased_contact_is_refused_and_its_archive_removed() {
    let h = harness().await;
    let contact = h.contact_with_messages(&h.a, WA_ID, 1).await;
    let id = ready_export(&h, "post-export-contact").await;
    let token = token_of(status(&h, &id).await["download_url"].as_str().unwrap());
    mizan_shared::workflows::erasure::complete_erasure(
        h.store(),
        h.deps.archives.as_ref(),
        &h.a.tenant.id,
        &contact,
    )
    .await
    .unwrap();
    let gone = h.call(h.event("get-download", None, "", &token)).await;
    assert_eq!(gone.status, 410);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_refused() {
    let h = harness().await;
    let mut request = h.event("get-export", None, "x", "");
    *request.method_mut() = lambda_http::http::Method::PUT;
    assert_eq!(h.call(request).await.status, 405);
}

#[tokio::test]
async fn a_revoked_export_loses_its_archive_and_its_link_answers_410() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    let id = ready_export(&h, "post-export-contact").await;
    let token = token_of(status(&h, &id).await["download_url"].as_str().unwrap());
    let stored = h
        .store()
        .export(&h.a.tenant.id, &ExportId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let ExportState::Ready { object_key, .. } = stored.value.state else {
        panic!("ready")
    };

    // Another tenant cannot revoke it.
    let foreign = h
        .call(h.event("delete-export", Some(&h.b.token), &id, ""))
        .await;
    assert_eq!(foreign.status, 404);

    let revoked = h.call(h.event("delete-export", None, &id, "")).await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.json());
    let view = revoked.json();
    assert_eq!(view["status"], "revoked");
    assert_eq!(view["revoked_because"], "business");
    assert!(view.get("download_url").is_none());
    assert!(!h.deps.archives.exists(&object_key).await.unwrap());
    let gone = h.call(h.event("get-download", None, "", &token)).await;
    assert_eq!(gone.status, 410);
    let audit = h
        .store()
        .audit_events(&h.a.tenant.id, 10, None)
        .await
        .unwrap();
    let event = audit
        .items
        .iter()
        .find(|e| e.action == "export.revoked")
        .expect("audited");
    assert_eq!(event.detail["export"], id.as_str());
    assert_eq!(event.detail["archive_deleted"], true);

    // Again: the same answer, nothing more recorded.
    let again = h.call(h.event("delete-export", None, &id, "")).await;
    assert_eq!(
        (again.status, again.json()["status"].clone()),
        (200, "revoked".into())
    );
    let audit = h
        .store()
        .audit_events(&h.a.tenant.id, 10, None)
        .await
        .unwrap();
    assert_eq!(
        audit
            .items
            .iter()
            .filter(|e| e.action == "export.revoked")
            .count(),
        1
    );
}

/// Erasure reaches whole-account archives too: each that may hold the person is revoked (its
/// archive deleted, its link 410), and the erasure's answer says how many.
#[tokio::test]
async fn erasing_a_contact_revokes_the_whole_account_exports_that_held_them() {
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 2).await;
    let tenant_export = ready_export(&h, "post-export-tenant").await;
    let token = token_of(
        status(&h, &tenant_export).await["download_url"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        h.call(h.event("get-download", None, "", &token))
            .await
            .status,
        200
    );
    let contact = h
        .store()
        .find_contact(
            &h.a.tenant.id,
            mizan_shared::domain::identity_hash::IdentifierKind::WaId,
            WA_ID,
        )
        .await
        .unwrap()
        .unwrap();
    let audit = mizan_shared::domain::audit::AuditEvent::new(
        h.a.tenant.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(contact.value.id.clone()),
        h.store().now(),
    );
    h.store()
        .request_erasure(
            &contact,
            mizan_shared::store::ErasureReason::Request,
            &audit,
        )
        .await
        .unwrap();
    let report = mizan_shared::workflows::erasure::complete_erasure(
        h.store(),
        h.deps.archives.as_ref(),
        &h.a.tenant.id,
        &contact.value.id,
    )
    .await
    .unwrap();
    assert_eq!(report.account_exports_revoked, 1);
    let audit = h
        .store()
        .audit_events(&h.a.tenant.id, 20, None)
        .await
        .unwrap();
    let completed = audit
        .items
        .iter()
        .find(|e| e.action == "contact.erasure_completed")
        .expect("the completion is audited");
    assert_eq!(completed.detail["account_exports_revoked"], 1);
    let view = status(&h, &tenant_export).await;
    assert_eq!(view["status"], "revoked");
    assert_eq!(view["revoked_because"], "erasure");
    assert_eq!(
        h.call(h.event("get-download", None, "", &token))
            .await
            .status,
        410
    );
}

#[tokio::test]
async fn a_client_chosen_host_header_never_becomes_the_download_link() {
    let mut h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    let id = ready_export(&h, "post-export-contact").await;
    let mut spoofed = h.event("get-export", None, &id, "");
    for (name, value) in [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
    ] {
        spoofed.headers_mut().insert(name, value.parse().unwrap());
    }
    let answer = h.call(spoofed).await;
    assert_eq!(answer.status, 200);
    let url = answer.json()["download_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("https://mizanapi.execute-api.us-east-1.amazonaws.com/exports/download?"),
        "API Gateway's own domain, from the request context: {url}"
    );

    // A configured public base URL (a custom domain) is used as it is.
    h.deps.public_base_url = Some("https://api.atlas-tea.ma".into());
    let view = status(&h, &id).await;
    let url = view["download_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://api.atlas-tea.ma/exports/download?token=v1."),
        "{url}"
    );
}

#[tokio::test]
async fn exports_need_a_key_with_the_rights_scope() {
    use secrecy::ExposeSecret;
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 1).await;
    let (_, reader) = h
        .store()
        .issue_scoped_api_key(
            &h.a.tenant.id,
            "read only",
            [mizan_shared::domain::api_key::Scope::Read].into(),
            None,
            Actor::Admin,
        )
        .await
        .unwrap();
    let refused = h
        .call(h.event("post-export-contact", Some(reader.expose_secret()), "", ""))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "missing_scope");
    assert_eq!(h.run_worker().await.built, 0, "no job was recorded");
}

#[tokio::test]
async fn a_closed_accounts_keys_still_export_its_data_until_the_grace_ends() {
    use mizan_shared::domain::audit::Actor;
    use mizan_shared::domain::tenant::TenantStatus;
    use mizan_shared::domain::time::days;
    use mizan_shared::workflows::account::{change_account, AccountChange};
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 2).await;
    change_account(
        h.store(),
        &h.a.tenant.id,
        AccountChange::Close,
        Actor::Admin,
    )
    .await
    .unwrap();
    let id = ready_export(&h, "post-export-tenant").await;
    let url = status(&h, &id).await["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = h
        .call(h.event("get-download", None, "", &token_of(&url)))
        .await;
    assert_eq!(got.status, 200);
    let data: serde_json::Value = serde_json::from_str(&unzip(&got.body)["data.json"]).unwrap();
    assert_eq!(data["contacts"].as_array().unwrap().len(), 1);

    // Past `closed_export_days`, the keys stop working.
    let mut tenant = h
        .store()
        .tenant_versioned(&h.a.tenant.id)
        .await
        .unwrap()
        .unwrap();
    tenant.value.status = TenantStatus::Closed {
        at: h.store().now().minus(days(31)),
    };
    h.store().save_tenant(&tenant, None).await.unwrap();
    let refused = h.call(h.event("post-export-tenant", None, "", "")).await;
    assert_eq!(refused.status, 401);
}
