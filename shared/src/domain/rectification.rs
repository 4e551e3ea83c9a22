//! Right to rectification (P7): a business corrects what a contact's profile says about them.
//! Identifiers (wa_id, user id) come from WhatsApp and change only through its identity-change
//! messages, so only descriptive fields can be corrected here.

use crate::domain::contact::ContactProfile;
use crate::domain::personal::Personal;
use serde::{Deserialize, Deserializer};

pub const MAX_PROFILE_FIELD_CHARS: usize = 256;

/// `{"name": "Amina B."}` sets a field; `{"name": null}` removes it; an absent field stays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileCorrection {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<Personal<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub username: Option<Option<Personal<String>>>,
}

/// A field that is present, possibly `null`, as opposed to absent (patches of every kind).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorrectionError {
    #[error("{field} must be 1 to {MAX_PROFILE_FIELD_CHARS} characters, or null to remove it")]
    Invalid { field: &'static str },
    #[error("nothing to correct: give name or username")]
    Empty,
}

impl CorrectionError {
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CorrectionError::Invalid { field } => Some(field),
            CorrectionError::Empty => None,
        }
    }
}

impl ProfileCorrection {
    /// Whether the correction can be applied: refused input is refused whatever the profile.
    pub fn check(&self) -> Result<(), CorrectionError> {
        self.apply(&mut ContactProfile::default()).map(|_| ())
    }

    /// Applies the correction; returns the names of the fields that changed.
    pub fn apply(
        &self,
        profile: &mut ContactProfile,
    ) -> Result<Vec<&'static str>, CorrectionError> {
        if self.name.is_none() && self.username.is_none() {
            return Err(CorrectionError::Empty);
        }
        let mut changed = Vec::new();
        for (field, correction, target) in [
            ("name", &self.name, &mut profile.name),
            ("username", &self.username, &mut profile.username),
        ] {
            let Some(value) = correction else { continue };
            let value = match value {
                Some(text) => {
                    let trimmed = text.expose().trim();
                    let chars = trimmed.chars().count();
                    if chars == 0 || chars > MAX_PROFILE_FIELD_CHARS {
                        return Err(CorrectionError::Invalid { field });
                    }
                    Some(Personal::new(trimmed.to_owned()))
                }
                None => None,
            };
            if *target != value {
                *target = value;
                changed.push(field);
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> ContactProfile {
        ContactProfile {
            wa_id: Some("212600000000".into()),
            name: Some("Amna".into()),
            username: Some("@amna".into()),
            ..ContactProfile::default()
        }
    }

    #[test]
    fn a_named_field_is_corrected_and_others_stay() {
        let correction: ProfileCorrection = serde_json::from_str(r#"{"name": " Amina "}"#).unwrap();
        let mut p = profile();
        assert_eq!(correction.apply(&mut p).unwrap(), vec!["name"]);
        assert_eq!(p.name, Some("Amina".into()));
        assert_eq!(p.username, Some("@amna".into()));
        assert_eq!(p.wa_id, Some("212600000000".into()));
    }

    #[test]
    fn null_removes_a_field() {
        let correction: ProfileCorrection = serde_json::from_str(r#"{"username": null}"#).unwrap();
        let mut p = profile();
        assert_eq!(correction.apply(&mut p).unwrap(), vec!["username"]);
        assert_eq!(p.username, None);
    }

    #[test]
    fn identifiers_blank_values_and_empty_corrections_are_refused() {
        assert!(serde_json::from_str::<ProfileCorrection>(r#"{"wa_id": "1"}"#).is_err());
        let blank: ProfileCorrection = serde_json::from_str(r#"{"name": "  "}"#).unwrap();
        assert_eq!(
            blank.apply(&mut profile()),
            Err(CorrectionError::Invalid { field: "name" })
        );
        assert_eq!(
            ProfileCorrection::default().apply(&mut profile()),
            Err(CorrectionError::Empty)
        );
    }
}
