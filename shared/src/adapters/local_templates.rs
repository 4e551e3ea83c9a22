//! The local runner's stand-in for Meta's template review: what is submitted is kept in memory
//! and approved at once (there is no reviewer on 127.0.0.1), listed back, deleted on request.
//! The registry (the store) is what the API shows; this only answers as Meta would.

use crate::domain::ids::WabaId;
use crate::domain::template::TemplateName;
use crate::ports::template_catalog::{
    CatalogError, Submitted, TemplateCatalog, TemplateDefinition,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One account's templates by (name, language), as Meta would list them.
type AccountTemplates = BTreeMap<(String, String), Value>;

#[derive(Default)]
pub struct LocalTemplates {
    /// By account id.
    accounts: Mutex<BTreeMap<String, AccountTemplates>>,
}

impl LocalTemplates {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, AccountTemplates>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl TemplateCatalog for LocalTemplates {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn list(&self, account: &WabaId) -> Result<Vec<Value>, CatalogError> {
        Ok(self
            .lock()
            .get(account.as_str())
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn submit(
        &self,
        account: &WabaId,
        definition: &TemplateDefinition,
    ) -> Result<Submitted, CatalogError> {
        let mut accounts = self.lock();
        let templates = accounts.entry(account.as_str().to_owned()).or_default();
        let key = (
            definition.name.as_str().to_owned(),
            definition.language.as_str().to_owned(),
        );
        if templates.contains_key(&key) {
            // What Meta answers for a name already used in that language.
            return Err(CatalogError::Refused {
                code: Some(100),
                message: "a template with this name and language already exists".into(),
            });
        }
        let id = format!("{}", 9_000_000_000_000_000u64 + templates.len() as u64 + 1);
        templates.insert(
            key,
            json!({
                "name": definition.name.as_str(),
                "language": definition.language.as_str(),
                "status": "APPROVED",
                "category": definition.category.as_meta(),
                "id": id,
                "parameter_format": if definition.named_parameters { "NAMED" } else { "POSITIONAL" },
                "quality_score": {"score": "UNKNOWN"},
                "components": definition.components,
            }),
        );
        Ok(Submitted {
            id,
            status: "APPROVED".into(),
            category: definition.category,
        })
    }

    async fn delete(
        &self,
        account: &WabaId,
        name: &TemplateName,
        meta_id: Option<&str>,
    ) -> Result<(), CatalogError> {
        if let Some(templates) = self.lock().get_mut(account.as_str()) {
            templates.retain(|(n, _), t| {
                n != name.as_str() || meta_id.is_some_and(|id| t["id"].as_str() != Some(id))
            });
        }
        Ok(())
    }
}
