//! A person's request to send a message to a contact through the business API: free text or
//! an approved template with its parameters, checked before anything is stored. Both hold
//! personal data (the words, the parameter values), so both stay inside `Personal`.

use crate::domain::personal::Personal;
use crate::domain::template::{LanguageCode, TemplateName};
use serde::Deserialize;

/// WhatsApp's limit for a text message body.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// The body of `POST /v1/contacts/{contact}/messages`, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    #[serde(default)]
    pub text: Option<Personal<String>>,
    #[serde(default)]
    pub template: Option<TemplateRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Personal<serde_json::Value>,
}

/// What is to be sent, checked.
#[derive(Clone, Debug, PartialEq)]
pub enum SendWhat {
    Text(Personal<String>),
    Template {
        name: TemplateName,
        language: LanguageCode,
        parameters: Personal<serde_json::Value>,
    },
}

/// A request field that is wrong, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct SendRequestError {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SendRequestError {
    SendRequestError {
        field,
        reason: reason.into(),
    }
}

impl SendRequest {
    pub fn check(self) -> Result<SendWhat, SendRequestError> {
        match (self.text, self.template) {
            (Some(text), None) => {
                if text.expose().trim().is_empty() {
                    return Err(invalid("text", "must not be empty"));
                }
                if text.len() > MAX_TEXT_CHARS {
                    return Err(invalid(
                        "text",
                        format!("at most {MAX_TEXT_CHARS} characters (WhatsApp's limit)"),
                    ));
                }
                Ok(SendWhat::Text(text))
            }
            (None, Some(template)) => Ok(SendWhat::Template {
                name: TemplateName::parse(&template.name)
                    .map_err(|e| invalid("template.name", e.to_string()))?,
                language: LanguageCode::parse(&template.language)
                    .map_err(|e| invalid("template.language", e.to_string()))?,
                parameters: template.parameters,
            }),
            (Some(_), Some(_)) => Err(invalid("body", "give either text or template, not both")),
            (None, None) => Err(invalid("body", "give text or template")),
        }
    }
}

/// Checks an `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn check_idempotency_key(raw: &str) -> Result<&str, SendRequestError> {
    let valid = !raw.is_empty()
        && raw.len() <= MAX_IDEMPOTENCY_KEY_CHARS
        && raw.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(raw)
    } else {
        Err(invalid(
            "Idempotency-Key",
            format!("1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Result<SendWhat, SendRequestError> {
        serde_json::from_str::<SendRequest>(json).unwrap().check()
    }

    #[test]
    fn text_or_template_exactly_one() {
        assert!(matches!(
            request(r#"{"text": "Your order is ready"}"#),
            Ok(SendWhat::Text(_))
        ));
        assert_eq!(request(r#"{}"#).unwrap_err().field, "body");
        assert_eq!(
            request(r#"{"text": "x", "template": {"name": "a", "language": "en"}}"#)
                .unwrap_err()
                .field,
            "body"
        );
        assert_eq!(request(r#"{"text": "  "}"#).unwrap_err().field, "text");
        let long = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(request(&long).unwrap_err().field, "text");
    }

    #[test]
    fn templates_are_named_as_meta_names_them() {
        let ok = request(
            r#"{"template": {"name": "order_update", "language": "en_US", "parameters": {"body": {"1": "A"}}}}"#,
        );
        assert!(matches!(ok, Ok(SendWhat::Template { .. })));
        assert_eq!(
            request(r#"{"template": {"name": "Order Update", "language": "en_US"}}"#)
                .unwrap_err()
                .field,
            "template.name"
        );
        assert_eq!(
            request(r#"{"template": {"name": "order_update", "language": "english"}}"#)
                .unwrap_err()
                .field,
            "template.language"
        );
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(check_idempotency_key("order-42-shipped").is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("has space").is_err());
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());
    }
}
