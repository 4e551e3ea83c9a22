//! The DynamoDB table definitions, in one place: the tables the tests create in DynamoDB Local,
//! and what a test checks `template.yaml` against.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType,
};
use aws_sdk_dynamodb::Client;

/// Attribute names of the data table (the item format defines them).
pub use crate::ports::record_item::attr;

pub const TIME_INDEX: &str = "by_time";
pub const RETENTION_INDEX: &str = "retention";

/// Attribute names of the key table.
pub mod key_attr {
    pub const PK: &str = "pk";
    pub const WRAPPED: &str = "wk";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    S,
    N,
    B,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projected {
    All,
    KeysOnly,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub local: bool,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    pub projection: Projected,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    /// The resource's logical id in `template.yaml`.
    pub logical_id: &'static str,
    pub attributes: Vec<(&'static str, AttrType)>,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    pub indexes: Vec<IndexDef>,
    pub ttl_attribute: Option<&'static str>,
    pub stream: bool,
}

pub fn data_table() -> TableDef {
    TableDef {
        logical_id: "DataTable",
        attributes: vec![
            (attr::PK, AttrType::S),
            (attr::SK, AttrType::S),
            (attr::TIME, AttrType::N),
            (attr::RETENTION_PARTITION, AttrType::S),
            (attr::RETENTION_TIME, AttrType::N),
        ],
        hash: attr::PK,
        range: Some(attr::SK),
        indexes: vec![
            IndexDef {
                name: TIME_INDEX,
                local: true,
                hash: attr::PK,
                range: Some(attr::TIME),
                projection: Projected::All,
            },
            IndexDef {
                name: RETENTION_INDEX,
                local: false,
                hash: attr::RETENTION_PARTITION,
                range: Some(attr::RETENTION_TIME),
                projection: Projected::KeysOnly,
            },
        ],
        ttl_attribute: Some(attr::TTL),
        stream: true,
    }
}

pub fn key_table() -> TableDef {
    TableDef {
        logical_id: "KeyTable",
        attributes: vec![(key_attr::PK, AttrType::S)],
        hash: key_attr::PK,
        range: None,
        indexes: vec![],
        ttl_attribute: None,
        stream: false,
    }
}

fn key_schema(hash: &str, range: Option<&str>) -> Vec<KeySchemaElement> {
    let mut schema = vec![KeySchemaElement::builder()
        .attribute_name(hash)
        .key_type(KeyType::Hash)
        .build()
        .expect("key schema element has its fields")];
    if let Some(range) = range {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(range)
                .key_type(KeyType::Range)
                .build()
                .expect("key schema element has its fields"),
        );
    }
    schema
}

fn projection(p: Projected) -> Projection {
    Projection::builder()
        .projection_type(match p {
            Projected::All => ProjectionType::All,
            Projected::KeysOnly => ProjectionType::KeysOnly,
        })
        .build()
}

/// Creates `def` as `name` (tests and local development against DynamoDB Local; production
/// tables come from `template.yaml`). An existing table is left as it is.
pub async fn create_table(client: &Client, name: &str, def: &TableDef) -> Result<(), String> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(def.hash, def.range)));
    for (attribute, kind) in &def.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(*attribute)
                .attribute_type(match kind {
                    AttrType::S => ScalarAttributeType::S,
                    AttrType::N => ScalarAttributeType::N,
                    AttrType::B => ScalarAttributeType::B,
                })
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    for index in &def.indexes {
        if index.local {
            request = request.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(index.name)
                    .set_key_schema(Some(key_schema(index.hash, index.range)))
                    .projection(projection(index.projection))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        } else {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .set_key_schema(Some(key_schema(index.hash, index.range)))
                    .projection(projection(index.projection))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    if def.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let service = e.into_service_error();
            if service.is_resource_in_use_exception() {
                Ok(())
            } else {
                Err(format!("cannot create table {name}: {service}"))
            }
        }
    }
}
