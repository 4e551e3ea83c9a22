//! A new template a business submits for Meta's review (`POST /v1/templates`): name, language,
//! category and components checked before anything is sent to Meta.

use super::slots::slots_of;
use super::{LanguageCode, ParameterFormat, TemplateCategory, TemplateName};
use serde::Deserialize;
use serde_json::Value;

/// A template as submitted for review (`POST /{waba-id}/message_templates`).
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateDefinition {
    pub name: TemplateName,
    pub language: LanguageCode,
    pub category: TemplateCategory,
    /// Named (`{{first_name}}`) rather than positional (`{{1}}`) placeholders.
    pub named_parameters: bool,
    /// HEADER, BODY, FOOTER, BUTTONS as Meta's API takes them.
    pub components: Vec<Value>,
}

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    pub name: String,
    pub language: String,
    pub category: String,
    pub components: Vec<Value>,
    #[serde(default)]
    pub parameter_format: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct SubmissionError {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SubmissionError {
    SubmissionError {
        field,
        reason: reason.into(),
    }
}

impl SubmissionRequest {
    pub fn check(self) -> Result<TemplateDefinition, SubmissionError> {
        let name = TemplateName::parse(&self.name).map_err(|e| invalid("name", e.to_string()))?;
        let language =
            LanguageCode::parse(&self.language).map_err(|e| invalid("language", e.to_string()))?;
        let category = TemplateCategory::parse(&self.category)
            .ok_or_else(|| invalid("category", "marketing, utility or authentication"))?;
        let format = match self.parameter_format.as_deref() {
            None => ParameterFormat::Positional,
            Some(text) => ParameterFormat::parse(text)
                .ok_or_else(|| invalid("parameter_format", "positional or named"))?,
        };
        let slots = slots_of(&self.components).map_err(|e| invalid("components", e.0))?;
        let positional = slots.body.iter().all(|p| p.parse::<u32>().is_ok());
        if (format == ParameterFormat::Positional) != positional && !slots.body.is_empty() {
            return Err(invalid(
                "components",
                "the body's placeholders must all be numbers ({{1}}) for positional, or all names for named",
            ));
        }
        Ok(TemplateDefinition {
            name,
            language,
            category,
            named_parameters: format == ParameterFormat::Named,
            components: self.components,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value) -> Result<TemplateDefinition, SubmissionError> {
        serde_json::from_value::<SubmissionRequest>(body)
            .unwrap()
            .check()
    }

    #[test]
    fn a_submission_names_what_is_wrong() {
        let good = json!({"name": "order_update", "language": "en_US", "category": "utility",
                          "components": [{"type": "BODY", "text": "Hi {{1}}"}]});
        assert!(check(good.clone()).is_ok());
        for (field, value, bad) in [
            ("name", json!("Order Update"), "name"),
            ("language", json!("english"), "language"),
            ("category", json!("promo"), "category"),
            (
                "components",
                json!([{"type": "FOOTER", "text": "x"}]),
                "components",
            ),
            ("parameter_format", json!("named"), "components"),
        ] {
            let mut body = good.clone();
            body[field] = value;
            assert_eq!(check(body).unwrap_err().field, bad, "{field}");
        }
    }
}
