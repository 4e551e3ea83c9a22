//! AWS SDK errors classified once for every AWS adapter (DynamoDB, KMS, S3): every `aws-sdk-*`
//! crate returns the same `SdkError`, and the services share their throttling and fault codes.
//! Each adapter maps the class to its port's error, and adds the codes only it knows (a failed
//! condition, a wrong encryption context).

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsFailureKind {
    /// Throttled, or a concurrent transaction held the item: a later attempt may succeed.
    Busy,
    /// The service failed or gave no answer (timeout, connection, dispatch): retry.
    Unavailable,
    /// The service refused the request as made: a retry gets the same answer.
    Refused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsFailure {
    pub kind: AwsFailureKind,
    /// The service's error code, when it answered.
    pub code: Option<String>,
    /// Code and message of a service error, or the SDK's description of a failure without an
    /// answer; never the raw response.
    pub shown: String,
}

impl AwsFailure {
    pub fn is_retryable(&self) -> bool {
        self.kind != AwsFailureKind::Refused
    }
}

/// Throttling and contention codes of DynamoDB, KMS and S3.
const BUSY_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
    "SlowDown",
];

/// Codes of a service fault on their side.
const UNAVAILABLE_CODES: [&str; 7] = [
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "KMSInternalException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
];

pub fn classify<E, R>(error: &SdkError<E, R>) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let SdkError::ServiceError(service) = error else {
        return AwsFailure {
            kind: AwsFailureKind::Unavailable,
            code: None,
            shown: DisplayErrorContext(error).to_string(),
        };
    };
    let err = service.err();
    let code = err.code();
    let kind = match code {
        Some(code) if BUSY_CODES.contains(&code) => AwsFailureKind::Busy,
        Some(code) if UNAVAILABLE_CODES.contains(&code) => AwsFailureKind::Unavailable,
        _ => AwsFailureKind::Refused,
    };
    AwsFailure {
        kind,
        code: code.map(str::to_owned),
        shown: format!(
            "{}: {}",
            code.unwrap_or("unknown"),
            err.message().unwrap_or("no message")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::ServiceError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct Coded(ErrorMetadata);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "coded")
        }
    }

    impl std::error::Error for Coded {}

    impl ProvideErrorMetadata for Coded {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service(code: &str) -> SdkError<Coded, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("what went wrong")
            .build();
        let raw = HttpResponse::new(400u16.try_into().unwrap(), SdkBody::from("raw body"));
        SdkError::ServiceError(ServiceError::builder().source(Coded(meta)).raw(raw).build())
    }

    #[test]
    fn throttling_faults_and_refusals_are_told_apart_across_services() {
        for code in [
            "ThrottlingException",
            "SlowDown",
            "TransactionConflictException",
        ] {
            assert_eq!(
                classify(&service(code)).kind,
                AwsFailureKind::Busy,
                "{code}"
            );
        }
        for code in [
            "InternalServerError",
            "KMSInternalException",
            "ServiceUnavailable",
        ] {
            assert_eq!(
                classify(&service(code)).kind,
                AwsFailureKind::Unavailable,
                "{code}"
            );
        }
        let refused = classify(&service("AccessDeniedException"));
        assert_eq!(refused.kind, AwsFailureKind::Refused);
        assert!(!refused.is_retryable());
        assert_eq!(refused.code.as_deref(), Some("AccessDeniedException"));
        assert_eq!(refused.shown, "AccessDeniedException: what went wrong");
        assert!(
            !refused.shown.contains("raw body"),
            "never the raw response"
        );
    }

    #[test]
    fn no_answer_is_worth_a_retry() {
        let timeout: SdkError<Coded, HttpResponse> = SdkError::timeout_error("operation timed out");
        let failure = classify(&timeout);
        assert_eq!(failure.kind, AwsFailureKind::Unavailable);
        assert!(failure.is_retryable() && failure.code.is_none());
    }
}
