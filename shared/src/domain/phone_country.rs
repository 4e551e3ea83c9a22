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

#[cfg(test)]
mod tests {
    use super::*;

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
