//! Asking for an export and following it: `POST /v1/exports`, `GET /v1/exports/{id}`.

use crate::{views, Deps};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState, Revocation};
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::time::days;
use mizan_shared::http_api::{callers_contact, input, ApiError, Caller, Reply};
use mizan_shared::ports::archives::ArchiveError;
use mizan_shared::store::{DataError, Versioned};

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
        last_audited_download_at: None,
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
    let job = callers_export(deps, caller, raw_id).await?;
    let base = views::public_base(deps, request);
    Ok(Reply::ok(views::export(deps, &job.value, Some(&base))))
}

/// How often a revocation is tried again when the export changed meanwhile (a download).
const REVOKE_ATTEMPTS: usize = 3;

/// `DELETE /v1/exports/{id}`: the archive is deleted, the link answers 410 from now on, and the
/// revocation is audited. Revoking a revoked export changes nothing and answers the same.
pub async fn revoke(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    for _ in 0..REVOKE_ATTEMPTS {
        let mut job = callers_export(deps, caller, raw_id).await?;
        if matches!(job.value.state, ExportState::Revoked { .. }) {
            return Ok(Reply::ok(views::export(deps, &job.value, None)));
        }
        let now = deps.store.now();
        let archive = job
            .value
            .revoke(now, Revocation::Business)
            .map_err(|e| ApiError::new(409, "conflict", e.to_string()))?;
        // The archive first: a job that says revoked never names an archive left behind.
        if let Some(object_key) = &archive {
            deps.archives
                .delete(object_key)
                .await
                .map_err(archive_unavailable)?;
        }
        let subject = match &job.value.scope {
            ExportScope::Contact { contact } => Some(contact.clone()),
            ExportScope::Tenant => None,
        };
        let audit = AuditEvent::new(
            caller.tenant.clone(),
            caller.actor(),
            "export.revoked",
            subject,
            now,
        )
        .with_detail(serde_json::json!({
            "export": job.value.id,
            "reason": Revocation::Business.as_str(),
            "archive_deleted": archive.is_some(),
        }));
        match deps.store.save_export_audited(&job, &audit).await {
            Ok(_) => return Ok(Reply::ok(views::export(deps, &job.value, None))),
            Err(DataError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "conflict",
        "the export kept changing (being downloaded); retry",
    ))
}

fn archive_unavailable(e: ArchiveError) -> ApiError {
    tracing::warn!(error = %e, retryable = e.is_retryable(), "archive not deleted");
    ApiError::new(
        503,
        "unavailable",
        "the archive could not be deleted yet; retry shortly (nothing was revoked)",
    )
}

async fn callers_export(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
) -> Result<Versioned<ExportJob>, ApiError> {
    let not_found = || {
        ApiError::new(
            404,
            "export_not_found",
            "this tenant has no export with this id",
        )
    };
    let id = ExportId::parse(raw_id).map_err(|_| not_found())?;
    deps.store
        .export(&caller.tenant, &id)
        .await?
        .ok_or_else(not_found)
}
