//! The embedded backend: SQLite files in one directory, for running on one machine.

mod change_feed;
mod group_commit;
mod key_store;
mod record_store;
mod schema;
pub mod stream_event;

pub use change_feed::{Change, ChangeEvent};
pub use key_store::EmbeddedKeyStore;
pub use record_store::EmbeddedStore;

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
