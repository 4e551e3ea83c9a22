//! The tenant's audit trail, newest first, in pages (cursors bound to the tenant, `paging`),
//! filtered by `action` (exact, or a family ending with '.': `rights.`), `subject` (a contact
//! in any form the API accepts, erased ones too) and a `from`/`to` time range (RFC 3339).

use crate::paging::Pages;
use crate::{views, Deps, Reply};
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::audit::AuditFilter;
use mizan_shared::domain::contact_reference::ContactReference;
use mizan_shared::domain::ids::ContactId;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::http_api::{input, ApiError, Caller};

pub const MAX_LIMIT: usize = 100;
const MAX_ACTION_CHARS: usize = 64;

pub async fn list(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    // The filters are part of what a cursor pages through: another filter is another list.
    let query = request.query_string_parameters();
    let filters = ["action", "subject", "from", "to"]
        .iter()
        .map(|name| format!("{name}={}", query.first(name).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("&");
    let pages = Pages::of(deps, caller, format!("audit?{filters}"));
    let page_request =
        pages.request_with(request, MAX_LIMIT, &["action", "subject", "from", "to"])?;
    let filter = AuditFilter {
        action: query.first("action").map(action).transpose()?,
        subject: match query.first("subject") {
            Some(raw) => Some(subject(deps, caller, raw).await?),
            None => None,
        },
        from: query.first("from").map(|t| time("from", t)).transpose()?,
        to: query.first("to").map(|t| time("to", t)).transpose()?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            return Err(ApiError::invalid("from", "from is after to"));
        }
    }
    let page = deps
        .store
        .audit_events_matching(
            &caller.tenant,
            &filter,
            page_request.limit,
            page_request.after,
        )
        .await?;
    Ok(Reply::ok(serde_json::json!({
        "events": page.items.iter().map(views::audit_event).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}

fn action(text: &str) -> Result<String, ApiError> {
    let valid = !text.is_empty()
        && text.len() <= MAX_ACTION_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.'));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(ApiError::invalid(
            "action",
            "action is an audit action (`contact.erasure_requested`) or a family ending with '.' (`rights.`)",
        ))
    }
}

fn time(field: &'static str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(text).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{field} is an RFC 3339 time (2026-12-05T09:30:00Z)"),
        )
    })
}

/// The contact id events name for `raw`: a contact id as it is; an identifier, the contact it
/// names now, else (an erased contact) the id a contact first known by it had.
async fn subject(deps: &Deps, caller: &Caller, raw: &str) -> Result<ContactId, ApiError> {
    let (kind, value) = match input::contact_reference(raw, caller.country)
        .map_err(|e| ApiError::invalid("subject", e.message))?
    {
        ContactReference::Id(id) => return Ok(id),
        ContactReference::Identifier { kind, value } => (kind, value),
    };
    let found = deps
        .store
        .find_contact(&caller.tenant, kind, value.expose())
        .await?
        .filter(|c| c.value.tenant == caller.tenant);
    Ok(match found {
        Some(contact) => contact.value.id,
        None => deps
            .store
            .hasher()
            .contact_id(&caller.tenant, kind, value.expose()),
    })
}
