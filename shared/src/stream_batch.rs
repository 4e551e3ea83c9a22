//! What every function on the data table's stream tells Lambda about a batch: the records to
//! retry (`ReportBatchItemFailures`), named by their sequence numbers, so one failed record does
//! not replay the whole batch.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

/// How Lambda names a record in a batch item failure.
pub fn sequence_of(record: &EventRecord) -> String {
    record
        .change
        .sequence_number
        .clone()
        .unwrap_or_else(|| record.event_id.clone())
}

/// The response that asks Lambda to retry exactly the records `sequences` name.
pub fn retry_only(sequences: impl IntoIterator<Item = String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = sequences
        .into_iter()
        .map(|sequence| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_records_by_sequence_number_or_event_id() {
        let mut record = EventRecord::default();
        record.event_id = "e1".into();
        assert_eq!(sequence_of(&record), "e1");
        record.change.sequence_number = Some("000000000000000000042".into());
        assert_eq!(sequence_of(&record), "000000000000000000042");
        let response = retry_only([sequence_of(&record)]);
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(
            response.batch_item_failures[0].item_identifier.as_deref(),
            Some("000000000000000000042")
        );
        assert!(retry_only(Vec::new()).batch_item_failures.is_empty());
    }
}
