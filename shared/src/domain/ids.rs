//! Identifiers as newtypes, so a tenant id can never be passed where a contact id is expected.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! public_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An id from outside (a URL, a command line): `#` separates parts of storage keys,
            /// so only letters, digits, `_`, `-` and `.` are accepted.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                validate(stringify!($name), text).map(|t| $name(t.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

pub const MAX_ID_CHARS: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{kind} must be 1 to {MAX_ID_CHARS} letters, digits, '_', '-' or '.'")]
pub struct InvalidId {
    pub kind: &'static str,
}

fn validate<'a>(kind: &'static str, text: &'a str) -> Result<&'a str, InvalidId> {
    let valid = !text.is_empty()
        && text.len() <= MAX_ID_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    valid.then_some(text).ok_or(InvalidId { kind })
}

public_id!(
    /// A business on the platform.
    TenantId
);
public_id!(
    /// Meta's id of a WhatsApp Business phone number (not the number itself, not personal data).
    PhoneNumberId
);
public_id!(
    /// Meta's id of a WhatsApp Business Account: the owner of a tenant's message templates
    /// (a webhook entry's `id` for template updates).
    WabaId
);
public_id!(
    /// A contact within one tenant: a keyed hash of its first identifier, never the identifier.
    ContactId
);
public_id!(
    /// A message within one tenant: a keyed hash of its WhatsApp id, which embeds the phone number.
    MessageId
);
public_id!(
    /// The public half of an API key, safe to show in listings and audit events.
    ApiKeyId
);
public_id!(
    /// An export archive job.
    ExportId
);
public_id!(
    /// One audit event.
    AuditId
);
public_id!(
    /// A template broadcast of a tenant.
    CampaignId
);
public_id!(
    /// A data subject's request to exercise a right (`rr_` + the time it came, zero-padded
    /// milliseconds, + random): ids sort by arrival, so listings need no other index.
    RightsRequestId
);

/// WhatsApp's message id. Its base64 payload embeds the phone number, so it never prints.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Wamid(String);

impl Wamid {
    pub fn new(value: impl Into<String>) -> Self {
        Wamid(value.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Wamid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wamid(<redacted>)")
    }
}

/// A random identifier with a readable prefix, e.g. `exp_3f9a…` (128 bits of randomness).
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

impl TenantId {
    pub fn generate() -> Self {
        TenantId(random_id("ten"))
    }
}

impl MessageId {
    /// The id of a message Mizan stores before WhatsApp gives it a wamid (an agent's send):
    /// random, and never the hash of a wamid.
    pub fn generate_outbound() -> Self {
        MessageId(random_id("out"))
    }
}

impl ExportId {
    pub fn generate() -> Self {
        ExportId(random_id("exp"))
    }
}

impl CampaignId {
    pub fn generate() -> Self {
        CampaignId(random_id("cmp"))
    }
}

impl RightsRequestId {
    pub fn generate(received_at: crate::domain::time::Timestamp) -> Self {
        let mut bytes = [0u8; 8];
        rand::rng().fill_bytes(&mut bytes);
        RightsRequestId(format!(
            "rr_{:013}_{}",
            received_at.as_millis().max(0),
            hex::encode(bytes)
        ))
    }
}

impl AuditId {
    pub fn generate() -> Self {
        AuditId(random_id("aud"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wamid_never_prints() {
        let id = Wamid::new("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
        assert_eq!(format!("{id:?}"), "Wamid(<redacted>)");
    }

    #[test]
    fn parsed_ids_cannot_smuggle_key_separators() {
        assert!(TenantId::parse("ten_abc-1.2").is_ok());
        assert_eq!(
            TenantId::parse("ten#x").unwrap_err(),
            InvalidId { kind: "TenantId" }
        );
        assert!(ExportId::parse("").is_err());
        assert!(ApiKeyId::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn generated_ids_are_unique_and_prefixed() {
        let a = ExportId::generate();
        let b = ExportId::generate();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("exp_"));
        assert_eq!(a.as_str().len(), 4 + 32);
    }
}
