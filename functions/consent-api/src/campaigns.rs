//! Campaigns: a template broadcast to listed contacts, checked up front (the template approved,
//! every recipient's parameters fitting, a marketing template carrying an opt-out), sent by the
//! campaign sender at WhatsApp's pace with the gate asked per recipient at sending time;
//! read back with exact counts, its recipients paged (no parameter values), steered by pause,
//! resume and cancel.

use crate::paging::Pages;
use crate::{Deps, Reply};
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::campaign::{
    Campaign, CampaignRequest, Control, RecipientState, RequestError, Unbroadcastable,
};
use mizan_shared::domain::ids::CampaignId;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::store::CampaignCounts;
use mizan_shared::workflows::campaigns::{self, CampaignError};
use serde_json::{json, Value};

/// Lambda's limit for a synchronous request: room for 100,000 listed contacts.
pub const MAX_CAMPAIGN_BODY_BYTES: usize = 6 * 1024 * 1024;
pub const MAX_RECIPIENTS_PAGE: usize = 500;

pub async fn create(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let body: CampaignRequest = input::json_body_within(request, MAX_CAMPAIGN_BODY_BYTES)?;
    let checked = body.check().map_err(request_error)?;
    let tenant = tenant(deps, caller).await?;
    let campaign = campaigns::create(&deps.store, &tenant, &caller.key, checked)
        .await
        .map_err(answer)?;
    Ok(Reply::accepted(view(&campaign, &CampaignCounts::new())))
}

pub async fn get(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let campaign = find(deps, caller, raw).await?;
    let counts = deps
        .store
        .campaign_counts(&caller.tenant, &campaign.id)
        .await?;
    Ok(Reply::ok(view(&campaign, &counts)))
}

pub async fn recipients(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let campaign = find(deps, caller, raw).await?;
    let wanted = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("state").map(str::to_owned));
    if let Some(state) = &wanted {
        const STATES: [&str; 9] = [
            "pending",
            "sending",
            "skipped",
            "sent",
            "delivered",
            "read",
            "failed",
            "deferred",
            "unknown",
        ];
        if !STATES.contains(&state.as_str()) {
            return Err(ApiError::invalid(
                "state",
                format!("one of {}", STATES.join(", ")),
            ));
        }
    }
    let pages = Pages::of(
        deps,
        caller,
        format!("campaign-recipients\0{}", campaign.id),
    );
    let page_request = pages.request_with(request, MAX_RECIPIENTS_PAGE, &["state"])?;
    let page = deps
        .store
        .campaign_recipients(
            &caller.tenant,
            &campaign.id,
            page_request.limit,
            page_request.after,
        )
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|r| recipient_view(&r.value))
        .filter(|v| wanted.as_deref().is_none_or(|w| v["state"] == w))
        .collect();
    Ok(Reply::ok(json!({
        "campaign": campaign.id,
        "recipients": items,
        "next_cursor": page.next.as_ref().map(|c| pages.sign(c)),
    })))
}

pub async fn control(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    control: Control,
) -> Result<Reply, ApiError> {
    let id = campaign_id(raw)?;
    let tenant = tenant(deps, caller).await?;
    let campaign = campaigns::control(&deps.store, &tenant, &id, control, &caller.actor())
        .await
        .map_err(answer)?;
    let counts = deps.store.campaign_counts(&caller.tenant, &id).await?;
    Ok(Reply::ok(view(&campaign, &counts)))
}

async fn find(deps: &Deps, caller: &Caller, raw: &str) -> Result<Campaign, ApiError> {
    let id = campaign_id(raw)?;
    Ok(deps
        .store
        .campaign(&caller.tenant, &id)
        .await?
        .ok_or_else(not_found)?
        .value)
}

fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    CampaignId::parse(raw).map_err(|_| not_found())
}

async fn tenant(deps: &Deps, caller: &Caller) -> Result<Tenant, ApiError> {
    deps.store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the key's tenant is gone"))
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "campaign_not_found",
        "no campaign of this tenant has this id",
    )
}

/// A campaign with its counts. `skipped` and `failed` are broken down by reason and code.
pub fn view(campaign: &Campaign, counts: &CampaignCounts) -> Value {
    let get = |label: &str| counts.get(label).copied().unwrap_or(0);
    let by_prefix = |prefix: &str| -> serde_json::Map<String, Value> {
        counts
            .iter()
            .filter_map(|(label, n)| label.strip_prefix(prefix).map(|k| (k.to_owned(), json!(n))))
            .collect()
    };
    json!({
        "id": campaign.id,
        "name": campaign.name,
        "template": { "name": campaign.template.name, "language": campaign.template.language },
        "category": campaign.category,
        "state": campaign.state.as_str(),
        "reason": campaign.reason,
        "recipients": campaign.recipients,
        "send_at": campaign.send_at.to_rfc3339(),
        "created_at": campaign.created_at.to_rfc3339(),
        "state_at": campaign.state_at.to_rfc3339(),
        "counts": {
            "eligible": get("eligible"),
            "skipped": by_prefix("skipped."),
            "sent": get("sent"),
            "delivered": get("delivered"),
            "read": get("read"),
            "failed": by_prefix("failed."),
            "deferred": get("deferred"),
            "unknown": get("unknown"),
        },
    })
}

/// One recipient's outcome: no parameter values, no phone number.
fn recipient_view(r: &mizan_shared::domain::campaign::Recipient) -> Value {
    let (state, reason, code) = match r.state {
        RecipientState::Pending => ("pending", None, None),
        RecipientState::Sending => ("sending", None, None),
        RecipientState::Skipped { reason } => ("skipped", Some(reason.as_str()), None),
        RecipientState::Sent => ("sent", None, None),
        RecipientState::Delivered => ("delivered", None, None),
        RecipientState::Read => ("read", None, None),
        RecipientState::Failed { code } => ("failed", None, code),
        RecipientState::Deferred => ("deferred", None, None),
        RecipientState::Unknown => ("unknown", None, None),
    };
    json!({
        "index": r.ordinal,
        "contact": r.contact,
        "state": state,
        "skip_reason": reason,
        "error_code": code,
        "message": r.message,
        "retry_at": r.retry_at.map(|t| t.to_rfc3339()),
        "updated_at": r.updated_at.to_rfc3339(),
    })
}

fn request_error(e: RequestError) -> ApiError {
    match e {
        RequestError::Invalid { field, reason } => ApiError::invalid(field, reason),
        RequestError::Recipients(offenders) => recipients_error(&offenders),
    }
}

fn recipients_error(offenders: &[mizan_shared::domain::campaign::Offender]) -> ApiError {
    let listed = offenders
        .iter()
        .map(|o| format!("#{} {}: {}", o.index, o.field, o.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let first = offenders
        .first()
        .map(|o| format!("audience.contacts[{}].{}", o.index, o.field))
        .unwrap_or_else(|| "audience.contacts".into());
    ApiError::new(
        422,
        "invalid_recipients",
        format!(
            "these recipients do not fit the template (first {}): {listed}",
            offenders.len()
        ),
    )
    .with_field(first)
}

fn answer(e: CampaignError) -> ApiError {
    let message = e.to_string();
    match e {
        CampaignError::TemplateNotFound => {
            ApiError::new(404, "template_not_found", message).with_field("template")
        }
        CampaignError::Unbroadcastable(Unbroadcastable::NotApproved(_)) => {
            ApiError::new(422, "template_not_approved", message).with_field("template")
        }
        CampaignError::Unbroadcastable(Unbroadcastable::NotSynced) => {
            ApiError::new(422, "template_not_synced", message).with_field("template")
        }
        CampaignError::Unbroadcastable(Unbroadcastable::NoOptOut) => {
            ApiError::new(422, "no_opt_out", message).with_field("template")
        }
        CampaignError::Recipients(offenders) => recipients_error(&offenders),
        CampaignError::NotFound => not_found(),
        CampaignError::Control(_) => ApiError::new(409, "invalid_state", message),
        CampaignError::Conflict => ApiError::new(409, "conflict", message),
        CampaignError::Data(e) => e.into(),
    }
}
