//! Finding a business's contacts without reading anyone's sealed profile: each contact's phone
//! number and names give search terms (prefixes), kept only as keyed hashes beside the contact;
//! a query gives the terms it needs, and the profiles of the few contacts that have them all
//! are opened to confirm. Flags (taken over, awaiting a person, opted out, restricted) are read
//! from the contact's state.

use crate::domain::contact::{Contact, ContactProfile};
use crate::domain::keywords::fold;
use crate::domain::phone_country::Country;
use crate::domain::time::Timestamp;
use std::fmt;

/// Longest query accepted.
pub const MAX_QUERY_CHARS: usize = 64;
/// Name prefixes are indexed up to this many characters; longer query words are confirmed
/// against the opened profile.
const NAME_PREFIX_CHARS: usize = 12;
/// Words of a name (and of a username) that are indexed: enough for "first middle last".
const NAME_WORDS: usize = 4;
/// A phone number query needs this many digits, so it does not name most contacts at once.
const MIN_PHONE_DIGITS: usize = 2;

/// The terms a profile can be found by, in plain text (the store keeps keyed hashes of them):
/// every prefix of its phone number's digits, and every prefix of each word of its name and
/// username, folded (lowercase, accents stripped).
pub fn search_terms(profile: &ContactProfile) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some(wa_id) = &profile.wa_id {
        let digits = wa_id.expose();
        for end in MIN_PHONE_DIGITS..=digits.len() {
            if digits.is_char_boundary(end) {
                terms.push(phone_term(&digits[..end]));
            }
        }
    }
    for text in [&profile.name, &profile.username].into_iter().flatten() {
        for word in words(text.expose()).into_iter().take(NAME_WORDS) {
            let chars: Vec<char> = word.chars().take(NAME_PREFIX_CHARS).collect();
            for end in 1..=chars.len() {
                terms.push(name_term(&chars[..end].iter().collect::<String>()));
            }
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

fn phone_term(digits: &str) -> String {
    format!("p:{digits}")
}

fn name_term(prefix: &str) -> String {
    format!("n:{prefix}")
}

/// Folded words: letters and digits, split at everything else.
fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What a business searches its contacts by: personal data, so it never prints.
#[derive(Clone, PartialEq, Eq)]
pub enum ContactQuery {
    /// The start of a phone number, as digits of its international form.
    PhonePrefix(String),
    /// Words each of which starts a word of the contact's name or username.
    Name(Vec<String>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidContactQuery {
    #[error(
        "query is the start of a phone number (at least {MIN_PHONE_DIGITS} digits, \
         international with '+' or '00', or local with a leading 0 when the tenant has a \
         default_country) or words of a name, at most {MAX_QUERY_CHARS} characters"
    )]
    Shape,
    #[error(
        "a number starting with 0 is a local number: set the tenant's default_country \
         (PATCH /v1/settings) or search in international form (+212…)"
    )]
    LocalWithoutCountry,
}

impl ContactQuery {
    /// Digits (with `+`, `00`, spaces, dashes, dots or brackets between them) are a phone
    /// number's start: `+212 6`, `00212 6`, `2126`, or `06` read in `country`. Anything else
    /// is a name.
    pub fn parse(text: &str, country: Option<Country>) -> Result<Self, InvalidContactQuery> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidContactQuery::Shape);
        }
        let phone_like = text.chars().any(|c| c.is_ascii_digit())
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-.()".contains(c));
        if !phone_like {
            let words = words(text);
            if words.is_empty() {
                return Err(InvalidContactQuery::Shape);
            }
            return Ok(ContactQuery::Name(words));
        }
        let compact: String = text.chars().filter(|c| !" -.()".contains(*c)).collect();
        let (international, digits) = match compact.strip_prefix('+') {
            Some(rest) => (true, rest.to_owned()),
            None => match compact.strip_prefix("00") {
                Some(rest) => (true, rest.to_owned()),
                None => (false, compact.clone()),
            },
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidContactQuery::Shape);
        }
        let digits = if digits.starts_with('0') {
            if international {
                return Err(InvalidContactQuery::Shape);
            }
            let country = country.ok_or(InvalidContactQuery::LocalWithoutCountry)?;
            country
                .international(&digits)
                .ok_or(InvalidContactQuery::Shape)?
        } else {
            digits
        };
        if digits.len() < MIN_PHONE_DIGITS {
            return Err(InvalidContactQuery::Shape);
        }
        Ok(ContactQuery::PhonePrefix(digits))
    }

    /// The terms (plain text) a contact must have, every one of them, to match.
    pub fn terms(&self) -> Vec<String> {
        match self {
            ContactQuery::PhonePrefix(digits) => vec![phone_term(digits)],
            ContactQuery::Name(words) => words
                .iter()
                .map(|w| name_term(&w.chars().take(NAME_PREFIX_CHARS).collect::<String>()))
                .collect(),
        }
    }

    /// Whether an opened profile matches: what the terms suggested, confirmed.
    pub fn matches(&self, profile: &ContactProfile) -> bool {
        match self {
            ContactQuery::PhonePrefix(digits) => profile
                .wa_id
                .as_ref()
                .is_some_and(|wa_id| wa_id.expose().starts_with(digits.as_str())),
            ContactQuery::Name(query) => {
                let mut known = Vec::new();
                for text in [&profile.name, &profile.username].into_iter().flatten() {
                    known.extend(words(text.expose()));
                }
                query
                    .iter()
                    .all(|q| known.iter().any(|w| w.starts_with(q.as_str())))
            }
        }
    }
}

impl fmt::Debug for ContactQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactQuery::PhonePrefix(_) => f.write_str("ContactQuery::PhonePrefix(<redacted>)"),
            ContactQuery::Name(_) => f.write_str("ContactQuery::Name(<redacted>)"),
        }
    }
}

/// A state a business lists its contacts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactFlag {
    /// A person has the conversation (no automated replies).
    TakenOver,
    /// The assistant handed the conversation to a person, and no one has answered yet.
    AwaitingPerson,
    /// Withdrew consent for a purpose, or blocked the business.
    OptedOut,
    /// Restriction of processing.
    Restricted,
}

impl ContactFlag {
    pub const ALL: [ContactFlag; 4] = [
        ContactFlag::TakenOver,
        ContactFlag::AwaitingPerson,
        ContactFlag::OptedOut,
        ContactFlag::Restricted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactFlag::TakenOver => "taken_over",
            ContactFlag::AwaitingPerson => "awaiting_person",
            ContactFlag::OptedOut => "opted_out",
            ContactFlag::Restricted => "restricted",
        }
    }

    pub fn parse(text: &str) -> Option<ContactFlag> {
        Self::ALL.into_iter().find(|f| f.as_str() == text.trim())
    }

    /// Every flag's name, for error messages.
    pub fn known() -> String {
        Self::ALL.map(ContactFlag::as_str).join(", ")
    }
}

/// What the contact list keeps of a contact's state to filter by, without reading it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListedState {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub taken_over: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_over_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_person: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opted_out: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restricted: bool,
}

impl ListedState {
    pub fn of(contact: &Contact) -> Self {
        ListedState {
            taken_over: contact.taken_over,
            taken_over_until: contact.taken_over_until,
            awaiting_person: contact.awaiting_person,
            opted_out: contact.consent.needs_suppression(),
            restricted: contact.restricted,
        }
    }

    /// Whether the state has `flag` at `now` (a take-over ends by itself at its `until`).
    pub fn has(&self, flag: ContactFlag, now: Timestamp) -> bool {
        let taken_over = self.taken_over && self.taken_over_until.is_none_or(|until| now < until);
        match flag {
            ContactFlag::TakenOver => taken_over,
            ContactFlag::AwaitingPerson => taken_over && self.awaiting_person,
            ContactFlag::OptedOut => self.opted_out,
            ContactFlag::Restricted => self.restricted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::personal::Personal;

    fn profile(wa_id: &str, name: &str) -> ContactProfile {
        ContactProfile {
            wa_id: Some(Personal::new(wa_id.into())),
            name: Some(Personal::new(name.into())),
            ..ContactProfile::default()
        }
    }

    #[test]
    fn a_profile_is_found_by_every_start_of_its_number_and_of_each_word_of_its_name() {
        let terms = search_terms(&profile("212612345678", "Hélène El-Amrani"));
        for expected in [
            "p:21",
            "p:2126",
            "p:212612345678",
            "n:h",
            "n:hel",
            "n:helene",
        ] {
            assert!(terms.contains(&expected.to_owned()), "{expected}");
        }
        assert!(terms.contains(&"n:amrani".to_owned()));
        assert!(terms.contains(&"n:el".to_owned()));
        assert!(!terms.contains(&"p:2".to_owned()));
        assert!(!terms.iter().any(|t| t.contains("Hélène")));
    }

    #[test]
    fn long_names_and_many_words_are_indexed_up_to_a_bound() {
        let terms = search_terms(&ContactProfile {
            name: Some(Personal::new("a b c d e Abcdefghijklmnopqrstuvwxyz".into())),
            ..ContactProfile::default()
        });
        assert!(terms.contains(&"n:d".to_owned()));
        assert!(
            !terms.contains(&"n:e".to_owned()),
            "only the first four words"
        );
        let long = search_terms(&ContactProfile {
            name: Some(Personal::new("Abcdefghijklmnopqrstuvwxyz".into())),
            ..ContactProfile::default()
        });
        assert_eq!(long.len(), NAME_PREFIX_CHARS);
    }

    #[test]
    fn digits_are_a_phone_prefix_in_any_usual_writing() {
        let morocco = Country::parse("MA");
        for text in ["+212 6", "00212-6", "2126", "(212) 6", "06"] {
            assert_eq!(
                ContactQuery::parse(text, morocco),
                Ok(ContactQuery::PhonePrefix("2126".into())),
                "{text}"
            );
        }
        assert_eq!(
            ContactQuery::parse("06", None),
            Err(InvalidContactQuery::LocalWithoutCountry)
        );
        assert_eq!(
            ContactQuery::parse("+0", morocco),
            Err(InvalidContactQuery::Shape)
        );
        assert_eq!(
            ContactQuery::parse("2", morocco),
            Err(InvalidContactQuery::Shape)
        );
    }

    #[test]
    fn anything_else_is_words_of_a_name() {
        assert_eq!(
            ContactQuery::parse(" Fatima  ZAH ", None),
            Ok(ContactQuery::Name(vec!["fatima".into(), "zah".into()]))
        );
        assert_eq!(
            ContactQuery::parse("R2D2", None),
            Ok(ContactQuery::Name(vec!["r2d2".into()]))
        );
        assert_eq!(
            ContactQuery::parse("  ", None),
            Err(InvalidContactQuery::Shape)
        );
        assert_eq!(
            ContactQuery::parse("--", None),
            Err(InvalidContactQuery::Shape)
        );
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            ContactQuery::parse(&long, None),
            Err(InvalidContactQuery::Shape)
        );
    }

    #[test]
    fn a_query_matches_the_profiles_whose_terms_it_needs_and_is_confirmed_on_them() {
        let helene = profile("212612345678", "Hélène El-Amrani");
        let own = search_terms(&helene);
        for text in ["hel", "amr hel", "HELENE", "+212 612", "212612345678"] {
            let query = ContactQuery::parse(text, None).unwrap();
            assert!(query.terms().iter().all(|t| own.contains(t)), "{text}");
            assert!(query.matches(&helene), "{text}");
        }
        for text in ["omar", "hel omar", "2127"] {
            assert!(
                !ContactQuery::parse(text, None).unwrap().matches(&helene),
                "{text}"
            );
        }
        // A word longer than what is indexed still needs its every letter.
        let long = profile("1", "Abcdefghijklmnopq");
        let close = ContactQuery::parse("abcdefghijklmnoX", None).unwrap();
        assert!(close
            .terms()
            .iter()
            .all(|t| search_terms(&long).contains(t)));
        assert!(!close.matches(&long));
    }

    #[test]
    fn a_query_never_prints_what_it_searches() {
        let query = ContactQuery::parse("Fatima", None).unwrap();
        assert!(!format!("{query:?}").contains("atima"));
        let query = ContactQuery::parse("+212612", None).unwrap();
        assert!(!format!("{query:?}").contains("212"));
    }

    #[test]
    fn flags_are_read_at_a_time_a_take_over_may_have_ended_by() {
        let now = Timestamp::from_millis(10_000);
        let state = ListedState {
            taken_over: true,
            taken_over_until: Some(Timestamp::from_millis(20_000)),
            awaiting_person: true,
            ..ListedState::default()
        };
        assert!(state.has(ContactFlag::TakenOver, now));
        assert!(state.has(ContactFlag::AwaitingPerson, now));
        let later = Timestamp::from_millis(20_000);
        assert!(!state.has(ContactFlag::TakenOver, later));
        assert!(!state.has(ContactFlag::AwaitingPerson, later));
        assert!(!state.has(ContactFlag::OptedOut, now));
        for flag in ContactFlag::ALL {
            assert_eq!(ContactFlag::parse(flag.as_str()), Some(flag));
        }
        assert_eq!(ContactFlag::parse("vip"), None);
        assert!(ContactFlag::known().contains("awaiting_person"));
    }
}
