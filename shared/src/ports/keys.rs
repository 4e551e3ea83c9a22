//! Ports for envelope encryption: who wraps data keys (KMS or a local master key) and where the
//! wrapped keys live (the key table).

use crate::domain::ids::{ContactId, TenantId};
use async_trait::async_trait;
use std::fmt;
use zeroize::Zeroizing;

/// Whose data key: the encryption context names the tenant and the contact's keyed hash, never PII.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyContext {
    pub tenant: TenantId,
    pub contact: ContactId,
}

impl KeyContext {
    pub fn new(tenant: TenantId, contact: ContactId) -> Self {
        KeyContext { tenant, contact }
    }

    /// The pairs sent as KMS encryption context and bound into every ciphertext.
    pub fn pairs(&self) -> [(&'static str, &str); 2] {
        [
            ("tenant", self.tenant.as_str()),
            ("contact", self.contact.as_str()),
        ]
    }

    /// One canonical byte string of the context, for use as AEAD associated data.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in self.pairs() {
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        }
        out
    }
}

/// A plaintext 256-bit data key, wiped from memory when dropped.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(Zeroizing::new(bytes))
    }

    pub fn try_from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey::from_bytes(array))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The wrapped key does not belong to this context (or was altered).
    #[error("the data key does not match its encryption context")]
    WrongContext,
    #[error("the key service is unavailable: {0}")]
    Unavailable(String),
    #[error("the key service refused: {0}")]
    Refused(String),
}

impl VaultError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, VaultError::Unavailable(_))
    }
}

/// Makes and unwraps data keys under a master key that never leaves the vault.
#[async_trait]
pub trait KeyVault: Send + Sync {
    /// A fresh data key, in plaintext and wrapped for `context`.
    async fn generate(&self, context: &KeyContext) -> Result<(DataKey, Vec<u8>), VaultError>;

    async fn unwrap(&self, context: &KeyContext, wrapped: &[u8]) -> Result<DataKey, VaultError>;
}

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("the key table is unavailable: {0}")]
    Unavailable(String),
    #[error("the key table holds a corrupt entry: {0}")]
    Corrupt(String),
}

impl KeyStoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, KeyStoreError::Unavailable(_))
    }
}

/// The key table: one wrapped data key per contact.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn get(&self, context: &KeyContext) -> Result<Option<Vec<u8>>, KeyStoreError>;

    /// Stores `wrapped` unless a key exists already; returns the key that is in force.
    async fn put_if_absent(
        &self,
        context: &KeyContext,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, KeyStoreError>;

    /// Destroys the contact's key: every copy of its content becomes unreadable.
    async fn delete(&self, context: &KeyContext) -> Result<(), KeyStoreError>;
}
