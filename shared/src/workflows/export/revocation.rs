//! Withdrawing an export before it expires: its archive deleted first (a job that says revoked
//! never names an archive left behind), then the job marked revoked with its audit event in one
//! write, tried again when the job changed meanwhile (a download counted, the worker finishing).

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::export::{ExportJob, ExportScope, ExportState, Revocation};
use crate::domain::ids::{ContactId, ExportId, TenantId};
use crate::ports::archives::{ArchiveError, ArchiveStore};
use crate::store::{DataError, Store};

/// How often a revocation is tried when the job keeps changing.
const ATTEMPTS: usize = 3;

#[derive(Debug)]
pub enum Revoked {
    /// Revoked now, by this call.
    Now(ExportJob),
    /// It was revoked before; nothing changed.
    Already(ExportJob),
    /// The job is gone, or no longer one `applies` accepts.
    Skipped,
}

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("the export archive could not be deleted: {0}")]
    Archive(#[from] ArchiveError),
    #[error("the export kept changing while it was being revoked")]
    KeptChanging,
}

/// Revokes export `id` of `tenant` if `applies` to it as it is now, audited as
/// `export.revoked` by `actor` for `reason`, about `about` (else the export's own contact).
#[allow(clippy::too_many_arguments)]
pub async fn revoke_export(
    store: &Store,
    archives: &dyn ArchiveStore,
    tenant: &TenantId,
    id: &ExportId,
    reason: Revocation,
    actor: Actor,
    about: Option<&ContactId>,
    applies: impl Fn(&ExportJob) -> bool,
) -> Result<Revoked, RevocationError> {
    for _ in 0..ATTEMPTS {
        let Some(mut job) = store.export(tenant, id).await? else {
            return Ok(Revoked::Skipped);
        };
        if matches!(job.value.state, ExportState::Revoked { .. }) {
            return Ok(Revoked::Already(job.value));
        }
        if !applies(&job.value) {
            return Ok(Revoked::Skipped);
        }
        let now = store.now();
        let archive = job
            .value
            .revoke(now, reason)
            .map_err(|e| DataError::Invalid(e.to_string()))?;
        if let Some(object_key) = &archive {
            archives.delete(object_key).await?;
        }
        let subject = about.cloned().or_else(|| match &job.value.scope {
            ExportScope::Contact { contact } => Some(contact.clone()),
            ExportScope::Tenant => None,
        });
        let audit = AuditEvent::new(
            tenant.clone(),
            actor.clone(),
            "export.revoked",
            subject,
            now,
        )
        .with_detail(serde_json::json!({
            "export": job.value.id,
            "reason": reason.as_str(),
            "archive_deleted": archive.is_some(),
        }));
        match store.save_export_audited(&job, &audit).await {
            Ok(_) => return Ok(Revoked::Now(job.value)),
            Err(DataError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RevocationError::KeptChanging)
}
