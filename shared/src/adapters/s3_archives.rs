//! Export archives in the S3 export bucket (SSE-KMS by the bucket's default encryption).

use crate::ports::archives::{valid_object_key, ArchiveError, ArchiveStore};
use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;

#[derive(Clone, Debug)]
pub struct S3Archives {
    client: Client,
    bucket: String,
}

impl S3Archives {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Archives {
            client,
            bucket: bucket.into(),
        }
    }
}

fn archive_error<E, R>(error: SdkError<E, R>) -> ArchiveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let shown = DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::ServiceError(service) => match service.err().code() {
            Some("SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout") => {
                ArchiveError::Unavailable(shown)
            }
            _ => ArchiveError::Refused(shown),
        },
        _ => ArchiveError::Unavailable(shown),
    }
}

#[async_trait]
impl ArchiveStore for S3Archives {
    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError> {
        if !valid_object_key(object_key) {
            return Err(ArchiveError::InvalidKey);
        }
        // S3 answers 204 for a missing key too, so a repeated delete succeeds.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(object_key)
            .send()
            .await
            .map_err(archive_error)?;
        Ok(())
    }

    async fn exists(&self, object_key: &str) -> Result<bool, ArchiveError> {
        if !valid_object_key(object_key) {
            return Err(ArchiveError::InvalidKey);
        }
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(object_key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(false),
            Err(e) => Err(archive_error(e)),
        }
    }
}
