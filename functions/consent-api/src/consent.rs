//! Consent of a contact: the state in force and its full history (P8), and new decisions,
//! appended with the audit event in one transaction and honoured by every function at once (P5).

use crate::contacts::find;
use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
use mizan_shared::http_api::input;
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;
use serde::Deserialize;

pub const MAX_SOURCE_CHARS: usize = 40;
pub const MAX_EVIDENCE_CHARS: usize = 128;

/// A decision as the business reports it. `source` is how the business collected it (e.g.
/// `web_form`, `in_store`); `evidence` is its own reference to the proof. Neither may carry
/// personal data, so both are restricted to identifier characters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: Purpose,
    pub action: ConsentAction,
    pub source: String,
    pub evidence: String,
}

impl ConsentInput {
    fn validate(&self) -> Result<(), ApiError> {
        let source_ok = (1..=MAX_SOURCE_CHARS).contains(&self.source.len())
            && self
                .source
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !source_ok {
            return Err(ApiError::invalid(
                "source",
                format!(
                    "source must be 1 to {MAX_SOURCE_CHARS} of a-z, 0-9 and '_' (e.g. web_form)"
                ),
            ));
        }
        let evidence_ok = (1..=MAX_EVIDENCE_CHARS).contains(&self.evidence.len())
            && self
                .evidence
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/#-".contains(&b));
        if !evidence_ok {
            return Err(ApiError::invalid(
                "evidence",
                format!(
                    "evidence must be 1 to {MAX_EVIDENCE_CHARS} letters, digits or . _ : / # - \
                     (a reference to the proof, never personal data)"
                ),
            ));
        }
        Ok(())
    }
}

pub async fn get(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let contact = find(deps, caller, raw).await?;
    let history = deps
        .store
        .consent_history(&caller.tenant, &contact.value.id)
        .await?;
    Ok(Reply::ok(serde_json::json!({
        "contact": contact.value.id,
        "state": views::consent_state(&contact.value.consent),
        "history": history.iter().map(views::consent_event).collect::<Vec<_>>(),
    })))
}

pub async fn record(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let input: ConsentInput = input::json_body(request)?;
    input.validate()?;
    let contact = find(deps, caller, raw).await?;
    let at = deps.store.now();
    let event = ConsentEvent::from_api(
        caller.tenant.clone(),
        contact.value.id.clone(),
        at,
        input.purpose,
        input.action,
        format!("{}:{}", input.source, input.evidence),
        &caller.key,
    );
    let audit = AuditEvent::new(
        caller.tenant.clone(),
        caller.actor(),
        "consent.recorded",
        Some(contact.value.id.clone()),
        at,
    )
    .with_detail(serde_json::json!({
        "purpose": input.purpose,
        "action": input.action,
        "source": input.source,
    }));
    let state = deps.store.record_consent(&event, Some(&audit)).await?;
    Ok(Reply::created(serde_json::json!({
        "contact": contact.value.id,
        "recorded": views::consent_event(&event),
        "state": views::consent_state(&state),
    })))
}
