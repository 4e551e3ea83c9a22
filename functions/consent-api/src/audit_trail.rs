//! The tenant's audit trail, newest first, in pages. Cursors are bound to the tenant by a keyed
//! hash, so a cursor cannot be forged or carried to another tenant.

use crate::{views, Deps, Reply};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::{Request, RequestExt};
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;
use mizan_shared::ports::records::Cursor;
use subtle::ConstantTimeEq;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

fn sign(deps: &Deps, caller: &Caller, cursor: &Cursor) -> String {
    let encoded = URL_SAFE_NO_PAD.encode(cursor.0.as_bytes());
    let tag = deps
        .store
        .hasher()
        .for_logs(&format!("audit-cursor\0{}\0{encoded}", caller.tenant));
    format!("{encoded}.{tag}")
}

fn verify(deps: &Deps, caller: &Caller, text: &str) -> Result<Cursor, ApiError> {
    let refused =
        || ApiError::invalid("cursor", "cursor is not one this API issued to this tenant");
    let (encoded, tag) = text.rsplit_once('.').ok_or_else(refused)?;
    let expected = deps
        .store
        .hasher()
        .for_logs(&format!("audit-cursor\0{}\0{encoded}", caller.tenant));
    let tags_match: bool = expected.as_bytes().ct_eq(tag.as_bytes()).into();
    if !tags_match {
        return Err(refused());
    }
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refused())?;
    String::from_utf8(bytes).map(Cursor).map_err(|_| refused())
}

pub async fn list(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let query = request.query_string_parameters();
    for (name, _) in query.iter() {
        if name != "limit" && name != "cursor" {
            return Err(ApiError::invalid(
                name,
                format!("unknown query parameter {name:?}: use limit and cursor"),
            ));
        }
    }
    let limit = match query.first("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let after = query
        .first("cursor")
        .map(|text| verify(deps, caller, text))
        .transpose()?;
    let page = deps
        .store
        .audit_events(&caller.tenant, limit, after)
        .await?;
    Ok(Reply::ok(serde_json::json!({
        "events": page.items.iter().map(views::audit_event).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| sign(deps, caller, c)),
    })))
}
