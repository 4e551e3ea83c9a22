//! Asking for an export and following it: `POST /v1/exports`, `GET /v1/exports/{id}`.

use crate::{views, Deps};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::time::days;
use mizan_shared::http_api::{callers_contact, input, ApiError, Caller, Reply};

/// `{"contact": "<phone number or user id>"}` or `{"scope": "tenant"}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    #[serde(default)]
    contact: Option<String>,
    #[serde(default)]
    scope: Option<RequestedScope>,
}

#[derive(serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum RequestedScope {
    Contact,
    Tenant,
}

async fn scope(
    deps: &Deps,
    caller: &Caller,
    request: ExportRequest,
) -> Result<ExportScope, ApiError> {
    match (request.contact, request.scope) {
        (Some(raw), None | Some(RequestedScope::Contact)) => {
            let contact = callers_contact(&deps.store, caller, &raw).await?;
            Ok(ExportScope::Contact {
                contact: contact.value.id,
            })
        }
        (None, Some(RequestedScope::Tenant)) => Ok(ExportScope::Tenant),
        (Some(_), Some(RequestedScope::Tenant)) => Err(ApiError::invalid(
            "scope",
            "a tenant export covers every contact: give either contact or scope \"tenant\"",
        )),
        (None, _) => Err(ApiError::invalid(
            "contact",
            "give the contact to export, or scope \"tenant\" for the whole account",
        )),
    }
}

/// Records the job (with its audit event); the worker builds the archive from the stream.
pub async fn request(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let body: ExportRequest = input::json_body(request)?;
    let scope = scope(deps, caller, body).await?;
    let now = deps.store.now();
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: caller.tenant.clone(),
        scope,
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(days(u64::from(deps.link_days))),
        requested_by: caller.key.to_string(),
        downloads: 0,
        download_limit: deps.download_limit,
    };
    let subject = match &job.scope {
        ExportScope::Contact { contact } => Some(contact.clone()),
        ExportScope::Tenant => None,
    };
    let audit = AuditEvent::new(
        caller.tenant.clone(),
        caller.actor(),
        "export.requested",
        subject,
        now,
    )
    .with_detail(serde_json::json!({
        "export": job.id,
        "scope": views::scope_name(&job.scope),
    }));
    deps.store.request_export(&job, &audit).await?;
    Ok(Reply::accepted(views::export(deps, &job, None)))
}

/// The export's state, and its download link once it is ready.
pub async fn status(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let not_found = || {
        ApiError::new(
            404,
            "export_not_found",
            "this tenant has no export with this id",
        )
    };
    let id = ExportId::parse(raw_id).map_err(|_| not_found())?;
    let job = deps
        .store
        .export(&caller.tenant, &id)
        .await?
        .ok_or_else(not_found)?;
    let base = views::public_base(deps, request);
    Ok(Reply::ok(views::export(deps, &job.value, Some(&base))))
}
