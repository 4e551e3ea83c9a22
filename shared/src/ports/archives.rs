//! Where export archives live (S3 with SSE-KMS in production, local files when embedded). The
//! retention purge and erasure remove them here; the data-export function writes and reads them.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The object key is not one this system makes (random, `[A-Za-z0-9/_.-]`, no `..`).
    #[error("invalid archive object key")]
    InvalidKey,
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

#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Removes an archive; removing one that is already gone succeeds (erasure and purge repeat).
    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError>;

    /// Whether an archive is stored under `object_key`.
    async fn exists(&self, object_key: &str) -> Result<bool, ArchiveError>;
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
