//! The tenant's WhatsApp message templates: the registry as it is (kept in sync by Meta's
//! template webhooks and `mizan-local templates sync`), a new template submitted for Meta's
//! review, one deleted at Meta and here. Another tenant's template is answered like a missing one.

use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::template::{LanguageCode, SubmissionRequest, TemplateName};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::ports::template_catalog::CatalogError;
use mizan_shared::workflows::templates::{self, TemplatesError};

pub async fn list(deps: &Deps, caller: &Caller) -> Result<Reply, ApiError> {
    let templates = deps.store.templates(&caller.tenant).await?;
    Ok(Reply::ok(serde_json::json!({
        "templates": templates.iter().map(views::template).collect::<Vec<_>>(),
    })))
}

pub async fn get(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let (name, language) = named(raw)?;
    let template = deps
        .store
        .template(&caller.tenant, &name, &language)
        .await?
        .ok_or_else(not_found)?;
    Ok(Reply::ok(views::template(&template)))
}

pub async fn submit(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let body: SubmissionRequest = input::json_body(request)?;
    let definition = body
        .check()
        .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let tenant = tenant(deps, caller).await?;
    let template = templates::submit(
        &deps.store,
        deps.templates.as_ref(),
        &tenant,
        &definition,
        &caller.actor(),
    )
    .await
    .map_err(answer)?;
    Ok(Reply::created(views::template(&template)))
}

pub async fn delete(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let (name, language) = named(raw)?;
    let tenant = tenant(deps, caller).await?;
    let deleted = templates::delete(
        &deps.store,
        deps.templates.as_ref(),
        &tenant,
        &name,
        &language,
        &caller.actor(),
    )
    .await
    .map_err(answer)?;
    Ok(Reply::ok(serde_json::json!({
        "name": deleted.name,
        "language": deleted.language,
        "deleted": true,
    })))
}

async fn tenant(deps: &Deps, caller: &Caller) -> Result<Tenant, ApiError> {
    deps.store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the key's tenant is gone"))
}

/// `{name}/{language}` of the path, each as Meta allows it.
fn named(raw: &str) -> Result<(TemplateName, LanguageCode), ApiError> {
    let (name, language) = raw.split_once('/').ok_or_else(not_found)?;
    Ok((
        TemplateName::parse(name).map_err(|e| ApiError::invalid("name", e.to_string()))?,
        LanguageCode::parse(language).map_err(|e| ApiError::invalid("language", e.to_string()))?,
    ))
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "template_not_found",
        "no template of this tenant has this name and language",
    )
}

fn answer(e: TemplatesError) -> ApiError {
    let message = e.to_string();
    match e {
        TemplatesError::NotFound => not_found(),
        TemplatesError::NoBusinessAccount => ApiError::new(409, "no_business_account", message),
        TemplatesError::Catalog(CatalogError::Refused { message, .. }) => {
            ApiError::new(422, "refused_by_meta", message)
        }
        TemplatesError::Catalog(CatalogError::Unavailable(_)) => {
            ApiError::new(503, "meta_unavailable", message)
        }
        TemplatesError::Data(e) => e.into(),
    }
}
