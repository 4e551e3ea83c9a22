//! The business's webhook endpoints: `GET/POST /v1/webhooks`, `DELETE /v1/webhooks/{id}`,
//! `POST /v1/webhooks/{id}/enable`, and each endpoint's delivery log,
//! `GET /v1/webhooks/{id}/deliveries` with `POST …/deliveries/{delivery}/replay`. The signing
//! secret is in the answer to the POST only.

use crate::paging::Pages;
use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::webhook::{Delivery, EndpointState, WebhookEndpoint};
use mizan_shared::domain::webhook_signature::{
    DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TOLERANCE_SECONDS,
};
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::workflows::webhooks::{Endpoints, NewEndpoint, WebhookError};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

pub const MAX_LIMIT: usize = 100;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointInput {
    url: String,
    events: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

fn endpoints(deps: &Deps) -> Endpoints<'_> {
    Endpoints {
        store: &deps.store,
        policy: deps.webhook_urls,
    }
}

pub fn view(endpoint: &WebhookEndpoint) -> Value {
    let (state, disabled_at, disabled_reason) = match &endpoint.state {
        EndpointState::Enabled => ("enabled", None, None),
        EndpointState::Disabled { at, reason } => {
            ("disabled", Some(at.to_rfc3339()), Some(reason.as_str()))
        }
    };
    json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "state": state,
        "disabled_at": disabled_at,
        "disabled_reason": disabled_reason,
        "failing_since": endpoint.failing_since.map(|t| t.to_rfc3339()),
        "created_at": endpoint.created_at.to_rfc3339(),
    })
}

fn delivery_view(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id(),
        "event": delivery.event.body(),
        "state": delivery.state,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at.to_rfc3339(),
        "last_attempt_at": delivery.last_attempt_at.map(|t| t.to_rfc3339()),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at.map(|t| t.to_rfc3339()),
        "delivered_at": delivery.delivered_at.map(|t| t.to_rfc3339()),
        "replays": delivery.replays,
    })
}

fn api_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Invalid { field, reason } => ApiError::invalid(field, reason),
        WebhookError::EndpointNotFound => {
            ApiError::new(404, "webhook_not_found", "no webhook endpoint has this id")
        }
        WebhookError::DeliveryNotFound => ApiError::new(
            404,
            "delivery_not_found",
            "no delivery of this endpoint has this id (the log keeps 30 days)",
        ),
        WebhookError::TooMany => ApiError::new(409, "too_many_webhooks", e.to_string()),
        WebhookError::State { code, message } => ApiError::new(409, code, message),
        WebhookError::Data(e) => e.into(),
    }
}

pub async fn list(deps: &Deps, caller: &Caller) -> Result<Reply, ApiError> {
    let listed = endpoints(deps)
        .list(&caller.tenant)
        .await
        .map_err(api_error)?;
    Ok(Reply::ok(json!({
        "webhooks": listed.iter().map(view).collect::<Vec<_>>(),
    })))
}

pub async fn add(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let input: EndpointInput = input::json_body(request)?;
    let (endpoint, secret) = endpoints(deps)
        .add(
            &caller.tenant,
            caller.actor(),
            NewEndpoint {
                url: input.url,
                events: input.events,
                description: input.description,
            },
        )
        .await
        .map_err(api_error)?;
    let mut body = view(&endpoint);
    // Shown this once: Mizan derives it when it signs and never shows it again.
    body["secret"] = json!(secret.expose_secret());
    body["signature"] = json!({
        "header": SIGNATURE_HEADER,
        "scheme": "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" keyed with the secret>",
        "tolerance_seconds": TOLERANCE_SECONDS,
        "other_headers": [EVENT_ID_HEADER, EVENT_TYPE_HEADER, DELIVERY_ID_HEADER],
    });
    Ok(Reply::created(body))
}

pub async fn remove(
    deps: &Deps,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    endpoints(deps)
        .remove(&caller.tenant, caller.actor(), id)
        .await
        .map_err(api_error)?;
    Ok(Reply::ok(json!({ "deleted": id })))
}

pub async fn enable(
    deps: &Deps,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    let endpoint = endpoints(deps)
        .enable(&caller.tenant, caller.actor(), id)
        .await
        .map_err(api_error)?;
    Ok(Reply::ok(view(&endpoint)))
}

/// `{id}/deliveries/{delivery}` as the router captures it: the endpoint and the delivery.
fn endpoint_and_delivery(parameter: &str) -> Result<(&str, &str), ApiError> {
    parameter
        .split_once("/deliveries/")
        .ok_or_else(|| ApiError::route_not_found("POST"))
}

pub async fn deliveries(
    deps: &Deps,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let pages = Pages::of(deps, caller, format!("webhook-deliveries\0{id}"));
    let page_request = pages.request(request, MAX_LIMIT)?;
    let page = endpoints(deps)
        .deliveries(&caller.tenant, id, page_request.limit, page_request.after)
        .await
        .map_err(api_error)?;
    Ok(Reply::ok(json!({
        "deliveries": page.items.iter().map(delivery_view).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}

pub async fn replay(
    deps: &Deps,
    caller: &Caller,
    parameter: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    let (id, delivery) = endpoint_and_delivery(parameter)?;
    let replayed = endpoints(deps)
        .replay(&caller.tenant, caller.actor(), id, delivery)
        .await
        .map_err(api_error)?;
    Ok(Reply::accepted(delivery_view(&replayed)))
}
