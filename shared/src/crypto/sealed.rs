//! The sealed-content format: version byte, 96-bit nonce, AES-256-GCM ciphertext and tag.
//!
//! `v1 = 0x01 || nonce(12) || ciphertext || tag(16)`, with associated data binding the
//! ciphertext to its key context and to the record it belongs to.

use crate::ports::keys::{DataKey, KeyContext};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

pub const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed content is too short to be valid")]
    Malformed,
    #[error("sealed content has unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// Altered ciphertext, another context or another record: indistinguishable by design.
    #[error("sealed content failed authentication")]
    Rejected,
}

fn associated_data(context: &KeyContext, aad: &[u8]) -> Vec<u8> {
    let mut out = b"mizan/sealed/v1\0".to_vec();
    out.extend_from_slice(&context.canonical());
    out.extend_from_slice(aad);
    out
}

pub fn seal(key: &DataKey, context: &KeyContext, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.bytes().into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let aad = associated_data(context, aad);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption cannot fail for inputs under 64 GiB");
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

pub fn open(
    key: &DataKey,
    context: &KeyContext,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
    if version != FORMAT_V1 {
        return Err(SealError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(key.bytes().into());
    let aad = associated_data(context, aad);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ContactId, TenantId};

    fn ctx(contact: &str) -> KeyContext {
        KeyContext::new(TenantId::new("t"), ContactId::new(contact))
    }

    #[test]
    fn round_trips_and_hides_plaintext() {
        let key = DataKey::from_bytes([1; 32]);
        let sealed = seal(&key, &ctx("a"), b"rec", "مرحبا é".as_bytes());
        assert_eq!(sealed[0], FORMAT_V1);
        assert!(!sealed
            .windows(5)
            .any(|w| w == "مرحبا".as_bytes().get(..5).unwrap()));
        assert_eq!(
            open(&key, &ctx("a"), b"rec", &sealed).unwrap(),
            "مرحبا é".as_bytes()
        );
    }

    #[test]
    fn tampering_context_record_or_version_is_rejected() {
        let key = DataKey::from_bytes([1; 32]);
        let mut sealed = seal(&key, &ctx("a"), b"rec", b"hello");
        assert_eq!(
            open(&key, &ctx("b"), b"rec", &sealed),
            Err(SealError::Rejected)
        );
        assert_eq!(
            open(&key, &ctx("a"), b"other", &sealed),
            Err(SealError::Rejected)
        );
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            open(&key, &ctx("a"), b"rec", &sealed),
            Err(SealError::Rejected)
        );
        sealed[0] = 9;
        assert_eq!(
            open(&key, &ctx("a"), b"rec", &sealed),
            Err(SealError::UnsupportedVersion(9))
        );
        assert_eq!(
            open(&key, &ctx("a"), b"rec", &[1, 2]),
            Err(SealError::Malformed)
        );
    }
}
