//! X-Hub-Signature-256 verification of Meta webhook deliveries.
//!
//! Meta sends `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the payload keyed with the
//! app secret. Its documentation ("Validate payloads", Graph API and Messenger webhooks) adds:
//! "we generate the signature using an escaped unicode version of the payload, with lowercase hex
//! digits … the string äöå should be escaped to \u00e4\u00f6\u00e5". The escaped form is that of
//! PHP's default `json_encode`: every non-ASCII character as `\uXXXX` (lowercase hex, UTF-16 code
//! units, so an emoji becomes a surrogate pair) and `/` as `\/`. Integrations that see (or rebuild)
//! the unescaped UTF-8 form break on accented text, Arabic, emoji and URLs — reported e.g. in
//! Secreto31126/whatsapp-api-js#290 ("mangé") and #380 ("/"), messenger4j#16, botmaster-messenger#15.
//!
//! So [`verify`] checks the exact received bytes first (what Meta normally delivers, already
//! escaped) and only then the Meta-escaped form of those bytes. A body that arrives escaped
//! matches on the first check. Decoding API Gateway's base64 body is the caller's job.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use std::fmt;
use std::fmt::Write as _;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "sha256=";
const HEX_DIGITS: usize = 64;

/// A Meta app secret. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct AppSecret(SecretSlice<u8>);

impl AppSecret {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        AppSecret(SecretSlice::from(secret.into()))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.expose_secret()).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(<redacted>)")
    }
}

/// The app secrets a delivery may be signed with: more than one while a secret is being rotated.
/// Never empty.
#[derive(Clone)]
pub struct AppSecrets(Vec<AppSecret>);

/// Why a list of app secrets was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum AppSecretsError {
    #[error("no app secret configured")]
    NoSecrets,
    #[error("app secret #{position} of the comma-separated list is empty")]
    EmptyEntry { position: usize },
}

impl AppSecrets {
    /// Parses `"s1,s2"`: comma-separated, each trimmed; an empty entry (`"s1,,s2"`, `"s1,"`) or an
    /// empty list is an error rather than silently ignored, since it usually means a broken config.
    pub fn parse_list(list: &str) -> Result<Self, AppSecretsError> {
        if list.trim().is_empty() {
            return Err(AppSecretsError::NoSecrets);
        }
        list.split(',')
            .enumerate()
            .map(|(index, entry)| match entry.trim() {
                "" => Err(AppSecretsError::EmptyEntry {
                    position: index + 1,
                }),
                secret => Ok(AppSecret::new(secret)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(AppSecrets)
    }

    /// The secret a sender signs with: the first of the list (the others are accepted while a
    /// rotation goes on).
    pub fn current(&self) -> &AppSecret {
        &self.0[0]
    }
}

impl From<AppSecret> for AppSecrets {
    fn from(secret: AppSecret) -> Self {
        AppSecrets(vec![secret])
    }
}

impl fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppSecrets(<{} redacted>)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum SignatureError {
    #[error("X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("X-Hub-Signature-256 header is not `sha256=` followed by 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// Which form of the body the signature matched, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureForm {
    /// The exact received bytes.
    Raw,
    /// The Meta-escaped form of the received bytes (see [`meta_escaped`]).
    Escaped,
}

impl SignatureForm {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureForm::Raw => "raw",
            SignatureForm::Escaped => "escaped",
        }
    }
}

/// Checks `header` (the X-Hub-Signature-256 value) against `body` under each of `secrets`, in
/// constant time per comparison. Uppercase hex and surrounding whitespace are accepted; an empty
/// header counts as missing.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &AppSecrets,
) -> Result<SignatureForm, SignatureError> {
    let expected = parse_header(header)?;
    if matches_any(&expected, body, secrets) {
        return Ok(SignatureForm::Raw);
    }
    match meta_escaped(body) {
        Some(escaped) if matches_any(&expected, &escaped, secrets) => Ok(SignatureForm::Escaped),
        _ => Err(SignatureError::Mismatch),
    }
}

/// `"sha256=<lowercase hex>"` of `body`: what Meta would send, for tests and `mizan-local send`.
pub fn sign(body: &[u8], secret: &AppSecret) -> String {
    let mut mac = secret.mac();
    mac.update(body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// The form of `body` Meta signs, or `None` when it would be identical (pure ASCII without an
/// unescaped `/`), so the second HMAC is skipped. Invalid UTF-8 cannot have been produced by Meta's
/// escaping, so it also gives `None`.
pub fn meta_escaped(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    needs_escaping(text).then(|| meta_escape(text).into_bytes())
}

/// Escapes JSON text the way Meta does before signing: non-ASCII as lowercase `\uXXXX` UTF-16
/// code units, `/` as `\/`. Existing escape sequences pass through untouched, so `\/` and
/// `\u00e9` stay as they are. Use it to build signed fixtures.
pub fn meta_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(escaped) = chars.next() {
                    push_escaped_char(&mut out, escaped);
                }
            }
            '/' => out.push_str("\\/"),
            c => push_escaped_char(&mut out, c),
        }
    }
    out
}

fn push_escaped_char(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c);
        return;
    }
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        // Writing to a String cannot fail.
        let _ = write!(out, "\\u{unit:04x}");
    }
}

fn needs_escaping(text: &str) -> bool {
    let mut after_backslash = false;
    for c in text.chars() {
        if !c.is_ascii() || (c == '/' && !after_backslash) {
            return true;
        }
        after_backslash = c == '\\' && !after_backslash;
    }
    false
}

fn parse_header(header: Option<&str>) -> Result<[u8; 32], SignatureError> {
    let value = header.map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or(SignatureError::Missing)?;
    let digits = value
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::Malformed)?;
    if digits.len() != HEX_DIGITS {
        return Err(SignatureError::Malformed);
    }
    let mut expected = [0u8; 32];
    hex::decode_to_slice(digits, &mut expected).map_err(|_| SignatureError::Malformed)?;
    Ok(expected)
}

fn matches_any(expected: &[u8; 32], body: &[u8], secrets: &AppSecrets) -> bool {
    secrets.0.iter().any(|secret| {
        let mut mac = secret.mac();
        mac.update(body);
        mac.verify_slice(expected).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "app-secret-under-test";

    fn secrets() -> AppSecrets {
        AppSecrets::from(AppSecret::new(SECRET))
    }

    fn delivery(text: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{{"value":{{"messages":[{{"text":{{"body":"{text}"}}}}]}}}}]}}]}}"#
        )
    }

    /// A body signed the way Meta signs it: over the escaped form.
    fn signed_by_meta(body: &str) -> String {
        sign(meta_escape(body).as_bytes(), &AppSecret::new(SECRET))
    }

    #[test]
    fn exact_bytes_signed_with_the_secret_verify_raw() {
        let body = delivery("hello");
        let header = sign(body.as_bytes(), &AppSecret::new(SECRET));

        assert_eq!(
            verify(Some(&header), body.as_bytes(), &secrets()),
            Ok(SignatureForm::Raw)
        );
    }

    #[test]
    fn unescaped_body_signed_in_escaped_form_verifies_escaped() {
        for text in [
            "J'ai mangé des pâtes, arrêt",
            "see https://example.com/menu",
            "مرحبا، أريد إيقاف الرسائل",
            "thanks 😀",
            "mix: é / 😀 / شكرا",
        ] {
            // Given Meta signed the escaped form and the body arrives as plain UTF-8
            let body = delivery(text);
            let header = signed_by_meta(&body);

            // Then the raw check fails but the escaped one passes
            assert_eq!(
                verify(Some(&header), body.as_bytes(), &secrets()),
                Ok(SignatureForm::Escaped),
                "{text}"
            );
        }
    }

    #[test]
    fn escaped_body_as_meta_delivers_it_verifies_raw() {
        let body = meta_escape(&delivery("arrêt https://x.y/z مرحبا 😀"));
        let header = sign(body.as_bytes(), &AppSecret::new(SECRET));

        assert!(body.contains(r"arr\u00eat https:\/\/x.y\/z"));
        assert!(body.contains(r"\ud83d\ude00"));
        assert_eq!(meta_escaped(body.as_bytes()), None);
        assert_eq!(
            verify(Some(&header), body.as_bytes(), &secrets()),
            Ok(SignatureForm::Raw)
        );
    }

    #[test]
    fn second_secret_of_a_rotation_verifies() {
        let secrets = AppSecrets::parse_list(" old-secret , new-secret ").unwrap();
        let body = delivery("é");

        let raw = sign(body.as_bytes(), &AppSecret::new("new-secret"));
        let escaped = sign(meta_escape(&body).as_bytes(), &AppSecret::new("new-secret"));

        assert_eq!(
            verify(Some(&raw), body.as_bytes(), &secrets),
            Ok(SignatureForm::Raw)
        );
        assert_eq!(
            verify(Some(&escaped), body.as_bytes(), &secrets),
            Ok(SignatureForm::Escaped)
        );
    }

    #[test]
    fn missing_header_is_missing() {
        let body = delivery("hi");
        assert_eq!(
            verify(None, body.as_bytes(), &secrets()),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("  "), body.as_bytes(), &secrets()),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed_headers_are_malformed() {
        let body = delivery("hi");
        let good = sign(body.as_bytes(), &AppSecret::new(SECRET));
        let digits = &good[PREFIX.len()..];
        for header in [
            digits.to_owned(),                   // no prefix
            format!("sha256={}", &digits[1..]),  // 63 hex digits
            format!("sha256={digits}0"),         // 65 hex digits
            format!("sha256={}g", &digits[1..]), // non-hex
            format!("sha1={}", &digits[..40]),   // the legacy header's format
            format!("sha1={digits}"),            // wrong algorithm
            "sha256=".to_owned(),                // nothing after the prefix
            format!("sha256= {digits}"),         // space inside
        ] {
            assert_eq!(
                verify(Some(&header), body.as_bytes(), &secrets()),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn uppercase_hex_and_surrounding_whitespace_are_accepted() {
        let body = delivery("hi");
        let good = sign(body.as_bytes(), &AppSecret::new(SECRET));
        let header = format!("  sha256={}\t", good[PREFIX.len()..].to_uppercase());

        assert_eq!(
            verify(Some(&header), body.as_bytes(), &secrets()),
            Ok(SignatureForm::Raw)
        );
    }

    #[test]
    fn wrong_secret_is_a_mismatch() {
        let body = delivery("café");
        let header = signed_by_meta(&body);
        let others = AppSecrets::parse_list("other-secret").unwrap();

        assert_eq!(
            verify(Some(&header), body.as_bytes(), &others),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_one_byte_change_is_a_mismatch() {
        for text in ["hello", "café / مرحبا"] {
            let body = delivery(text).into_bytes();
            let raw = sign(&body, &AppSecret::new(SECRET));
            let escaped = signed_by_meta(&delivery(text));
            for header in [&raw, &escaped] {
                for i in 0..body.len() {
                    let mut tampered = body.clone();
                    tampered[i] ^= 0x01;
                    assert_eq!(
                        verify(Some(header), &tampered, &secrets()),
                        Err(SignatureError::Mismatch),
                        "{text}: byte {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let secret = AppSecret::new("hunter2-app-secret");
        let secrets = AppSecrets::parse_list("hunter2-app-secret,another-s3cret").unwrap();

        let printed = format!("{secret:?} {secrets:?} {:#?}", secrets);

        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn secret_lists_reject_empty_entries() {
        assert_eq!(
            AppSecrets::parse_list("").unwrap_err(),
            AppSecretsError::NoSecrets
        );
        assert_eq!(
            AppSecrets::parse_list(" \t").unwrap_err(),
            AppSecretsError::NoSecrets
        );
        assert_eq!(
            AppSecrets::parse_list("a,,b").unwrap_err(),
            AppSecretsError::EmptyEntry { position: 2 }
        );
        assert_eq!(
            AppSecrets::parse_list("a, ").unwrap_err(),
            AppSecretsError::EmptyEntry { position: 2 }
        );
        assert_eq!(
            AppSecretsError::EmptyEntry { position: 2 }.to_string(),
            "app secret #2 of the comma-separated list is empty"
        );
    }

    #[test]
    fn meta_escape_matches_metas_documented_form() {
        assert_eq!(meta_escape("äöå"), r"\u00e4\u00f6\u00e5");
        assert_eq!(meta_escape("é/"), r"\u00e9\/");
        assert_eq!(meta_escape("😀"), r"\ud83d\ude00");
        assert_eq!(meta_escape("سلام"), r"\u0633\u0644\u0627\u0645");
        assert_eq!(
            meta_escape(r#"{"a":"\"x\" \\ \/ \u00C9"}"#),
            r#"{"a":"\"x\" \\ \/ \u00C9"}"#
        );
        assert_eq!(meta_escape(r#""\\/""#), r#""\\\/""#);
    }

    #[test]
    fn meta_escaped_skips_bodies_with_nothing_to_escape() {
        assert_eq!(meta_escaped(br#"{"a":"plain ascii"}"#), None);
        assert_eq!(meta_escaped(br#"{"a":"https:\/\/already.escaped"}"#), None);
        assert_eq!(meta_escaped(&[b'"', 0xff, b'"']), None);
        assert_eq!(meta_escaped(b"a/b"), Some(br"a\/b".to_vec()));
        assert_eq!(meta_escaped(br"a\\/b"), Some(br"a\\\/b".to_vec()));
    }

    #[test]
    fn sign_produces_metas_header_format() {
        let header = sign(b"{}", &AppSecret::new(SECRET));

        assert!(header.starts_with("sha256="));
        assert_eq!(header.len(), PREFIX.len() + HEX_DIGITS);
        assert!(header[PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }
}
