//! Erasure (P7) and the minor flag (P11): the request commits with its audit event and destroys
//! the contact's data key at once, then every item and export archive of the contact is removed;
//! only a keyed hash survives, as a suppression entry, when the contact had opted out or blocked
//! (P12). If the removal fails after the request committed, the retention purge finishes it.

use crate::contacts::find;
use crate::rights_requests;
use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::audit::{AuditEvent, Outcome};
use mizan_shared::domain::rights_request::{RightsKind, RightsState};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::http_api::input;
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;
use mizan_shared::store::{DataError, ErasureReason};
use mizan_shared::workflows::erasure::complete_erasure;
use std::time::Duration;

/// What the API promises when it cannot finish an erasure itself: the retention purge, which
/// runs at least daily, finds the request (filed as due at once) and completes it by then.
pub const PURGE_COMPLETES_WITHIN: Duration = Duration::from_secs(24 * 60 * 60);

/// How long the request waits for the removal before answering `erasure_pending`: well inside
/// the function's timeout (template.yaml) and API Gateway's 30 s. Interrupting is safe: the
/// removal repeats harmlessly and the purge finishes it.
pub const COMPLETION_BUDGET: Duration = Duration::from_secs(15);

const ATTEMPTS: usize = 3;

fn reason_name(reason: ErasureReason) -> &'static str {
    match reason {
        ErasureReason::Request => "request",
        ErasureReason::Minor => "minor",
    }
}

pub async fn erase(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
    reason: ErasureReason,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    let action = match reason {
        ErasureReason::Request => "contact.erasure_requested",
        ErasureReason::Minor => "contact.flagged_minor",
    };
    let mut requested = None;
    for _ in 0..ATTEMPTS {
        let contact = find(deps, caller, raw).await?;
        let tenant_hold = deps
            .store
            .tenant(&caller.tenant)
            .await?
            .is_some_and(|t| t.settings.legal_hold);
        let now = deps.store.now();
        let audit = AuditEvent::new(
            caller.tenant.clone(),
            caller.actor(),
            action,
            Some(contact.value.id.clone()),
            now,
        );
        if tenant_hold || contact.value.legal_hold {
            // Deletion is suspended while a dispute is open; the refusal is on the record too.
            let refused = audit
                .with_outcome(Outcome::Refused)
                .with_detail(serde_json::json!({
                    "reason": reason_name(reason), "refused_because": "legal_hold"
                }));
            deps.store.append_audit(&refused).await?;
            if reason == ErasureReason::Request {
                rights_requests::register(
                    deps,
                    caller,
                    &contact.value.id,
                    RightsKind::Erasure,
                    RightsState::Held,
                    "legal_hold",
                )
                .await;
            }
            return Err(ApiError::new(
                409,
                "legal_hold",
                "a legal hold suspends every deletion; lift it first (PATCH /v1/settings)",
            ));
        }
        let audit = audit.with_detail(serde_json::json!({ "reason": reason_name(reason) }));
        match deps.store.request_erasure(&contact, reason, &audit).await {
            Ok(()) => {
                requested = Some((contact.value.id, now));
                break;
            }
            Err(DataError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let Some((contact, requested_at)) = requested else {
        return Err(ApiError::new(
            409,
            "conflict",
            "the contact kept changing; retry the erasure",
        ));
    };
    let body = |status: &str, completes_by: Option<Timestamp>| {
        serde_json::json!({
            "contact": contact,
            "reason": reason_name(reason),
            "status": status,
            "content_unreadable": true,
            "requested_at": requested_at.to_rfc3339(),
            "completes_by": completes_by.map(Timestamp::to_rfc3339),
        })
    };
    if reason == ErasureReason::Request {
        // The content is unreadable from now on: the request is carried out.
        rights_requests::register(
            deps,
            caller,
            &contact,
            RightsKind::Erasure,
            RightsState::Completed,
            "erased",
        )
        .await;
    }
    let log_id = deps.store.hasher().for_logs(contact.as_str());
    let completion = tokio::time::timeout(
        COMPLETION_BUDGET,
        complete_erasure(
            &deps.store,
            deps.archives.as_ref(),
            &caller.tenant,
            &contact,
        ),
    )
    .await;
    let pending = || {
        Ok(Reply::accepted(body(
            "erasure_pending",
            Some(requested_at.plus(PURGE_COMPLETES_WITHIN)),
        )))
    };
    match completion {
        Ok(Ok(report)) => {
            tracing::info!(
                contact = %log_id,
                records_removed = report.records_removed,
                exports_removed = report.exports.len(),
                suppressed = report.suppressed,
                account_exports_revoked = report.account_exports_revoked,
                "erasure completed"
            );
            let mut answer = body("erased", None);
            answer["records_removed"] = report.records_removed.into();
            answer["exports_removed"] = report.exports.len().into();
            answer["account_exports_revoked"] = report.account_exports_revoked.into();
            answer["suppressed"] = report.suppressed.into();
            Ok(Reply::accepted(answer))
        }
        // The request is committed and the content already unreadable: the purge finishes.
        Ok(Err(e)) => {
            tracing::warn!(
                contact = %log_id,
                error = %e,
                retryable = e.is_retryable(),
                "erasure requested; completion left to the retention purge"
            );
            pending()
        }
        Err(_) => {
            tracing::warn!(
                contact = %log_id,
                budget_s = COMPLETION_BUDGET.as_secs(),
                "erasure requested; completion ran out of time, left to the retention purge"
            );
            pending()
        }
    }
}
