//! A contact of the calling tenant: access, rectification, restriction of processing, and a
//! human taking over the conversation.

use crate::{rights_requests, views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::contact::Contact;
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::rectification::{CorrectionError, ProfileCorrection};
use mizan_shared::domain::rights_request::{RightsKind, RightsState};
use mizan_shared::domain::tenant::TenantSettings;
use mizan_shared::http_api::input;
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;
use mizan_shared::store::{ChangeOutcome, Versioned};

/// The caller's contact named by `raw` (404 for another tenant's, an unknown or an erased one).
pub async fn find(deps: &Deps, caller: &Caller, raw: &str) -> Result<Versioned<Contact>, ApiError> {
    mizan_shared::http_api::callers_contact(&deps.store, caller, raw).await
}

pub async fn get(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let contact = find(deps, caller, raw).await?;
    Ok(Reply::ok(views::contact(&contact.value, deps.store.now())))
}

/// Right to rectification: corrects name or username; identifiers come from WhatsApp.
pub async fn correct(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let correction: ProfileCorrection = input::json_body(request)?;
    correction.check().map_err(|e| match &e {
        CorrectionError::Invalid { field } => ApiError::invalid(*field, e.to_string()),
        CorrectionError::Empty => ApiError::invalid("body", e.to_string()),
    })?;
    change(deps, caller, raw, ContactChange::Rectify(correction)).await
}

/// Applies a change to the caller's contact, audited in the same transaction; a change that is
/// already so changes (and audits) nothing. Answers with the contact as it now is.
pub async fn change(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    change: ContactChange,
) -> Result<Reply, ApiError> {
    let contact = find(deps, caller, raw).await?;
    let outcome = deps
        .store
        .change_contact(&caller.tenant, &contact.value.id, &change, &caller.actor())
        .await?;
    match outcome {
        ChangeOutcome::Changed(now) => {
            let right = match &change {
                ContactChange::Rectify(_) => Some((RightsKind::Rectification, "corrected")),
                ContactChange::Restrict => Some((RightsKind::Restriction, "restricted")),
                _ => None,
            };
            if let Some((kind, outcome)) = right {
                rights_requests::register(
                    deps,
                    caller,
                    &now.value.id,
                    kind,
                    RightsState::Completed,
                    outcome,
                )
                .await;
            }
            Ok(Reply::ok(views::contact(&now.value, deps.store.now())))
        }
        ChangeOutcome::Unchanged(now) => {
            Ok(Reply::ok(views::contact(&now.value, deps.store.now())))
        }
        // Erased (or its erasure began) since it was found.
        ChangeOutcome::Gone => Err(ApiError::contact_not_found()),
    }
}

/// A person takes the conversation over for the tenant's `takeover_expires_hours` (unless
/// handed back earlier): no automated reply meanwhile.
pub async fn take_over(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let expiry = deps
        .store
        .tenant(&caller.tenant)
        .await?
        .map(|t| t.settings.takeover_expiry())
        .unwrap_or_else(|| TenantSettings::default().takeover_expiry());
    let until = deps.store.now().plus(expiry);
    change(deps, caller, raw, ContactChange::TakeOver { until }).await
}
