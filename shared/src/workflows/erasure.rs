//! Completing an erasure (P7, P11, P12): the archives of the contact's exports, then every record
//! of the contact, leaving only a suppression entry where the opt-out must outlive the data.
//! The consent API calls it right after `Store::request_erasure`; the retention purge calls it
//! for any request still open (a failure here is finished on the purge's next run).

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::export::{ExportJob, ExportState, Revocation};
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::time::Timestamp;
use crate::ports::archives::{ArchiveError, ArchiveStore};
use crate::store::{DataError, ErasureReport, Store};
use crate::workflows::export::{revoke_export, RevocationError, Revoked};

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("an export archive could not be removed: {0}")]
    Archive(#[from] ArchiveError),
}

impl ErasureError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ErasureError::Data(e) => e.is_retryable(),
            ErasureError::Archive(e) => e.is_retryable(),
        }
    }
}

/// Removes the contact's export archives, revokes (for a requested erasure) every whole-account
/// export that may hold the contact (its archive deleted, its link answering 410, audited),
/// then removes everything the store holds of the contact. Safe to repeat: archives go before
/// the jobs that name them, and the profile goes last.
pub async fn complete_erasure(
    store: &Store,
    archives: &dyn ArchiveStore,
    tenant: &TenantId,
    contact: &ContactId,
) -> Result<ErasureReport, ErasureError> {
    for job in store.exports_of_contact(tenant, contact).await? {
        if let ExportState::Ready { object_key, .. } = &job.state {
            archives.delete(object_key).await?;
        }
    }
    // The profile goes last, so it is still here unless a previous run finished this part.
    // Only a requested erasure (or a minor flag) reaches the whole-account exports and is
    // audited as completed: an idle contact the purge retires is not flagged yet here, and a
    // fresh account export need not go because retention ended for someone in it.
    // Its state only: the purge completes erasures and may not read data keys.
    let found = store
        .contact_state(tenant, contact)
        .await?
        .filter(|c| c.value.is_erasure_due());
    let revoked = match &found {
        Some(found) => {
            revoke_account_exports(store, archives, tenant, contact, found.value.created_at).await?
        }
        None => 0,
    };
    let mut report = store.erase_contact(tenant, contact).await?;
    report.account_exports_revoked = revoked;
    if found.is_some() {
        // What the erasure reached, on the record beside its request (counts only).
        let done = AuditEvent::new(
            tenant.clone(),
            Actor::System("erasure".into()),
            "contact.erasure_completed",
            Some(contact.clone()),
            store.now(),
        )
        .with_detail(serde_json::json!({
            "records_removed": report.records_removed,
            "exports_removed": report.exports.len(),
            "account_exports_revoked": report.account_exports_revoked,
            "suppressed": report.suppressed,
        }));
        store.append_audit(&done).await?;
    }
    Ok(report)
}

/// Revokes the tenant's whole-account exports that may hold a contact created at `created_at`;
/// how many.
async fn revoke_account_exports(
    store: &Store,
    archives: &dyn ArchiveStore,
    tenant: &TenantId,
    contact: &ContactId,
    created_at: Timestamp,
) -> Result<usize, ErasureError> {
    let holds = |job: &ExportJob| job.may_hold_contact_created_at(created_at);
    let mut revoked = 0;
    for listed in store.exports(tenant).await? {
        if !holds(&listed) {
            continue;
        }
        let outcome = revoke_export(
            store,
            archives,
            tenant,
            &listed.id,
            Revocation::Erasure,
            Actor::System("erasure".into()),
            Some(contact),
            holds,
        )
        .await;
        match outcome {
            Ok(Revoked::Now(_)) => revoked += 1,
            Ok(Revoked::Already(_) | Revoked::Skipped) => {}
            Err(RevocationError::Data(e)) => return Err(e.into()),
            Err(RevocationError::Archive(e)) => return Err(e.into()),
            Err(RevocationError::KeptChanging) => {
                return Err(DataError::Conflict(
                    "a whole-account export kept changing while it was being revoked".into(),
                )
                .into())
            }
        }
    }
    Ok(revoked)
}
