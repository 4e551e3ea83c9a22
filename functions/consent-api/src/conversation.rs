//! A contact's conversation, newest first, in pages: what a business's people read before they
//! answer a conversation the AI handed over. Content past the chat retention reads as removed
//! (metadata only), as in an export. Every read is an audited access (`conversation.read`).

use crate::contacts::find;
use crate::paging::Pages;
use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::reply::customer_order;
use mizan_shared::http_api::{ApiError, Caller};

pub const MAX_LIMIT: usize = 200;

pub async fn read(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let contact = find(deps, caller, raw).await?;
    let pages = Pages::of(deps, caller, format!("conversation\0{}", contact.value.id));
    let page_request = pages.request(request, MAX_LIMIT)?;
    let policy = deps
        .store
        .tenant(&caller.tenant)
        .await?
        .map(|t| t.retention())
        .unwrap_or_default();
    let mut page = deps
        .store
        .conversation(
            &caller.tenant,
            &contact.value.id,
            &policy,
            page_request.limit,
            page_request.after,
        )
        .await?;
    // WhatsApp's times have whole seconds: within one, the order is the one Mizan stored them
    // in (the index orders a second's messages by their ids). A page shows them in that order;
    // a second split across two pages keeps each part in order.
    page.items
        .sort_by(|a, b| customer_order(b).cmp(&customer_order(a)));
    let audit = AuditEvent::new(
        caller.tenant.clone(),
        caller.actor(),
        "conversation.read",
        Some(contact.value.id.clone()),
        deps.store.now(),
    )
    .with_detail(serde_json::json!({ "messages": page.items.len() }));
    deps.store.append_audit(&audit).await?;
    Ok(Reply::ok(serde_json::json!({
        "contact": contact.value.id,
        "messages": page.items.iter().map(views::message).collect::<Vec<_>>(),
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}
