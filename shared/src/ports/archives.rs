//! Where export archives live (S3 with SSE-KMS in production, local files when embedded). The
//! retention purge and erasure remove them here; the data-export function writes and reads them.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The object key is not one this system makes (random, `[A-Za-z0-9/_.-]`, no `..`).
    #[error("invalid archive object key")]
    InvalidKey,
    #[error("no archive is stored under this key")]
    NotFound,
    /// A local archive that does not decrypt: changed on disk or another key.
    #[error("archive is corrupt: {0}")]
    Corrupt(String),
    #[error("archive storage is unavailable: {0}")]
    Unavailable(String),
    #[error("archive storage refused the request: {0}")]
    Refused(String),
}

impl ArchiveError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ArchiveError::Unavailable(_))
    }
}

/// Object keys are made by Mizan; anything else is refused before it reaches a file system or S3.
pub fn valid_object_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'))
}

/// Parts of an upload are at least this large, except the last (S3's multipart minimum is
/// 5 MiB); a builder keeps at most about one part in memory.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// An archive being written, part by part: an S3 multipart upload, or a local encrypted file.
#[async_trait]
pub trait ArchiveUpload: Send {
    /// Appends one part (at least `PART_BYTES`, except the last).
    async fn write_part(&mut self, bytes: Vec<u8>) -> Result<(), ArchiveError>;
    /// Completes the object and returns its size in bytes.
    async fn finish(self: Box<Self>) -> Result<u64, ArchiveError>;
    /// Abandons the object: nothing of it stays behind.
    async fn abort(self: Box<Self>) -> Result<(), ArchiveError>;
}

/// Where a link holder gets an archive from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveLocation {
    /// A URL presigned for a few minutes (S3): the download route redirects to it.
    Url(String),
    /// Served by this process (the local runner): the download route streams `read`.
    Served,
}

#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Starts writing an archive under `object_key` (encrypted at rest).
    async fn create(&self, object_key: &str) -> Result<Box<dyn ArchiveUpload>, ArchiveError>;

    /// Where the archive can be downloaded from during the next `valid_for`.
    async fn location(
        &self,
        object_key: &str,
        valid_for: std::time::Duration,
    ) -> Result<ArchiveLocation, ArchiveError>;

    /// The archive's bytes, decrypted (used when the location is `Served`).
    async fn read(&self, object_key: &str) -> Result<Vec<u8>, ArchiveError>;

    /// Removes an archive; removing one that is already gone succeeds (erasure and purge repeat).
    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError>;

    /// Whether an archive is stored under `object_key`.
    async fn exists(&self, object_key: &str) -> Result<bool, ArchiveError>;
}

/// Deleting archives, for a function that does nothing else with them: an
/// [`ArchiveStore`] built over it (`adapters::refusing_archives`) links no other operation.
#[async_trait]
pub trait ArchiveDeleter: Send + Sync {
    /// As [`ArchiveStore::delete`].
    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError>;
}

#[cfg(test)]
mod tests {
    use super::valid_object_key;

    #[test]
    fn object_keys_cannot_escape_their_place() {
        assert!(valid_object_key("exports/t1/abc123.zip"));
        for bad in [
            "",
            "/etc/passwd",
            "exports/../x",
            "a//b",
            "a/./b",
            "sp ace",
            "é",
        ] {
            assert!(!valid_object_key(bad), "{bad:?} refused");
        }
    }
}
