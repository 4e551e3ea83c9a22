//! How a business names one of its contacts in the API: by phone number (wa_id, in
//! international form, or a local number of the tenant's `default_country`), by WhatsApp's
//! business-scoped user id, or by Mizan's own contact id (what the audit trail shows). Which one
//! it is follows from its shape.

use crate::domain::identity_hash::IdentifierKind;
use crate::domain::ids::ContactId;
use crate::domain::personal::Personal;
use crate::domain::phone_country::Country;
use std::fmt;

/// Longest reference accepted; WhatsApp's identifiers are far shorter.
pub const MAX_REFERENCE_CHARS: usize = 128;

/// A contact reference from a URL: personal data, so it never prints.
#[derive(Clone, PartialEq, Eq)]
pub enum ContactReference {
    /// A phone number (as a wa_id) or a business-scoped user id.
    Identifier {
        kind: IdentifierKind,
        value: Personal<String>,
    },
    /// Mizan's contact id (`c` and 32 hex digits), as the audit trail and rights requests show.
    Id(ContactId),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidContactReference {
    #[error(
        "a contact is a phone number in international form (digits, optionally with a leading \
         '+' or '00'), a local number of the tenant's default_country (leading 0), a \
         business-scoped user id (letters, digits, '.', '_', '-') or Mizan's contact id \
         ('c' and 32 hex digits, as the audit trail shows), at most {MAX_REFERENCE_CHARS} characters"
    )]
    Shape,
    #[error(
        "a number starting with 0 is a local number: set the tenant's default_country \
         (PATCH /v1/settings) or give it in international form (+212…)"
    )]
    LocalWithoutCountry,
}

/// Mizan's contact ids: `c` and the 32 hex digits of a keyed hash.
fn is_contact_id(text: &str) -> bool {
    text.len() == 33
        && text.starts_with('c')
        && text[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ContactReference {
    /// `+212600000000`, `00212600000000` and `212600000000` are phone numbers;
    /// `US.10000000000000000001` is a user id; `c` + 32 hex digits is a contact id. A local
    /// number (`0612345678`) needs [`ContactReference::parse_in`].
    pub fn parse(text: &str) -> Result<Self, InvalidContactReference> {
        Self::parse_in(text, None)
    }

    /// As [`ContactReference::parse`], reading a local number in `country`.
    pub fn parse_in(text: &str, country: Option<Country>) -> Result<Self, InvalidContactReference> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_REFERENCE_CHARS {
            return Err(InvalidContactReference::Shape);
        }
        if is_contact_id(text) {
            return Ok(ContactReference::Id(ContactId::new(text)));
        }
        let phone = |digits: String| ContactReference::Identifier {
            kind: IdentifierKind::WaId,
            value: Personal::new(digits),
        };
        let (international, digits) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => match text.strip_prefix("00") {
                Some(rest) => (true, rest),
                None => (false, text),
            },
        };
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if international || !digits.starts_with('0') {
                if digits.starts_with('0') {
                    return Err(InvalidContactReference::Shape);
                }
                return Ok(phone(digits.to_owned()));
            }
            let country = country.ok_or(InvalidContactReference::LocalWithoutCountry)?;
            return country
                .international(digits)
                .map(phone)
                .ok_or(InvalidContactReference::Shape);
        }
        let user_id_chars = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if user_id_chars && !international {
            return Ok(ContactReference::Identifier {
                kind: IdentifierKind::UserId,
                value: Personal::new(text.to_owned()),
            });
        }
        Err(InvalidContactReference::Shape)
    }

    /// The identifier it names, unless it is a contact id.
    pub fn identifier(&self) -> Option<(IdentifierKind, &Personal<String>)> {
        match self {
            ContactReference::Identifier { kind, value } => Some((*kind, value)),
            ContactReference::Id(_) => None,
        }
    }
}

impl fmt::Debug for ContactReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactReference::Identifier { kind, .. } => {
                write!(f, "ContactReference({kind:?}, <redacted>)")
            }
            ContactReference::Id(id) => write!(f, "ContactReference({id:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone_of(r: &ContactReference) -> &str {
        match r.identifier() {
            Some((IdentifierKind::WaId, value)) => value.expose(),
            other => panic!("not a phone number: {other:?}"),
        }
    }

    #[test]
    fn digits_are_a_phone_number_with_plus_00_or_nothing() {
        for text in [
            "+212600000000",
            "00212600000000",
            "212600000000",
            " 212600000000 ",
        ] {
            let r = ContactReference::parse(text).unwrap();
            assert_eq!(phone_of(&r), "212600000000", "{text:?}");
        }
    }

    #[test]
    fn a_local_number_needs_the_tenants_country() {
        assert_eq!(
            ContactReference::parse("0612345678"),
            Err(InvalidContactReference::LocalWithoutCountry)
        );
        let morocco = Country::parse("MA");
        let r = ContactReference::parse_in("0612345678", morocco).unwrap();
        assert_eq!(phone_of(&r), "212612345678");
        assert_eq!(
            ContactReference::parse_in("+0612345678", morocco),
            Err(InvalidContactReference::Shape)
        );
    }

    #[test]
    fn business_scoped_user_ids_are_user_ids_and_contact_ids_are_contact_ids() {
        let r = ContactReference::parse("US.10000000000000000001").unwrap();
        assert_eq!(
            r.identifier().map(|(k, v)| (k, v.expose().as_str())),
            Some((IdentifierKind::UserId, "US.10000000000000000001"))
        );
        let id = format!("c{}", "0123456789abcdef".repeat(2));
        assert_eq!(
            ContactReference::parse(&id),
            Ok(ContactReference::Id(ContactId::new(id.clone())))
        );
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
            "+US.1",
            &"1".repeat(129),
        ] {
            assert_eq!(
                ContactReference::parse(bad),
                Err(InvalidContactReference::Shape),
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
