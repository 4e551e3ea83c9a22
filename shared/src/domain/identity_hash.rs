//! Keyed hashes of personal identifiers: how contacts are keyed, logged and suppressed without PII.

use crate::domain::ids::{ContactId, MessageId, TenantId, Wamid};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// Which of WhatsApp's identifiers a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// Business-scoped user id (`user_id`, `from_user_id`), stable across phone number changes.
    UserId,
    /// Phone number as WhatsApp reports it (`wa_id`, `from`).
    WaId,
}

impl IdentifierKind {
    fn code(self) -> &'static str {
        match self {
            IdentifierKind::UserId => "u",
            IdentifierKind::WaId => "w",
        }
    }
}

/// A keyed hash of one identifier within one tenant: 128 bits, hex.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdentityHash(String);

impl IdentityHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(value: impl Into<String>) -> Self {
        IdentityHash(value.into())
    }

    /// The id of the contact first created from this identifier.
    pub fn contact_id(&self) -> ContactId {
        ContactId::new(format!("c{}", self.0))
    }
}

impl fmt::Debug for IdentityHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityHash({})", self.0)
    }
}

impl fmt::Display for IdentityHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Holds the secret hashing key (`MIZAN_HASH_KEY`).
pub struct IdentityHasher {
    key: SecretBox<[u8; 32]>,
}

impl IdentityHasher {
    pub fn new(key: [u8; 32]) -> Self {
        IdentityHasher {
            key: SecretBox::new(Box::new(key)),
        }
    }

    /// The hash of `value` as an identifier of `kind` for `tenant`. Whitespace around the value and
    /// a leading `+` on phone numbers are ignored, so "+212 6…" style variants of one wa_id agree.
    pub fn identifier(&self, tenant: &TenantId, kind: IdentifierKind, value: &str) -> IdentityHash {
        let normalized = match kind {
            IdentifierKind::WaId => value.trim().trim_start_matches('+').replace([' ', '-'], ""),
            IdentifierKind::UserId => value.trim().to_owned(),
        };
        let mut mac = self.mac();
        mac.update(b"mizan/identity/v1\0");
        mac.update(tenant.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(kind.code().as_bytes());
        mac.update(b"\0");
        mac.update(normalized.as_bytes());
        IdentityHash(hex::encode(&mac.finalize().into_bytes()[..16]))
    }

    /// A new contact takes the hash of the identifier it was first seen with as its id.
    pub fn contact_id(&self, tenant: &TenantId, kind: IdentifierKind, value: &str) -> ContactId {
        self.identifier(tenant, kind, value).contact_id()
    }

    /// The storage id of a WhatsApp message: its wamid base64-encodes the sender's phone number,
    /// so keys and metadata carry this hash and the wamid itself is sealed with the content.
    pub fn message_id(&self, tenant: &TenantId, wamid: &Wamid) -> MessageId {
        let mut mac = self.mac();
        mac.update(b"mizan/message/v1\0");
        mac.update(tenant.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(wamid.as_str().as_bytes());
        MessageId::new(format!(
            "m{}",
            hex::encode(&mac.finalize().into_bytes()[..16])
        ))
    }

    /// A keyed hash of a client's idempotency key, and of the request it came with: what is
    /// kept to answer a retry, never the key or the request (which holds message text).
    pub fn request_fingerprint(&self, tenant: &TenantId, purpose: &str, value: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(b"mizan/request/v1\0");
        mac.update(tenant.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value);
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The signing secret of a tenant's webhook endpoint: derived from Mizan's key and the
    /// endpoint's stored salt, so no secret is stored; a new salt rolls it.
    pub fn webhook_secret(&self, tenant: &TenantId, endpoint: &str, salt: &str) -> SecretString {
        use base64::Engine;
        let mut mac = self.mac();
        mac.update(b"mizan/webhook-secret/v1\0");
        mac.update(tenant.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(endpoint.as_bytes());
        mac.update(b"\0");
        mac.update(salt.as_bytes());
        let bytes = mac.finalize().into_bytes();
        SecretString::from(format!(
            "whsec_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// A contact's search term (a prefix of its number or of a word of its name), as the
    /// contact list keeps it: keyed and tenant-bound, short (a false match is confirmed
    /// against the opened profile).
    pub fn search_term(&self, tenant: &TenantId, term: &str) -> String {
        let mut mac = self.mac();
        mac.update(b"mizan/contact-search/v1\0");
        mac.update(tenant.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(term.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    /// A short keyed hash for logs, of any value that must be correlatable but not readable.
    pub fn for_logs(&self, value: &str) -> String {
        let mut mac = self.mac();
        mac.update(b"mizan/log/v1\0");
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for IdentityHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityHasher(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> IdentityHasher {
        IdentityHasher::new([7; 32])
    }

    #[test]
    fn same_identifier_same_hash_and_no_plaintext() {
        let t = TenantId::new("ten_a");
        let a = hasher().identifier(&t, IdentifierKind::WaId, "+212 600000000");
        let b = hasher().identifier(&t, IdentifierKind::WaId, "212600000000");
        assert_eq!(a, b);
        assert!(!a.as_str().contains("212600000000"));
        assert_eq!(a.as_str().len(), 32);
    }

    #[test]
    fn hash_depends_on_tenant_kind_and_key() {
        let t = TenantId::new("ten_a");
        let base = hasher().identifier(&t, IdentifierKind::WaId, "1");
        assert_ne!(
            base,
            hasher().identifier(&TenantId::new("ten_b"), IdentifierKind::WaId, "1")
        );
        assert_ne!(base, hasher().identifier(&t, IdentifierKind::UserId, "1"));
        assert_ne!(
            base,
            IdentityHasher::new([8; 32]).identifier(&t, IdentifierKind::WaId, "1")
        );
    }
}
