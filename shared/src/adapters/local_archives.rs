//! Export archives as files under the embedded data directory (`<data dir>/exports/…`).

use crate::ports::archives::{valid_object_key, ArchiveError, ArchiveStore};
use async_trait::async_trait;
use std::path::{Path, PathBuf};

pub const ARCHIVE_DIR: &str = "exports";

#[derive(Clone, Debug)]
pub struct LocalArchives {
    root: PathBuf,
}

impl LocalArchives {
    /// Archives under `<data_dir>/exports`.
    pub fn new(data_dir: &Path) -> Self {
        LocalArchives {
            root: data_dir.join(ARCHIVE_DIR),
        }
    }

    /// The file of an object key, refused when the key is not one Mizan makes.
    pub fn path_of(&self, object_key: &str) -> Result<PathBuf, ArchiveError> {
        if !valid_object_key(object_key) {
            return Err(ArchiveError::InvalidKey);
        }
        Ok(self.root.join(object_key))
    }
}

fn io_error(e: std::io::Error) -> ArchiveError {
    ArchiveError::Unavailable(e.to_string())
}

#[async_trait]
impl ArchiveStore for LocalArchives {
    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError> {
        match tokio::fs::remove_file(self.path_of(object_key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }

    async fn exists(&self, object_key: &str) -> Result<bool, ArchiveError> {
        tokio::fs::try_exists(self.path_of(object_key)?)
            .await
            .map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delete_removes_the_file_and_repeats_harmlessly() {
        let dir = tempfile::tempdir().unwrap();
        let archives = LocalArchives::new(dir.path());
        let path = archives.path_of("t1/x.zip").unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"zip").unwrap();
        assert!(archives.exists("t1/x.zip").await.unwrap());
        archives.delete("t1/x.zip").await.unwrap();
        assert!(!archives.exists("t1/x.zip").await.unwrap());
        archives.delete("t1/x.zip").await.unwrap();
        assert!(matches!(
            archives.delete("../x").await,
            Err(ArchiveError::InvalidKey)
        ));
    }
}
