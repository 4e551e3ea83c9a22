//! The Graph API's message templates of a WhatsApp Business Account:
//! `GET /{version}/{waba-id}/message_templates` (paged with `paging.cursors.after`),
//! `POST` the same path to submit one for review, `DELETE` it with `name` (and `hsm_id` for one
//! language). Errors come back as `{"error":{"message","code",…}}`; Meta's message names what is
//! wrong with a template (business data, never personal data).

use super::backoff::{exchange, retrying, Failure, HttpAnswer, NoAnswer, RetryPolicy};
use super::graph::GraphSettings;
use super::lazy_http::LazyHttp;
use crate::domain::ids::WabaId;
use crate::domain::template::{TemplateCategory, TemplateName};
use crate::ports::template_catalog::{
    CatalogError, Submitted, TemplateCatalog, TemplateDefinition,
};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// The fields a listing asks for: what the registry keeps.
pub const LISTED_FIELDS: &str =
    "name,language,status,category,id,components,quality_score,parameter_format,rejected_reason";
/// Templates per page (Meta's maximum is larger; this keeps answers small).
pub const PAGE_SIZE: usize = 100;
/// A bound on pages, so a misbehaving cursor cannot loop forever (250 templates per account
/// is Meta's limit for most accounts; 100 pages of 100 is far beyond it).
pub const MAX_PAGES: usize = 100;

pub struct GraphTemplates {
    http: LazyHttp,
    settings: GraphSettings,
}

/// The body of a submission.
pub fn submission_body(definition: &TemplateDefinition) -> Value {
    let mut body = json!({
        "name": definition.name.as_str(),
        "language": definition.language.as_str(),
        "category": definition.category.as_meta(),
        "components": definition.components,
    });
    if definition.named_parameters {
        body["parameter_format"] = json!("NAMED");
    }
    body
}

fn refused_or_retry(answer: HttpAnswer) -> Failure<CatalogError> {
    let code = answer.body["error"]["code"].as_i64();
    let message = answer.body["error"]["error_user_msg"]
        .as_str()
        .or(answer.body["error"]["message"].as_str())
        .unwrap_or("no error body")
        .chars()
        .take(300)
        .collect::<String>();
    if answer.is_transient() || matches!(code, Some(4 | 80007 | 130429 | 1 | 2)) {
        Failure::Retry {
            error: CatalogError::Unavailable(format!("http {}: {message}", answer.status)),
            retry_after: answer.retry_after,
        }
    } else {
        Failure::Final(CatalogError::Refused { code, message })
    }
}

fn no_answer(e: NoAnswer) -> Failure<CatalogError> {
    Failure::Retry {
        error: CatalogError::Unavailable(e.describe().into()),
        retry_after: None,
    }
}

impl GraphTemplates {
    /// Its HTTP client is made on the first call (most API requests never make one).
    pub fn new(settings: GraphSettings) -> Self {
        GraphTemplates {
            http: LazyHttp::new(settings.timeout),
            settings,
        }
    }

    fn url(&self, account: &WabaId) -> String {
        format!(
            "{}/{}/{account}/message_templates",
            self.settings.base_url.trim_end_matches('/'),
            self.settings.version
        )
    }

    /// The URL with its query, percent-encoded.
    fn url_with(&self, account: &WabaId, query: &[(&str, String)]) -> reqwest::Url {
        let mut url = reqwest::Url::parse(&self.url(account))
            .unwrap_or_else(|_| reqwest::Url::parse("http://invalid.invalid/").expect("a URL"));
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        url
    }

    async fn call(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        policy: &RetryPolicy,
    ) -> Result<Value, CatalogError> {
        let http = self
            .http
            .client()
            .map_err(|e| CatalogError::Unavailable(format!("cannot make the HTTP client: {e}")))?;
        retrying(policy, "graph-templates", || async {
            let request = build(http).bearer_auth(self.settings.access_token.expose_secret());
            match exchange(request).await {
                Ok(answer) if answer.is_success() => Ok(answer.body),
                Ok(answer) => Err(refused_or_retry(answer)),
                Err(e) => Err(no_answer(e)),
            }
        })
        .await
    }
}

#[async_trait]
impl TemplateCatalog for GraphTemplates {
    fn name(&self) -> &'static str {
        "graph"
    }

    async fn list(&self, account: &WabaId) -> Result<Vec<Value>, CatalogError> {
        let mut templates = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .call(
                    |http| {
                        let mut query = vec![
                            ("fields", LISTED_FIELDS.to_owned()),
                            ("limit", PAGE_SIZE.to_string()),
                        ];
                        if let Some(cursor) = &after {
                            query.push(("after", cursor.clone()));
                        }
                        http.get(self.url_with(account, &query))
                    },
                    &self.settings.retry,
                )
                .await?;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            let empty = data.is_empty();
            templates.extend(data);
            // Meta names a next page only when there is one.
            match (
                page["paging"]["next"].as_str(),
                page["paging"]["cursors"]["after"].as_str(),
            ) {
                (Some(_), Some(cursor)) if !empty => after = Some(cursor.to_owned()),
                _ => return Ok(templates),
            }
        }
        Err(CatalogError::Unavailable(format!(
            "more than {MAX_PAGES} pages of templates"
        )))
    }

    async fn submit(
        &self,
        account: &WabaId,
        definition: &TemplateDefinition,
    ) -> Result<Submitted, CatalogError> {
        let body = submission_body(definition);
        // A submission that timed out may have been taken: it is not repeated (Meta would
        // refuse the duplicate name anyway), a sync shows what happened.
        let once = RetryPolicy {
            max_attempts: 1,
            ..self.settings.retry
        };
        let answer = self
            .call(|http| http.post(self.url(account)).json(&body), &once)
            .await?;
        let id = match &answer["id"] {
            Value::String(id) => id.clone(),
            Value::Number(id) => id.to_string(),
            _ => {
                return Err(CatalogError::Refused {
                    code: None,
                    message: "the answer names no template id".into(),
                })
            }
        };
        Ok(Submitted {
            id,
            status: answer["status"].as_str().unwrap_or("PENDING").to_owned(),
            category: answer["category"]
                .as_str()
                .and_then(TemplateCategory::parse)
                .unwrap_or(definition.category),
        })
    }

    async fn delete(
        &self,
        account: &WabaId,
        name: &TemplateName,
        meta_id: Option<&str>,
    ) -> Result<(), CatalogError> {
        let mut query = vec![("name", name.as_str().to_owned())];
        if let Some(id) = meta_id {
            query.push(("hsm_id", id.to_owned()));
        }
        self.call(
            |http| http.delete(self.url_with(account, &query)),
            &self.settings.retry,
        )
        .await
        .map(|_| ())
    }
}
