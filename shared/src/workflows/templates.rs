//! A tenant's template registry kept with Meta: a sync reads every template of its WhatsApp
//! Business Account (so a new tenant starts complete, and what changed while webhooks were
//! missed is caught up), a submission sends a new one for review, a deletion removes one at
//! Meta and then here. Every change is audited.

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::template::{LanguageCode, Template, TemplateDefinition, TemplateName};
use crate::domain::tenant::Tenant;
use crate::ports::template_catalog::{CatalogError, TemplateCatalog};
use crate::store::{DataError, Store};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum TemplatesError {
    #[error("the tenant names no WhatsApp Business Account (attach one first)")]
    NoBusinessAccount,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("no template of the tenant has this name and language")]
    NotFound,
    #[error(transparent)]
    Data(#[from] DataError),
}

impl TemplatesError {
    pub fn is_retryable(&self) -> bool {
        match self {
            TemplatesError::Catalog(e) => e.is_retryable(),
            TemplatesError::Data(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Templates stored as Meta lists them (new or updated).
    pub saved: u32,
    /// Templates the registry held that Meta no longer lists: removed.
    pub removed: u32,
    /// Templates Meta lists that Mizan cannot send (a carousel, an unknown category): named
    /// with why, left out.
    pub skipped: Vec<String>,
}

fn audit(
    tenant: &Tenant,
    actor: &Actor,
    action: &str,
    template: &Template,
    at: crate::domain::time::Timestamp,
) -> AuditEvent {
    AuditEvent::new(tenant.id.clone(), actor.clone(), action, None, at).with_detail(json!({
        "template": template.name,
        "language": template.language,
        "status": template.status,
        "category": template.category,
    }))
}

/// Reads every template of the tenant's account from Meta into the registry.
pub async fn sync(
    store: &Store,
    catalog: &dyn TemplateCatalog,
    tenant: &Tenant,
    actor: &Actor,
) -> Result<SyncReport, TemplatesError> {
    let account = tenant
        .business_account
        .as_ref()
        .ok_or(TemplatesError::NoBusinessAccount)?;
    let read_at = store.now();
    let listed = catalog.list(account).await?;
    let mut report = SyncReport::default();
    let mut seen = std::collections::BTreeSet::new();
    for value in &listed {
        match Template::from_graph(tenant.id.clone(), value, read_at) {
            Ok(template) => {
                seen.insert((template.name.clone(), template.language.clone()));
                let event = audit(tenant, actor, "template.synced", &template, read_at);
                store.save_template(&template, &event).await?;
                report.saved += 1;
            }
            Err(why) => {
                let name = value["name"].as_str().unwrap_or("(unnamed)");
                let language = value["language"].as_str().unwrap_or("?");
                report.skipped.push(format!("{name}/{language}: {why}"));
            }
        }
    }
    for stored in store.templates(&tenant.id).await? {
        let key = (stored.name.clone(), stored.language.clone());
        if !seen.contains(&key) {
            let event = audit(tenant, actor, "template.removed", &stored, read_at);
            if store
                .delete_template(&tenant.id, &stored.name, &stored.language, &event)
                .await?
            {
                report.removed += 1;
            }
        }
    }
    Ok(report)
}

/// Submits a new template for Meta's review and records it (`PENDING` until Meta's status
/// webhook says otherwise; the local stand-in approves at once).
pub async fn submit(
    store: &Store,
    catalog: &dyn TemplateCatalog,
    tenant: &Tenant,
    definition: &TemplateDefinition,
    actor: &Actor,
) -> Result<Template, TemplatesError> {
    let account = tenant
        .business_account
        .as_ref()
        .ok_or(TemplatesError::NoBusinessAccount)?;
    let submitted = catalog.submit(account, definition).await?;
    let now = store.now();
    let template = Template {
        tenant: tenant.id.clone(),
        name: definition.name.clone(),
        language: definition.language.clone(),
        meta_id: Some(submitted.id),
        category: submitted.category,
        status: submitted.status,
        quality: "UNKNOWN".into(),
        reason: None,
        parameter_format: if definition.named_parameters {
            crate::domain::template::ParameterFormat::Named
        } else {
            crate::domain::template::ParameterFormat::Positional
        },
        components: Some(definition.components.clone()),
        updated_at: now,
        applied: Default::default(),
    };
    let event = audit(tenant, actor, "template.submitted", &template, now);
    Ok(store.save_template(&template, &event).await?)
}

/// Deletes a template at Meta, then from the registry.
pub async fn delete(
    store: &Store,
    catalog: &dyn TemplateCatalog,
    tenant: &Tenant,
    name: &TemplateName,
    language: &LanguageCode,
    actor: &Actor,
) -> Result<Template, TemplatesError> {
    let template = store
        .template(&tenant.id, name, language)
        .await?
        .ok_or(TemplatesError::NotFound)?;
    let account = tenant
        .business_account
        .as_ref()
        .ok_or(TemplatesError::NoBusinessAccount)?;
    catalog
        .delete(account, name, template.meta_id.as_deref())
        .await?;
    let event = audit(tenant, actor, "template.deleted", &template, store.now());
    store
        .delete_template(&tenant.id, name, language, &event)
        .await?;
    Ok(template)
}
