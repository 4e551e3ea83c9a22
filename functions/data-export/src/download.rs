//! `GET /exports/download?token=…`: the link holder's download. The token is the credential: its
//! signature and expiry are checked before anything is read, and a link that is not valid gets
//! the same answer whether or not its export exists.

use crate::{Deps, PRESIGNED_URL_LIFETIME};
use lambda_http::{Body, Request, RequestExt, Response};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::download_token::{DownloadGrant, TokenError};
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::http_api::ApiError;
use mizan_shared::ports::archives::{ArchiveError, ArchiveLocation};
use mizan_shared::store::{DataError, Versioned};

/// How often a download is counted again when another download changed the export meanwhile.
const ATTEMPTS: usize = 3;

/// Tampered, foreign or missing tokens.
fn invalid_link() -> ApiError {
    ApiError::new(403, "link_invalid", "this download link is not valid")
}

/// Expired links, and valid links to an export that is gone, expired, failed or used up.
fn gone() -> ApiError {
    ApiError::new(
        410,
        "link_expired",
        "this download link has expired or can no longer be used; ask for a new export",
    )
}

pub async fn download(deps: &Deps, request: &Request) -> Response<Body> {
    match serve(deps, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn serve(deps: &Deps, request: &Request) -> Result<Response<Body>, ApiError> {
    let query = request.query_string_parameters();
    let token = query.first("token").ok_or_else(invalid_link)?;
    let grant = deps
        .signer
        .verify(token, deps.store.now())
        .map_err(|e| match e {
            TokenError::Invalid => invalid_link(),
            TokenError::Expired => gone(),
        })?;
    for _ in 0..ATTEMPTS {
        let job = deps
            .store
            .export(&grant.tenant, &grant.export)
            .await?
            .ok_or_else(gone)?;
        if !job.value.downloadable(deps.store.now()) {
            tracing::info!(
                tenant = %grant.tenant,
                export = %grant.export,
                state = job.value.state_at(deps.store.now()),
                downloads = job.value.downloads,
                "download refused: the export cannot be downloaded any more"
            );
            return Err(gone());
        }
        let ExportState::Ready { object_key, .. } = &job.value.state else {
            return Err(gone());
        };
        // Where to get it comes first: a download is counted only once it can be served.
        let location = deps
            .archives
            .location(object_key, PRESIGNED_URL_LIFETIME)
            .await
            .map_err(archive_error)?;
        let served = match location {
            ArchiveLocation::Url(url) => Served::Redirect(url),
            ArchiveLocation::Served => Served::Bytes(
                deps.archives
                    .read(object_key)
                    .await
                    .map_err(archive_error)?,
            ),
        };
        match count(deps, &grant, job).await {
            Ok(()) => return Ok(served.into_response(&grant)),
            Err(DataError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "conflict",
        "the export is being downloaded right now; retry",
    ))
}

/// One more download, with its audit event in the same transaction unless one was written
/// less than a minute ago (then the next audited download carries the count).
async fn count(
    deps: &Deps,
    grant: &DownloadGrant,
    mut job: Versioned<ExportJob>,
) -> Result<(), DataError> {
    if !job.value.count_download(deps.store.now()) {
        deps.store.save_export(&job).await?;
        return Ok(());
    }
    let subject = match &job.value.scope {
        ExportScope::Contact { contact } => Some(contact.clone()),
        ExportScope::Tenant => None,
    };
    let audit = AuditEvent::new(
        grant.tenant.clone(),
        Actor::LinkHolder,
        "export.downloaded",
        subject,
        deps.store.now(),
    )
    .with_detail(serde_json::json!({
        "export": grant.export,
        "download": job.value.downloads,
    }));
    deps.store.save_export_audited(&job, &audit).await?;
    Ok(())
}

fn archive_error(e: ArchiveError) -> ApiError {
    match e {
        // Removed by the purge or an erasure between the read and now.
        ArchiveError::NotFound => gone(),
        e if e.is_retryable() => {
            tracing::warn!(error = %e, "archive storage unavailable");
            ApiError::new(503, "unavailable", "archive storage is busy; retry shortly")
        }
        e => {
            tracing::error!(error = %e, "archive cannot be served");
            ApiError::new(500, "internal", "the archive could not be served")
        }
    }
}

enum Served {
    /// A presigned URL (S3): the holder downloads from there.
    Redirect(String),
    /// The archive itself, decrypted (the local runner).
    Bytes(Vec<u8>),
}

impl Served {
    fn into_response(self, grant: &DownloadGrant) -> Response<Body> {
        let builder = Response::builder()
            .header("cache-control", "no-store")
            .header("referrer-policy", "no-referrer");
        match self {
            Served::Redirect(url) => builder
                .status(302)
                .header("location", url)
                .body(Body::Empty),
            Served::Bytes(bytes) => builder
                .status(200)
                .header("content-type", "application/zip")
                .header(
                    "content-disposition",
                    format!("attachment; filename=\"mizan-export-{}.zip\"", grant.export),
                )
                .body(Body::Binary(bytes)),
        }
        .expect("a download response is valid")
    }
}
