//! A signed delivery: verify → parse → store → acknowledge. 200 only once everything is durable.

use crate::{response, Deps};
use lambda_http::{Body, Request, Response};
use mizan_shared::domain::signature::{self, SignatureError};
use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::workflows::intake;

pub async fn deliver(deps: &Deps, request: &Request) -> Response<Body> {
    // lambda_http has already base64-decoded a body API Gateway marked as encoded.
    let body: &[u8] = request.body().as_ref();
    if body.len() > deps.webhook.max_body_bytes {
        tracing::warn!(size = body.len(), "delivery refused: too large");
        return response::error(
            413,
            "payload_too_large",
            &format!(
                "deliveries are limited to {} bytes",
                deps.webhook.max_body_bytes
            ),
        );
    }
    let header = request
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let form = match signature::verify(header, body, &deps.webhook.app_secrets) {
        Ok(form) => form,
        Err(e) => {
            tracing::warn!(reason = ?e, "delivery refused: bad signature");
            let message = match e {
                SignatureError::Missing => "X-Hub-Signature-256 is missing",
                SignatureError::Malformed => {
                    "X-Hub-Signature-256 must be sha256= and 64 hex digits"
                }
                SignatureError::Mismatch => "X-Hub-Signature-256 does not match the body",
            };
            return response::error(401, "invalid_signature", message);
        }
    };
    let delivery = match parse_delivery(body) {
        Ok(delivery) => delivery,
        Err(e) => {
            // Signed by Meta but unreadable: keep it (sealed, expiring) and acknowledge, so it is
            // neither lost nor retried for days.
            return match deps.store.keep_raw(None, "unparseable", body).await {
                Ok(_) => {
                    tracing::warn!(reason = %e, size = body.len(), "unparseable delivery kept raw");
                    response::text(200, "EVENT_RECEIVED")
                }
                Err(store_error) => {
                    tracing::error!(error = %store_error, "could not keep an unparseable delivery");
                    response::error(503, "storage_unavailable", "try again later")
                }
            };
        }
    };
    match intake::ingest(&deps.store, &delivery).await {
        Ok(report) => {
            tracing::info!(
                signature = form.as_str(),
                stored = report.messages_stored,
                duplicates = report.duplicates,
                late = report.late,
                consent = report.consent_recorded,
                statuses_applied = report.statuses_applied,
                statuses_pending = report.statuses_pending,
                statuses_stale = report.statuses_stale,
                unrouted = report.unrouted,
                errors_reported = report.errors_reported,
                kept_raw = report.kept_raw,
                dropped_after_erasure = report.dropped_after_erasure,
                "delivery stored"
            );
            response::text(200, "EVENT_RECEIVED")
        }
        Err(e) => {
            // Meta retries anything but a 2xx, so nothing is lost: what was stored is idempotent.
            tracing::error!(error = %e, retryable = e.is_retryable(), "delivery not stored");
            response::error(
                503,
                "storage_unavailable",
                "the delivery was not stored; retry",
            )
        }
    }
}
