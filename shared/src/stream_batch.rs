//! The data table's stream, for every function it triggers: what a record means as a domain
//! record (handlers never see the table format), and what a function tells Lambda about a batch:
//! the records to retry (`ReportBatchItemFailures`), named by their sequence numbers, so one
//! failed record does not replay the whole batch.

use crate::domain::export::ExportJob;
use crate::domain::message::{Direction, Message};
use crate::ports::record_item::{attr, get_s, item_to_record};
use crate::store::{layout, ExportNotice, OutboundOrder};
use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::de::DeserializeOwned;

/// A stream record of the kind a handler wants that cannot be read: retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id} does not decode: {reason}")]
pub struct UndecodableRecord {
    pub event_id: String,
    pub reason: String,
}

/// The inbound message a record inserted (metadata only: content is sealed and not in the
/// image); `None` for any other change.
pub fn new_inbound_message(record: &EventRecord) -> Result<Option<Message>, UndecodableRecord> {
    let message: Option<Message> = inserted(record, layout::kind::MESSAGE_IN)?;
    Ok(message.filter(|m| m.direction == Direction::Inbound))
}

/// The order of a person's send a record inserted; `None` for any other change.
pub fn new_outbound_order(
    record: &EventRecord,
) -> Result<Option<OutboundOrder>, UndecodableRecord> {
    inserted(record, layout::OUTBOUND_ORDER_KIND)
}

/// The export job a record inserted; `None` for any other change.
pub fn new_export_job(record: &EventRecord) -> Result<Option<ExportJob>, UndecodableRecord> {
    inserted(record, layout::kind::EXPORT_JOB)
}

/// The notice of a finished chat export a record inserted; `None` for any other change.
pub fn new_export_notice(record: &EventRecord) -> Result<Option<ExportNotice>, UndecodableRecord> {
    inserted(record, layout::kind::EXPORT_NOTICE)
}

/// The document of a record of `kind` the change inserted.
fn inserted<T: DeserializeOwned>(
    record: &EventRecord,
    kind: &str,
) -> Result<Option<T>, UndecodableRecord> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
    let image = &record.change.new_image;
    if get_s(image, attr::KIND).ok() != Some(kind) {
        return Ok(None);
    }
    let undecodable = |reason: String| UndecodableRecord {
        event_id: record.event_id.clone(),
        reason,
    };
    let stored = item_to_record(image).map_err(|e| undecodable(e.to_string()))?;
    serde_json::from_value(stored.doc)
        .map(Some)
        .map_err(|e| undecodable(e.to_string()))
}

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
