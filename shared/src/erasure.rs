//! Completing an erasure (P7, P11, P12): the archives of the contact's exports, then every record
//! of the contact, leaving only a suppression entry where the opt-out must outlive the data.
//! The consent API calls it right after `Store::request_erasure`; the retention purge calls it
//! for any request still open (a failure here is finished on the purge's next run).

use crate::domain::export::ExportState;
use crate::domain::ids::{ContactId, TenantId};
use crate::ports::archives::{ArchiveError, ArchiveStore};
use crate::store::{DataError, ErasureReport, Store};

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

/// Removes the contact's export archives, then everything the store holds of it. Safe to
/// repeat: archives go before the jobs that name them, and the profile goes last.
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
    Ok(store.erase_contact(tenant, contact).await?)
}
