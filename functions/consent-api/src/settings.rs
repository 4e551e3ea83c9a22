//! The tenant's settings: retention of chat content (within documented bounds), the automation
//! switch, AI instructions and FAQ, and legal hold; every change audited with it.

use crate::{views, Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::settings_patch::SettingsPatch;
use mizan_shared::domain::tenant::{SettingsError, Tenant};
use mizan_shared::http_api::input;
use mizan_shared::http_api::ApiError;
use mizan_shared::http_api::Caller;
use mizan_shared::store::{DataError, Versioned};

const ATTEMPTS: usize = 3;

async fn tenant(deps: &Deps, caller: &Caller) -> Result<Versioned<Tenant>, ApiError> {
    deps.store
        .tenant_versioned(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(404, "tenant_not_found", "the API key's tenant is gone"))
}

pub async fn get(deps: &Deps, caller: &Caller) -> Result<Reply, ApiError> {
    let tenant = tenant(deps, caller).await?;
    Ok(Reply::ok(views::settings(&tenant.value.settings)))
}

pub async fn update(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let patch: SettingsPatch = input::json_body(request)?;
    if patch.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "name at least one setting: chat_retention_days, automation_enabled, \
             ai_instructions, faq, legal_hold (with legal_hold_reason), model_redaction or \
             takeover_expires_hours",
        ));
    }
    let mut last_conflict = None;
    for _ in 0..ATTEMPTS {
        let mut tenant = tenant(deps, caller).await?;
        let patched = patch.apply(&tenant.value.settings).map_err(|e| match e {
            SettingsError::LegalHoldSetByOperator => {
                ApiError::new(403, "legal_hold_by_operator", e.to_string()).with_field(e.field())
            }
            e => ApiError::invalid(e.field(), e.to_string()),
        })?;
        if patched.changed.is_empty() {
            return Ok(Reply::ok(views::settings(&tenant.value.settings)));
        }
        // Values of the switches and the retention are audited; text fields by name only.
        let mut detail = serde_json::json!({ "changed": patched.changed });
        for field in &patched.changed {
            let value = match *field {
                "chat_retention_days" => serde_json::json!(patched.settings.chat_retention_days),
                "automation_enabled" => serde_json::json!(patched.settings.automation_enabled),
                "legal_hold" => {
                    // The reason given for setting or lifting it, whichever it was.
                    detail["legal_hold_reason"] = serde_json::json!(patch.legal_hold_reason);
                    serde_json::json!(patched.settings.legal_hold)
                }
                "model_redaction" => serde_json::json!(patched.settings.model_redaction),
                "takeover_expires_hours" => {
                    serde_json::json!(patched.settings.takeover_expires_hours)
                }
                _ => continue,
            };
            detail[*field] = value;
        }
        tenant.value.settings = patched.settings;
        let audit = AuditEvent::new(
            caller.tenant.clone(),
            caller.actor(),
            "settings.updated",
            None,
            deps.store.now(),
        )
        .with_detail(detail);
        match deps.store.save_tenant(&tenant, Some(&audit)).await {
            Ok(_) => return Ok(Reply::ok(views::settings(&tenant.value.settings))),
            Err(DataError::Conflict(reason)) => last_conflict = Some(DataError::Conflict(reason)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_conflict.map_or_else(
        || ApiError::new(409, "conflict", "the settings kept changing"),
        ApiError::from,
    ))
}
