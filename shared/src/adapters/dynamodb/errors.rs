//! AWS SDK errors mapped to the storage port's errors, with retryability kept.

use crate::ports::records::StoreError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

const BUSY_CODES: [&str; 5] = [
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "TransactionConflictException",
    "TransactionInProgressException",
];

pub fn store_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::ServiceError(service) => {
            // Code and message only: the raw response is not for logs.
            let err = service.err();
            let shown = format!(
                "{}: {}",
                err.code().unwrap_or("unknown"),
                err.message().unwrap_or("no message")
            );
            match err.code() {
                Some("ConditionalCheckFailedException") => StoreError::ConditionFailed { index: 0 },
                Some(code) if BUSY_CODES.contains(&code) => StoreError::Busy(shown),
                Some("InternalServerError" | "ServiceUnavailable") => {
                    StoreError::Unavailable(shown)
                }
                _ => StoreError::Rejected(shown),
            }
        }
        _ => StoreError::Unavailable(DisplayErrorContext(&error).to_string()),
    }
}
