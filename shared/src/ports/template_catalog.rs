//! Meta's side of a tenant's message templates: what its WhatsApp Business Account holds, a new
//! template submitted for review, one deleted. Adapters: the Graph API, and a local stand-in for
//! the runner (no review: what it is given is approved).

use crate::domain::ids::WabaId;
pub use crate::domain::template::TemplateDefinition;
use crate::domain::template::{TemplateCategory, TemplateName};
use async_trait::async_trait;
use serde_json::Value;

/// Meta's answer to a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    pub id: String,
    pub status: String,
    pub category: TemplateCategory,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// Meta refused the request (its message says why: a duplicate name, a bad component).
    #[error("the WhatsApp Business API refused it (code {code:?}): {message}")]
    Refused { code: Option<i64>, message: String },
    /// Worth retrying later: throttling, 5xx, timeouts.
    #[error("the WhatsApp Business API is unavailable: {0}")]
    Unavailable(String),
}

impl CatalogError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, CatalogError::Unavailable(_))
    }
}

#[async_trait]
pub trait TemplateCatalog: Send + Sync {
    fn name(&self) -> &'static str;

    /// Every template of the account, each as Meta describes it (`name`, `language`, `status`,
    /// `category`, `id`, `components`, `quality_score`, `parameter_format`), all pages.
    async fn list(&self, account: &WabaId) -> Result<Vec<Value>, CatalogError>;

    async fn submit(
        &self,
        account: &WabaId,
        definition: &TemplateDefinition,
    ) -> Result<Submitted, CatalogError>;

    /// Deletes the template in this language (`hsm_id`), or in every language without one.
    async fn delete(
        &self,
        account: &WabaId,
        name: &TemplateName,
        meta_id: Option<&str>,
    ) -> Result<(), CatalogError>;
}
