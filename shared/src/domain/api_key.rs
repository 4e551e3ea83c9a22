//! Business API keys: shown once, stored only as a hash, compared in constant time (P9).

use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::time::Timestamp;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
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

/// What a key may do. A key carries a set; each route needs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Reading contacts, conversations, settings and the audit trail.
    Read,
    /// Consent, rectification, restriction, erasure and exports: the data subject's rights.
    Rights,
    /// Sending and taking over conversations.
    Messages,
    /// Settings, legal hold, API keys, the account.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Rights, Scope::Messages, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Rights => "rights",
            Scope::Messages => "messages",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| UnknownScope(text.trim().chars().take(32).collect()))
    }

    /// Every scope: what keys issued before scopes existed could do, and the demo key.
    pub fn all() -> BTreeSet<Scope> {
        Scope::ALL.into_iter().collect()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown scope {0:?}: use read, rights, messages or admin")]
pub struct UnknownScope(String);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant: TenantId,
    pub hash: ApiKeyHash,
    pub label: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// Keys stored before scopes existed could do everything, and still can until reissued.
    #[serde(default = "Scope::all")]
    pub scopes: BTreeSet<Scope>,
    /// Past this the key stops working, as if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl ApiKey {
    /// A new key with every scope and no expiry, and its token (shown once, never stored).
    pub fn issue(
        tenant: TenantId,
        label: impl Into<String>,
        now: Timestamp,
    ) -> (ApiKey, SecretString) {
        ApiKey::issue_scoped(tenant, label, Scope::all(), None, now)
    }

    /// A new key that may do `scopes` until `expires_at`, and its token.
    pub fn issue_scoped(
        tenant: TenantId,
        label: impl Into<String>,
        scopes: BTreeSet<Scope>,
        expires_at: Option<Timestamp>,
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
            scopes,
            expires_at,
        };
        (key, SecretString::from(token))
    }

    /// Neither revoked nor expired at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }

    /// Whether `token` is this key and it works at `now`, in constant time.
    pub fn verifies(&self, token: &SecretString, now: Timestamp) -> bool {
        self.is_active(now) && self.hash.matches(&ApiKeyHash::of(token.expose_secret()))
    }

    /// The key id a whole token names (`mzn_<key id>_<secret>`), for commands given a token
    /// where an id was asked: the id is found without echoing the secret.
    pub fn id_in_token(token: &str) -> Option<ApiKeyId> {
        let rest = token.trim().strip_prefix(TOKEN_PREFIX)?.strip_prefix('_')?;
        let (id, secret) = rest.rsplit_once('_')?;
        (!secret.is_empty())
            .then(|| ApiKeyId::parse(id).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_and_is_not_stored() {
        let (key, token) = ApiKey::issue(TenantId::new("t"), "ci", Timestamp::from_millis(0));
        assert!(key.verifies(&token, Timestamp::from_millis(1)));
        assert!(!key.verifies(
            &SecretString::from("mzn_key_x_y"),
            Timestamp::from_millis(1)
        ));
        let stored = serde_json::to_string(&key).unwrap();
        assert!(!stored.contains(token.expose_secret()));
        assert!(token.expose_secret().contains(key.id.as_str()));
    }

    #[test]
    fn revoked_key_never_verifies() {
        let (mut key, token) = ApiKey::issue(TenantId::new("t"), "ci", Timestamp::from_millis(0));
        key.revoked_at = Some(Timestamp::from_millis(1));
        assert!(!key.verifies(&token, Timestamp::from_millis(2)));
    }

    #[test]
    fn an_expiring_key_stops_working_at_its_expiry() {
        let (key, token) = ApiKey::issue_scoped(
            TenantId::new("t"),
            "contractor",
            [Scope::Read].into(),
            Some(Timestamp::from_millis(10)),
            Timestamp::from_millis(0),
        );
        assert!(key.verifies(&token, Timestamp::from_millis(9)));
        assert!(!key.verifies(&token, Timestamp::from_millis(10)));
    }

    #[test]
    fn keys_stored_before_scopes_existed_keep_every_scope() {
        let (key, _) = ApiKey::issue(TenantId::new("t"), "old", Timestamp::from_millis(0));
        let mut stored = serde_json::to_value(&key).unwrap();
        stored.as_object_mut().unwrap().remove("scopes");
        let read: ApiKey = serde_json::from_value(stored).unwrap();
        assert_eq!(read.scopes, Scope::all());
    }

    #[test]
    fn scopes_parse_and_the_key_id_is_found_in_a_whole_token() {
        assert_eq!(Scope::parse(" admin "), Ok(Scope::Admin));
        assert!(Scope::parse("root").is_err());
        let (key, token) = ApiKey::issue(TenantId::new("t"), "ci", Timestamp::from_millis(0));
        assert_eq!(ApiKey::id_in_token(token.expose_secret()), Some(key.id));
        assert_eq!(ApiKey::id_in_token("key_0123456789ab"), None);
    }
}
