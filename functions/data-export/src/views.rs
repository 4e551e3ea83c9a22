//! What the API answers with about an export, times in RFC 3339.

use crate::{Deps, DOWNLOAD_PATH};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::download_token::DownloadGrant;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use serde_json::{json, Value};

pub fn scope_name(scope: &ExportScope) -> &'static str {
    match scope {
        ExportScope::Contact { .. } => "contact",
        ExportScope::Tenant => "tenant",
    }
}

/// Where this API is reached from, for absolute links: API Gateway passes its domain as `Host`
/// and `X-Forwarded-Proto: https`; the local runner is plain HTTP on loopback.
pub fn public_base(request: &Request) -> String {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match header("x-forwarded-proto") {
        Some("https") => "https",
        Some(_) | None => "http",
    };
    if let Some(host) = header("host") {
        return format!("{scheme}://{host}");
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .domain_name
            .as_ref()
            .map(|domain| format!("https://{domain}"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// The download link of a job, signed for as long as the export lasts.
pub fn download_url(deps: &Deps, job: &ExportJob, base: &str) -> String {
    let token = deps.signer.sign(&DownloadGrant {
        tenant: job.tenant.clone(),
        export: job.id.clone(),
        expires_at: job.expires_at,
    });
    format!("{base}{DOWNLOAD_PATH}?token={token}")
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
    if let Some(base) = base.filter(|_| job.downloadable(now)) {
        view["download_url"] = json!(download_url(deps, job, base));
    }
    view
}
