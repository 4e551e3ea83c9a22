//! Envelope encryption with a data key per contact (DESIGN §5, P9).
//!
//! Keys are made by the vault (KMS or the local master key), stored wrapped in the key table and
//! kept unwrapped in a small in-memory cache for a short time. Destroying a contact's key makes
//! every sealed copy of its data unreadable, backups included (crypto-shredding).

use crate::crypto::sealed::{self, SealError};
use crate::ports::keys::{DataKey, KeyContext, KeyStore, KeyStoreError, KeyVault, VaultError};
use quick_cache::sync::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The contact's key was destroyed (erasure): the content is gone for good.
    #[error("the contact's data key no longer exists")]
    KeyDestroyed,
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
}

impl CryptoError {
    pub fn is_retryable(&self) -> bool {
        match self {
            CryptoError::Vault(e) => e.is_retryable(),
            CryptoError::KeyStore(e) => e.is_retryable(),
            CryptoError::KeyDestroyed | CryptoError::Sealed(_) => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    pub capacity: usize,
    pub ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        // Short enough that a key destroyed elsewhere stops working within a minute.
        CacheSettings {
            capacity: 10_000,
            ttl: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct CachedKey {
    key: Arc<DataKey>,
    loaded: Instant,
}

pub struct Envelope {
    vault: Arc<dyn KeyVault>,
    keys: Arc<dyn KeyStore>,
    cache: Cache<KeyContext, CachedKey>,
    ttl: Duration,
}

impl Envelope {
    pub fn new(vault: Arc<dyn KeyVault>, keys: Arc<dyn KeyStore>, cache: CacheSettings) -> Self {
        Envelope {
            vault,
            keys,
            cache: Cache::new(cache.capacity.max(1)),
            ttl: cache.ttl,
        }
    }

    /// Seals `plaintext` for the contact, creating its data key on first use. `aad` binds the
    /// ciphertext to where it is stored (e.g. the record key), so it cannot be moved elsewhere.
    pub async fn seal(
        &self,
        context: &KeyContext,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = match self.existing_key(context).await? {
            Some(key) => key,
            None => self.create_key(context).await?,
        };
        Ok(sealed::seal(&key, context, aad, plaintext))
    }

    /// Makes sure the data key of `context` exists, creating it if not: for a holder whose data
    /// is sealed later by a function that may only read keys.
    pub async fn ensure_key(&self, context: &KeyContext) -> Result<(), CryptoError> {
        if self.existing_key(context).await?.is_none() {
            self.create_key(context).await?;
        }
        Ok(())
    }

    pub async fn open(
        &self,
        context: &KeyContext,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .existing_key(context)
            .await?
            .ok_or(CryptoError::KeyDestroyed)?;
        Ok(sealed::open(&key, context, aad, sealed)?)
    }

    /// Crypto-shredding: the contact's key is deleted from the key table and this cache.
    pub async fn destroy(&self, context: &KeyContext) -> Result<(), CryptoError> {
        self.cache.remove(context);
        self.keys.delete(context).await?;
        self.cache.remove(context);
        Ok(())
    }

    async fn existing_key(
        &self,
        context: &KeyContext,
    ) -> Result<Option<Arc<DataKey>>, CryptoError> {
        if let Some(cached) = self.cache.get(context) {
            if cached.loaded.elapsed() < self.ttl {
                return Ok(Some(cached.key));
            }
            self.cache.remove(context);
        }
        let Some(wrapped) = self.keys.get(context).await? else {
            return Ok(None);
        };
        let key = Arc::new(self.vault.unwrap(context, &wrapped).await?);
        self.remember(context, key.clone());
        Ok(Some(key))
    }

    async fn create_key(&self, context: &KeyContext) -> Result<Arc<DataKey>, CryptoError> {
        let (key, wrapped) = self.vault.generate(context).await?;
        let in_force = self.keys.put_if_absent(context, wrapped.clone()).await?;
        // Another writer may have created the contact's key first: theirs is the one in force.
        let key = if in_force == wrapped {
            Arc::new(key)
        } else {
            Arc::new(self.vault.unwrap(context, &in_force).await?)
        };
        self.remember(context, key.clone());
        Ok(key)
    }

    fn remember(&self, context: &KeyContext, key: Arc<DataKey>) {
        self.cache.insert(
            context.clone(),
            CachedKey {
                key,
                loaded: Instant::now(),
            },
        );
    }
}
