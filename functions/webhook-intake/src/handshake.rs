//! The subscription handshake: Meta proves it knows our verify token; we echo its challenge.

use crate::response;
use lambda_http::{Body, Request, RequestExt, Response};
use mizan_shared::config::WebhookConfig;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

/// Longest challenge echoed back (Meta sends a short number).
const MAX_CHALLENGE_CHARS: usize = 256;

pub fn handshake(config: &WebhookConfig, request: &Request) -> Response<Body> {
    let query = request.query_string_parameters();
    let mode = query.first("hub.mode");
    let token = query.first("hub.verify_token").unwrap_or_default();
    let challenge = query.first("hub.challenge").unwrap_or_default();
    let token_matches: bool = token
        .as_bytes()
        .ct_eq(config.verify_token.expose_secret().as_bytes())
        .into();
    if mode == Some("subscribe") && token_matches && challenge.len() <= MAX_CHALLENGE_CHARS {
        tracing::info!("webhook subscription verified");
        response::text(200, challenge)
    } else {
        tracing::warn!("webhook handshake refused");
        response::error(
            403,
            "forbidden",
            "hub.mode must be subscribe and hub.verify_token must match",
        )
    }
}
