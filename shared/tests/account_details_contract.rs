//! The business's account details: saved sealed under the account's own key with their audit
//! event, refused over a stale version, and shredded (key destroyed, record gone) when the
//! closed account is removed. On the embedded backend and DynamoDB Local alike.

use mizan_shared::domain::account_details::{AccountDetails, AccountDetailsPatch};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::ids::ContactId;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::ports::keys::KeyContext;
use mizan_shared::store::{layout, DataError};
use mizan_shared::workflows::account::change_account_details;
use mizan_test_support::on_both_backends;
use mizan_test_support::store::Harness;

fn patch(json: serde_json::Value) -> AccountDetailsPatch {
    serde_json::from_value(json).unwrap()
}

fn audit(h: &Harness, tenant: &Tenant) -> AuditEvent {
    AuditEvent::new(
        tenant.id.clone(),
        Actor::Admin,
        "account.details_changed",
        None,
        h.now(),
    )
}

async fn details_are_sealed_versioned_and_shredded_with_the_account(h: Harness) {
    let tenant = Tenant::new("Atlas Tea", h.now());
    h.store.create_tenant(&tenant).await.unwrap();
    assert!(h.store.account_details(&tenant.id).await.unwrap().is_none());

    let (details, _) = patch(serde_json::json!({
        "contact_email": "owner@atlas-tea.example",
        "company": {"tax_id": "ICE 001234567000089"}
    }))
    .apply(&AccountDetails::default())
    .unwrap();
    let version = h
        .store
        .save_account_details(&tenant.id, &details, None, &audit(&h, &tenant))
        .await
        .unwrap();
    let read = h.store.account_details(&tenant.id).await.unwrap().unwrap();
    assert_eq!(
        (read.value.clone(), read.version),
        (details.clone(), version)
    );

    // A second first save, or a save over a stale version, is refused.
    let again = h
        .store
        .save_account_details(&tenant.id, &details, None, &audit(&h, &tenant))
        .await;
    assert!(matches!(again, Err(DataError::Conflict(_))), "{again:?}");
    let newer = change_account_details(
        &h.store,
        &tenant.id,
        &patch(serde_json::json!({"industry": "food retail"})),
        Actor::Admin,
    )
    .await
    .unwrap();
    assert_eq!(newer.industry.as_deref(), Some("food retail"));
    let stale = h
        .store
        .save_account_details(&tenant.id, &details, Some(version), &audit(&h, &tenant))
        .await;
    assert!(matches!(stale, Err(DataError::Conflict(_))), "{stale:?}");

    // Nothing readable in the record itself.
    let record = h
        .records
        .get(&layout::account_details(&tenant.id), h.now())
        .await
        .unwrap()
        .unwrap();
    let stored = format!("{} {:?}", record.doc, record.sealed);
    assert!(
        !stored.contains("owner") && !stored.contains("ICE"),
        "{stored}"
    );

    // The account removed (its closure's end): the key destroyed, the record gone.
    let context = KeyContext::new(tenant.id.clone(), ContactId::new("account"));
    assert!(h.keys.get(&context).await.unwrap().is_some());
    h.store.remove_account(&tenant).await.unwrap();
    assert!(h.keys.get(&context).await.unwrap().is_none());
    assert!(h.store.account_details(&tenant.id).await.unwrap().is_none());
}

on_both_backends!(details_are_sealed_versioned_and_shredded_with_the_account);
