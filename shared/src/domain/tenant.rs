//! Tenants (businesses), their WhatsApp numbers and their settings.

use crate::domain::ids::{PhoneNumberId, TenantId, WabaId};
use crate::domain::retention::{
    Category, RetentionPolicy, DEFAULT_CHAT_RETENTION_DAYS, MAX_CHAT_RETENTION_DAYS,
    MIN_CHAT_RETENTION_DAYS,
};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Closed accounts keep their data 2 years after `at` (P3), then it goes.
    Closed {
        at: Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    /// Given when the entry is added on its own (`POST /v1/faq`); entries of the whole-list
    /// setting are named by their question (see [`FaqEntry::id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub question: String,
    pub answer: String,
    /// The question's language (`en`, `fr`, `ar`); none: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The language tags an FAQ entry may carry.
pub const FAQ_LANGUAGES: [&str; 3] = ["en", "fr", "ar"];

fn short_digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..8])
}

impl FaqEntry {
    /// An entry of the whole-list setting (no id of its own).
    pub fn new(question: String, answer: String) -> FaqEntry {
        FaqEntry {
            id: None,
            question,
            answer,
            language: None,
        }
    }

    /// A new id for an entry added on its own.
    pub fn generate_id() -> String {
        crate::domain::ids::random_id("faq")
    }

    /// Its id: the one it was given, else one derived from its question (stable until the
    /// question changes, when the entry is saved with it).
    pub fn id(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("faq_q{}", short_digest(&[&self.question])))
    }

    /// Its version for `If-Match`: a digest of what it says.
    pub fn etag(&self) -> String {
        let language = self.language.as_deref().unwrap_or_default();
        format!(
            "\"{}\"",
            short_digest(&[&self.question, &self.answer, language])
        )
    }
}

/// What a business may configure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub chat_retention_days: u32,
    pub automation_enabled: bool,
    #[serde(default)]
    pub ai_instructions: String,
    #[serde(default)]
    pub faq: Vec<FaqEntry>,
    /// Dispute resolution: suspends every deletion for the tenant while set.
    #[serde(default)]
    pub legal_hold: bool,
    /// Why the legal hold is on (required to set or lift it; kept while it is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold_reason: Option<String>,
    /// The platform operator set the hold (an admin command): no tenant key can lift it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legal_hold_by_operator: bool,
    /// Phone numbers, e-mail addresses, card numbers and IBANs in what customers write are
    /// replaced by placeholders in the copy sent to the model provider (`domain::redaction`).
    #[serde(default = "redacted_by_default")]
    pub model_redaction: bool,
    /// How long a person's take-over of a conversation lasts unless handed back earlier, so no
    /// customer is left without answers because someone forgot to hand back.
    #[serde(default = "default_takeover_hours")]
    pub takeover_expires_hours: u32,
    /// How many messages a second a campaign may send from one of the tenant's numbers
    /// (WhatsApp's throughput: 80 by default, up to 1,000 for numbers Meta has upgraded).
    #[serde(default = "default_messages_per_second")]
    pub messages_per_second: u32,
    /// Where the business's privacy notice is (`https://…`): the chat's privacy answer links to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_notice_url: Option<String>,
    /// People exercise their rights in the chat themselves (a copy of their data, erasure). Off:
    /// their requests are recorded for the business to handle (`pending_business`).
    #[serde(default = "self_service_by_default")]
    pub rights_self_service: bool,
    /// Days after the account's closure during which its API keys may still export its data.
    #[serde(default = "default_closed_export_days")]
    pub closed_export_days: u32,
    /// The country local phone numbers in the API are read in (ISO 3166-1 alpha-2, `MA`):
    /// `0612345678` then names `212612345678`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
    /// The business's own hand-off message per language (`en`, `fr`, `ar`): what a customer
    /// gets when a person must answer. Unset languages get Mizan's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handoff_texts: BTreeMap<String, String>,
    /// The business's own greeting per language: what a plain "Bonjour"/"Hello" gets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub greetings: BTreeMap<String, String>,
}

/// The longest hand-off text or greeting.
pub const MAX_REPLY_TEXT_CHARS: usize = 1_000;

/// A language's tag in the settings (`en`, `fr`, `ar`).
pub fn language_tag(language: crate::domain::keywords::Language) -> &'static str {
    match language {
        crate::domain::keywords::Language::English => "en",
        crate::domain::keywords::Language::French => "fr",
        crate::domain::keywords::Language::Arabic => "ar",
    }
}

pub const DEFAULT_CLOSED_EXPORT_DAYS: u32 = 30;
pub const MAX_CLOSED_EXPORT_DAYS: u32 = 365;

fn default_closed_export_days() -> u32 {
    DEFAULT_CLOSED_EXPORT_DAYS
}

fn self_service_by_default() -> bool {
    true
}

/// The longest privacy notice URL.
pub const MAX_NOTICE_URL_CHARS: usize = 500;

pub const DEFAULT_MESSAGES_PER_SECOND: u32 = 80;
pub const MAX_MESSAGES_PER_SECOND: u32 = 1_000;

fn default_messages_per_second() -> u32 {
    DEFAULT_MESSAGES_PER_SECOND
}

fn redacted_by_default() -> bool {
    true
}

pub const DEFAULT_TAKEOVER_EXPIRES_HOURS: u32 = 24;
pub const MIN_TAKEOVER_EXPIRES_HOURS: u32 = 1;
pub const MAX_TAKEOVER_EXPIRES_HOURS: u32 = 168;

fn default_takeover_hours() -> u32 {
    DEFAULT_TAKEOVER_EXPIRES_HOURS
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            chat_retention_days: DEFAULT_CHAT_RETENTION_DAYS,
            automation_enabled: true,
            ai_instructions: String::new(),
            faq: Vec::new(),
            legal_hold: false,
            legal_hold_reason: None,
            legal_hold_by_operator: false,
            model_redaction: true,
            takeover_expires_hours: DEFAULT_TAKEOVER_EXPIRES_HOURS,
            messages_per_second: DEFAULT_MESSAGES_PER_SECOND,
            privacy_notice_url: None,
            rights_self_service: true,
            closed_export_days: DEFAULT_CLOSED_EXPORT_DAYS,
            default_country: None,
            handoff_texts: BTreeMap::new(),
            greetings: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("chat_retention_days must be between {min} and {max}, got {got}")]
    ChatRetentionOutOfRange { min: u32, max: u32, got: u32 },
    #[error("faq entries need a non-empty question and answer (entry {index})")]
    EmptyFaqEntry { index: usize },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("setting or lifting a legal hold needs a legal_hold_reason (a case or ticket reference, no personal data)")]
    LegalHoldNeedsReason,
    #[error("this legal hold was set by the platform operator; only the operator can lift it")]
    LegalHoldSetByOperator,
    #[error("takeover_expires_hours must be between {min} and {max}, got {got}")]
    TakeoverExpiryOutOfRange { min: u32, max: u32, got: u32 },
    #[error("messages_per_second must be between 1 and {max}, got {got}")]
    RateOutOfRange { max: u32, got: u32 },
    #[error("default_country must be one of {known}, got {got:?}", known = crate::domain::phone_country::Country::known())]
    UnknownCountry { got: String },
    #[error(
        "{field} is keyed by en, fr or ar, each a text of 1 to {MAX_REPLY_TEXT_CHARS} characters"
    )]
    ReplyTexts { field: &'static str },
    #[error("an FAQ entry's language is en, fr or ar")]
    UnknownFaqLanguage,
    #[error("two FAQ entries ask the same question")]
    DuplicateFaqQuestion,
    #[error("closed_export_days must be between 1 and {MAX_CLOSED_EXPORT_DAYS}, got {0}")]
    ClosedExportDaysOutOfRange(u32),
    #[error("privacy_notice_url must be an https:// address of at most {MAX_NOTICE_URL_CHARS} characters without spaces")]
    NoticeUrlInvalid,
}

impl SettingsError {
    /// The settings field the error is about, for API error bodies.
    pub fn field(&self) -> &'static str {
        match self {
            SettingsError::ChatRetentionOutOfRange { .. } => "chat_retention_days",
            SettingsError::EmptyFaqEntry { .. } => "faq",
            SettingsError::TooLong { field, .. } => field,
            SettingsError::LegalHoldNeedsReason => "legal_hold_reason",
            SettingsError::LegalHoldSetByOperator => "legal_hold",
            SettingsError::TakeoverExpiryOutOfRange { .. } => "takeover_expires_hours",
            SettingsError::RateOutOfRange { .. } => "messages_per_second",
            SettingsError::NoticeUrlInvalid => "privacy_notice_url",
            SettingsError::ClosedExportDaysOutOfRange(_) => "closed_export_days",
            SettingsError::UnknownFaqLanguage => "language",
            SettingsError::ReplyTexts { field } => field,
            SettingsError::DuplicateFaqQuestion => "faq",
            SettingsError::UnknownCountry { .. } => "default_country",
        }
    }
}

pub const MAX_INSTRUCTIONS_CHARS: usize = 8_000;
pub const MAX_FAQ_ENTRIES: usize = 200;

impl TenantSettings {
    /// How long a take-over lasts.
    pub fn takeover_expiry(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.takeover_expires_hours) * 3600)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        for (field, texts) in [
            ("handoff_texts", &self.handoff_texts),
            ("greetings", &self.greetings),
        ] {
            let fits = texts.iter().all(|(language, text)| {
                FAQ_LANGUAGES.contains(&language.as_str())
                    && !text.trim().is_empty()
                    && text.chars().count() <= MAX_REPLY_TEXT_CHARS
            });
            if !fits {
                return Err(SettingsError::ReplyTexts { field });
            }
        }
        if let Some(country) = &self.default_country {
            if crate::domain::phone_country::Country::parse(country).is_none() {
                return Err(SettingsError::UnknownCountry {
                    got: country.clone(),
                });
            }
        }
        if !(1..=MAX_CLOSED_EXPORT_DAYS).contains(&self.closed_export_days) {
            return Err(SettingsError::ClosedExportDaysOutOfRange(
                self.closed_export_days,
            ));
        }
        if let Some(url) = &self.privacy_notice_url {
            let host = url.strip_prefix("https://").unwrap_or_default();
            if host.is_empty()
                || host.starts_with('/')
                || url.chars().count() > MAX_NOTICE_URL_CHARS
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(SettingsError::NoticeUrlInvalid);
            }
        }
        if !(1..=MAX_MESSAGES_PER_SECOND).contains(&self.messages_per_second) {
            return Err(SettingsError::RateOutOfRange {
                max: MAX_MESSAGES_PER_SECOND,
                got: self.messages_per_second,
            });
        }
        if !(MIN_TAKEOVER_EXPIRES_HOURS..=MAX_TAKEOVER_EXPIRES_HOURS)
            .contains(&self.takeover_expires_hours)
        {
            return Err(SettingsError::TakeoverExpiryOutOfRange {
                min: MIN_TAKEOVER_EXPIRES_HOURS,
                max: MAX_TAKEOVER_EXPIRES_HOURS,
                got: self.takeover_expires_hours,
            });
        }
        if !(MIN_CHAT_RETENTION_DAYS..=MAX_CHAT_RETENTION_DAYS).contains(&self.chat_retention_days)
        {
            return Err(SettingsError::ChatRetentionOutOfRange {
                min: MIN_CHAT_RETENTION_DAYS,
                max: MAX_CHAT_RETENTION_DAYS,
                got: self.chat_retention_days,
            });
        }
        if self.ai_instructions.chars().count() > MAX_INSTRUCTIONS_CHARS {
            return Err(SettingsError::TooLong {
                field: "ai_instructions",
                max: MAX_INSTRUCTIONS_CHARS,
            });
        }
        if self.faq.len() > MAX_FAQ_ENTRIES {
            return Err(SettingsError::TooLong {
                field: "faq",
                max: MAX_FAQ_ENTRIES,
            });
        }
        if let Some(index) = self
            .faq
            .iter()
            .position(|e| e.question.trim().is_empty() || e.answer.trim().is_empty())
        {
            return Err(SettingsError::EmptyFaqEntry { index });
        }
        if self.faq.iter().any(|e| {
            e.language
                .as_deref()
                .is_some_and(|l| !FAQ_LANGUAGES.contains(&l))
        }) {
            return Err(SettingsError::UnknownFaqLanguage);
        }
        let mut questions: Vec<String> = self
            .faq
            .iter()
            .map(|e| e.question.trim().to_lowercase())
            .collect();
        questions.sort();
        if questions.windows(2).any(|w| w[0] == w[1]) {
            return Err(SettingsError::DuplicateFaqQuestion);
        }
        Ok(())
    }

    pub fn retention(&self) -> RetentionPolicy {
        RetentionPolicy::with_chat_days(self.chat_retention_days)
    }

    /// The business's hand-off message in `language`, if it set one.
    pub fn handoff_text(&self, language: crate::domain::keywords::Language) -> Option<&str> {
        self.handoff_texts
            .get(language_tag(language))
            .map(String::as_str)
    }

    /// The business's greeting in `language`, if it set one.
    pub fn greeting(&self, language: crate::domain::keywords::Language) -> Option<&str> {
        self.greetings
            .get(language_tag(language))
            .map(String::as_str)
    }

    /// The country local phone numbers are read in, if one is set.
    pub fn country(&self) -> Option<crate::domain::phone_country::Country> {
        self.default_country
            .as_deref()
            .and_then(crate::domain::phone_country::Country::parse)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: Timestamp,
    pub phone_numbers: Vec<PhoneNumberId>,
    /// The WhatsApp Business Account that owns its numbers and templates (template webhooks
    /// name it, and the template sync reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_account: Option<WabaId>,
    pub settings: TenantSettings,
}

impl Tenant {
    pub fn new(name: impl Into<String>, now: Timestamp) -> Self {
        Tenant {
            id: TenantId::generate(),
            name: name.into(),
            status: TenantStatus::Active,
            created_at: now,
            phone_numbers: Vec::new(),
            business_account: None,
            settings: TenantSettings::default(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }

    /// Closes the account at `at`: from then on nothing of it is stored or sent, and its keys
    /// only export its data for `closed_export_days`; the purge removes it all 2 years later.
    pub fn close(&mut self, at: Timestamp) -> Result<(), AccountError> {
        if let TenantStatus::Closed { at } = self.status {
            return Err(AccountError::AlreadyClosed { at });
        }
        self.status = TenantStatus::Closed { at };
        Ok(())
    }

    /// Reopens a closed account, within the 2 years its data is kept.
    pub fn reopen(&mut self, now: Timestamp) -> Result<(), AccountError> {
        let TenantStatus::Closed { at } = self.status else {
            return Err(AccountError::NotClosed);
        };
        let removed_at = at.plus(self.retention().period(Category::AccountData));
        if now >= removed_at {
            return Err(AccountError::DataRemoved { at: removed_at });
        }
        self.status = TenantStatus::Active;
        Ok(())
    }

    /// What the account's API keys may do at `now`.
    pub fn access(&self, now: Timestamp) -> AccountAccess {
        match self.status {
            TenantStatus::Active => AccountAccess::Open,
            TenantStatus::Closed { at } => {
                let until = at.plus(crate::domain::time::days(u64::from(
                    self.settings.closed_export_days,
                )));
                if now < until {
                    AccountAccess::ExportOnly {
                        closed_at: at,
                        until,
                    }
                } else {
                    AccountAccess::Closed { closed_at: at }
                }
            }
        }
    }
}

/// What a tenant's API keys may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountAccess {
    Open,
    /// Closed: only exporting the account's data, until `until`.
    ExportOnly {
        closed_at: Timestamp,
        until: Timestamp,
    },
    /// Closed, and the export grace is over: nothing.
    Closed {
        closed_at: Timestamp,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    #[error("the account was closed already, at {}", at.to_rfc3339())]
    AlreadyClosed { at: Timestamp },
    #[error("the account is not closed")]
    NotClosed,
    #[error("the account's data was due for removal at {}: it cannot be reopened", at.to_rfc3339())]
    DataRemoved { at: Timestamp },
}

impl Tenant {
    pub fn retention(&self) -> RetentionPolicy {
        self.settings.retention()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_account_exports_for_its_grace_then_nothing_and_reopens_within_two_years() {
        let day = |n: u64| Timestamp::from_millis(0).plus(crate::domain::time::days(n));
        let mut t = Tenant::new("Atlas Tea", day(0));
        assert_eq!(t.access(day(1)), AccountAccess::Open);
        t.close(day(10)).unwrap();
        assert!(!t.is_active());
        assert_eq!(
            t.close(day(11)),
            Err(AccountError::AlreadyClosed { at: day(10) })
        );
        assert_eq!(
            t.access(day(39)),
            AccountAccess::ExportOnly {
                closed_at: day(10),
                until: day(40)
            }
        );
        assert_eq!(
            t.access(day(40)),
            AccountAccess::Closed { closed_at: day(10) }
        );
        let mut late = t.clone();
        assert!(matches!(
            late.reopen(day(10 + 730)),
            Err(AccountError::DataRemoved { .. })
        ));
        t.reopen(day(700)).unwrap();
        assert_eq!(t.access(day(700)), AccountAccess::Open);
        assert_eq!(t.reopen(day(701)), Err(AccountError::NotClosed));
    }

    #[test]
    fn retention_outside_bounds_is_rejected_with_its_field() {
        let settings = TenantSettings {
            chat_retention_days: 366,
            ..TenantSettings::default()
        };
        let err = settings.validate().unwrap_err();
        assert_eq!(err.field(), "chat_retention_days");
        assert!(TenantSettings::default().validate().is_ok());
    }

    #[test]
    fn empty_faq_entry_is_rejected() {
        let settings = TenantSettings {
            faq: vec![FaqEntry::new(" ".into(), "a".into())],
            ..TenantSettings::default()
        };
        assert_eq!(
            settings.validate(),
            Err(SettingsError::EmptyFaqEntry { index: 0 })
        );
    }
}
