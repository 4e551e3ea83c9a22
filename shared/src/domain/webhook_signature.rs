//! How a delivery proves it comes from Mizan, in Stripe's scheme: the header
//! `Mizan-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
//! endpoint's secret. The timestamp is signed with the body, so a receiver that refuses old
//! timestamps (five minutes is the usual tolerance) cannot be replayed an old delivery.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Mizan-Signature";
pub const EVENT_ID_HEADER: &str = "Mizan-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "Mizan-Event-Type";
pub const DELIVERY_ID_HEADER: &str = "Mizan-Delivery-Id";
/// What receivers are told to accept between the signed time and their clock.
pub const TOLERANCE_SECONDS: i64 = 300;

fn mac(secret: &SecretString, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signed time is too far from now")]
    Stale,
}

/// What a receiver does: checks `header` against `body` and its clock `now` (unix seconds).
/// Any of several `v1=` values may match (a secret being rolled).
pub fn verify(
    secret: &SecretString,
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex_digest)) => signatures.push(hex_digest),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let matches = signatures.iter().any(|candidate| {
        hex::decode(candidate)
            .is_ok_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(VerifyError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("whsec_test")
    }

    #[test]
    fn a_signature_verifies_for_its_body_and_time_only() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(&secret(), 1_796_464_210, body);
        assert!(header.starts_with("t=1796464210,v1="));
        assert_eq!(verify(&secret(), &header, body, 1_796_464_230), Ok(()));
        assert_eq!(
            verify(&secret(), &header, br#"{"id":"evt_2"}"#, 1_796_464_230),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                &SecretString::from("whsec_other"),
                &header,
                body,
                1_796_464_230
            ),
            Err(VerifyError::Mismatch)
        );
        let moved = header.replace("t=1796464210", "t=1796464250");
        assert_eq!(
            verify(&secret(), &moved, body, 1_796_464_250),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), &header, body, 1_796_464_210 + 301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(&secret(), "v1=00", body, 0),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(&secret(), "t=1", body, 0),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn the_digest_is_hmac_sha256_of_time_dot_body() {
        // Computed independently: printf '1.{}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            sign(&secret(), 1, b"{}"),
            "t=1,v1=7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094"
        );
    }
}
