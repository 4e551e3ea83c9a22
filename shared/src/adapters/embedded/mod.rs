//! The embedded backend: SQLite files in one directory, for running on one machine.

mod change_feed;
mod checkpointer;
mod group_commit;
mod key_store;
mod record_cache;
mod record_store;
mod rows;
mod schema;
pub mod stream_event;

pub use change_feed::{Change, ChangeEvent};
pub use key_store::EmbeddedKeyStore;
pub use record_store::EmbeddedStore;
pub use schema::Durability;

use crate::ports::records::StoreError;

pub(crate) fn sqlite_error(error: rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Busy(e.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// The data directory holds keys and personal data: only its owner may enter it.
pub(crate) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
