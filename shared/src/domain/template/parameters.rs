//! Filling a template for one send: the caller's parameters checked against the template's
//! placeholders (every one given, nothing extra, text Meta accepts), then the Graph API's
//! `template` object built from them, and the words the customer will read.
//!
//! Parameters: `{"header": {"1": "…"} | {"link": "https://…"} | {"id": "media id"},
//! "body": {"1": "…", "2": "…"} (or by name), "buttons": {"1": "…"}}` (buttons by index).

use super::slots::{slots_of, ButtonSlot, HeaderSlot, Slots};
use super::{ParameterFormat, Template};
use crate::domain::personal::Personal;
use serde_json::{json, Map, Value};

/// Meta's limit for a body parameter's text.
pub const MAX_BODY_PARAMETER_CHARS: usize = 1024;
/// Meta's limit for a text header (the whole header is 60 characters).
pub const MAX_HEADER_PARAMETER_CHARS: usize = 60;
pub const MAX_BUTTON_PARAMETER_CHARS: usize = 2000;

/// A parameter that does not fit the template: which one (`parameters.body.2`) and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct ParameterError {
    pub field: String,
    pub reason: String,
}

fn error(field: impl Into<String>, reason: impl Into<String>) -> ParameterError {
    ParameterError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A template ready to send: the Graph API object and what the customer reads.
#[derive(Clone, Debug, PartialEq)]
pub struct FilledTemplate {
    /// `{"name", "language": {"policy", "code"}, "components": [...]}`: holds the parameter
    /// values, so it is personal data.
    pub graph: Personal<Value>,
    /// The body (and header) as the customer reads it.
    pub text: Personal<String>,
}

/// Checks `parameters` against `template` and fills it.
pub fn fill(template: &Template, parameters: &Value) -> Result<FilledTemplate, ParameterError> {
    let components = template.components.as_deref().ok_or_else(|| {
        error(
            "template",
            "the template is known only from a webhook: sync the templates first",
        )
    })?;
    let slots: Slots = slots_of(components).map_err(|e| error("template", e.to_string()))?;
    let empty = Map::new();
    let given = match parameters {
        Value::Null => &empty,
        Value::Object(map) => map,
        _ => return Err(error("parameters", "expected an object")),
    };
    if let Some(unknown) = given
        .keys()
        .find(|k| !["header", "body", "buttons"].contains(&k.as_str()))
    {
        return Err(error(
            format!("parameters.{unknown}"),
            "unknown part: expected header, body or buttons",
        ));
    }
    let section = |name: &str| -> Result<&Map<String, Value>, ParameterError> {
        match given.get(name) {
            None | Some(Value::Null) => Ok(&empty),
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(error(format!("parameters.{name}"), "expected an object")),
        }
    };
    let mut graph_components = Vec::new();
    let mut header_text = None;

    let header = section("header")?;
    match &slots.header {
        HeaderSlot::Nothing => no_extra("header", header, &[])?,
        HeaderSlot::Text { placeholders, text } => {
            let values = texts("header", header, placeholders, MAX_HEADER_PARAMETER_CHARS)?;
            graph_components.push(json!({
                "type": "header",
                "parameters": text_parameters(template.parameter_format, placeholders, &values),
            }));
            header_text = Some(render(text, placeholders, &values));
        }
        HeaderSlot::Media(kind) => {
            no_extra("header", header, &["link", "id"])?;
            let media = match (header.get("link"), header.get("id")) {
                (Some(Value::String(link)), None) if link.starts_with("https://") => {
                    json!({ "link": link })
                }
                (Some(_), None) => {
                    return Err(error("parameters.header.link", "expected an https:// URL"))
                }
                (None, Some(Value::String(id))) if !id.trim().is_empty() => json!({ "id": id }),
                (None, Some(_)) => {
                    return Err(error("parameters.header.id", "expected a media id"))
                }
                _ => {
                    return Err(error(
                        "parameters.header",
                        format!(
                            "the template's header is a {}: give its link or id",
                            kind.as_str()
                        ),
                    ))
                }
            };
            graph_components.push(json!({
                "type": "header",
                "parameters": [{ "type": kind.as_str(), kind.as_str(): media }],
            }));
        }
    }

    let body = section("body")?;
    let values = texts("body", body, &slots.body, MAX_BODY_PARAMETER_CHARS)?;
    if !slots.body.is_empty() {
        graph_components.push(json!({
            "type": "body",
            "parameters": text_parameters(template.parameter_format, &slots.body, &values),
        }));
    }
    let body_text = render(&slots.body_text, &slots.body, &values);

    let buttons = section("buttons")?;
    let indexes: Vec<String> = slots.buttons.iter().map(|(i, _)| i.to_string()).collect();
    no_extra(
        "buttons",
        buttons,
        &indexes.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    for ((_, slot), key) in slots.buttons.iter().zip(&indexes) {
        let field = format!("parameters.buttons.{key}");
        let value = match buttons.get(key.as_str()) {
            Some(value) => Some(checked_text(&field, value, MAX_BUTTON_PARAMETER_CHARS)?),
            None => None,
        };
        let (sub_type, parameter) = match (slot, value) {
            (ButtonSlot::QuickReply { .. }, None) => continue,
            (ButtonSlot::QuickReply { .. }, Some(v)) => {
                ("quick_reply", json!({ "type": "payload", "payload": v }))
            }
            (ButtonSlot::Url, Some(v)) => ("url", json!({ "type": "text", "text": v })),
            (ButtonSlot::OneTimePassword, Some(v)) => ("url", json!({ "type": "text", "text": v })),
            (ButtonSlot::Coupon, Some(v)) => (
                "copy_code",
                json!({ "type": "coupon_code", "coupon_code": v }),
            ),
            (_, None) => return Err(error(field, "missing")),
        };
        graph_components.push(json!({
            "type": "button",
            "sub_type": sub_type,
            "index": key,
            "parameters": [parameter],
        }));
    }

    let mut graph = json!({
        "name": template.name.as_str(),
        "language": { "policy": "deterministic", "code": template.language.as_str() },
    });
    if !graph_components.is_empty() {
        graph["components"] = Value::Array(graph_components);
    }
    let text = match header_text {
        Some(header) => format!("{header}\n{body_text}"),
        None => body_text,
    };
    Ok(FilledTemplate {
        graph: Personal::new(graph),
        text: Personal::new(text),
    })
}

fn no_extra(
    section: &str,
    given: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ParameterError> {
    match given.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(error(
            format!("parameters.{section}.{extra}"),
            "the template has no such placeholder",
        )),
        None => Ok(()),
    }
}

/// The values of `placeholders` in `given`, each present and acceptable, nothing extra.
fn texts(
    section: &str,
    given: &Map<String, Value>,
    placeholders: &[String],
    max_chars: usize,
) -> Result<Vec<String>, ParameterError> {
    no_extra(
        section,
        given,
        &placeholders.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    placeholders
        .iter()
        .map(|name| {
            let field = format!("parameters.{section}.{name}");
            match given.get(name) {
                Some(value) => checked_text(&field, value, max_chars),
                None => Err(error(field, "missing")),
            }
        })
        .collect()
}

/// Meta refuses parameter text that is empty, has new lines or tabs, or more than four spaces
/// in a row (132018); Mizan refuses it first, naming the parameter.
fn checked_text(field: &str, value: &Value, max_chars: usize) -> Result<String, ParameterError> {
    let Value::String(text) = value else {
        return Err(error(field, "expected a string"));
    };
    if text.trim().is_empty() {
        return Err(error(field, "must not be empty"));
    }
    if text.chars().count() > max_chars {
        return Err(error(field, format!("at most {max_chars} characters")));
    }
    if text.contains(['\n', '\r', '\t']) || text.contains("     ") {
        return Err(error(
            field,
            "no new lines, tabs or more than four spaces in a row (WhatsApp refuses them)",
        ));
    }
    Ok(text.clone())
}

/// Meta wants positional values in their number's order and named ones with their name.
fn text_parameters(format: ParameterFormat, placeholders: &[String], values: &[String]) -> Value {
    let mut pairs: Vec<(&String, &String)> = placeholders.iter().zip(values).collect();
    match format {
        ParameterFormat::Positional => {
            pairs.sort_by_key(|(name, _)| name.parse::<u32>().unwrap_or(u32::MAX));
            Value::Array(
                pairs
                    .into_iter()
                    .map(|(_, v)| json!({ "type": "text", "text": v }))
                    .collect(),
            )
        }
        ParameterFormat::Named => Value::Array(
            pairs
                .into_iter()
                .map(|(name, v)| json!({ "type": "text", "parameter_name": name, "text": v }))
                .collect(),
        ),
    }
}

fn render(text: &str, placeholders: &[String], values: &[String]) -> String {
    let mut out = text.to_owned();
    for (name, value) in placeholders.iter().zip(values) {
        // `{{ name }}` with spaces is rare; the common spelling is replaced.
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::TenantId;
    use crate::domain::template::{AppliedAt, LanguageCode, TemplateCategory, TemplateName};
    use crate::domain::time::Timestamp;

    fn template(format: ParameterFormat, components: Vec<Value>) -> Template {
        Template {
            tenant: TenantId::new("t"),
            name: TemplateName::parse("order_update").unwrap(),
            language: LanguageCode::parse("en_US").unwrap(),
            meta_id: None,
            category: TemplateCategory::Utility,
            status: "APPROVED".into(),
            quality: "GREEN".into(),
            reason: None,
            parameter_format: format,
            components: Some(components),
            updated_at: Timestamp::from_millis(0),
            applied: AppliedAt::default(),
        }
    }

    fn order_update() -> Template {
        template(
            ParameterFormat::Positional,
            vec![
                json!({"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"}),
                json!({"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}."}),
                json!({"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"},
                    {"type": "QUICK_REPLY", "text": "Stop promotions"}
                ]}),
            ],
        )
    }

    #[test]
    fn a_filled_template_is_the_graph_api_object_exactly() {
        let filled = fill(
            &order_update(),
            &json!({
                "header": {"1": "#42"},
                "body": {"2": "Monday", "1": "Amina"},
                "buttons": {"0": "42"}
            }),
        )
        .unwrap();
        assert_eq!(
            filled.graph.expose(),
            &json!({
                "name": "order_update",
                "language": {"policy": "deterministic", "code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Amina"},
                        {"type": "text", "text": "Monday"}
                    ]},
                    {"type": "button", "sub_type": "url", "index": "0",
                     "parameters": [{"type": "text", "text": "42"}]}
                ]
            })
        );
        assert_eq!(
            filled.text.expose(),
            "Order #42\nHi Amina, your order ships on Monday."
        );
    }

    #[test]
    fn each_mismatch_names_its_parameter() {
        let t = order_update();
        let cases = [
            (
                json!({"header": {"1": "#42"}, "body": {"1": "Amina"}, "buttons": {"0": "42"}}),
                "parameters.body.2",
                "missing",
            ),
            (
                json!({"header": {"1": "#42"}, "body": {"1": "A", "2": "B", "3": "C"}, "buttons": {"0": "42"}}),
                "parameters.body.3",
                "no such placeholder",
            ),
            (
                json!({"header": {"1": "#42"}, "body": {"1": "A", "2": "B"}}),
                "parameters.buttons.0",
                "missing",
            ),
            (
                json!({"header": {"1": "#42"}, "body": {"1": "A", "2": 7}, "buttons": {"0": "42"}}),
                "parameters.body.2",
                "expected a string",
            ),
            (
                json!({"header": {"1": "#42"}, "body": {"1": " ", "2": "B"}, "buttons": {"0": "42"}}),
                "parameters.body.1",
                "empty",
            ),
            (
                json!({"header": {"1": "#42"}, "body": {"1": "A\nB", "2": "B"}, "buttons": {"0": "42"}}),
                "parameters.body.1",
                "new lines",
            ),
            (
                json!({"body": {"1": "A", "2": "B"}, "buttons": {"0": "42"}}),
                "parameters.header.1",
                "missing",
            ),
            (json!({"footer": {}}), "parameters.footer", "unknown part"),
            (json!([1]), "parameters", "expected an object"),
        ];
        for (parameters, field, reason) in cases {
            let e = fill(&t, &parameters).unwrap_err();
            assert_eq!(e.field, field, "{parameters}");
            assert!(e.reason.contains(reason), "{parameters}: {}", e.reason);
        }
    }

    #[test]
    fn named_placeholders_and_media_headers() {
        let t = template(
            ParameterFormat::Named,
            vec![
                json!({"type": "HEADER", "format": "IMAGE"}),
                json!({"type": "BODY", "text": "Welcome {{first_name}}!"}),
            ],
        );
        let filled = fill(
            &t,
            &json!({"header": {"link": "https://cdn.example/w.png"}, "body": {"first_name": "Amina"}}),
        )
        .unwrap();
        assert_eq!(
            filled.graph.expose()["components"],
            json!([
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example/w.png"}}]},
                {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Amina"}]}
            ])
        );
        let no_media = fill(&t, &json!({"body": {"first_name": "Amina"}})).unwrap_err();
        assert_eq!(no_media.field, "parameters.header");
        let http = fill(
            &t,
            &json!({"header": {"link": "http://x"}, "body": {"first_name": "A"}}),
        )
        .unwrap_err();
        assert_eq!(http.field, "parameters.header.link");
    }

    #[test]
    fn a_template_known_only_from_a_webhook_cannot_be_filled() {
        let mut t = order_update();
        t.components = None;
        assert_eq!(fill(&t, &json!({})).unwrap_err().field, "template");
    }

    #[test]
    fn a_template_without_placeholders_needs_no_parameters() {
        let t = template(
            ParameterFormat::Positional,
            vec![json!({"type": "BODY", "text": "We are open again."})],
        );
        let filled = fill(&t, &Value::Null).unwrap();
        assert_eq!(filled.graph.expose().get("components"), None);
        assert_eq!(filled.text.expose(), "We are open again.");
    }
}
