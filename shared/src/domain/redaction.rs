//! What the model provider may read of a customer's words: the text with the identifiers a
//! customer types replaced by placeholders (data minimisation, GDPR Art. 5(1)(c)). The stored
//! message keeps the words as written; only the copy sent to the model is redacted.
//!
//! Replaced, in this order (an earlier kind's digits are not read again as a later kind):
//! - e-mail addresses → `[email]`;
//! - IBANs (two letters, two check digits, 11–30 letters or digits, spaces allowed between
//!   groups) whose ISO 13616 checksum holds → `[IBAN]`;
//! - payment card numbers (13–19 digits, spaces or hyphens allowed) that pass the Luhn check →
//!   `[card number]`;
//! - phone numbers: 8 to 15 digits, with an optional leading `+` or `00` and spaces, hyphens,
//!   dots or brackets between them → `[phone number]`. Short numbers (an order number of up to
//!   7 digits, a price, a time, a date) are left alone.

use regex_lite::{Captures, Regex};
use std::sync::LazyLock;

pub const EMAIL: &str = "[email]";
pub const IBAN: &str = "[IBAN]";
pub const CARD: &str = "[card number]";
pub const PHONE: &str = "[phone number]";

static EMAIL_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("the e-mail pattern compiles")
});

static IBAN_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b").expect("the IBAN pattern compiles")
});

static CARD_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[0-9](?:[ \-]?[0-9]){12,18}\b").expect("the card pattern compiles")
});

static PHONE_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\(|\b)[0-9](?:[ \-.()]{0,2}[0-9]){8,14}\b")
        .expect("the phone pattern compiles")
});

static DATE_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<y1>[0-9]{4})-(?P<m1>[0-9]{2})-(?P<d1>[0-9]{2})|(?P<d2>[0-9]{2})[./-](?P<m2>[0-9]{2})[./-](?P<y2>[0-9]{4})",
    )
    .expect("the date pattern compiles")
});

/// Whether `found` holds a calendar date (2026-12-05, 05/12/2026, 05.12.2026).
fn holds_a_date(found: &str) -> bool {
    DATE_PATTERN.captures_iter(found).any(|date| {
        let number = |a: &str, b: &str| {
            date.name(a)
                .or_else(|| date.name(b))
                .and_then(|m| m.as_str().parse::<u32>().ok())
                .unwrap_or(0)
        };
        (1900..=2100).contains(&number("y1", "y2"))
            && (1..=12).contains(&number("m1", "m2"))
            && (1..=31).contains(&number("d1", "d2"))
    })
}

/// `text` with e-mail addresses, IBANs, card numbers and phone numbers replaced.
pub fn redact(text: &str) -> String {
    let text = EMAIL_PATTERN.replace_all(text, EMAIL);
    let text = IBAN_PATTERN.replace_all(&text, |found: &Captures<'_>| longest_iban(&found[0]));
    let text = CARD_PATTERN.replace_all(&text, |found: &Captures<'_>| {
        if passes_luhn(&found[0]) {
            CARD.to_owned()
        } else {
            found[0].to_owned()
        }
    });
    PHONE_PATTERN
        .replace_all(&text, |found: &Captures<'_>| {
            // A date with dashes or dots has as many digits as a short phone number.
            if holds_a_date(&found[0]) {
                found[0].to_owned()
            } else {
                PHONE.to_owned()
            }
        })
        .into_owned()
}

/// `found` with its longest prefix that is a valid IBAN replaced: the pattern also takes in a
/// capitalised word or number written right after one.
fn longest_iban(found: &str) -> String {
    let ends: Vec<usize> = found
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    for &end in ends.iter().rev() {
        if is_iban(&found[..end]) {
            return format!("{IBAN}{}", &found[end..]);
        }
    }
    found.to_owned()
}

/// ISO 13616: the country code and check digits moved to the end, letters as 10–35, the
/// number modulo 97 is 1.
pub fn is_iban(candidate: &str) -> bool {
    let compact: Vec<char> = candidate
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, rest) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for c in rest.iter().chain(head) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder == 1
}

/// The Luhn checksum of card numbers, over the digits of `candidate` (13 to 19 of them).
pub fn passes_luhn(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_in_the_ways_people_write_them_are_replaced() {
        for (text, expected) in [
            (
                "call me on +212 6 12 34 56 78 please",
                "call me on [phone number] please",
            ),
            ("mon numéro: 0612345678", "mon numéro: [phone number]"),
            ("رقمي 0612-34-56-78", "رقمي [phone number]"),
            (
                "(555) 010-0199 or 00212612345678",
                "[phone number] or [phone number]",
            ),
            ("+1.555.010.0199", "[phone number]"),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn short_numbers_prices_times_and_dates_stay() {
        for text in [
            "order 123456 is late",
            "2 x 35 MAD, at 10:30 on 2026-12-05",
            "room 12, floor 3",
            "we open at 9",
            "delivered on 05/12/2026 or 2026-12-05",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn e_mail_addresses_are_replaced() {
        assert_eq!(
            redact("write to amina.benali+shop@example.co.ma today"),
            "write to [email] today"
        );
    }

    #[test]
    fn card_numbers_are_replaced_only_when_the_luhn_check_passes() {
        assert_eq!(
            redact("card 4111 1111 1111 1111 exp 12/28"),
            "card [card number] exp 12/28"
        );
        assert_eq!(redact("4012-8888-8888-1881"), "[card number]");
        assert!(passes_luhn("4111111111111111"));
        assert!(!passes_luhn("4111111111111112"));
        // Sixteen digits that fail Luhn are not a card; as a long digit run they are still
        // no business of the model's (read as a phone number only up to 15 digits).
        assert_eq!(redact("ref 4111111111111112"), "ref 4111111111111112");
    }

    #[test]
    fn ibans_are_replaced_only_when_their_checksum_holds() {
        assert_eq!(
            redact("IBAN: FR76 3000 6000 0112 3456 7890 189 thanks"),
            "IBAN: [IBAN] thanks"
        );
        assert_eq!(redact("GB82WEST12345698765432"), "[IBAN]");
        assert_eq!(redact("GB82 WEST 1234 5698 7654 32 MERCI"), "[IBAN] MERCI");
        assert!(is_iban("MA64011519000001205000534921"));
        assert!(!is_iban("GB82WEST12345698765433"));
    }

    #[test]
    fn text_without_identifiers_is_unchanged() {
        let text = "Bonjour, vous êtes ouverts dimanche ? مرحبا";
        assert_eq!(redact(text), text);
    }
}
