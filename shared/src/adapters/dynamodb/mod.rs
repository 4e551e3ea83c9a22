//! The production storage backend: Amazon DynamoDB.

mod errors;
pub mod item;
mod key_store;
mod record_store;
pub mod tables;

pub use key_store::DynamoKeyStore;
pub use record_store::{DynamoStore, WriteUsage};
