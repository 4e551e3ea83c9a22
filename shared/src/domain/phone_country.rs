//! Local phone numbers of a business's country (`0612345678` in Morocco) as WhatsApp ids
//! (`212612345678`): the tenant's `default_country` names the country. Only countries whose
//! national numbers start with a trunk prefix `0` are listed, so a local number is never
//! mistaken for an international one (no country calling code starts with 0).

/// ISO 3166-1 alpha-2 code, calling code, for countries dialling nationally with a leading 0.
const COUNTRIES: &[(&str, &str)] = &[
    ("MA", "212"),
    ("DZ", "213"),
    ("EG", "20"),
    ("SA", "966"),
    ("AE", "971"),
    ("JO", "962"),
    ("FR", "33"),
    ("BE", "32"),
    ("NL", "31"),
    ("DE", "49"),
    ("AT", "43"),
    ("CH", "41"),
    ("GB", "44"),
    ("IE", "353"),
    ("TR", "90"),
    ("NG", "234"),
    ("KE", "254"),
    ("ZA", "27"),
    ("PK", "92"),
    ("IN", "91"),
    ("ID", "62"),
    ("MY", "60"),
    ("TH", "66"),
];

/// A country local numbers are read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country {
    code: &'static str,
    calling_code: &'static str,
}

impl Country {
    /// The country of an ISO 3166-1 alpha-2 code this table knows (`MA`, case-insensitive).
    pub fn parse(code: &str) -> Option<Country> {
        let code = code.trim();
        COUNTRIES
            .iter()
            .find(|(alpha2, _)| alpha2.eq_ignore_ascii_case(code))
            .map(|&(code, calling_code)| Country { code, calling_code })
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// Every code the table knows, for error messages.
    pub fn known() -> String {
        COUNTRIES
            .iter()
            .map(|(code, _)| *code)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `0612345678` → `212612345678`: the trunk 0 replaced by the calling code. `None` when the
    /// digits are not a local number (no leading 0, or nothing after it).
    pub fn international(self, digits: &str) -> Option<String> {
        let national = digits.strip_prefix('0')?;
        (!national.is_empty() && !national.starts_with('0'))
            .then(|| format!("{}{national}", self.calling_code))
    }
}

/// The E.164 country calling code a WhatsApp id (international digits) starts with: `1` and
/// `7`, the two-digit codes ITU assigned, and three digits for every other. `None` for what is
/// not digits.
pub fn calling_code(wa_id: &str) -> Option<&str> {
    const TWO_DIGITS: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if wa_id.len() < 4 || !wa_id.bytes().all(|b| b.is_ascii_digit()) || wa_id.starts_with('0') {
        return None;
    }
    if wa_id.starts_with('1') || wa_id.starts_with('7') {
        return Some(&wa_id[..1]);
    }
    if TWO_DIGITS.contains(&&wa_id[..2]) {
        return Some(&wa_id[..2]);
    }
    Some(&wa_id[..3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whatsapp_id_starts_with_its_country_calling_code() {
        for (wa_id, code) in [
            ("212612345678", "212"),
            ("33612345678", "33"),
            ("15550100001", "1"),
            ("79161234567", "7"),
            ("971501234567", "971"),
            ("447700900123", "44"),
            ("2348031234567", "234"),
            ("201001234567", "20"),
            ("919812345678", "91"),
        ] {
            assert_eq!(calling_code(wa_id), Some(code), "{wa_id}");
        }
        assert_eq!(calling_code("+2126"), None);
        assert_eq!(calling_code("0612345678"), None);
    }

    #[test]
    fn a_local_number_becomes_its_whatsapp_id() {
        let morocco = Country::parse("ma").unwrap();
        assert_eq!(morocco.code(), "MA");
        assert_eq!(
            morocco.international("0612345678").as_deref(),
            Some("212612345678")
        );
        assert_eq!(
            Country::parse("FR")
                .unwrap()
                .international("0612345678")
                .as_deref(),
            Some("33612345678")
        );
        assert_eq!(morocco.international("612345678"), None);
        assert_eq!(morocco.international("0"), None);
        assert_eq!(morocco.international("00212612345678"), None);
        assert_eq!(Country::parse("XX"), None);
        assert!(Country::known().contains("MA"));
    }
}
