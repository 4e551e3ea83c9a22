//! What the API answers with about an export, times in RFC 3339.

use crate::Deps;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::download_token;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use serde_json::{json, Value};

pub fn scope_name(scope: &ExportScope) -> &'static str {
    match scope {
        ExportScope::Contact { .. } => "contact",
        ExportScope::Tenant => "tenant",
    }
}

/// Where this API is reached from, for absolute links: the configured public base URL, else the
/// domain API Gateway received the request on (its request context, which API Gateway sets and
/// the client cannot), else a link relative to the API. Never the `Host` or
/// `X-Forwarded-*` headers: a client that sets `Host: evil.example` must not get a working
/// token on a host it controls.
pub fn public_base(deps: &Deps, request: &Request) -> String {
    if let Some(base) = &deps.public_base_url {
        return base.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .domain_name
            .as_ref()
            .filter(|domain| !domain.is_empty())
            .map(|domain| format!("https://{domain}"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The download link of a job, signed for as long as the export lasts.
pub fn download_url(deps: &Deps, job: &ExportJob, base: &str) -> String {
    download_token::download_url(&deps.signer, base, &job.tenant, &job.id, job.expires_at)
}

/// The job as the API shows it; `base` given, a downloadable job carries its link.
pub fn export(deps: &Deps, job: &ExportJob, base: Option<&str>) -> Value {
    let now = deps.store.now();
    let contact = match &job.scope {
        ExportScope::Contact { contact } => Some(contact),
        ExportScope::Tenant => None,
    };
    let mut view = json!({
        "id": job.id,
        "scope": scope_name(&job.scope),
        "contact_id": contact,
        "status": job.state_at(now),
        "requested_at": job.requested_at.to_rfc3339(),
        "expires_at": job.expires_at.to_rfc3339(),
        "downloads": job.downloads,
        "download_limit": job.download_limit,
    });
    if let ExportState::Ready { size_bytes, .. } = &job.state {
        view["size_bytes"] = json!(size_bytes);
    }
    if let ExportState::Failed { reason } = &job.state {
        view["failure"] = json!(reason);
    }
    if let ExportState::Revoked { at, reason } = &job.state {
        view["revoked_at"] = json!(at.to_rfc3339());
        view["revoked_because"] = json!(reason.as_str());
    }
    if let Some(base) = base.filter(|_| job.downloadable(now)) {
        view["download_url"] = json!(download_url(deps, job, base));
    }
    view
}
