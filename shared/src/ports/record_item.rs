//! The data table's item format: a record as a DynamoDB item, and back. The DynamoDB adapter
//! stores records in it, DynamoDB Streams delivers images in it, and the embedded change feed
//! builds its stream events in it, so stream handlers get the same shape everywhere.

use crate::domain::time::Timestamp;
use crate::ports::records::{Key, Record, RetentionEntry, StoreError};
use serde_dynamo::AttributeValue;
use std::collections::HashMap;

/// Attribute names of the data table.
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const KIND: &str = "kind";
    pub const DOC: &str = "d";
    pub const SEALED: &str = "c";
    pub const VERSION: &str = "v";
    /// Sort key of the `by_time` local index (messages: when sent, epoch millis).
    pub const TIME: &str = "mt";
    /// Partition key of the sparse `retention` index: `{tenant}#{category}#{shard}`.
    pub const RETENTION_PARTITION: &str = "rk";
    /// Sort key of the `retention` index: the reference time, epoch millis.
    pub const RETENTION_TIME: &str = "rt";
    /// DynamoDB TTL: epoch seconds. A backstop only; reads and the purge do not wait for it.
    pub const TTL: &str = "ttl";
    /// The exact expiry in millis, for reads.
    pub const EXPIRES: &str = "exp";
}

pub type Item = HashMap<String, AttributeValue>;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key_item(key: &Key) -> Item {
    HashMap::from([
        (attr::PK.to_owned(), s(&key.pk)),
        (attr::SK.to_owned(), s(&key.sk)),
    ])
}

pub fn record_to_item(record: &Record) -> Result<Item, StoreError> {
    let mut item = key_item(&record.key);
    item.insert(attr::KIND.into(), s(&record.kind));
    let doc = serde_json::to_string(&record.doc)
        .map_err(|e| StoreError::Rejected(format!("doc does not serialize: {e}")))?;
    item.insert(attr::DOC.into(), AttributeValue::S(doc));
    item.insert(attr::VERSION.into(), n(record.version));
    if let Some(sealed) = &record.sealed {
        item.insert(attr::SEALED.into(), AttributeValue::B(sealed.clone()));
    }
    if let Some(time) = record.time {
        item.insert(attr::TIME.into(), n(time.as_millis()));
    }
    if let Some(retention) = &record.retention {
        item.insert(attr::RETENTION_PARTITION.into(), s(&retention.partition));
        item.insert(attr::RETENTION_TIME.into(), n(retention.at.as_millis()));
    }
    if let Some(expires) = record.expires_at {
        item.insert(attr::TTL.into(), n(expires.as_unix_seconds()));
        item.insert(attr::EXPIRES.into(), n(expires.as_millis()));
    }
    Ok(item)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "item attribute {what} is missing or of the wrong type"
    ))
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt(name)),
    }
}

pub fn get_n(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(value)) => value.parse().map(Some).map_err(|_| corrupt(name)),
        Some(_) => Err(corrupt(name)),
    }
}

pub fn item_to_key(item: &Item) -> Result<Key, StoreError> {
    Ok(Key::new(get_s(item, attr::PK)?, get_s(item, attr::SK)?))
}

pub fn item_to_record(item: &Item) -> Result<Record, StoreError> {
    let key = item_to_key(item)?;
    let doc = serde_json::from_str(get_s(item, attr::DOC)?)
        .map_err(|e| StoreError::Corrupt(format!("doc of {}/{}: {e}", key.pk, key.sk)))?;
    let sealed = match item.get(attr::SEALED) {
        None => None,
        Some(AttributeValue::B(bytes)) => Some(bytes.clone()),
        Some(_) => return Err(corrupt(attr::SEALED)),
    };
    let retention = match (
        item.get(attr::RETENTION_PARTITION),
        get_n(item, attr::RETENTION_TIME)?,
    ) {
        (Some(AttributeValue::S(partition)), Some(at)) => Some(RetentionEntry {
            partition: partition.clone(),
            at: Timestamp::from_millis(at),
        }),
        _ => None,
    };
    let expires_at = match (get_n(item, attr::EXPIRES)?, get_n(item, attr::TTL)?) {
        (Some(millis), _) => Some(Timestamp::from_millis(millis)),
        (None, Some(seconds)) => Some(Timestamp::from_unix_seconds(seconds)),
        (None, None) => None,
    };
    Ok(Record {
        kind: get_s(item, attr::KIND)?.to_owned(),
        key,
        doc,
        sealed,
        version: get_n(item, attr::VERSION)?.unwrap_or(0),
        time: get_n(item, attr::TIME)?.map(Timestamp::from_millis),
        retention,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_an_item() {
        let mut record = Record::new(
            Key::new("p", "s"),
            "message_in",
            serde_json::json!({"a": 1}),
        );
        record.sealed = Some(vec![1, 2, 3]);
        record.version = 3;
        record.time = Some(Timestamp::from_millis(1234));
        record.retention = Some(RetentionEntry {
            partition: "t#chat#01".into(),
            at: Timestamp::from_millis(1234),
        });
        record.expires_at = Some(Timestamp::from_millis(99_999));
        let item = record_to_item(&record).unwrap();
        assert_eq!(item.get("ttl"), Some(&AttributeValue::N("99".into())));
        assert_eq!(item_to_record(&item).unwrap(), record);
    }
}
