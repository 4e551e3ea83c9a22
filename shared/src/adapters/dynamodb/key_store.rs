//! The key table on DynamoDB: one wrapped data key per contact, created with a conditional put.

use super::tables::key_attr;
use crate::ports::keys::{KeyContext, KeyStore, KeyStoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

#[derive(Clone)]
pub struct DynamoKeyStore {
    client: Client,
    table: String,
}

impl DynamoKeyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoKeyStore {
            client,
            table: table.into(),
        }
    }
}

fn key_of(context: &KeyContext) -> AttributeValue {
    AttributeValue::S(format!(
        "{}#{}",
        context.tenant.as_str(),
        context.contact.as_str()
    ))
}

fn unavailable<E, R>(error: SdkError<E, R>) -> KeyStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    KeyStoreError::Unavailable(crate::adapters::aws_errors::classify(&error).shown)
}

#[async_trait]
impl KeyStore for DynamoKeyStore {
    async fn get(&self, context: &KeyContext) -> Result<Option<Vec<u8>>, KeyStoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(key_attr::PK, key_of(context))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match output.item.and_then(|mut i| i.remove(key_attr::WRAPPED)) {
            None => Ok(None),
            Some(AttributeValue::B(blob)) => Ok(Some(blob.into_inner())),
            Some(_) => Err(KeyStoreError::Corrupt("wrapped key is not binary".into())),
        }
    }

    async fn put_if_absent(
        &self,
        context: &KeyContext,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, KeyStoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(key_attr::PK, key_of(context))
            .item(
                key_attr::WRAPPED,
                AttributeValue::B(Blob::new(wrapped.clone())),
            )
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", key_attr::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(wrapped),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.get(context).await?.ok_or_else(|| {
                    KeyStoreError::Unavailable("data key vanished while being created".into())
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, context: &KeyContext) -> Result<(), KeyStoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(key_attr::PK, key_of(context))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
