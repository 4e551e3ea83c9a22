//! Export archives in the S3 export bucket (SSE-KMS by the bucket's default encryption).

use super::aws_errors::classify;
use crate::ports::archives::{
    valid_object_key, ArchiveDeleter, ArchiveError, ArchiveLocation, ArchiveStore, ArchiveUpload,
};
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use aws_sdk_s3::Client;

#[derive(Clone, Debug)]
pub struct S3Archives {
    client: Client,
    bucket: String,
    kms_key_id: String,
}

impl S3Archives {
    /// Archives in `bucket`, encrypted with SSE-KMS under `kms_key_id` (with an S3 bucket key,
    /// so a large export does not cost one KMS request per part).
    pub fn new(client: Client, bucket: impl Into<String>, kms_key_id: impl Into<String>) -> Self {
        S3Archives {
            client,
            bucket: bucket.into(),
            kms_key_id: kms_key_id.into(),
        }
    }

    fn checked(object_key: &str) -> Result<(), ArchiveError> {
        if valid_object_key(object_key) {
            Ok(())
        } else {
            Err(ArchiveError::InvalidKey)
        }
    }
}

struct MultipartUpload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    size: u64,
}

impl MultipartUpload {
    async fn upload_part(&mut self, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        let number = i32::try_from(self.parts.len() + 1)
            .map_err(|_| ArchiveError::Refused("too many parts".into()))?;
        let size = bytes.len() as u64;
        let done = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(archive_error)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(done.e_tag)
                .build(),
        );
        self.size += size;
        Ok(())
    }
}

#[async_trait]
impl ArchiveUpload for MultipartUpload {
    async fn write_part(&mut self, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        self.upload_part(bytes).await
    }

    async fn finish(mut self: Box<Self>) -> Result<u64, ArchiveError> {
        if self.parts.is_empty() {
            // S3 completes no upload without a part: an empty archive is one empty part.
            self.upload_part(Vec::new()).await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(archive_error)?;
        Ok(self.size)
    }

    async fn abort(self: Box<Self>) -> Result<(), ArchiveError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await
            .map_err(archive_error)?;
        Ok(())
    }
}

fn archive_error<E, R>(error: SdkError<E, R>) -> ArchiveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let failure = classify(&error);
    if failure.is_retryable() {
        ArchiveError::Unavailable(failure.shown)
    } else {
        ArchiveError::Refused(failure.shown)
    }
}

#[async_trait]
impl ArchiveStore for S3Archives {
    async fn create(&self, object_key: &str) -> Result<Box<dyn ArchiveUpload>, ArchiveError> {
        Self::checked(object_key)?;
        let started = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type("application/zip")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key_id)
            .bucket_key_enabled(true)
            .send()
            .await
            .map_err(archive_error)?;
        let upload_id = started
            .upload_id
            .ok_or_else(|| ArchiveError::Refused("S3 returned no upload id".into()))?;
        Ok(Box::new(MultipartUpload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: object_key.to_owned(),
            upload_id,
            parts: Vec::new(),
            size: 0,
        }))
    }

    async fn location(
        &self,
        object_key: &str,
        valid_for: std::time::Duration,
    ) -> Result<ArchiveLocation, ArchiveError> {
        Self::checked(object_key)?;
        let config = PresigningConfig::expires_in(valid_for)
            .map_err(|e| ArchiveError::Refused(e.to_string()))?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .response_content_disposition("attachment; filename=\"mizan-export.zip\"")
            .presigned(config)
            .await
            .map_err(archive_error)?;
        Ok(ArchiveLocation::Url(presigned.uri().to_owned()))
    }

    async fn read(&self, object_key: &str) -> Result<Vec<u8>, ArchiveError> {
        Self::checked(object_key)?;
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => {
                return Err(ArchiveError::NotFound)
            }
            Err(e) => return Err(archive_error(e)),
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| ArchiveError::Unavailable(e.to_string()))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError> {
        delete_object(&self.client, &self.bucket, object_key).await
    }

    async fn exists(&self, object_key: &str) -> Result<bool, ArchiveError> {
        Self::checked(object_key)?;
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

/// S3 answers 204 for a missing key too, so a repeated delete succeeds.
async fn delete_object(
    client: &Client,
    bucket: &str,
    object_key: &str,
) -> Result<(), ArchiveError> {
    S3Archives::checked(object_key)?;
    client
        .delete_object()
        .bucket(bucket)
        .key(object_key)
        .send()
        .await
        .map_err(archive_error)?;
    Ok(())
}

/// Deletes archives and links nothing else of S3 (consent-api's erasure, the purge): an
/// [`S3Archives`] behind a `dyn ArchiveStore` would bring its upload, read, head and presigning
/// code along (`cargo bloat` put aws_sdk_s3 at 575 KiB of consent-api's binary before).
#[derive(Clone, Debug)]
pub struct S3ArchiveDeleter {
    client: Client,
    bucket: String,
}

impl S3ArchiveDeleter {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3ArchiveDeleter {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl ArchiveDeleter for S3ArchiveDeleter {
    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError> {
        delete_object(&self.client, &self.bucket, object_key).await
    }
}
