//! A person answers a contact: `POST /v1/contacts/{contact}/messages` with free text (inside the
//! 24-hour customer service window) or an approved template. Accepted with 202 and the stored
//! message (`status: accepted`); the sender sends it in its turn. An `Idempotency-Key` makes a
//! retry answer with the first message and send nothing again.

use crate::contacts::find;
use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::outbound::Refusal;
use mizan_shared::domain::send_request::{check_idempotency_key, SendRequest};
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::workflows::accept_send::{accept_send, AcceptError, SendAsAgent};

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

pub async fn send(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let body: SendRequest = input::json_body(request)?;
    let what = body
        .check()
        .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let idempotency = match request.headers().get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "visible ASCII characters only"))
                .and_then(|k| {
                    check_idempotency_key(k).map_err(|e| ApiError::invalid(e.field, e.reason))
                })?;
            // The same request however its JSON is spaced or ordered.
            let canonical: serde_json::Value = input::decode(request.body().as_ref())?;
            Some((key, serde_json::to_vec(&canonical).unwrap_or_default()))
        }
    };
    let contact = find(deps, caller, raw).await?;
    let tenant = deps
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(ApiError::contact_not_found)?;
    let accepted = accept_send(
        &deps.store,
        SendAsAgent {
            tenant: &tenant,
            contact: &contact,
            agent: &caller.key,
            what,
            idempotency: idempotency.as_ref().map(|(k, c)| (*k, c.clone())),
        },
    )
    .await
    .map_err(refusal)?;
    Ok(Reply::accepted(views::message(&accepted.message)))
}

/// Each reason a send is not accepted, as the API says it.
fn refusal(e: AcceptError) -> ApiError {
    let message = e.to_string();
    match e {
        AcceptError::Refused(Refusal::WindowClosed) => ApiError::new(
            422,
            "window_closed",
            "more than 24 hours since the contact last wrote: only an approved template can be sent",
        ),
        AcceptError::Refused(Refusal::Gone) => ApiError::contact_not_found(),
        AcceptError::Refused(reason) => ApiError::new(409, reason.as_str(), message),
        AcceptError::TemplateNotFound => ApiError::new(404, "template_not_found", message)
            .with_field("template"),
        AcceptError::TemplateNotApproved(_) => {
            ApiError::new(422, "template_not_approved", message).with_field("template")
        }
        AcceptError::Parameter(e) if e.field == "template" => {
            ApiError::new(422, "template_not_synced", e.reason).with_field("template")
        }
        AcceptError::Parameter(e) => {
            ApiError::new(422, "invalid_parameters", e.reason).with_field(format!("template.{}", e.field))
        }
        AcceptError::IdempotencyConflict => {
            ApiError::new(422, "idempotency_key_reused", message).with_field("Idempotency-Key")
        }
        AcceptError::NoNumber => ApiError::new(409, "no_phone_number", message),
        AcceptError::Data(e) => e.into(),
    }
}
