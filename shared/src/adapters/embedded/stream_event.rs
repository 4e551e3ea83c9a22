//! Embedded changes as DynamoDB Streams records, so stream-triggered handlers get in the local
//! runner exactly the event they get from Lambda's DynamoDB event source.

use super::change_feed::Change;
use crate::ports::record_item as item;
use crate::ports::records::StoreError;
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord, StreamViewType};

/// The event source ARN the local runner reports for the embedded data table.
pub const LOCAL_STREAM_ARN: &str =
    "arn:aws:dynamodb:local:000000000000:table/mizan-local-data/stream/local";

pub fn to_stream_record(change: &Change) -> Result<EventRecord, StoreError> {
    // The event types are non-exhaustive: built from their defaults, field by field.
    let mut stream = StreamRecord::default();
    stream.approximate_creation_date_time =
        chrono::DateTime::from_timestamp_millis(change.at.as_millis()).unwrap_or_default();
    stream.keys = item::key_item(&change.key).into();
    if let Some(new) = &change.new {
        stream.new_image = item::record_to_item(new)?.into();
    }
    if let Some(old) = &change.old {
        stream.old_image = item::record_to_item(old)?.into();
    }
    stream.sequence_number = Some(format!("{:021}", change.seq));
    stream.stream_view_type = Some(StreamViewType::NewAndOldImages);

    let mut record = EventRecord::default();
    record.aws_region = "local".into();
    record.change = stream;
    record.event_id = change.seq.to_string();
    record.event_name = change.event.as_str().into();
    record.event_source = Some("aws:dynamodb".into());
    record.event_version = Some("1.1".into());
    record.event_source_arn = Some(LOCAL_STREAM_ARN.into());
    Ok(record)
}

pub fn to_stream_event(changes: &[Change]) -> Result<Event, StoreError> {
    let mut event = Event::default();
    event.records = changes
        .iter()
        .map(to_stream_record)
        .collect::<Result<_, _>>()?;
    Ok(event)
}
