//! The HTTP router: the runner's own routes under `/local/`, then every function's routes at the
//! paths `template.yaml` gives them, and JSON errors for everything else.
//!
//! Mounting a function: its crate exposes `handle(&Deps, lambda_http::Request)`. Its route here
//! turns the axum request into a `lambda_http::Request` (an `http::Request<lambda_http::Body>`
//! with an API Gateway HTTP API request context, path and query parameters as extensions),
//! calls the same `handle` Lambda calls, and turns the response back; nothing else differs.

use crate::api_error::ApiError;
use crate::lambda_bridge;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::{Json, Router};
use mizan_shared::adapters::embedded::EmbeddedStore;
use mizan_shared::domain::ids::TenantId;
use mizan_shared::store::Store;
use serde_json::json;

/// What route handlers share: built once at start, like a Lambda's dependencies.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The same store as `store`, for its change feed's progress.
    pub embedded: EmbeddedStore,
    /// The webhook-intake function's dependencies.
    pub webhook: mizan_webhook_intake::Deps,
    /// What ai-reply would have posted to the Graph API (when no token is configured).
    pub outbox: std::sync::Arc<mizan_shared::adapters::outbox::Outbox>,
    /// The consent-api function's dependencies.
    pub consent: mizan_consent_api::Deps,
    /// The data-export function's dependencies (its API; the worker is a feed consumer).
    pub export: mizan_data_export::Deps,
    /// How long a client has to send a request's body (its headers: `http_server`).
    pub read_timeout: std::time::Duration,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/local/health", get(health))
        .route("/local/outbox", get(outbox))
        .merge(function_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Routes of the Lambda functions (webhook-intake, consent-api, data-export), added as each
/// function crate is built.
fn function_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/whatsapp",
            get(webhook_intake).post(webhook_intake),
        )
        .merge(consent_api_routes())
        .merge(data_export_routes())
}

/// consent-api's paths (`mizan_consent_api::ROUTES`) and data-export's
/// (`mizan_data_export::ROUTES`): every method reaches the function, which answers 404/405
/// itself exactly as on Lambda.
fn consent_api_routes() -> Router<AppState> {
    every_method(
        mizan_consent_api::ROUTES.iter().map(|r| r.path),
        any(consent_api),
    )
}

fn data_export_routes() -> Router<AppState> {
    every_method(
        mizan_data_export::ROUTES.iter().map(|r| r.path),
        any(data_export),
    )
}

fn every_method(
    paths: impl Iterator<Item = &'static str>,
    function: MethodRouter<AppState>,
) -> Router<AppState> {
    let mut paths: Vec<&str> = paths.collect();
    paths.sort_unstable();
    paths.dedup();
    paths.into_iter().fold(Router::new(), |router, path| {
        router.route(path, function.clone())
    })
}

async fn consent_api(State(state): State<AppState>, request: Request) -> Response {
    match lambda_bridge::to_lambda(request, state.read_timeout).await {
        Ok(request) => {
            lambda_bridge::from_lambda(mizan_consent_api::handle(&state.consent, request).await)
        }
        Err(refused) => refused.into_response(),
    }
}

async fn data_export(State(state): State<AppState>, request: Request) -> Response {
    match lambda_bridge::to_lambda(request, state.read_timeout).await {
        Ok(request) => {
            lambda_bridge::from_lambda(mizan_data_export::handle(&state.export, request).await)
        }
        Err(refused) => refused.into_response(),
    }
}

async fn webhook_intake(State(state): State<AppState>, request: Request) -> Response {
    match lambda_bridge::to_lambda(request, state.read_timeout).await {
        Ok(request) => {
            lambda_bridge::from_lambda(mizan_webhook_intake::handle(&state.webhook, request).await)
        }
        Err(refused) => refused.into_response(),
    }
}

/// A tenant id no tenant has: reading it proves the store answers without touching data.
const PROBE_TENANT: &str = "local-health-probe";

async fn health(State(state): State<AppState>) -> Response {
    match feed_progress(&state).await {
        Ok((position, latest)) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "backend": "embedded",
                // How far the stream consumers (ai-reply, the export worker) have got: under a
                // load they run behind the webhook and catch up afterwards.
                "change_feed": {
                    "position": position,
                    "latest": latest,
                    "pending": (latest - position).max(0),
                },
            })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the store did not answer");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store did not answer",
            )
            .into_response()
        }
    }
}

/// The change feed's position and the newest change, after a read through the store's port.
async fn feed_progress(state: &AppState) -> Result<(i64, i64), String> {
    state
        .store
        .tenant(&TenantId::new(PROBE_TENANT))
        .await
        .map_err(|e| e.to_string())?;
    let position = state
        .embedded
        .feed_position(crate::feed::CONSUMER)
        .await
        .map_err(|e| e.to_string())?;
    let latest = state
        .embedded
        .latest_change()
        .await
        .map_err(|e| e.to_string())?;
    Ok((position, latest))
}

/// `GET /local/outbox`: the Graph API request bodies ai-reply would have posted, oldest first,
/// each with the `phone_number_id` it was sent from.
async fn outbox(State(state): State<AppState>) -> Response {
    Json(state.outbox.entries()).into_response()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}
