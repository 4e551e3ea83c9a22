//! The tenant's API keys, managed without downtime: list, issue (the token shown once), revoke.
//! Admin scope; every change is audited with the key id, never the token.

use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::api_key::{ApiKey, Scope};
use mizan_shared::domain::ids::ApiKeyId;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::store::DataError;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub const MAX_LABEL_CHARS: usize = 100;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    label: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

fn view(key: &ApiKey, now: Timestamp) -> Value {
    json!({
        "id": key.id,
        "label": key.label,
        "scopes": key.scopes,
        "created_at": key.created_at.to_rfc3339(),
        "expires_at": key.expires_at.map(Timestamp::to_rfc3339),
        "revoked_at": key.revoked_at.map(Timestamp::to_rfc3339),
        "active": key.is_active(now),
    })
}

pub async fn list(deps: &Deps, caller: &Caller) -> Result<Reply, ApiError> {
    let now = deps.store.now();
    let mut keys = deps.store.api_keys(&caller.tenant).await?;
    keys.sort_by_key(|k| k.created_at);
    Ok(Reply::ok(json!({
        "keys": keys.iter().map(|k| view(k, now)).collect::<Vec<_>>(),
    })))
}

pub async fn issue(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let body: IssueRequest = input::json_body(request)?;
    let label = body.label.trim();
    if label.is_empty()
        || label.chars().count() > MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "label",
            format!("label must be 1 to {MAX_LABEL_CHARS} printable characters"),
        ));
    }
    let scopes = body
        .scopes
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<BTreeSet<Scope>, _>>()
        .map_err(|e| ApiError::invalid("scopes", e.to_string()))?;
    if scopes.is_empty() {
        return Err(ApiError::invalid(
            "scopes",
            "name at least one scope: read, rights, messages, admin",
        ));
    }
    let now = deps.store.now();
    let expires_at = match body.expires_at.as_deref() {
        None => None,
        Some(text) => {
            let at = Timestamp::parse_rfc3339(text).map_err(|_| {
                ApiError::invalid("expires_at", "expires_at must be an RFC 3339 time")
            })?;
            if at <= now {
                return Err(ApiError::invalid(
                    "expires_at",
                    "expires_at must be in the future",
                ));
            }
            Some(at)
        }
    };
    let (key, token) = deps
        .store
        .issue_scoped_api_key(&caller.tenant, label, scopes, expires_at, caller.actor())
        .await?;
    let mut answer = view(&key, now);
    // Shown this once: only its hash is stored.
    answer["api_key"] = json!(token.expose_secret());
    Ok(Reply::created(answer))
}

pub async fn revoke(
    deps: &Deps,
    caller: &Caller,
    raw_id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::empty_body(request)?;
    let not_found = || ApiError::new(404, "api_key_not_found", "this tenant has no such API key");
    let id = ApiKeyId::parse(raw_id).map_err(|_| not_found())?;
    match deps
        .store
        .revoke_api_key(&caller.tenant, &id, caller.actor())
        .await
    {
        Ok(key) => Ok(Reply::ok(view(&key, deps.store.now()))),
        Err(DataError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}
