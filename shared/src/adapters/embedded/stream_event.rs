//! Embedded changes as DynamoDB Streams records, so stream-triggered handlers get in the local
//! runner exactly the event they get from Lambda's DynamoDB event source.

use super::change_feed::Change;
use crate::adapters::dynamodb::item;
use crate::ports::records::StoreError;
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord, StreamViewType};

/// The event source ARN the local runner reports for the embedded data table.
pub const LOCAL_STREAM_ARN: &str =
    "arn:aws:dynamodb:local:000000000000:table/mizan-local-data/stream/local";

pub fn to_stream_record(change: &Change) -> Result<EventRecord, StoreError> {
    let stream = StreamRecord {
        approximate_creation_date_time: chrono::DateTime::from_timestamp_millis(
            change.at.as_millis(),
        )
        .unwrap_or_default(),
        keys: item::key_item(&change.key).into(),
        new_image: match &change.new {
            Some(new) => item::record_to_item(new)?.into(),
            None => Default::default(),
        },
        old_image: match &change.old {
            Some(old) => item::record_to_item(old)?.into(),
            None => Default::default(),
        },
        sequence_number: Some(format!("{:021}", change.seq)),
        stream_view_type: Some(StreamViewType::NewAndOldImages),
        ..StreamRecord::default()
    };
    Ok(EventRecord {
        aws_region: "local".into(),
        change: stream,
        event_id: change.seq.to_string(),
        event_name: change.event.as_str().into(),
        event_source: Some("aws:dynamodb".into()),
        event_version: Some("1.1".into()),
        event_source_arn: Some(LOCAL_STREAM_ARN.into()),
        ..EventRecord::default()
    })
}

pub fn to_stream_event(changes: &[Change]) -> Result<Event, StoreError> {
    Ok(Event {
        records: changes
            .iter()
            .map(to_stream_record)
            .collect::<Result<_, _>>()?,
    })
}
