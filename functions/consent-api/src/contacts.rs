//! A contact of the calling tenant: access, rectification, restriction of processing, and a
//! human taking over the conversation.

use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::contact::Contact;
use mizan_shared::domain::rectification::{CorrectionError, ProfileCorrection};
use mizan_shared::http_api::input;
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;
use mizan_shared::store::{DataError, Versioned};

/// How often a change is retried when the contact changed underneath (a message arrived).
const ATTEMPTS: usize = 3;

/// The caller's contact named by `raw` (404 for another tenant's, an unknown or an erased one).
pub async fn find(deps: &Deps, caller: &Caller, raw: &str) -> Result<Versioned<Contact>, ApiError> {
    mizan_shared::http_api::callers_contact(&deps.store, caller, raw).await
}

pub async fn get(deps: &Deps, caller: &Caller, raw: &str) -> Result<Reply, ApiError> {
    let contact = find(deps, caller, raw).await?;
    Ok(Reply::ok(views::contact(&contact.value)))
}

/// Right to rectification: corrects name or username; identifiers come from WhatsApp.
pub async fn correct(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let correction: ProfileCorrection = input::json_body(request)?;
    let mut last_conflict = None;
    for _ in 0..ATTEMPTS {
        let mut contact = find(deps, caller, raw).await?;
        let mut profile = contact.value.profile.clone().unwrap_or_default();
        let changed = correction.apply(&mut profile).map_err(|e| match &e {
            CorrectionError::Invalid { field } => ApiError::invalid(*field, e.to_string()),
            CorrectionError::Empty => ApiError::invalid("body", e.to_string()),
        })?;
        if changed.is_empty() {
            return Ok(Reply::ok(views::contact(&contact.value)));
        }
        contact.value.profile = Some(profile);
        for field in &changed {
            if !contact.value.corrected.iter().any(|f| f == field) {
                contact.value.corrected.push((*field).to_owned());
            }
        }
        let audit = AuditEvent::new(
            caller.tenant.clone(),
            caller.actor(),
            "contact.rectified",
            Some(contact.value.id.clone()),
            deps.store.now(),
        )
        .with_detail(serde_json::json!({ "fields": changed }));
        match deps.store.save_contact(&contact, Some(&audit)).await {
            Ok(_) => return Ok(Reply::ok(views::contact(&contact.value))),
            Err(DataError::Conflict(reason)) => last_conflict = Some(DataError::Conflict(reason)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_conflict.map_or_else(
        || ApiError::new(409, "conflict", "the contact kept changing"),
        ApiError::from,
    ))
}

/// A processing flag of a contact the API can set and lift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Restriction of processing (P7): stored, never processed.
    Restricted,
    /// A human answers; no automated replies.
    TakenOver,
}

impl Flag {
    fn get(self, contact: &Contact) -> bool {
        match self {
            Flag::Restricted => contact.restricted,
            Flag::TakenOver => contact.taken_over,
        }
    }

    fn set(self, contact: &mut Contact, on: bool) {
        match self {
            Flag::Restricted => contact.restricted = on,
            Flag::TakenOver => contact.taken_over = on,
        }
    }

    fn action(self, on: bool) -> &'static str {
        match (self, on) {
            (Flag::Restricted, true) => "contact.restricted",
            (Flag::Restricted, false) => "contact.restriction_lifted",
            (Flag::TakenOver, true) => "contact.taken_over",
            (Flag::TakenOver, false) => "contact.handed_back",
        }
    }
}

/// Sets or lifts a flag, with its audit event in the same transaction. Setting a flag that is
/// already so changes (and audits) nothing.
pub async fn set_flag(
    deps: &Deps,
    caller: &Caller,
    raw: &str,
    request: &Request,
    flag: Flag,
    on: bool,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    let mut last_conflict = None;
    for _ in 0..ATTEMPTS {
        let mut contact = find(deps, caller, raw).await?;
        if flag.get(&contact.value) == on {
            return Ok(Reply::ok(views::contact(&contact.value)));
        }
        flag.set(&mut contact.value, on);
        let audit = AuditEvent::new(
            caller.tenant.clone(),
            caller.actor(),
            flag.action(on),
            Some(contact.value.id.clone()),
            deps.store.now(),
        );
        match deps.store.save_contact(&contact, Some(&audit)).await {
            Ok(_) => return Ok(Reply::ok(views::contact(&contact.value))),
            Err(DataError::Conflict(reason)) => last_conflict = Some(DataError::Conflict(reason)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_conflict.map_or_else(
        || ApiError::new(409, "conflict", "the contact kept changing"),
        ApiError::from,
    ))
}
