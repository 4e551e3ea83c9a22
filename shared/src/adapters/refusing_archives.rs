//! The export archives of a function that does not reach them, or only deletes them: every
//! other call is refused, saying so.

use crate::ports::archives::{
    ArchiveDeleter, ArchiveError, ArchiveLocation, ArchiveStore, ArchiveUpload,
};
use async_trait::async_trait;
use std::sync::Arc;

pub struct RefusingArchives {
    reason: &'static str,
    deleter: Option<Arc<dyn ArchiveDeleter>>,
}

impl RefusingArchives {
    /// For a function that never touches export archives.
    pub fn unreachable() -> RefusingArchives {
        RefusingArchives {
            reason: "this function does not reach export archives",
            deleter: None,
        }
    }

    /// For a function that only deletes them (through `deleter`).
    pub fn deleting_only(deleter: Arc<dyn ArchiveDeleter>) -> RefusingArchives {
        RefusingArchives {
            reason: "this function only deletes export archives",
            deleter: Some(deleter),
        }
    }

    fn refused(&self) -> ArchiveError {
        ArchiveError::Refused(self.reason.into())
    }
}

#[async_trait]
impl ArchiveStore for RefusingArchives {
    async fn create(&self, _: &str) -> Result<Box<dyn ArchiveUpload>, ArchiveError> {
        Err(self.refused())
    }

    async fn location(
        &self,
        _: &str,
        _: std::time::Duration,
    ) -> Result<ArchiveLocation, ArchiveError> {
        Err(self.refused())
    }

    async fn read(&self, _: &str) -> Result<Vec<u8>, ArchiveError> {
        Err(self.refused())
    }

    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError> {
        match &self.deleter {
            Some(deleter) => deleter.delete(object_key).await,
            None => Err(self.refused()),
        }
    }

    async fn exists(&self, _: &str) -> Result<bool, ArchiveError> {
        Err(self.refused())
    }
}
