//! `webhook-intake`: Meta's WhatsApp webhook behind API Gateway (HTTP API, payload 2.0).
//!
//! `GET /webhooks/whatsapp` answers the subscription handshake; `POST /webhooks/whatsapp` takes a
//! signed delivery, stores everything in it once, and acknowledges only after it is durable.

mod delivery;
mod handshake;
mod response;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use mizan_shared::backend::Services;
use mizan_shared::config::{Config, WebhookConfig};
use mizan_shared::store::Store;

pub use delivery::deliver;
pub use handshake::handshake;

/// What the handler needs, built once per Lambda instance (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    pub webhook: WebhookConfig,
}

pub use mizan_shared::startup::{StartupError, Wiring};

impl Wiring for Deps {
    type Settings = WebhookConfig;

    fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<WebhookConfig, StartupError> {
        Ok(WebhookConfig::from_lookup(lookup)?)
    }

    fn new(
        services: &Services,
        _config: &Config,
        webhook: &WebhookConfig,
    ) -> Result<Deps, StartupError> {
        Ok(Deps {
            store: services.store.clone(),
            webhook: webhook.clone(),
        })
    }
}

/// The Lambda handler: the story of one request. Every outcome is an HTTP answer.
pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(match *request.method() {
        Method::GET => handshake(&deps.webhook, &request),
        Method::POST => deliver(deps, &request).await,
        _ => response::error(
            405,
            "method_not_allowed",
            "use GET for the handshake or POST for deliveries",
        ),
    })
}
