//! The business's register of rights requests, however they came (the chat, the API): `GET
//! /v1/rights-requests?state=&cursor=&limit=`, newest first with the legal deadline, and `POST
//! /v1/rights-requests/{id}/close` for the ones it handles itself (held, pending_business).

use crate::paging::Pages;
use crate::{Deps, Reply};
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::ids::{ContactId, RightsRequestId};
use mizan_shared::domain::rights_request::{CloseError, RightsKind, RightsRequest, RightsState};
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::store::DataError;
use serde_json::{json, Value};

pub const MAX_LIMIT: usize = 100;

pub fn view(request: &RightsRequest, now: mizan_shared::domain::time::Timestamp) -> Value {
    json!({
        "id": request.id,
        "kind": request.kind.as_str(),
        "channel": request.channel,
        "contact_id": request.contact,
        "received_at": request.received_at.to_rfc3339(),
        "due_by": request.due_by.to_rfc3339(),
        "overdue": request.is_overdue(now),
        "state": request.state.as_str(),
        "outcome": request.outcome,
        "note": request.note,
        "closed_at": request.closed_at.map(|t| t.to_rfc3339()),
        "export_id": request.export,
    })
}

/// Puts what the business just did through the API on its register of requests. The action
/// is done and audited already: failing to file it is logged, not the request's failure.
pub async fn register(
    deps: &Deps,
    caller: &Caller,
    contact: &ContactId,
    kind: RightsKind,
    state: RightsState,
    outcome: &str,
) {
    let request = RightsRequest::carried_out_by_api(
        caller.tenant.clone(),
        contact.clone(),
        kind,
        state,
        outcome,
        deps.store.now(),
    );
    if let Err(e) = deps.store.file_rights_request(&request).await {
        tracing::warn!(
            tenant = %caller.tenant,
            kind = kind.as_str(),
            error = %e,
            "a rights request carried out through the API is not on the register"
        );
    }
}

pub async fn list(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let pages = Pages::of(deps, caller, "rights-requests");
    let page_request = pages.request_with(request, MAX_LIMIT, &["state"])?;
    let state = match request.query_string_parameters().first("state") {
        None => None,
        Some(text) => Some(RightsState::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "state",
                "state is one of in_progress, awaiting_confirmation, completed, held, \
                 pending_business, lapsed",
            )
        })?),
    };
    let page = deps
        .store
        .rights_requests_in(
            &caller.tenant,
            state,
            page_request.limit,
            page_request.after,
        )
        .await?;
    let now = deps.store.now();
    Ok(Reply::ok(json!({
        "rights_requests": page.items.iter().map(|r| view(r, now)).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Closing {
    outcome: ClosingOutcome,
    #[serde(default)]
    note: Option<String>,
}

#[derive(serde::Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ClosingOutcome {
    /// The business did what was asked.
    Done,
    /// The business refused it (and told the person why, as Art. 12(4) requires).
    Refused,
}

impl ClosingOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ClosingOutcome::Done => "done",
            ClosingOutcome::Refused => "refused",
        }
    }
}

pub async fn close(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let closing: Closing = input::json_body(request)?;
    let not_found = || ApiError::new(404, "rights_request_not_found", "no such rights request");
    let id = RightsRequestId::parse(raw_id).map_err(|_| not_found())?;
    let mut found = deps
        .store
        .rights_request(&caller.tenant, &id)
        .await?
        .ok_or_else(not_found)?;
    let now = deps.store.now();
    let note = closing
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    found
        .value
        .close_by_business(closing.outcome.as_str(), note, now)
        .map_err(|e| match e {
            CloseError::NoteTooLong => ApiError::invalid("note", e.to_string()),
            CloseError::AlreadyFinal(_) | CloseError::NotTheBusinesss(_) => {
                ApiError::new(409, "rights_request_not_closable", e.to_string())
            }
        })?;
    let audit = AuditEvent::new(
        caller.tenant.clone(),
        caller.actor(),
        "rights_request.closed",
        Some(found.value.contact.clone()),
        now,
    )
    .with_detail(json!({
        "rights_request": found.value.id,
        "kind": found.value.kind.as_str(),
        "outcome": closing.outcome.as_str(),
    }));
    match deps.store.save_rights_request(&found, &audit).await {
        Ok(()) => Ok(Reply::ok(view(&found.value, now))),
        Err(DataError::Conflict(_)) => Err(ApiError::new(
            409,
            "conflict",
            "the rights request changed while it was being closed; read it again",
        )),
        Err(e) => Err(e.into()),
    }
}
