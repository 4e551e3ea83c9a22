//! The tenant's audit trail, newest first, in pages (cursors bound to the tenant, `paging`).

use crate::paging::Pages;
use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;

pub const MAX_LIMIT: usize = 100;

pub async fn list(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let pages = Pages::of(deps, caller, "audit");
    let page_request = pages.request(request, MAX_LIMIT)?;
    let page = deps
        .store
        .audit_events(&caller.tenant, page_request.limit, page_request.after)
        .await?;
    Ok(Reply::ok(serde_json::json!({
        "events": page.items.iter().map(views::audit_event).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}
