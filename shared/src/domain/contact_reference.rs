//! How a business names one of its contacts in the API: by phone number (wa_id) or by WhatsApp's
//! business-scoped user id. Which identifier it is follows from its shape.

use crate::domain::identity_hash::IdentifierKind;
use crate::domain::personal::Personal;
use std::fmt;

/// Longest reference accepted; WhatsApp's identifiers are far shorter.
pub const MAX_REFERENCE_CHARS: usize = 128;

/// A contact reference from a URL: personal data, so it never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactReference {
    kind: IdentifierKind,
    value: Personal<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a contact is a phone number (digits, optionally with a leading '+') or a business-scoped user id \
     (letters, digits, '.', '_', '-'), at most {MAX_REFERENCE_CHARS} characters"
)]
pub struct InvalidContactReference;

impl ContactReference {
    /// `+212600000000` and `212600000000` are phone numbers; `US.10000000000000000001` is a user id.
    pub fn parse(text: &str) -> Result<Self, InvalidContactReference> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_REFERENCE_CHARS {
            return Err(InvalidContactReference);
        }
        let digits = text.strip_prefix('+').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(ContactReference {
                kind: IdentifierKind::WaId,
                value: Personal::new(digits.to_owned()),
            });
        }
        let user_id_chars = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if user_id_chars {
            return Ok(ContactReference {
                kind: IdentifierKind::UserId,
                value: Personal::new(text.to_owned()),
            });
        }
        Err(InvalidContactReference)
    }

    pub fn kind(&self) -> IdentifierKind {
        self.kind
    }

    pub fn value(&self) -> &Personal<String> {
        &self.value
    }
}

impl fmt::Debug for ContactReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContactReference({:?}, <redacted>)", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_a_phone_number_with_or_without_plus() {
        let r = ContactReference::parse("+212600000000").unwrap();
        assert_eq!(r.kind(), IdentifierKind::WaId);
        assert_eq!(r.value().expose(), "212600000000");
        assert_eq!(
            ContactReference::parse("15550100001").unwrap().kind(),
            IdentifierKind::WaId
        );
    }

    #[test]
    fn business_scoped_user_ids_are_user_ids() {
        let r = ContactReference::parse("US.10000000000000000001").unwrap();
        assert_eq!(r.kind(), IdentifierKind::UserId);
        assert_eq!(r.value().expose(), "US.10000000000000000001");
    }

    #[test]
    fn storage_key_separators_and_empty_references_are_refused() {
        for bad in [
            "",
            " ",
            "+",
            "a#b",
            "US.1 2",
            "12/34",
            "été",
            &"1".repeat(129),
        ] {
            assert_eq!(
                ContactReference::parse(bad),
                Err(InvalidContactReference),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_has_no_personal_data() {
        let r = ContactReference::parse("212600000000").unwrap();
        assert!(!format!("{r:?}").contains("212600000000"));
    }
}
