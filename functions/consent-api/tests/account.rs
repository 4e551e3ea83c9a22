//! Closing an account: from then on nothing of it is stored or reachable through its keys but
//! the export of its data, for `closed_export_days`; then its keys get 401.

mod support;

use mizan_shared::domain::tenant::TenantStatus;
use mizan_shared::domain::time::days;
use serde_json::json;
use support::{harness, WA_ID};

#[tokio::test]
async fn a_closed_account_stores_nothing_and_its_keys_only_export_for_a_while() {
    let h = harness().await;
    let bad = h
        .as_a("POST", "/v1/account/close", Some(json!({"confirm": false})))
        .await;
    assert_eq!((bad.status, bad.error_field()), (400, Some("confirm")));
    let closed = h
        .as_a("POST", "/v1/account/close", Some(json!({"confirm": true})))
        .await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert_eq!(closed.body["status"], "closed");
    assert!(closed.body["export_until"].is_string() && closed.body["removed_after"].is_string());
    let audit = h.audit_of_a().await;
    assert!(audit.iter().any(|e| e.action == "account.closed"));

    // Its keys: every consent-api route says the account is closed.
    for (method, path) in [
        ("GET", "/v1/settings"),
        ("GET", "/v1/audit"),
        ("POST", "/v1/account/close"),
    ] {
        let refused = h.as_a(method, path, Some(json!({"confirm": true}))).await;
        assert_eq!(
            (refused.status, refused.error_code()),
            (403, "account_closed"),
            "{path}"
        );
    }
    // Another tenant is untouched.
    assert_eq!(h.as_b("GET", "/v1/settings", None).await.status, 200);

    // Meta's deliveries are acknowledged, and nothing of them is stored.
    assert_eq!(h.whatsapp_text("wamid.CLOSED1", WA_ID, "Hello?").await, 200);
    assert!(h.find(&h.a, WA_ID).await.is_none(), "no contact made");

    // Past the export grace, the keys stop working.
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
    let gone = h.as_a("GET", "/v1/settings", None).await;
    assert_eq!(gone.status, 401, "{:?}", gone.body);
}
