//! Items in the AWS SDK's own types: the adapter's side of the data table's item format
//! (`ports::record_item`).

pub use crate::ports::record_item::*;
use std::collections::HashMap;

/// The item in the AWS SDK's own types.
pub fn to_sdk(item: Item) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    item.into_iter().map(|(k, v)| (k, v.into())).collect()
}

pub fn from_sdk(item: HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> Item {
    item.into_iter().map(|(k, v)| (k, v.into())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::records::{Key, Record};

    #[test]
    fn an_item_round_trips_through_the_sdk_types() {
        let mut record = Record::new(Key::new("p", "s"), "message_in", serde_json::json!({}));
        record.sealed = Some(vec![1, 2, 3]);
        let item = record_to_item(&record).unwrap();
        assert_eq!(item_to_record(&from_sdk(to_sdk(item))).unwrap(), record);
    }
}
