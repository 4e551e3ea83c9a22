//! `GET /v1/record-of-processing?format=json|markdown`: the business's record of processing
//! activities (GDPR Art. 30), generated from the code's categories and retention policy, the
//! tenant's settings and this deployment's configuration.

use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::record_of_processing::record;
use mizan_shared::http_api::{input, ApiError, Caller};

pub async fn get(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    input::known_query(request, &["format"])?;
    let markdown = input::format(request, &["json", "markdown"])? == "markdown";
    let tenant = deps
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(404, "tenant_not_found", "the tenant is gone"))?;
    let document = record(&tenant, &deps.deployment, deps.store.now());
    if markdown {
        return Ok(Reply::document(
            "text/markdown; charset=utf-8",
            document.to_markdown(),
        ));
    }
    let body = serde_json::to_value(&document)
        .map_err(|e| ApiError::new(500, "internal", e.to_string()))?;
    Ok(Reply::ok(body))
}
