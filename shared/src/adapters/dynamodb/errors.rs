//! AWS SDK errors mapped to the storage port's errors, with retryability kept (classified once
//! for every AWS adapter in `adapters::aws_errors`).

use crate::adapters::aws_errors::{classify, AwsFailureKind};
use crate::ports::records::StoreError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

pub fn store_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let failure = classify(&error);
    match (failure.code.as_deref(), failure.kind) {
        (Some("ConditionalCheckFailedException"), _) => StoreError::ConditionFailed { index: 0 },
        (_, AwsFailureKind::Busy) => StoreError::Busy(failure.shown),
        (_, AwsFailureKind::Unavailable) => StoreError::Unavailable(failure.shown),
        (_, AwsFailureKind::Refused) => StoreError::Rejected(failure.shown),
    }
}
