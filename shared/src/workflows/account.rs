//! Closing a business's account and reopening it: the status changes with its audit event in
//! one write. Closed, the account stores nothing more (intake), sends nothing (replies, a
//! person's messages, campaigns), its keys only export its data for `closed_export_days`, and
//! the retention purge removes everything of it two years after the closure.

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
