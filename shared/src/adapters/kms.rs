//! The production key vault: AWS KMS `GenerateDataKey` / `Decrypt` under one customer-managed key,
//! with the tenant and the contact's keyed hash as encryption context.

use super::aws_errors::{classify, AwsFailureKind};
use crate::ports::keys::{DataKey, KeyContext, KeyVault, VaultError};
use async_trait::async_trait;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;
use std::collections::HashMap;

pub struct KmsVault {
    client: Client,
    key_id: String,
}

impl KmsVault {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        KmsVault {
            client,
            key_id: key_id.into(),
        }
    }
}

fn encryption_context(context: &KeyContext) -> HashMap<String, String> {
    context
        .pairs()
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn vault_error<E, R>(error: SdkError<E, R>) -> VaultError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let failure = classify(&error);
    match (failure.code.as_deref(), failure.kind) {
        // KMS answers a wrong encryption context exactly like a foreign ciphertext.
        (Some("InvalidCiphertextException" | "IncorrectKeyException"), _) => {
            VaultError::WrongContext
        }
        (_, AwsFailureKind::Refused) => VaultError::Refused(failure.shown),
        _ => VaultError::Unavailable(failure.shown),
    }
}

#[async_trait]
impl KeyVault for KmsVault {
    async fn generate(&self, context: &KeyContext) -> Result<(DataKey, Vec<u8>), VaultError> {
        let output = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(encryption_context(context)))
            .send()
            .await
            .map_err(vault_error)?;
        let plaintext = output
            .plaintext
            .ok_or_else(|| VaultError::Refused("KMS returned no plaintext key".into()))?;
        let wrapped = output
            .ciphertext_blob
            .ok_or_else(|| VaultError::Refused("KMS returned no wrapped key".into()))?;
        let key = DataKey::try_from_slice(plaintext.as_ref())
            .ok_or_else(|| VaultError::Refused("KMS returned a key that is not 256 bits".into()))?;
        Ok((key, wrapped.into_inner()))
    }

    async fn unwrap(&self, context: &KeyContext, wrapped: &[u8]) -> Result<DataKey, VaultError> {
        let output = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(encryption_context(context)))
            .send()
            .await
            .map_err(vault_error)?;
        let plaintext = output
            .plaintext
            .ok_or_else(|| VaultError::Refused("KMS returned no plaintext".into()))?;
        DataKey::try_from_slice(plaintext.as_ref()).ok_or(VaultError::WrongContext)
    }
}
