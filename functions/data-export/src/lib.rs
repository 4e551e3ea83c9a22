//! `data-export`: the rights of access and portability (P6). Businesses ask for an archive of one
//! contact's data (or of their whole account) with their API key; a worker builds it from the
//! data table's stream; whoever holds the signed link downloads it until the link expires.
//!
//! Entry points: [`handle`] (API Gateway HTTP API, payload 2.0) and [`worker::handle`] (the
//! DynamoDB stream, filtered to new export jobs). Routes: [`ROUTES`].

mod download;
mod requests;
mod routes;
mod views;
pub mod worker;

pub use routes::{resolve, Operation, Resolved, Route, DOWNLOAD_PATH, ROUTES};

use lambda_http::{Body, Request, Response};
use mizan_shared::backend::{self, Services};
use mizan_shared::config::{Config, ExportConfig};
use mizan_shared::domain::api_key::Scope;
use mizan_shared::domain::download_token::TokenSigner;
use mizan_shared::domain::ids::TenantId;
use mizan_shared::http_api::{authenticate, request_path, ApiError, Caller, Reply};
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a presigned S3 URL the download route redirects to stays valid: long enough to
/// start the download, short enough that a leaked URL is soon useless.
pub const PRESIGNED_URL_LIFETIME: Duration = Duration::from_secs(300);

/// What the handlers need, built once per Lambda instance (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    pub archives: Arc<dyn ArchiveStore>,
    pub signer: Arc<TokenSigner>,
    /// How long a new export's link (and its archive) lasts.
    pub link_days: u32,
    /// Downloads allowed per export; `None` for no limit.
    pub download_limit: Option<u32>,
    /// Where download links point (`MIZAN_PUBLIC_BASE_URL`); `None`: API Gateway's domain.
    pub public_base_url: Option<String>,
}

pub use mizan_shared::startup::{StartupError, Wiring};

impl Wiring for Deps {
    /// It deletes or builds export archives: the S3 client is linked.
    const AWS_ARCHIVES: mizan_shared::backend::AwsArchives = mizan_shared::backend::s3_archives;

    type Settings = ExportConfig;

    fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<ExportConfig, StartupError> {
        Ok(ExportConfig::from_lookup(lookup)?)
    }

    /// The API and the worker share these (the runner builds them once for both).
    fn new(
        services: &Services,
        config: &Config,
        export: &ExportConfig,
    ) -> Result<Deps, StartupError> {
        let key = backend::export_token_key(config, export)?;
        Ok(Deps {
            store: services.store.clone(),
            archives: services.archives.clone(),
            signer: Arc::new(TokenSigner::new(key.to_vec())),
            link_days: export.link_days,
            download_limit: export.download_limit,
            public_base_url: export.public_base_url.clone(),
        })
    }
}

/// The API handler: the story of one request. Every outcome is an HTTP answer.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    let path = request_path(&request);
    let method = request.method().as_str().to_owned();
    let (operation, parameter) = match resolve(&method, &path) {
        Resolved::Found {
            operation,
            parameter,
        } => (operation, parameter),
        Resolved::MethodNotAllowed(allowed) => {
            return Ok(ApiError::method_not_allowed(&allowed).into_response())
        }
        Resolved::NotFound => return Ok(ApiError::route_not_found(&method).into_response()),
    };
    let (tenant, response) = match operation {
        // The download link's token is its credential: no API key.
        Operation::Download => (None, download::download(deps, &request).await),
        Operation::RequestExport => {
            with_api_key(deps, &request, async |caller| {
                requests::request(deps, caller, &request).await
            })
            .await
        }
        Operation::GetExport => {
            let id = parameter.unwrap_or_default();
            with_api_key(deps, &request, async |caller| {
                requests::status(deps, caller, id, &request).await
            })
            .await
        }
        Operation::RevokeExport => {
            let id = parameter.unwrap_or_default();
            with_api_key(deps, &request, async |caller| {
                requests::revoke(deps, caller, id, &request).await
            })
            .await
        }
    };
    tracing::info!(
        operation = operation.name(),
        tenant = tenant.as_ref().map(|t| t.as_str()),
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request answered"
    );
    Ok(response)
}

/// Runs `operation` for the tenant of the request's API key (401 without a valid one); the
/// tenant answered for, and the answer.
async fn with_api_key(
    deps: &Deps,
    request: &Request,
    operation: impl AsyncFnOnce(&Caller) -> Result<Reply, ApiError>,
) -> (Option<TenantId>, Response<Body>) {
    let caller = match authenticate(&deps.store, request.headers()).await {
        Ok(caller) => caller,
        Err(e) => return (None, e.into_response()),
    };
    // Exports carry out the rights of access and portability: every API route needs `rights`.
    if let Err(e) = caller.require(Scope::Rights) {
        return (Some(caller.tenant), e.into_response());
    }
    let answer = match operation(&caller).await {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    };
    (Some(caller.tenant), answer)
}
