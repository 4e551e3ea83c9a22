//! The sample events in `events/<function>/`, the files the handler suites are driven by.

use std::path::PathBuf;

/// `events/<function>/` at the repository root.
pub fn dir(function: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(function)
}

/// The names (without `.json`) of `function`'s sample events, sorted.
pub fn names(function: &str) -> Vec<String> {
    let dir = dir(function);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The text of one sample event.
pub fn text(function: &str, name: &str) -> String {
    let path = dir(function).join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The stream record DynamoDB Streams delivers for the insert of the record at `key`, read
/// from `store` as it is now (`sequence` orders it in its shard).
pub async fn stream_insert(
    store: &mizan_shared::store::Store,
    key: mizan_shared::ports::records::Key,
    sequence: u64,
) -> aws_lambda_events::event::dynamodb::EventRecord {
    let record = store
        .records()
        .get(&key, store.now())
        .await
        .expect("the store answers")
        .expect("the record is stored");
    stream_record(None, Some(&record), sequence)
}

/// The stream record (NEW_AND_OLD_IMAGES) of a change from `old` to `new`: an insert, a
/// modification or a removal.
pub fn stream_record(
    old: Option<&mizan_shared::ports::records::Record>,
    new: Option<&mizan_shared::ports::records::Record>,
    sequence: u64,
) -> aws_lambda_events::event::dynamodb::EventRecord {
    use mizan_shared::ports::record_item::record_to_item;
    let mut event = aws_lambda_events::event::dynamodb::EventRecord::default();
    event.event_name = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        _ => "REMOVE",
    }
    .into();
    event.event_id = sequence.to_string();
    event.change.sequence_number = Some(format!("{sequence:021}"));
    if let Some(new) = new {
        event.change.new_image = record_to_item(new).expect("the record as an item").into();
    }
    if let Some(old) = old {
        event.change.old_image = record_to_item(old).expect("the record as an item").into();
    }
    event
}

/// The SQS event Lambda delivers for messages with these bodies, in order: message ids
/// `msg-1`…, receipt handles `receipt-1`…, and the FIFO group of each when it has one (the
/// queue's ARN is a placeholder, as in the sample events).
pub fn sqs_event(
    messages: impl IntoIterator<Item = (String, Option<String>)>,
) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    for (n, (body, group)) in messages.into_iter().enumerate() {
        let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
        message.message_id = Some(format!("msg-{}", n + 1));
        message.receipt_handle = Some(format!("receipt-{}", n + 1));
        message.body = Some(body);
        message.event_source = Some("aws:sqs".into());
        message.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:mizan-queue".into());
        message.aws_region = Some("us-east-1".into());
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        if let Some(group) = group {
            message.attributes.insert("MessageGroupId".into(), group);
        }
        event.records.push(message);
    }
    event
}

/// The SQS event of the export worker's queue for these stream records, as the change router
/// queues them (each body a stream record).
pub fn queued_stream_records(
    records: &[aws_lambda_events::event::dynamodb::EventRecord],
) -> aws_lambda_events::event::sqs::SqsEvent {
    sqs_event(
        records
            .iter()
            .map(|r| (serde_json::to_string(r).expect("a record as JSON"), None)),
    )
}
