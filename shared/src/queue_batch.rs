//! What a function reading an SQS queue tells Lambda about a batch: the messages to hand out
//! again (`ReportBatchItemFailures`), named by their message ids; the others are deleted.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

/// The response that asks Lambda to hand out again exactly the messages `ids` name.
pub fn retry_messages(ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_messages_by_id() {
        let response = retry_messages(["msg-2".to_owned()]);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "msg-2"}]})
        );
        assert!(retry_messages(Vec::new()).batch_item_failures.is_empty());
    }
}
