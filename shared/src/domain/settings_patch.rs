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
    #[serde(default)]
    pub model_redaction: Option<bool>,
}

/// One FAQ entry as the API takes it (unknown fields refused, unlike stored entries).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqInput {
    pub question: String,
    pub answer: String,
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
                    question: e.question.clone(),
                    answer: e.answer.clone(),
                })
                .collect();
        }
        if let Some(hold) = self.legal_hold {
            next.legal_hold = hold;
        }
        if let Some(redaction) = self.model_redaction {
            next.model_redaction = redaction;
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
        Ok(PatchedSettings {
            settings: next,
            changed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_fields_change_and_are_listed() {
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"chat_retention_days": 60, "legal_hold": true}"#).unwrap();
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
