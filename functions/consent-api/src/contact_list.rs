//! `GET /v1/contacts`: the tenant's contacts, newest activity first, in pages; `query` searches
//! by the start of a phone number (international, or local in the tenant's `default_country`)
//! or by words of a name, `flag` (repeated, or comma-separated) keeps those with every flag.

use crate::paging::Pages;
use crate::{views, Deps, Reply};
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::contact_search::{ContactFlag, ContactQuery};
use mizan_shared::http_api::{ApiError, Caller};
use mizan_shared::store::ContactFilter;

pub const MAX_LIMIT: usize = 100;

pub async fn list(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let parameters = request.query_string_parameters();
    let flags = parameters
        .all("flag")
        .unwrap_or_default()
        .into_iter()
        .flat_map(|text| text.split(','))
        .map(flag)
        .collect::<Result<Vec<_>, _>>()?;
    // The filters are part of what a cursor pages through: another filter is another list.
    // (The cursor's tag is a keyed hash: the query text is never in it.)
    let pages = Pages::of(
        deps,
        caller,
        format!(
            "contacts?query={}&flag={}",
            parameters.first("query").unwrap_or_default(),
            flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    let page_request = pages.request_with(request, MAX_LIMIT, &["query", "flag"])?;
    let query = parameters
        .first("query")
        .map(|text| {
            ContactQuery::parse(text, caller.country)
                .map_err(|e| ApiError::invalid("query", e.to_string()))
        })
        .transpose()?;
    let page = deps
        .store
        .list_contacts(
            &caller.tenant,
            &ContactFilter { query, flags },
            page_request.limit,
            page_request.after,
        )
        .await?;
    let now = deps.store.now();
    Ok(Reply::ok(serde_json::json!({
        "contacts": page
            .items
            .iter()
            .map(|c| views::contact(&c.value, now))
            .collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}

fn flag(text: &str) -> Result<ContactFlag, ApiError> {
    ContactFlag::parse(text).ok_or_else(|| {
        ApiError::invalid(
            "flag",
            format!(
                "unknown flag {:?}: one of {}",
                text.trim(),
                ContactFlag::known()
            ),
        )
    })
}
