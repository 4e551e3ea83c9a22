//! A business's change to its settings: only the fields it names change, the result is validated
//! as a whole, and what changed is listed for the audit trail.

use crate::domain::tenant::{FaqEntry, SettingsError, TenantSettings};
use serde::Deserialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default)]
    pub chat_retention_days: Option<u32>,
    #[serde(default)]
    pub automation_enabled: Option<bool>,
    #[serde(default)]
    pub ai_instructions: Option<String>,
    /// Replaces the whole FAQ list.
    #[serde(default)]
    pub faq: Option<Vec<FaqInput>>,
    #[serde(default)]
    pub legal_hold: Option<bool>,
    /// Why a legal hold is set or lifted: required with a change of `legal_hold`.
    #[serde(default)]
    pub legal_hold_reason: Option<String>,
    #[serde(default)]
    pub model_redaction: Option<bool>,
    #[serde(default)]
    pub takeover_expires_hours: Option<u32>,
    #[serde(default)]
    pub messages_per_second: Option<u32>,
    /// An empty string removes the notice.
    #[serde(default)]
    pub privacy_notice_url: Option<String>,
    #[serde(default)]
    pub rights_self_service: Option<bool>,
    #[serde(default)]
    pub closed_export_days: Option<u32>,
    /// An empty string removes it.
    #[serde(default)]
    pub default_country: Option<String>,
    /// Replaces the whole map (`{}` removes them all).
    #[serde(default)]
    pub handoff_texts: Option<std::collections::BTreeMap<String, String>>,
    /// Replaces the whole map (`{}` removes them all).
    #[serde(default)]
    pub greetings: Option<std::collections::BTreeMap<String, String>>,
    /// The platform operator changes the hold (an admin command, never the API): its hold
    /// cannot be lifted by a tenant.
    #[serde(skip)]
    pub by_operator: bool,
}

pub const MAX_LEGAL_HOLD_REASON_CHARS: usize = 500;

/// One FAQ entry as the API takes it (unknown fields refused, unlike stored entries).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqInput {
    pub question: String,
    pub answer: String,
    /// `en`, `fr` or `ar`.
    #[serde(default)]
    pub language: Option<String>,
}

/// The settings after a patch, and which fields it changed (names only: values may be long text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchedSettings {
    pub settings: TenantSettings,
    pub changed: Vec<&'static str>,
}

impl SettingsPatch {
    pub fn is_empty(&self) -> bool {
        *self == SettingsPatch::default()
    }

    pub fn apply(&self, current: &TenantSettings) -> Result<PatchedSettings, SettingsError> {
        let mut next = current.clone();
        if let Some(days) = self.chat_retention_days {
            next.chat_retention_days = days;
        }
        if let Some(enabled) = self.automation_enabled {
            next.automation_enabled = enabled;
        }
        if let Some(instructions) = &self.ai_instructions {
            next.ai_instructions.clone_from(instructions);
        }
        if let Some(faq) = &self.faq {
            next.faq = faq
                .iter()
                .map(|e| FaqEntry {
                    language: e.language.as_deref().map(|l| l.trim().to_ascii_lowercase()),
                    ..FaqEntry::new(e.question.clone(), e.answer.clone())
                })
                .collect();
        }
        if let Some(hold) = self.legal_hold.filter(|hold| *hold != current.legal_hold) {
            let reason = self
                .legal_hold_reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .ok_or(SettingsError::LegalHoldNeedsReason)?;
            if reason.chars().count() > MAX_LEGAL_HOLD_REASON_CHARS {
                return Err(SettingsError::TooLong {
                    field: "legal_hold_reason",
                    max: MAX_LEGAL_HOLD_REASON_CHARS,
                });
            }
            if !hold && current.legal_hold_by_operator && !self.by_operator {
                return Err(SettingsError::LegalHoldSetByOperator);
            }
            next.legal_hold = hold;
            next.legal_hold_by_operator = hold && self.by_operator;
            next.legal_hold_reason = hold.then(|| reason.to_owned());
        }
        if let Some(redaction) = self.model_redaction {
            next.model_redaction = redaction;
        }
        if let Some(hours) = self.takeover_expires_hours {
            next.takeover_expires_hours = hours;
        }
        if let Some(rate) = self.messages_per_second {
            next.messages_per_second = rate;
        }
        if let Some(url) = &self.privacy_notice_url {
            let url = url.trim();
            next.privacy_notice_url = (!url.is_empty()).then(|| url.to_owned());
        }
        if let Some(self_service) = self.rights_self_service {
            next.rights_self_service = self_service;
        }
        if let Some(days) = self.closed_export_days {
            next.closed_export_days = days;
        }
        if let Some(texts) = &self.handoff_texts {
            next.handoff_texts = trimmed(texts);
        }
        if let Some(texts) = &self.greetings {
            next.greetings = trimmed(texts);
        }
        if let Some(country) = &self.default_country {
            let country = country.trim().to_ascii_uppercase();
            next.default_country = (!country.is_empty()).then_some(country);
        }
        next.validate()?;
        let mut changed = Vec::new();
        if next.chat_retention_days != current.chat_retention_days {
            changed.push("chat_retention_days");
        }
        if next.automation_enabled != current.automation_enabled {
            changed.push("automation_enabled");
        }
        if next.ai_instructions != current.ai_instructions {
            changed.push("ai_instructions");
        }
        if next.faq != current.faq {
            changed.push("faq");
        }
        if next.legal_hold != current.legal_hold {
            changed.push("legal_hold");
        }
        if next.model_redaction != current.model_redaction {
            changed.push("model_redaction");
        }
        if next.takeover_expires_hours != current.takeover_expires_hours {
            changed.push("takeover_expires_hours");
        }
        if next.messages_per_second != current.messages_per_second {
            changed.push("messages_per_second");
        }
        if next.privacy_notice_url != current.privacy_notice_url {
            changed.push("privacy_notice_url");
        }
        if next.rights_self_service != current.rights_self_service {
            changed.push("rights_self_service");
        }
        if next.closed_export_days != current.closed_export_days {
            changed.push("closed_export_days");
        }
        if next.default_country != current.default_country {
            changed.push("default_country");
        }
        if next.handoff_texts != current.handoff_texts {
            changed.push("handoff_texts");
        }
        if next.greetings != current.greetings {
            changed.push("greetings");
        }
        Ok(PatchedSettings {
            settings: next,
            changed,
        })
    }
}

/// Language tags lower-cased, texts trimmed.
fn trimmed(
    texts: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    texts
        .iter()
        .map(|(language, text)| (language.trim().to_ascii_lowercase(), text.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_privacy_notice_is_an_https_address_and_an_empty_one_removes_it() {
        let set: SettingsPatch = serde_json::from_str(
            r#"{"privacy_notice_url": " https://atlas.example/privacy ", "rights_self_service": false}"#,
        )
        .unwrap();
        let patched = set.apply(&TenantSettings::default()).unwrap();
        assert_eq!(
            patched.settings.privacy_notice_url.as_deref(),
            Some("https://atlas.example/privacy")
        );
        assert!(!patched.settings.rights_self_service);
        assert_eq!(
            patched.changed,
            vec!["privacy_notice_url", "rights_self_service"]
        );
        for bad in [
            "http://atlas.example",
            "https://",
            "atlas.example",
            "https://a b",
        ] {
            let patch = SettingsPatch {
                privacy_notice_url: Some(bad.into()),
                ..SettingsPatch::default()
            };
            let err = patch.apply(&TenantSettings::default()).unwrap_err();
            assert_eq!(err.field(), "privacy_notice_url", "{bad}");
        }
        let clear: SettingsPatch = serde_json::from_str(r#"{"privacy_notice_url": ""}"#).unwrap();
        assert_eq!(
            clear
                .apply(&patched.settings)
                .unwrap()
                .settings
                .privacy_notice_url,
            None
        );
    }

    #[test]
    fn greetings_and_hand_off_texts_are_per_language_and_replace_the_map() {
        let set: SettingsPatch = serde_json::from_str(
            r#"{"greetings": {"FR": " Bonjour ! "}, "handoff_texts": {"ar": "سيرد عليك زميلنا قريباً."}}"#,
        )
        .unwrap();
        let patched = set.apply(&TenantSettings::default()).unwrap();
        assert_eq!(patched.settings.greetings["fr"], "Bonjour !");
        assert_eq!(patched.changed, vec!["handoff_texts", "greetings"]);
        for bad in [
            r#"{"greetings": {"de": "Hallo"}}"#,
            r#"{"greetings": {"en": "  "}}"#,
        ] {
            let patch: SettingsPatch = serde_json::from_str(bad).unwrap();
            let err = patch.apply(&TenantSettings::default()).unwrap_err();
            assert_eq!(err.field(), "greetings", "{bad}");
        }
        let clear: SettingsPatch = serde_json::from_str(r#"{"greetings": {}}"#).unwrap();
        assert!(clear
            .apply(&patched.settings)
            .unwrap()
            .settings
            .greetings
            .is_empty());
    }

    #[test]
    fn a_take_over_lasts_1_to_168_hours() {
        let current = TenantSettings::default();
        assert_eq!(current.takeover_expires_hours, 24);
        let week: SettingsPatch =
            serde_json::from_str(r#"{"takeover_expires_hours": 168}"#).unwrap();
        let patched = week.apply(&current).unwrap();
        assert_eq!(patched.settings.takeover_expires_hours, 168);
        assert_eq!(patched.changed, vec!["takeover_expires_hours"]);
        for hours in [0, 169] {
            let patch = SettingsPatch {
                takeover_expires_hours: Some(hours),
                ..SettingsPatch::default()
            };
            let err = patch.apply(&current).unwrap_err();
            assert_eq!(err.field(), "takeover_expires_hours", "{hours}");
        }
    }

    #[test]
    fn a_legal_hold_needs_a_reason_and_one_the_operator_set_stays_until_the_operator_lifts_it() {
        let set: SettingsPatch = serde_json::from_str(r#"{"legal_hold": true}"#).unwrap();
        assert_eq!(
            set.apply(&TenantSettings::default()),
            Err(SettingsError::LegalHoldNeedsReason)
        );
        let by_operator = SettingsPatch {
            legal_hold: Some(true),
            legal_hold_reason: Some("case 2026-114".into()),
            by_operator: true,
            ..SettingsPatch::default()
        };
        let held = by_operator
            .apply(&TenantSettings::default())
            .unwrap()
            .settings;
        assert!(held.legal_hold && held.legal_hold_by_operator);
        assert_eq!(held.legal_hold_reason.as_deref(), Some("case 2026-114"));
        let lift: SettingsPatch =
            serde_json::from_str(r#"{"legal_hold": false, "legal_hold_reason": "settled"}"#)
                .unwrap();
        assert_eq!(
            lift.apply(&held),
            Err(SettingsError::LegalHoldSetByOperator)
        );
        assert!(
            serde_json::from_str::<SettingsPatch>(r#"{"by_operator": true}"#).is_err(),
            "the API cannot claim to be the operator"
        );
        let lifted = SettingsPatch {
            by_operator: true,
            ..lift
        }
        .apply(&held)
        .unwrap()
        .settings;
        assert!(!lifted.legal_hold && !lifted.legal_hold_by_operator);
        assert_eq!(lifted.legal_hold_reason, None);
    }

    #[test]
    fn only_named_fields_change_and_are_listed() {
        let patch: SettingsPatch = serde_json::from_str(
            r#"{"chat_retention_days": 60, "legal_hold": true, "legal_hold_reason": "case 1"}"#,
        )
        .unwrap();
        let current = TenantSettings::default();
        let patched = patch.apply(&current).unwrap();
        assert_eq!(patched.settings.chat_retention_days, 60);
        assert!(patched.settings.legal_hold);
        assert_eq!(
            patched.settings.automation_enabled,
            current.automation_enabled
        );
        assert_eq!(patched.changed, vec!["chat_retention_days", "legal_hold"]);
    }

    #[test]
    fn retention_outside_documented_bounds_is_refused_with_its_field() {
        for days in [0, 366] {
            let patch = SettingsPatch {
                chat_retention_days: Some(days),
                ..SettingsPatch::default()
            };
            let err = patch.apply(&TenantSettings::default()).unwrap_err();
            assert_eq!(err.field(), "chat_retention_days");
        }
    }

    #[test]
    fn unknown_fields_are_refused_in_settings_and_faq_entries() {
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"retention": 3}"#).is_err());
        assert!(serde_json::from_str::<SettingsPatch>(
            r#"{"faq": [{"question": "q", "answer": "a", "extra": 1}]}"#
        )
        .is_err());
    }

    #[test]
    fn setting_a_value_to_what_it_is_changes_nothing() {
        let patch = SettingsPatch {
            automation_enabled: Some(true),
            ..SettingsPatch::default()
        };
        assert!(patch
            .apply(&TenantSettings::default())
            .unwrap()
            .changed
            .is_empty());
        assert!(SettingsPatch::default().is_empty());
    }
}
