//! The admin commands: tenants, phone numbers, business accounts and their templates, API keys
//! and settings, on either backend. Each
//! prints one JSON document on stdout; errors go to stderr with exit code 2 (input) or 1.

use crate::cli::{
    AdminCommand, ApiKeyCommand, ContactCommand, PhoneCommand, SettingsCommand, SettingsSet,
    Switch, TemplatesCommand, TenantCommand, WabaCommand,
};
use crate::config;
use crate::error::CliError;
use mizan_shared::backend;
use mizan_shared::config::{processing_deployment, Config, GraphConfig};
use mizan_shared::domain::api_key::{ApiKey, Scope};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::contact_reference::ContactReference;
use mizan_shared::domain::ids::{ApiKeyId, PhoneNumberId, TenantId, WabaId};
use mizan_shared::domain::record_of_processing::record;
use mizan_shared::domain::settings_patch::SettingsPatch;
use mizan_shared::domain::tenant::{Tenant, TenantStatus};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::template_catalog::TemplateCatalog;
use mizan_shared::store::{DataError, Store};
use mizan_shared::workflows::account::{
    account_view, change_account, AccountChange, AccountChangeError,
};
use mizan_shared::workflows::intake;
use mizan_shared::workflows::templates::{self, TemplatesError};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const MAX_NAME_CHARS: usize = 200;
const MAX_LABEL_CHARS: usize = 100;

pub async fn run(config: &Config, command: AdminCommand) -> Result<(), CliError> {
    // Admin commands log nothing: stdout carries their JSON answer only.
    if let Some(dir) = config::data_dir(config) {
        if matches!(command, AdminCommand::Tenant(TenantCommand::Create { .. })) {
            config::create_private_dir(dir)?;
        } else if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "no embedded data in {}: start `mizan-local serve --data-dir {}` once, or pass the right --data-dir",
                dir.display(),
                dir.display()
            )));
        }
    }
    let services = backend::connect(config).await?;
    let answer = match command {
        AdminCommand::Templates(TemplatesCommand::Sync { tenant_id }) => {
            let graph = GraphConfig::from_env()?;
            let token = graph
                .require_token("to read templates from the Graph API")
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let catalog = mizan_consent_api::graph_templates(&graph, token);
            sync_templates(&services.store, catalog.as_ref(), &tenant_id).await?
        }
        AdminCommand::Ropa { tenant_id, json } => {
            let tenant = match tenant_id {
                Some(id) => existing_tenant(&services.store, &id).await?,
                None => only_tenant(&services.store).await?,
            };
            let deployment = processing_deployment(config, &|var| std::env::var(var).ok());
            let document = record(&tenant, &deployment, services.store.now());
            if !json {
                print!("{}", document.to_markdown());
                return Ok(());
            }
            to_json(&document)?
        }
        command => execute(&services.store, command).await?,
    };
    let text = serde_json::to_string_pretty(&answer)
        .map_err(|e| CliError::Failed(format!("the answer does not serialize: {e}")))?;
    println!("{text}");
    Ok(())
}

pub async fn execute(store: &Store, command: AdminCommand) -> Result<Value, CliError> {
    match command {
        AdminCommand::Tenant(TenantCommand::Create { name }) => create_tenant(store, &name).await,
        AdminCommand::Tenant(TenantCommand::Show { tenant_id }) => {
            let tenant = existing_tenant(store, &tenant_id).await?;
            let mut shown = to_json(&tenant)?;
            // Times as Mizan prints them, not as the store keeps them.
            shown["created_at"] = json!(tenant.created_at.to_rfc3339());
            if let TenantStatus::Closed { at } = tenant.status {
                shown["status"]["at"] = json!(at.to_rfc3339());
            }
            Ok(shown)
        }
        AdminCommand::Tenant(TenantCommand::Close { tenant_id }) => {
            change_account_of(store, &tenant_id, AccountChange::Close).await
        }
        AdminCommand::Tenant(TenantCommand::Reopen { tenant_id }) => {
            change_account_of(store, &tenant_id, AccountChange::Reopen).await
        }
        AdminCommand::Phone(PhoneCommand::Attach {
            tenant_id,
            phone_number_id,
        }) => attach_phone(store, &tenant_id, &phone_number_id).await,
        AdminCommand::Phone(PhoneCommand::Replay { phone_number_id }) => {
            let phone = phone_number_arg(&phone_number_id)?;
            to_json(&intake::replay_unrouted(store, &phone).await?)
        }
        AdminCommand::Apikey(ApiKeyCommand::Issue {
            tenant_id,
            label,
            scopes,
            expires_at,
        }) => issue_key(store, &tenant_id, &label, &scopes, expires_at.as_deref()).await,
        AdminCommand::Apikey(ApiKeyCommand::Revoke { tenant_id, key_id }) => {
            revoke_key(store, &tenant_id, &key_id).await
        }
        AdminCommand::Apikey(ApiKeyCommand::List { tenant_id }) => {
            list_keys(store, &tenant_id).await
        }
        AdminCommand::Settings(SettingsCommand::Set(set)) => set_settings(store, set).await,
        AdminCommand::Contact(ContactCommand::LegalHold {
            tenant_id,
            contact,
            state,
        }) => contact_legal_hold(store, &tenant_id, &contact, state.is_on()).await,
        AdminCommand::Contact(ContactCommand::Reindex { tenant_id }) => {
            let tenant = existing_tenant(store, &tenant_id).await?;
            let listed = store.reindex_contacts(&tenant.id).await?;
            Ok(json!({ "listed": listed }))
        }
        AdminCommand::Waba(WabaCommand::Attach {
            tenant_id,
            business_account_id,
        }) => attach_business_account(store, &tenant_id, &business_account_id).await,
        AdminCommand::Templates(TemplatesCommand::Sync { .. }) => Err(CliError::Usage(
            "templates sync reads the Graph API: run it from the command line".into(),
        )),
        AdminCommand::Ropa { .. } => Err(CliError::Usage(
            "ropa prints a document: run it from the command line".into(),
        )),
    }
}

async fn change_account_of(
    store: &Store,
    tenant_id: &str,
    change: AccountChange,
) -> Result<Value, CliError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    match change_account(store, &tenant.id, change, Actor::Admin).await {
        Ok(tenant) => Ok(account_view(&tenant)),
        Err(AccountChangeError::Refused(e)) => Err(CliError::Usage(e.to_string())),
        Err(AccountChangeError::NotFound) => Err(CliError::Usage(format!("no tenant {tenant_id}"))),
        Err(AccountChangeError::Data(e)) => Err(e.into()),
    }
}

/// The one tenant of the data (the platform's own records aside).
async fn only_tenant(store: &Store) -> Result<Tenant, CliError> {
    let platform = mizan_shared::store::PLATFORM_TENANT;
    let ids: Vec<_> = store
        .tenant_ids()
        .await?
        .into_iter()
        .filter(|id| id.as_str() != platform)
        .collect();
    match ids.as_slice() {
        [one] => existing_tenant(store, one.as_str()).await,
        [] => Err(CliError::Usage("there is no tenant yet".into())),
        _ => Err(CliError::Usage(format!(
            "{} tenants: name one (TENANT_ID)",
            ids.len()
        ))),
    }
}

async fn attach_business_account(
    store: &Store,
    tenant_id: &str,
    account: &str,
) -> Result<Value, CliError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    let account =
        WabaId::parse(account).map_err(|e| CliError::Usage(format!("business account id: {e}")))?;
    let tenant = store.attach_business_account(&tenant.id, &account).await?;
    Ok(json!({ "tenant_id": tenant.id, "business_account": tenant.business_account }))
}

/// Reads the tenant's templates from Meta into its registry (audited with the operator as actor).
pub async fn sync_templates(
    store: &Store,
    catalog: &dyn TemplateCatalog,
    tenant_id: &str,
) -> Result<Value, CliError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    match templates::sync(store, catalog, &tenant, &Actor::Admin).await {
        Ok(report) => to_json(&report),
        Err(TemplatesError::NoBusinessAccount) => Err(CliError::Usage(format!(
            "tenant {tenant_id} names no WhatsApp Business Account: run `mizan-local waba attach {tenant_id} WABA_ID` first"
        ))),
        Err(TemplatesError::Data(e)) => Err(e.into()),
        Err(e) => Err(CliError::Failed(e.to_string())),
    }
}

async fn contact_legal_hold(
    store: &Store,
    tenant_id: &str,
    contact: &str,
    on: bool,
) -> Result<Value, CliError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    let reference = ContactReference::parse_in(contact, tenant.settings.country())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let found = match reference {
        ContactReference::Identifier { kind, value } => {
            store.find_contact(&tenant.id, kind, value.expose()).await?
        }
        ContactReference::Id(id) => store.contact(&tenant.id, &id).await?,
    }
    .ok_or_else(|| CliError::NotFound("no such contact of this tenant".into()))?;
    let action = if on {
        "contact.legal_hold_set"
    } else {
        "contact.legal_hold_lifted"
    };
    let audit = AuditEvent::new(
        tenant.id.clone(),
        Actor::Admin,
        action,
        Some(found.value.id.clone()),
        store.now(),
    );
    store.set_contact_legal_hold(&found, on, &audit).await?;
    Ok(json!({ "contact_id": found.value.id, "legal_hold": on }))
}

async fn create_tenant(store: &Store, name: &str) -> Result<Value, CliError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(CliError::Usage(format!(
            "--name must be 1 to {MAX_NAME_CHARS} printable characters"
        )));
    }
    let tenant = Tenant::new(name, store.now());
    store.create_tenant(&tenant).await?;
    Ok(json!({ "tenant_id": tenant.id }))
}

async fn attach_phone(
    store: &Store,
    tenant_id: &str,
    phone_number_id: &str,
) -> Result<Value, CliError> {
    let id = tenant_id_arg(tenant_id)?;
    let phone = phone_number_arg(phone_number_id)?;
    let tenant = store
        .attach_phone_number(&id, &phone)
        .await
        .map_err(|e| not_found_as(e, || tenant_missing(&id)))?;
    // Deliveries that came for the number before it was attached are applied now.
    let replay = intake::replay_unrouted(store, &phone).await?;
    Ok(json!({
        "tenant_id": tenant.id,
        "phone_numbers": tenant.phone_numbers,
        "replayed": replay.replayed,
    }))
}

fn phone_number_arg(text: &str) -> Result<PhoneNumberId, CliError> {
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Usage(
            "PHONE_NUMBER_ID must be Meta's phone number id (metadata.phone_number_id): 1 to 32 digits"
                .into(),
        ));
    }
    Ok(PhoneNumberId::new(text))
}

async fn issue_key(
    store: &Store,
    tenant_id: &str,
    label: &str,
    scopes: &str,
    expires_at: Option<&str>,
) -> Result<Value, CliError> {
    let id = tenant_id_arg(tenant_id)?;
    let label = label.trim();
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(CliError::Usage(format!(
            "--label must be at most {MAX_LABEL_CHARS} printable characters"
        )));
    }
    let scopes = scopes
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Scope::parse)
        .collect::<Result<BTreeSet<Scope>, _>>()
        .map_err(|e| CliError::Usage(format!("--scopes: {e}")))?;
    if scopes.is_empty() {
        return Err(CliError::Usage(
            "--scopes: name at least one of read, rights, messages, admin".into(),
        ));
    }
    let expires_at = expires_at
        .map(|text| {
            Timestamp::parse_rfc3339(text)
                .ok()
                .filter(|at| *at > store.now())
                .ok_or_else(|| {
                    CliError::Usage("--expires-at must be a future RFC 3339 time".into())
                })
        })
        .transpose()?;
    let (key, token) = store
        .issue_scoped_api_key(&id, label, scopes, expires_at, Actor::Admin)
        .await
        .map_err(|e| not_found_as(e, || tenant_missing(&id)))?;
    eprintln!("mizan-local: the api_key is shown this once; only its hash is stored");
    Ok(json!({
        "key_id": key.id,
        "api_key": token.expose_secret(),
        "scopes": key.scopes,
        "expires_at": key.expires_at.map(Timestamp::to_rfc3339),
    }))
}

async fn revoke_key(store: &Store, tenant_id: &str, key_id: &str) -> Result<Value, CliError> {
    let id = tenant_id_arg(tenant_id)?;
    // Given the whole key by mistake: revoke it all the same, and never print it back.
    let key_id = match ApiKey::id_in_token(key_id) {
        Some(from_token) => from_token,
        None => ApiKeyId::parse(key_id).map_err(|_| {
            CliError::Usage("KEY_ID must be a key id (key_…) as apikey list shows it".into())
        })?,
    };
    let key = store
        .revoke_api_key(&id, &key_id, Actor::Admin)
        .await
        .map_err(|e| {
            not_found_as(e, || {
                CliError::NotFound(format!("api key {key_id} of tenant {id} not found"))
            })
        })?;
    Ok(json!({
        "key_id": key.id,
        "revoked_at": key.revoked_at.map(|t| t.to_rfc3339()),
    }))
}

async fn list_keys(store: &Store, tenant_id: &str) -> Result<Value, CliError> {
    let tenant = existing_tenant(store, tenant_id).await?;
    let keys = store.api_keys(&tenant.id).await?;
    let now = store.now();
    Ok(Value::Array(
        keys.iter()
            .map(|key| {
                json!({
                    "key_id": key.id,
                    "label": key.label,
                    "scopes": key.scopes,
                    "created_at": key.created_at.to_rfc3339(),
                    "expires_at": key.expires_at.map(Timestamp::to_rfc3339),
                    "revoked": key.revoked_at.is_some(),
                    "revoked_at": key.revoked_at.map(|t| t.to_rfc3339()),
                    "active": key.is_active(now),
                })
            })
            .collect(),
    ))
}

async fn set_settings(store: &Store, set: SettingsSet) -> Result<Value, CliError> {
    // The same patch, validation and list of changes as PATCH /v1/settings.
    let patch = SettingsPatch {
        chat_retention_days: set.chat_retention_days,
        automation_enabled: set.automation.map(Switch::is_on),
        ai_instructions: set.ai_instructions,
        faq: None,
        legal_hold: set.legal_hold.map(Switch::is_on),
        legal_hold_reason: set.legal_hold_reason,
        model_redaction: set.model_redaction.map(Switch::is_on),
        takeover_expires_hours: set.takeover_expires_hours,
        messages_per_second: set.messages_per_second,
        privacy_notice_url: set.privacy_notice_url,
        rights_self_service: set.rights_self_service.map(Switch::is_on),
        closed_export_days: set.closed_export_days,
        default_country: set.default_country,
        // Texts per language are set through the API (PATCH /v1/settings).
        handoff_texts: None,
        greetings: None,
        // The platform operator: a hold set here is not lifted by a tenant's key.
        by_operator: true,
    };
    if patch.is_empty() {
        return Err(CliError::Usage(
            "nothing to set: give --chat-retention-days, --automation, --ai-instructions, \
             --legal-hold, --model-redaction, --takeover-expires-hours, --messages-per-second, \
             --privacy-notice-url or --rights-self-service"
                .into(),
        ));
    }
    let id = tenant_id_arg(&set.tenant_id)?;
    let mut read = store
        .tenant_versioned(&id)
        .await?
        .ok_or_else(|| tenant_missing(&id))?;
    let patched = patch
        .apply(&read.value.settings)
        .map_err(|e| CliError::Usage(format!("invalid settings: {e}")))?;
    let changed = patched.changed;
    read.value.settings = patched.settings;
    // Setting what is already set changes nothing, so there is nothing to save or audit.
    if !changed.is_empty() {
        let audit = AuditEvent::new(
            id.clone(),
            Actor::Admin,
            "settings.updated",
            None,
            store.now(),
        )
        .with_detail(json!({ "changed": changed }));
        store
            .save_tenant(&read, Some(&audit))
            .await
            .map_err(|e| not_found_as(e, || tenant_missing(&id)))?;
    }
    Ok(json!({
        "tenant_id": id,
        "changed": changed,
        "settings": read.value.settings,
    }))
}

async fn existing_tenant(store: &Store, tenant_id: &str) -> Result<Tenant, CliError> {
    let id = tenant_id_arg(tenant_id)?;
    store.tenant(&id).await?.ok_or_else(|| tenant_missing(&id))
}

fn tenant_missing(id: &TenantId) -> CliError {
    CliError::NotFound(format!("tenant {id} not found"))
}

/// Store errors, with "not found" replaced by a message naming what was looked for.
fn not_found_as(error: DataError, missing: impl FnOnce() -> CliError) -> CliError {
    match error {
        DataError::NotFound(_) => missing(),
        other => other.into(),
    }
}

fn tenant_id_arg(text: &str) -> Result<TenantId, CliError> {
    TenantId::parse(text).map_err(|e| CliError::Usage(format!("TENANT_ID: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, CliError> {
    serde_json::to_value(value).map_err(|e| CliError::Failed(format!("does not serialize: {e}")))
}
