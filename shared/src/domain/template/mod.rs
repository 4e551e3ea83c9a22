//! WhatsApp message templates: a tenant's registry of them (name, language, category, status,
//! quality, components), how Meta's template webhooks change them, and what a send of one must
//! carry (`slots`, `parameters`). A template's words are the business's, not personal data; the
//! values filled into its placeholders are personal data and live only in sealed messages.

mod parameters;
mod slots;
mod submission;

pub use parameters::{fill, FilledTemplate, ParameterError, MAX_BODY_PARAMETER_CHARS};
pub use slots::{slots_of, ButtonSlot, HeaderSlot, MediaKind, Slots, SlotsError};
pub use submission::{SubmissionError, SubmissionRequest, TemplateDefinition};

use crate::domain::ids::{TenantId, WabaId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// WhatsApp's template categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

impl TemplateCategory {
    /// Meta spells categories in capitals (`MARKETING`); Mizan's API in lower case.
    pub fn parse(text: &str) -> Option<TemplateCategory> {
        match text.to_ascii_lowercase().as_str() {
            "marketing" => Some(TemplateCategory::Marketing),
            "utility" => Some(TemplateCategory::Utility),
            "authentication" => Some(TemplateCategory::Authentication),
            _ => None,
        }
    }

    pub fn as_meta(self) -> &'static str {
        match self {
            TemplateCategory::Marketing => "MARKETING",
            TemplateCategory::Utility => "UTILITY",
            TemplateCategory::Authentication => "AUTHENTICATION",
        }
    }
}

/// A template's name as Meta allows it: lower-case letters, digits and `_`, at most 512.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateName(String);

/// A template's language code (`en`, `en_US`, `ar`, `pt_BR`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LanguageCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateIdError {
    #[error("a template name is 1 to 512 lower-case letters, digits or '_'")]
    Name,
    #[error("a language code is a language (2 or 3 letters) with an optional region, e.g. en_US")]
    Language,
}

impl TemplateName {
    pub fn parse(text: &str) -> Result<Self, TemplateIdError> {
        let valid = !text.is_empty()
            && text.len() <= 512
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid
            .then(|| TemplateName(text.to_owned()))
            .ok_or(TemplateIdError::Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl LanguageCode {
    pub fn parse(text: &str) -> Result<Self, TemplateIdError> {
        let mut parts = text.splitn(2, '_');
        let language = parts.next().unwrap_or_default();
        let region_ok = parts.next().is_none_or(|r| {
            (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        let valid = (2..=3).contains(&language.len())
            && language.bytes().all(|b| b.is_ascii_lowercase())
            && region_ok;
        valid
            .then(|| LanguageCode(text.to_owned()))
            .ok_or(TemplateIdError::Language)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TemplateName({})", self.0)
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LanguageCode({})", self.0)
    }
}

/// Which template a message was sent from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TemplateRef {
    pub name: TemplateName,
    pub language: LanguageCode,
}

/// Meta's review status (`APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …), kept as Meta
/// spells it so a status Mizan does not know yet is shown, not lost. Only `APPROVED` is sendable.
pub type TemplateStatus = String;

pub const APPROVED: &str = "APPROVED";

/// When each aspect Meta reports separately was last changed by a webhook: a report older than
/// that is stale (webhooks arrive out of order) and changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Timestamp>,
}

/// One template of a tenant, in one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub tenant: TenantId,
    pub name: TemplateName,
    pub language: LanguageCode,
    /// Meta's id of the template (`message_template_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_id: Option<String>,
    pub category: TemplateCategory,
    pub status: TemplateStatus,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN` (new templates).
    pub quality: String,
    /// Why Meta rejected, paused or disabled it, as Meta said (`INVALID_FORMAT`, `FIRST_PAUSE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `positional` (`{{1}}`) or `named` (`{{first_name}}`).
    pub parameter_format: ParameterFormat,
    /// The components as Meta's API gives them (HEADER, BODY, FOOTER, BUTTONS). `None` for a
    /// template known only from a webhook: it cannot be checked, so it cannot be sent until the
    /// registry is synced from the Graph API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<serde_json::Value>>,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub applied: AppliedAt,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterFormat {
    #[default]
    Positional,
    Named,
}

impl ParameterFormat {
    pub fn parse(text: &str) -> Option<ParameterFormat> {
        match text.to_ascii_lowercase().as_str() {
            "positional" => Some(ParameterFormat::Positional),
            "named" => Some(ParameterFormat::Named),
            _ => None,
        }
    }
}

impl Template {
    pub fn reference(&self) -> TemplateRef {
        TemplateRef {
            name: self.name.clone(),
            language: self.language.clone(),
        }
    }

    pub fn is_approved(&self) -> bool {
        self.status == APPROVED
    }

    /// A template as the Graph API lists it (`GET /{waba-id}/message_templates`), read at
    /// `read_at`; `Err` says which field is missing or unreadable.
    pub fn from_graph(
        tenant: TenantId,
        value: &serde_json::Value,
        read_at: Timestamp,
    ) -> Result<Template, String> {
        let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str);
        let name = TemplateName::parse(text("name").ok_or("no name")?)
            .map_err(|e| format!("name: {e}"))?;
        let language = LanguageCode::parse(text("language").ok_or("no language")?)
            .map_err(|e| format!("language: {e}"))?;
        let category = text("category")
            .and_then(TemplateCategory::parse)
            .ok_or("no known category")?;
        let components = value
            .get("components")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .ok_or("no components")?;
        slots_of(&components).map_err(|e| e.to_string())?;
        Ok(Template {
            tenant,
            name,
            language,
            meta_id: match value.get("id") {
                Some(serde_json::Value::String(id)) => Some(id.clone()),
                Some(serde_json::Value::Number(id)) => Some(id.to_string()),
                _ => None,
            },
            category,
            status: text("status").unwrap_or("PENDING").to_ascii_uppercase(),
            quality: value
                .pointer("/quality_score/score")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("UNKNOWN")
                .to_owned(),
            reason: text("rejected_reason")
                .filter(|r| *r != "NONE")
                .map(str::to_owned),
            parameter_format: text("parameter_format")
                .and_then(ParameterFormat::parse)
                .unwrap_or_default(),
            components: Some(components),
            updated_at: read_at,
            applied: AppliedAt::default(),
        })
    }

    /// A template a webhook named before the registry knew it: what the webhook says (applied),
    /// nothing more (no components until a sync).
    pub fn from_update(tenant: TenantId, update: &TemplateUpdate) -> Template {
        let category = match &update.change {
            TemplateChange::Status { category, .. } => {
                category.unwrap_or(TemplateCategory::Utility)
            }
            TemplateChange::Category { new } => *new,
            TemplateChange::Quality { .. } => TemplateCategory::Utility,
        };
        let mut template = Template {
            tenant,
            name: update.name.clone(),
            language: update.language.clone(),
            meta_id: update.meta_id.clone(),
            category,
            status: "PENDING".into(),
            quality: "UNKNOWN".into(),
            reason: None,
            parameter_format: ParameterFormat::Positional,
            components: None,
            updated_at: update.at,
            applied: AppliedAt::default(),
        };
        template.apply(update);
        template
    }

    /// Applies a webhook's change unless a newer one of the same aspect was applied; returns
    /// what changed (`None`: nothing, a stale or repeated report).
    pub fn apply(&mut self, update: &TemplateUpdate) -> Option<AppliedChange> {
        let newer = |last: Option<Timestamp>| last.is_none_or(|l| update.at >= l);
        let before = self.clone();
        match &update.change {
            TemplateChange::Status {
                event,
                reason,
                category,
            } => {
                if !newer(self.applied.status) {
                    return None;
                }
                self.status = status_after(event);
                self.reason = reason.clone().filter(|r| r != "NONE" && !r.is_empty());
                self.applied.status = Some(update.at);
                if let Some(category) = category {
                    if newer(self.applied.category) {
                        self.category = *category;
                    }
                }
            }
            TemplateChange::Category { new } => {
                if !newer(self.applied.category) {
                    return None;
                }
                self.category = *new;
                self.applied.category = Some(update.at);
            }
            TemplateChange::Quality { new } => {
                if !newer(self.applied.quality) {
                    return None;
                }
                self.quality = new.clone();
                self.applied.quality = Some(update.at);
            }
        }
        if self.meta_id.is_none() {
            self.meta_id.clone_from(&update.meta_id);
        }
        let changed = AppliedChange {
            status: (before.status != self.status)
                .then(|| (before.status.clone(), self.status.clone())),
            category: (before.category != self.category)
                .then_some((before.category, self.category)),
            quality: (before.quality != self.quality)
                .then(|| (before.quality.clone(), self.quality.clone())),
        };
        if changed.is_empty() && before.reason == self.reason {
            // Same values, newer time: remember the time so an older report stays stale.
            return None;
        }
        self.updated_at = self.updated_at.max(update.at);
        Some(changed)
    }
}

/// The status a status event leaves: `REINSTATED` returns a paused template to service.
fn status_after(event: &str) -> TemplateStatus {
    match event {
        "REINSTATED" => APPROVED.to_owned(),
        other => other.to_owned(),
    }
}

/// What a webhook changed: `(before, after)` per aspect. Audited, never personal data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppliedChange {
    pub status: Option<(String, String)>,
    pub category: Option<(TemplateCategory, TemplateCategory)>,
    pub quality: Option<(String, String)>,
}

impl AppliedChange {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.category.is_none() && self.quality.is_none()
    }
}

/// A template webhook (`message_template_status_update`, `template_category_update`,
/// `message_template_quality_update`) for one template of one business account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateUpdate {
    /// The entry's `id`: the WhatsApp Business Account.
    pub account: WabaId,
    pub meta_id: Option<String>,
    pub name: TemplateName,
    pub language: LanguageCode,
    /// The entry's `time`: the order updates are applied in.
    pub at: Timestamp,
    pub change: TemplateChange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "aspect", rename_all = "snake_case")]
pub enum TemplateChange {
    Status {
        event: String,
        reason: Option<String>,
        category: Option<TemplateCategory>,
    },
    Category {
        new: TemplateCategory,
    },
    Quality {
        new: String,
    },
}

impl TemplateChange {
    /// The audit action of a change.
    pub fn action(&self) -> &'static str {
        match self {
            TemplateChange::Status { .. } => "template.status_changed",
            TemplateChange::Category { .. } => "template.category_changed",
            TemplateChange::Quality { .. } => "template.quality_changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(at: i64, change: TemplateChange) -> TemplateUpdate {
        TemplateUpdate {
            account: WabaId::new("102290129340398"),
            meta_id: Some("1689556908129832".into()),
            name: TemplateName::parse("order_confirmation").unwrap(),
            language: LanguageCode::parse("en_US").unwrap(),
            at: Timestamp::from_unix_seconds(at),
            change,
        }
    }

    fn status(event: &str) -> TemplateChange {
        TemplateChange::Status {
            event: event.into(),
            reason: Some("NONE".into()),
            category: Some(TemplateCategory::Utility),
        }
    }

    #[test]
    fn a_template_reads_from_the_graph_api_listing() {
        let listed = serde_json::json!({
            "name": "order_update", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "id": "1000000000000001", "parameter_format": "POSITIONAL",
            "quality_score": {"score": "GREEN", "date": 1767225600},
            "components": [{"type": "BODY", "text": "Hi {{1}}"}]
        });
        let t =
            Template::from_graph(TenantId::new("t"), &listed, Timestamp::from_millis(5)).unwrap();
        assert!(t.is_approved());
        assert_eq!(
            (t.quality.as_str(), t.meta_id.as_deref()),
            ("GREEN", Some("1000000000000001"))
        );
        assert_eq!(t.category, TemplateCategory::Utility);
        let mut carousel = listed.clone();
        carousel["components"] = serde_json::json!([{"type": "CAROUSEL", "cards": []}]);
        assert!(
            Template::from_graph(TenantId::new("t"), &carousel, Timestamp::from_millis(5)).is_err()
        );
        let mut nameless = listed;
        nameless.as_object_mut().unwrap().remove("name");
        assert_eq!(
            Template::from_graph(TenantId::new("t"), &nameless, Timestamp::from_millis(5))
                .unwrap_err(),
            "no name"
        );
    }

    #[test]
    fn names_and_languages_are_as_meta_allows_them() {
        assert!(TemplateName::parse("order_confirmation_2").is_ok());
        for bad in [
            "",
            "Order",
            "order-confirmation",
            "order confirmation",
            "café",
        ] {
            assert_eq!(
                TemplateName::parse(bad),
                Err(TemplateIdError::Name),
                "{bad}"
            );
        }
        for good in ["en", "en_US", "ar", "pt_BR", "fil", "zh_CN"] {
            assert!(LanguageCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "e", "EN", "en-US", "en_", "english", "en_US_x"] {
            assert_eq!(
                LanguageCode::parse(bad),
                Err(TemplateIdError::Language),
                "{bad}"
            );
        }
    }

    #[test]
    fn status_updates_apply_in_order_and_stale_ones_change_nothing() {
        let mut t = Template::from_update(TenantId::new("t"), &update(100, status("PENDING")));
        let approved = t.apply(&update(200, status("APPROVED"))).unwrap();
        assert_eq!(approved.status, Some(("PENDING".into(), "APPROVED".into())));
        assert!(t.is_approved());
        assert_eq!(t.reason, None, "NONE is no reason");
        // A pause, then the older approval delivered again late: still paused.
        let mut paused = status("PAUSED");
        if let TemplateChange::Status { reason, .. } = &mut paused {
            *reason = Some("FIRST_PAUSE".into());
        }
        t.apply(&update(300, paused)).unwrap();
        assert_eq!(t.apply(&update(200, status("APPROVED"))), None);
        assert_eq!(
            (t.status.as_str(), t.reason.as_deref()),
            ("PAUSED", Some("FIRST_PAUSE"))
        );
        assert!(!t.is_approved());
        t.apply(&update(400, status("REINSTATED"))).unwrap();
        assert!(t.is_approved(), "reinstated is approved again");
        assert_eq!(
            t.apply(&update(400, status("REINSTATED"))),
            None,
            "a repeat changes nothing"
        );
    }

    #[test]
    fn category_and_quality_are_ordered_separately_from_status() {
        let mut t = Template::from_update(TenantId::new("t"), &update(100, status("APPROVED")));
        let recategorized = t
            .apply(&update(
                150,
                TemplateChange::Category {
                    new: TemplateCategory::Marketing,
                },
            ))
            .unwrap();
        assert_eq!(
            recategorized.category,
            Some((TemplateCategory::Utility, TemplateCategory::Marketing))
        );
        // A status report older than the category change does not undo it.
        assert_eq!(t.apply(&update(120, status("APPROVED"))), None);
        assert_eq!(t.category, TemplateCategory::Marketing);
        let yellow = TemplateChange::Quality {
            new: "YELLOW".into(),
        };
        assert!(
            t.apply(&update(110, yellow)).is_some(),
            "quality has its own order"
        );
        assert_eq!(t.quality, "YELLOW");
        assert_eq!(
            t.apply(&update(
                105,
                TemplateChange::Quality {
                    new: "GREEN".into()
                }
            )),
            None
        );
    }
}
