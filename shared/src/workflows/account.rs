//! Closing a business's account and reopening it: the status changes with its audit event in
//! one write. Closed, the account stores nothing more (intake), sends nothing (replies, a
//! person's messages, campaigns), its keys only export its data for `closed_export_days`, and
//! the retention purge removes everything of it two years after the closure.

use crate::domain::account_details::{AccountDetails, AccountDetailsPatch, InvalidAccountDetail};
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::domain::tenant::{AccountError, Tenant, TenantStatus};
use crate::domain::time::Timestamp;
use crate::store::{DataError, Store};
use serde_json::{json, Value};

const ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum AccountChangeError {
    #[error("no such tenant")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] AccountError),
    #[error(transparent)]
    Data(#[from] DataError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    Close,
    Reopen,
}

/// Applies `change` to the tenant's account as `actor`; the account as it now is.
pub async fn change_account(
    store: &Store,
    tenant_id: &TenantId,
    change: AccountChange,
    actor: Actor,
) -> Result<Tenant, AccountChangeError> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let Some(mut tenant) = store.tenant_versioned(tenant_id).await? else {
            return Err(AccountChangeError::NotFound);
        };
        let now = store.now();
        let action = match change {
            AccountChange::Close => {
                tenant.value.close(now)?;
                "account.closed"
            }
            AccountChange::Reopen => {
                tenant.value.reopen(now)?;
                "account.reopened"
            }
        };
        let audit = AuditEvent::new(tenant_id.clone(), actor.clone(), action, None, now);
        match store.save_tenant(&tenant, Some(&audit)).await {
            Ok(_) => {
                tracing::info!(tenant = %tenant_id, action, "account status changed");
                return Ok(tenant.value);
            }
            Err(DataError::Conflict(reason)) => last = Some(DataError::Conflict(reason)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .unwrap_or_else(|| DataError::Conflict("the account kept changing".into()))
        .into())
}

/// The account's status as the API and the admin commands show it.
pub fn account_view(tenant: &Tenant) -> Value {
    match tenant.status {
        TenantStatus::Active => json!({ "tenant_id": tenant.id, "status": "active" }),
        TenantStatus::Closed { at } => {
            let export_until = at.plus(crate::domain::time::days(u64::from(
                tenant.settings.closed_export_days,
            )));
            let removed_after: Timestamp =
                at.plus(tenant.retention().period(Category::AccountData));
            json!({
                "tenant_id": tenant.id,
                "status": "closed",
                "closed_at": at.to_rfc3339(),
                "export_until": export_until.to_rfc3339(),
                "removed_after": removed_after.to_rfc3339(),
            })
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountDetailsError {
    #[error(transparent)]
    Invalid(#[from] InvalidAccountDetail),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Rectifies the account's details as `actor`: the patch applied to what is stored, saved with
/// an audit event `account.details_changed` naming the fields (never their values), retried
/// when someone saved meanwhile. A patch that changes nothing saves and audits nothing.
pub async fn change_account_details(
    store: &Store,
    tenant: &TenantId,
    patch: &AccountDetailsPatch,
    actor: Actor,
) -> Result<AccountDetails, AccountDetailsError> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let stored = store.account_details(tenant).await?;
        let current = stored.as_ref().map(|v| v.value.clone()).unwrap_or_default();
        let (next, changed) = patch.apply(&current)?;
        if changed.is_empty() {
            return Ok(current);
        }
        let audit = AuditEvent::new(
            tenant.clone(),
            actor.clone(),
            "account.details_changed",
            None,
            store.now(),
        )
        .with_detail(json!({ "fields": changed }));
        match store
            .save_account_details(tenant, &next, stored.map(|v| v.version), &audit)
            .await
        {
            Ok(_) => return Ok(next),
            Err(DataError::Conflict(reason)) => last = Some(DataError::Conflict(reason)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .unwrap_or_else(|| DataError::Conflict("the account details kept changing".into()))
        .into())
}

/// The details as the API shows them: every field, `null` when not given.
pub fn account_details_view(details: &AccountDetails) -> Value {
    let company = &details.company;
    json!({
        "business_name": details.business_name,
        "industry": details.industry,
        "contact_email": details.contact_email,
        "contact_phone": details.contact_phone,
        "company": {
            "legal_name": company.legal_name,
            "address": company.address,
            "tax_id": company.tax_id,
            "country": company.country,
        },
    })
}
