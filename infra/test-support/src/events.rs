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
    let mut event = aws_lambda_events::event::dynamodb::EventRecord::default();
    event.event_name = "INSERT".into();
    event.event_id = sequence.to_string();
    event.change.sequence_number = Some(format!("{sequence:021}"));
    event.change.new_image = mizan_shared::ports::record_item::record_to_item(&record)
        .expect("the record as an item")
        .into();
    event
}
