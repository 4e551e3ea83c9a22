//! A request to broadcast a template (`POST /v1/campaigns`), checked before anything is stored:
//! its fields, every listed recipient's reference and parameters against the template's
//! placeholders (the first offenders are named), and the opt-out a marketing template must carry.

use super::Audience;
use crate::domain::contact_reference::ContactReference;
use crate::domain::identity_hash::IdentifierKind;
use crate::domain::personal::Personal;
use crate::domain::template::{fill, LanguageCode, Template, TemplateName, TemplateRef};
use crate::domain::time::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The most contacts one request may list.
pub const MAX_LISTED: usize = 100_000;
/// How many offending recipients a refusal names.
pub const MAX_OFFENDERS: usize = 20;
pub const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    pub name: String,
    pub template: TemplateField,
    pub audience: AudienceField,
    #[serde(default)]
    pub parameters: Value,
    #[serde(default)]
    pub send_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateField {
    pub name: String,
    pub language: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceField {
    #[serde(default)]
    pub contacts: Option<Vec<ListedField>>,
    #[serde(default)]
    pub segment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedField {
    pub contact: Personal<String>,
    #[serde(default)]
    pub parameters: Personal<Value>,
}

/// One listed recipient, checked: who (a phone number or user id), and its parameters merged
/// over the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedRecipient {
    pub kind: IdentifierKind,
    pub identifier: Personal<String>,
    pub parameters: Personal<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckedCampaign {
    pub name: String,
    pub template: TemplateRef,
    pub audience: Audience,
    pub defaults: Value,
    pub listed: Vec<ListedRecipient>,
    pub send_at: Option<Timestamp>,
}

/// A recipient whose reference or parameters do not fit: by its position in the list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Offender {
    pub index: usize,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{} recipient(s) do not fit the template", .0.len())]
    Recipients(Vec<Offender>),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RequestError {
    RequestError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl CampaignRequest {
    /// Checks everything that needs no template.
    pub fn check(self) -> Result<CheckedCampaign, RequestError> {
        let name = self.name.trim().to_owned();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(invalid(
                "name",
                format!("1 to {MAX_NAME_CHARS} printable characters"),
            ));
        }
        let template = TemplateRef {
            name: TemplateName::parse(&self.template.name)
                .map_err(|e| invalid("template.name", e.to_string()))?,
            language: LanguageCode::parse(&self.template.language)
                .map_err(|e| invalid("template.language", e.to_string()))?,
        };
        if !(self.parameters.is_null() || self.parameters.is_object()) {
            return Err(invalid("parameters", "expected an object"));
        }
        let send_at = self
            .send_at
            .as_deref()
            .map(|t| {
                Timestamp::parse_rfc3339(t)
                    .map_err(|_| invalid("send_at", "an RFC 3339 time, e.g. 2027-01-31T09:00:00Z"))
            })
            .transpose()?;
        let (audience, listed) = match (self.audience.contacts, self.audience.segment.as_deref()) {
            (Some(contacts), None) => {
                if contacts.is_empty() || contacts.len() > MAX_LISTED {
                    return Err(invalid(
                        "audience.contacts",
                        format!("1 to {MAX_LISTED} contacts"),
                    ));
                }
                let mut offenders = Vec::new();
                let mut listed = Vec::with_capacity(contacts.len());
                for (index, entry) in contacts.into_iter().enumerate() {
                    let parsed = ContactReference::parse(entry.contact.expose())
                        .map_err(|e| e.to_string())
                        .and_then(|reference| match reference {
                            ContactReference::Identifier { kind, value } => Ok((kind, value)),
                            // Audiences are stored as keyed hashes of identifiers.
                            ContactReference::Id(_) => Err("a campaign names its recipients by \
                                 phone number (international form) or user id"
                                .to_owned()),
                        });
                    match parsed {
                        Ok((kind, identifier)) => listed.push(ListedRecipient {
                            kind,
                            identifier,
                            parameters: Personal::new(merged(
                                &self.parameters,
                                entry.parameters.expose(),
                            )),
                        }),
                        Err(reason) => offenders.push(Offender {
                            index,
                            field: "contact".into(),
                            reason,
                        }),
                    }
                }
                if !offenders.is_empty() {
                    offenders.truncate(MAX_OFFENDERS);
                    return Err(RequestError::Recipients(offenders));
                }
                (Audience::Listed, listed)
            }
            (None, Some("marketing_opted_in")) => (Audience::MarketingOptedIn, Vec::new()),
            (None, Some(_)) => {
                return Err(invalid(
                    "audience.segment",
                    "the one segment is marketing_opted_in",
                ))
            }
            _ => return Err(invalid("audience", "give either contacts or segment")),
        };
        Ok(CheckedCampaign {
            name,
            template,
            audience,
            defaults: self.parameters,
            listed,
            send_at,
        })
    }
}

impl CheckedCampaign {
    /// The recipients whose parameters do not fit `template` (the first `MAX_OFFENDERS`); for a
    /// segment, the defaults alone must fit.
    pub fn offenders(&self, template: &Template) -> Vec<Offender> {
        let mut offenders = Vec::new();
        match self.audience {
            Audience::MarketingOptedIn => {
                if let Err(e) = fill(template, &self.defaults) {
                    offenders.push(Offender {
                        index: 0,
                        field: e.field,
                        reason: format!(
                            "{} (a segment's recipients all get the default parameters)",
                            e.reason
                        ),
                    });
                }
            }
            Audience::Listed => {
                for (index, recipient) in self.listed.iter().enumerate() {
                    if let Err(e) = fill(template, recipient.parameters.expose()) {
                        offenders.push(Offender {
                            index,
                            field: e.field,
                            reason: e.reason,
                        });
                        if offenders.len() == MAX_OFFENDERS {
                            break;
                        }
                    }
                }
            }
        }
        offenders
    }
}

/// A recipient's parameters over the defaults, section by section (header, body, buttons).
fn merged(defaults: &Value, own: &Value) -> Value {
    let mut out = match defaults {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Value::Object(own) = own {
        for (section, values) in own {
            match (out.get_mut(section), values) {
                (Some(Value::Object(base)), Value::Object(values)) => {
                    for (k, v) in values {
                        base.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    out.insert(section.clone(), values.clone());
                }
            }
        }
    } else if !own.is_null() {
        // Not an object: kept as given, so filling names it.
        return own.clone();
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::TenantId;
    use crate::domain::template::{AppliedAt, ParameterFormat, TemplateCategory};
    use serde_json::json;

    fn check(body: Value) -> Result<CheckedCampaign, RequestError> {
        serde_json::from_value::<CampaignRequest>(body)
            .unwrap()
            .check()
    }

    fn template() -> Template {
        Template {
            tenant: TenantId::new("t"),
            name: TemplateName::parse("spring_sale").unwrap(),
            language: LanguageCode::parse("en").unwrap(),
            meta_id: None,
            category: TemplateCategory::Marketing,
            status: "APPROVED".into(),
            quality: "GREEN".into(),
            reason: None,
            parameter_format: ParameterFormat::Positional,
            components: Some(vec![
                json!({"type": "BODY", "text": "Hi {{1}}, {{2}} off today"}),
            ]),
            updated_at: Timestamp::from_millis(0),
            applied: AppliedAt::default(),
        }
    }

    #[test]
    fn recipients_get_the_defaults_under_their_own_parameters() {
        let checked = check(json!({
            "name": "Spring", "template": {"name": "spring_sale", "language": "en"},
            "parameters": {"body": {"2": "20%"}},
            "audience": {"contacts": [
                {"contact": "+15550100001", "parameters": {"body": {"1": "Amina"}}},
                {"contact": "15550100002", "parameters": {"body": {"1": "Omar", "2": "30%"}}},
                {"contact": "15550100003"}
            ]}
        }))
        .unwrap();
        assert_eq!(
            checked.listed[0].parameters.expose(),
            &json!({"body": {"1": "Amina", "2": "20%"}})
        );
        assert_eq!(checked.listed[1].parameters.expose()["body"]["2"], "30%");
        let offenders = checked.offenders(&template());
        assert_eq!(
            offenders,
            vec![Offender {
                index: 2,
                field: "parameters.body.1".into(),
                reason: "missing".into()
            }]
        );
    }

    #[test]
    fn bad_requests_name_their_field() {
        let base = json!({"name": "Spring", "template": {"name": "spring_sale", "language": "en"},
                          "audience": {"segment": "marketing_opted_in"}});
        assert_eq!(
            check(base.clone()).unwrap().audience,
            Audience::MarketingOptedIn
        );
        let cases = [
            ("name", json!(""), "name"),
            (
                "template",
                json!({"name": "Spring Sale", "language": "en"}),
                "template.name",
            ),
            (
                "audience",
                json!({"segment": "everyone"}),
                "audience.segment",
            ),
            ("audience", json!({}), "audience"),
            ("audience", json!({"contacts": []}), "audience.contacts"),
            ("send_at", json!("tomorrow"), "send_at"),
            ("parameters", json!([1]), "parameters"),
        ];
        for (key, value, field) in cases {
            let mut body = base.clone();
            body[key] = value;
            match check(body) {
                Err(RequestError::Invalid { field: f, .. }) => assert_eq!(f, field, "{key}"),
                other => panic!("{key}: {other:?}"),
            }
        }
        let bad_contact = check(
            json!({"name": "S", "template": {"name": "s", "language": "en"},
            "audience": {"contacts": [{"contact": "15550100001"}, {"contact": "not a number!"}]}}),
        );
        match bad_contact {
            Err(RequestError::Recipients(offenders)) => {
                assert_eq!(
                    (offenders[0].index, offenders[0].field.as_str()),
                    (1, "contact")
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
