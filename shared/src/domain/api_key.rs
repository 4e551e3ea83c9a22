//! Business API keys: shown once, stored only as a hash, compared in constant time (P9).

use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::time::Timestamp;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

const TOKEN_PREFIX: &str = "mzn";

/// SHA-256 of a token, hex. Tokens carry 256 random bits, so a fast hash is enough.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    pub fn of(token: &str) -> Self {
        ApiKeyHash(hex::encode(Sha256::digest(token.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, other: &ApiKeyHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyHash(<secret>)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant: TenantId,
    pub hash: ApiKeyHash,
    pub label: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    /// A new key and its token. The token is returned once and never stored.
    pub fn issue(
        tenant: TenantId,
        label: impl Into<String>,
        now: Timestamp,
    ) -> (ApiKey, SecretString) {
        let mut id = [0u8; 6];
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut id);
        rand::rng().fill_bytes(&mut secret);
        let id = ApiKeyId::new(format!("key_{}", hex::encode(id)));
        let token = format!("{TOKEN_PREFIX}_{}_{}", id.as_str(), hex::encode(secret));
        let key = ApiKey {
            id,
            tenant,
            hash: ApiKeyHash::of(&token),
            label: label.into(),
            created_at: now,
            revoked_at: None,
        };
        (key, SecretString::from(token))
    }

    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Whether `token` is this key, in constant time.
    pub fn verifies(&self, token: &SecretString) -> bool {
        self.is_active() && self.hash.matches(&ApiKeyHash::of(token.expose_secret()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_and_is_not_stored() {
        let (key, token) = ApiKey::issue(TenantId::new("t"), "ci", Timestamp::from_millis(0));
        assert!(key.verifies(&token));
        assert!(!key.verifies(&SecretString::from("mzn_key_x_y")));
        let stored = serde_json::to_string(&key).unwrap();
        assert!(!stored.contains(token.expose_secret()));
        assert!(token.expose_secret().contains(key.id.as_str()));
    }

    #[test]
    fn revoked_key_never_verifies() {
        let (mut key, token) = ApiKey::issue(TenantId::new("t"), "ci", Timestamp::from_millis(0));
        key.revoked_at = Some(Timestamp::from_millis(1));
        assert!(!key.verifies(&token));
    }
}
