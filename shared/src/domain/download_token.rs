//! Export download links (DESIGN §6): a signed, expiring token naming an export and nothing
//! personal. The token is the credential, so a tampered, expired or unknown one must all look
//! the same to whoever holds it.

use crate::domain::ids::{ExportId, TenantId};
use crate::domain::time::Timestamp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const VERSION: &str = "v1";

/// The path of the download route (data-export): the token is its only credential.
pub const DOWNLOAD_PATH: &str = "/exports/download";

/// The download link of `export` on the API at `base`, signed until `expires_at`.
pub fn download_url(
    signer: &TokenSigner,
    base: &str,
    tenant: &TenantId,
    export: &ExportId,
    expires_at: Timestamp,
) -> String {
    let token = signer.sign(&DownloadGrant {
        tenant: tenant.clone(),
        export: export.clone(),
        expires_at,
    });
    format!("{base}{DOWNLOAD_PATH}?token={token}")
}

/// What a token grants: one export of one tenant, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadGrant {
    #[serde(rename = "t")]
    pub tenant: TenantId,
    #[serde(rename = "e")]
    pub export: ExportId,
    #[serde(rename = "x")]
    pub expires_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this system signed (malformed, another key, changed on the way).
    #[error("the download link is not valid")]
    Invalid,
    #[error("the download link has expired")]
    Expired,
}

/// Signs and checks download tokens with the secret from configuration.
pub struct TokenSigner {
    secret: SecretBox<Vec<u8>>,
}

impl TokenSigner {
    /// A signer over `secret` (at least 32 bytes, checked by configuration).
    pub fn new(secret: Vec<u8>) -> Self {
        TokenSigner {
            secret: SecretBox::new(Box::new(secret)),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(self.secret.expose_secret())
            .expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, grant: &DownloadGrant) -> String {
        let payload = serde_json::to_vec(grant).expect("a grant serializes");
        let body = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(payload));
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// The grant of a token signed by this signer and not expired at `now`. The signature is
    /// checked (in constant time) before anything in the token is believed.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<DownloadGrant, TokenError> {
        let (body, tag) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).map_err(|_| TokenError::Invalid)?;
        let payload = body
            .strip_prefix(VERSION)
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or(TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Invalid)?;
        let grant: DownloadGrant =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)?;
        if grant.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires: i64) -> DownloadGrant {
        DownloadGrant {
            tenant: TenantId::new("ten_1"),
            export: ExportId::generate(),
            expires_at: Timestamp::from_millis(expires),
        }
    }

    #[test]
    fn a_signed_token_grants_its_export_until_it_expires() {
        let signer = TokenSigner::new(vec![9; 32]);
        let g = grant(2_000);
        let token = signer.sign(&g);
        assert_eq!(signer.verify(&token, Timestamp::from_millis(1_999)), Ok(g));
        assert_eq!(
            signer.verify(&token, Timestamp::from_millis(2_000)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let signer = TokenSigner::new(vec![9; 32]);
        let token = signer.sign(&grant(2_000));
        let now = Timestamp::from_millis(1);
        let other = TokenSigner::new(vec![8; 32]);
        assert_eq!(other.verify(&token, now), Err(TokenError::Invalid));
        // A later expiry written into the payload breaks the signature.
        let (body, tag) = token.rsplit_once('.').unwrap();
        let mut forged = grant(9_999_999);
        forged.export = signer.verify(&token, now).unwrap().export;
        let forged_body = format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap())
        );
        assert_ne!(forged_body, body);
        assert_eq!(
            signer.verify(&format!("{forged_body}.{tag}"), now),
            Err(TokenError::Invalid)
        );
        for junk in ["", ".", "v1..", "v1.e30.", "a.b.c", "v2.e30.AAAA"] {
            assert_eq!(signer.verify(junk, now), Err(TokenError::Invalid), "{junk}");
        }
    }

    #[test]
    fn tokens_carry_no_personal_data() {
        let signer = TokenSigner::new(vec![9; 32]);
        let g = grant(2_000);
        let token = signer.sign(&g);
        let payload = token.split('.').nth(1).unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(
            text,
            format!(r#"{{"t":"ten_1","e":"{}","x":2000}}"#, g.export)
        );
    }
}
