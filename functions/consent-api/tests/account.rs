//! The business's account: its details, rectified field by field, audited by name and stored
//! sealed; closing it, after which nothing of it is stored or reachable through its keys but the
//! export of its data, for `closed_export_days`; then its keys get 401.

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

#[tokio::test]
async fn account_details_are_rectified_field_by_field_audited_by_name_and_sealed() {
    let h = harness().await;
    let fresh = h.as_a("GET", "/v1/account", None).await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    assert_eq!(fresh.body["status"], "active");
    assert_eq!(fresh.body["name"], "Atlas Tea");
    assert_eq!(fresh.body["details"]["contact_email"], json!(null));
    assert_eq!(fresh.body["details"]["company"]["country"], json!(null));

    let set = h
        .as_a(
            "PATCH",
            "/v1/account",
            Some(json!({
                "business_name": "Atlas Tea",
                "contact_email": "owner@atlas-tea.example",
                "contact_phone": "+212 5 22 00 00 00",
                "company": {"legal_name": "Atlas Tea SARL", "country": "ma"}
            })),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.body["details"]["contact_phone"], "+212522000000");
    assert_eq!(set.body["details"]["company"]["country"], "MA");
    // Removing one field keeps the others.
    let removed = h
        .as_a(
            "PATCH",
            "/v1/account",
            Some(json!({"contact_phone": null, "industry": "food retail"})),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    let read = h.as_a("GET", "/v1/account", None).await;
    assert_eq!(read.body["details"]["contact_phone"], json!(null));
    assert_eq!(read.body["details"]["industry"], "food retail");
    assert_eq!(
        read.body["details"]["contact_email"],
        "owner@atlas-tea.example"
    );
    assert_eq!(
        read.body["details"]["company"]["legal_name"],
        "Atlas Tea SARL"
    );

    // The audit names the fields, never their values.
    let audit = h.audit_of_a().await;
    let changes: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "account.details_changed")
        .collect();
    assert_eq!(changes.len(), 2);
    let text =
        serde_json::to_string(&changes.iter().map(|e| &e.detail).collect::<Vec<_>>()).unwrap();
    assert!(
        text.contains("contact_email") && text.contains("company.country"),
        "{text}"
    );
    assert!(
        !text.contains("owner@") && !text.contains("212522"),
        "{text}"
    );
    // The same values again change (and audit) nothing.
    let same = h
        .as_a(
            "PATCH",
            "/v1/account",
            Some(json!({"industry": "food retail"})),
        )
        .await;
    assert_eq!(same.status, 200);
    assert_eq!(
        h.audit_of_a()
            .await
            .iter()
            .filter(|e| e.action == "account.details_changed")
            .count(),
        2
    );

    // Stored sealed: nothing of the details in the clear.
    let record = h
        .store()
        .records()
        .get(
            &mizan_shared::store::layout::account_details(&h.a.tenant.id),
            h.store().now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(record.sealed.is_some());
    let stored = record.doc.to_string();
    assert!(
        !stored.contains("owner") && !stored.contains("Atlas Tea SARL"),
        "{stored}"
    );

    // Another tenant's key reads its own account.
    let other = h.as_b("GET", "/v1/account", None).await;
    assert_eq!(other.body["details"]["contact_email"], json!(null));

    // Bad input names its field; nothing of the patch applies.
    for (body, field) in [
        (json!({}), "body"),
        (json!({"company": {}}), "body"),
        (json!({"email": "x@y.ma"}), "email"),
        (json!({"contact_email": "owner at atlas"}), "contact_email"),
        (
            json!({"industry": "tea", "company": {"country": "Morocco"}}),
            "company.country",
        ),
        (json!({"business_name": 7}), "business_name"),
    ] {
        let refused = h.as_a("PATCH", "/v1/account", Some(body.clone())).await;
        assert_eq!(
            (refused.status, refused.error_field()),
            (400, Some(field)),
            "{body}: {:?}",
            refused.body
        );
    }
    let after = h.as_a("GET", "/v1/account", None).await;
    assert_eq!(after.body["details"]["industry"], "food retail");
}
