//! Who the business is (DESIGN §2.1's account data): its name, industry, the person to contact
//! and its company details. The contact e-mail and phone name a person at the business, so the
//! whole is stored sealed under a key of the tenant's own and never printed.

use crate::domain::rectification::present;
use serde::{Deserialize, Serialize};
use std::fmt;

const MAX_NAME_CHARS: usize = 120;
const MAX_INDUSTRY_CHARS: usize = 80;
const MAX_LEGAL_NAME_CHARS: usize = 200;
const MAX_ADDRESS_CHARS: usize = 500;
const MAX_TAX_ID_CHARS: usize = 40;
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    /// Postal address; lines separated by newlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// VAT number, ICE (Morocco), SIREN…: as the business writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// E.164 (`+212612345678`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub company: CompanyDetails,
}

impl fmt::Debug for AccountDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountDetails(<redacted>)")
    }
}

impl fmt::Debug for CompanyDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompanyDetails(<redacted>)")
    }
}

/// `{"industry": "retail"}` sets a field, `{"industry": null}` removes it, an absent field
/// stays; `company` holds its own fields the same way.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDetailsPatch {
    #[serde(default, deserialize_with = "present")]
    pub business_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub contact_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub contact_phone: Option<Option<String>>,
    #[serde(default)]
    pub company: Option<CompanyPatch>,
}

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    #[serde(default, deserialize_with = "present")]
    pub legal_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub tax_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub country: Option<Option<String>>,
}

impl fmt::Debug for AccountDetailsPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountDetailsPatch(<redacted>)")
    }
}

impl fmt::Debug for CompanyPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompanyPatch(<redacted>)")
    }
}

/// A value refused, naming its field as the API does (`company.tax_id`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct InvalidAccountDetail {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidAccountDetail {
    InvalidAccountDetail {
        field,
        reason: reason.into(),
    }
}

/// Trimmed single-line text of 1 to `max` characters (newlines too when `lines`).
fn text(
    field: &'static str,
    value: &str,
    max: usize,
    lines: bool,
) -> Result<String, InvalidAccountDetail> {
    let value = value.trim();
    let count = value.chars().count();
    if count == 0 || count > max {
        return Err(invalid(
            field,
            format!("must be 1 to {max} characters, or null to remove it"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\r')))
    {
        return Err(invalid(field, "must not hold control characters"));
    }
    Ok(value.to_owned())
}

fn email(value: &str) -> Result<String, InvalidAccountDetail> {
    const FIELD: &str = "contact_email";
    let value = value.trim();
    let refused = || invalid(FIELD, "must be an e-mail address (name@example.com)");
    if value.is_empty() || value.len() > MAX_EMAIL_CHARS {
        return Err(refused());
    }
    let (local, domain) = value.rsplit_once('@').ok_or_else(refused)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local.chars().all(|c| c.is_ascii_graphic() || !c.is_ascii());
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(value.to_owned())
    } else {
        Err(refused())
    }
}

/// E.164: `+` and 8 to 15 digits; spaces, dots, dashes and brackets between them are dropped.
fn phone(value: &str) -> Result<String, InvalidAccountDetail> {
    let refused = || {
        invalid(
            "contact_phone",
            "must be a phone number in international form (+212 6 12 34 56 78)",
        )
    };
    let compact: String = value
        .trim()
        .chars()
        .filter(|c| !" .-()".contains(*c))
        .collect();
    let digits = compact.strip_prefix('+').ok_or_else(refused)?;
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(format!("+{digits}"))
    } else {
        Err(refused())
    }
}

fn tax_id(value: &str) -> Result<String, InvalidAccountDetail> {
    let value = text("company.tax_id", value, MAX_TAX_ID_CHARS, false)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ./-".contains(c))
    {
        Ok(value)
    } else {
        Err(invalid(
            "company.tax_id",
            "may hold letters, digits, spaces, '.', '/' and '-'",
        ))
    }
}

fn country(value: &str) -> Result<String, InvalidAccountDetail> {
    let value = value.trim();
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(invalid(
            "company.country",
            "must be an ISO 3166-1 alpha-2 country code (MA, FR, …)",
        ))
    }
}

/// Applies one field of a patch: `Some(None)` removes, `Some(Some(v))` sets the checked value;
/// the field's name when it changed.
fn apply_field(
    field: &'static str,
    target: &mut Option<String>,
    patch: &Option<Option<String>>,
    check: impl Fn(&str) -> Result<String, InvalidAccountDetail>,
    changed: &mut Vec<&'static str>,
) -> Result<(), InvalidAccountDetail> {
    let Some(value) = patch else {
        return Ok(());
    };
    let next = value.as_deref().map(check).transpose()?;
    if *target != next {
        *target = next;
        changed.push(field);
    }
    Ok(())
}

impl AccountDetailsPatch {
    pub fn is_empty(&self) -> bool {
        self.business_name.is_none()
            && self.industry.is_none()
            && self.contact_email.is_none()
            && self.contact_phone.is_none()
            && self
                .company
                .as_ref()
                .is_none_or(|c| *c == CompanyPatch::default())
    }

    /// The details with this patch applied, and the fields it changed (none: already so). A
    /// value refused names its field, and nothing of the patch applies.
    pub fn apply(
        &self,
        details: &AccountDetails,
    ) -> Result<(AccountDetails, Vec<&'static str>), InvalidAccountDetail> {
        let mut next = details.clone();
        let mut changed = Vec::new();
        let name = |v: &str| text("business_name", v, MAX_NAME_CHARS, false);
        apply_field(
            "business_name",
            &mut next.business_name,
            &self.business_name,
            name,
            &mut changed,
        )?;
        let industry = |v: &str| text("industry", v, MAX_INDUSTRY_CHARS, false);
        apply_field(
            "industry",
            &mut next.industry,
            &self.industry,
            industry,
            &mut changed,
        )?;
        apply_field(
            "contact_email",
            &mut next.contact_email,
            &self.contact_email,
            email,
            &mut changed,
        )?;
        apply_field(
            "contact_phone",
            &mut next.contact_phone,
            &self.contact_phone,
            phone,
            &mut changed,
        )?;
        if let Some(company) = &self.company {
            let target = &mut next.company;
            let legal = |v: &str| text("company.legal_name", v, MAX_LEGAL_NAME_CHARS, false);
            apply_field(
                "company.legal_name",
                &mut target.legal_name,
                &company.legal_name,
                legal,
                &mut changed,
            )?;
            let address = |v: &str| text("company.address", v, MAX_ADDRESS_CHARS, true);
            apply_field(
                "company.address",
                &mut target.address,
                &company.address,
                address,
                &mut changed,
            )?;
            apply_field(
                "company.tax_id",
                &mut target.tax_id,
                &company.tax_id,
                tax_id,
                &mut changed,
            )?;
            apply_field(
                "company.country",
                &mut target.country,
                &company.country,
                country,
                &mut changed,
            )?;
        }
        Ok((next, changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: serde_json::Value) -> AccountDetailsPatch {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_patch_sets_removes_and_keeps_fields_and_names_what_changed() {
        let (details, changed) = patch(serde_json::json!({
            "business_name": "  Atlas Tea ",
            "contact_email": "owner@atlas-tea.ma",
            "contact_phone": "+212 6 12-34-56-78",
            "company": {"country": "ma", "tax_id": "ICE 001234567000089",
                        "address": "12 rue de Fès\nCasablanca"}
        }))
        .apply(&AccountDetails::default())
        .unwrap();
        assert_eq!(details.business_name.as_deref(), Some("Atlas Tea"));
        assert_eq!(details.contact_phone.as_deref(), Some("+212612345678"));
        assert_eq!(details.company.country.as_deref(), Some("MA"));
        assert_eq!(
            changed,
            vec![
                "business_name",
                "contact_email",
                "contact_phone",
                "company.address",
                "company.tax_id",
                "company.country"
            ]
        );
        let (again, unchanged) = patch(serde_json::json!({"business_name": "Atlas Tea"}))
            .apply(&details)
            .unwrap();
        assert!(unchanged.is_empty());
        assert_eq!(again, details);
        let (removed, changed) = patch(serde_json::json!({"company": {"tax_id": null}}))
            .apply(&details)
            .unwrap();
        assert_eq!(removed.company.tax_id, None);
        assert_eq!(removed.company.country.as_deref(), Some("MA"));
        assert_eq!(changed, vec!["company.tax_id"]);
    }

    #[test]
    fn a_bad_value_names_its_field_and_nothing_applies() {
        for (json, field) in [
            (serde_json::json!({"business_name": "  "}), "business_name"),
            (
                serde_json::json!({"business_name": "x".repeat(121)}),
                "business_name",
            ),
            (serde_json::json!({"industry": "tea\u{7}"}), "industry"),
            (
                serde_json::json!({"contact_email": "owner"}),
                "contact_email",
            ),
            (
                serde_json::json!({"contact_email": "owner@localhost"}),
                "contact_email",
            ),
            (
                serde_json::json!({"contact_email": "a b@atlas.ma"}),
                "contact_email",
            ),
            (
                serde_json::json!({"contact_phone": "0612345678"}),
                "contact_phone",
            ),
            (serde_json::json!({"contact_phone": "+12"}), "contact_phone"),
            (
                serde_json::json!({"company": {"country": "Morocco"}}),
                "company.country",
            ),
            (
                serde_json::json!({"company": {"tax_id": "ICE#1"}}),
                "company.tax_id",
            ),
            (
                serde_json::json!({"company": {"legal_name": "Atlas\nTea"}}),
                "company.legal_name",
            ),
        ] {
            let error = patch(json.clone())
                .apply(&AccountDetails::default())
                .unwrap_err();
            assert_eq!(error.field, field, "{json}");
            assert!(!error.reason.is_empty());
        }
    }

    #[test]
    fn unknown_fields_are_refused_and_empty_patches_known() {
        assert!(serde_json::from_value::<AccountDetailsPatch>(
            serde_json::json!({"email": "x@y.ma"})
        )
        .is_err());
        assert!(serde_json::from_value::<AccountDetailsPatch>(
            serde_json::json!({"company": {"vat": "1"}})
        )
        .is_err());
        assert!(patch(serde_json::json!({})).is_empty());
        assert!(patch(serde_json::json!({"company": {}})).is_empty());
        assert!(!patch(serde_json::json!({"industry": null})).is_empty());
    }

    #[test]
    fn details_never_print() {
        let (details, _) = patch(serde_json::json!({"contact_email": "owner@atlas-tea.ma"}))
            .apply(&AccountDetails::default())
            .unwrap();
        assert!(!format!("{details:?}").contains("owner"));
        let raw = patch(serde_json::json!({"contact_email": "owner@atlas-tea.ma"}));
        assert!(!format!("{raw:?}").contains("owner"));
    }
}
