//! Asking for an export, following it and revoking it: `POST /v1/exports`,
//! `GET|DELETE /v1/exports/{id}`.

use crate::{views, Deps};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState, Revocation};
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::rights_request::{RightsKind, RightsRequest, RightsState};
use mizan_shared::domain::time::days;
use mizan_shared::http_api::{callers_contact, input, ApiError, Caller, Reply};
use mizan_shared::store::Versioned;
use mizan_shared::workflows::export::{revoke_export, RevocationError, Revoked};

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
        chat_request: None,
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
    if let ExportScope::Contact { contact } = &job.scope {
        // On the register of rights requests: a copy of a person's data (access, portability).
        let mut register = RightsRequest::carried_out_by_api(
            caller.tenant.clone(),
            contact.clone(),
            RightsKind::Access,
            RightsState::Completed,
            "export_requested",
            now,
        );
        register.export = Some(job.id.clone());
        if let Err(e) = deps.store.file_rights_request(&register).await {
            tracing::warn!(tenant = %caller.tenant, error = %e, "an export request is not on the register");
        }
    }
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

/// `DELETE /v1/exports/{id}`: the archive is deleted, the link answers 410 from now on, and the
/// revocation is audited. Revoking a revoked export changes nothing and answers the same.
pub async fn revoke(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    let job = callers_export(deps, caller, raw_id).await?;
    let outcome = revoke_export(
        &deps.store,
        deps.archives.as_ref(),
        &caller.tenant,
        &job.value.id,
        Revocation::Business,
        caller.actor(),
        None,
        |_| true,
    )
    .await;
    match outcome {
        Ok(Revoked::Now(job) | Revoked::Already(job)) => {
            Ok(Reply::ok(views::export(deps, &job, None)))
        }
        // Removed by the purge between the two reads.
        Ok(Revoked::Skipped) => Err(export_not_found()),
        Err(RevocationError::Data(e)) => Err(e.into()),
        Err(RevocationError::Archive(e)) => {
            tracing::warn!(error = %e, retryable = e.is_retryable(), "archive not deleted");
            Err(ApiError::new(
                503,
                "unavailable",
                "the archive could not be deleted yet; retry shortly (nothing was revoked)",
            ))
        }
        Err(e @ RevocationError::KeptChanging) => Err(ApiError::new(
            409,
            "conflict",
            format!("{e} (being downloaded); retry"),
        )),
    }
}

fn export_not_found() -> ApiError {
    ApiError::new(
        404,
        "export_not_found",
        "this tenant has no export with this id",
    )
}

async fn callers_export(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
) -> Result<Versioned<ExportJob>, ApiError> {
    let id = ExportId::parse(raw_id).map_err(|_| export_not_found())?;
    deps.store
        .export(&caller.tenant, &id)
        .await?
        .ok_or_else(export_not_found)
}
