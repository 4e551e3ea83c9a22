//! Bearer API keys: one tenant per key, stored hashed, compared in constant time (P9). Unknown,
//! revoked and missing keys all get 401.

use super::error::ApiError;
use crate::domain::api_key::Scope;
use crate::domain::audit::Actor;
use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::phone_country::Country;
use crate::domain::tenant::AccountAccess;
use crate::store::Store;
use lambda_http::http::HeaderMap;
use secrecy::SecretString;
use std::collections::BTreeSet;

/// Issued tokens are ~90 characters; a longer header is not one of ours.
const MAX_TOKEN_CHARS: usize = 256;

/// Who is calling: the tenant every read and write is scoped to, the key that acts, and what
/// the key may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub key: ApiKeyId,
    pub scopes: BTreeSet<Scope>,
    /// Open, or closed with only the account's export left for a while.
    pub access: AccountAccess,
    /// The country local phone numbers in contact references are read in (the tenant's
    /// `default_country`).
    pub country: Option<Country>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key.clone())
    }

    /// 403 `account_closed` unless the account is open: a closed account's keys only export
    /// its data (data-export's routes), until its grace ends.
    pub fn require_open(&self) -> Result<(), ApiError> {
        match self.access {
            AccountAccess::Open => Ok(()),
            AccountAccess::ExportOnly { closed_at, until } => Err(ApiError::new(
                403,
                "account_closed",
                format!(
                    "the account was closed at {}; until {} its keys only export its data \
                     (POST /v1/exports with {{\"scope\": \"tenant\"}})",
                    closed_at.to_rfc3339(),
                    until.to_rfc3339()
                ),
            )),
            AccountAccess::Closed { .. } => Err(closed()),
        }
    }

    /// 403 naming the scope the key lacks.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                403,
                "missing_scope",
                format!(
                    "this API key lacks the `{}` scope this operation needs",
                    scope.as_str()
                ),
            )
            .with_field("scope"))
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<SecretString, ApiError> {
    let header = headers.get("authorization").ok_or_else(|| {
        ApiError::unauthorized("an Authorization: Bearer <api key> header is required")
    })?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not a bearer API key"))?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(|| {
        ApiError::unauthorized("the Authorization header is not a bearer API key")
    })?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(ApiError::unauthorized(
            "the Authorization header is not a bearer API key",
        ));
    }
    Ok(SecretString::from(token.to_owned()))
}

fn closed() -> ApiError {
    ApiError::unauthorized("the account is closed: its API keys no longer work")
}

/// The caller of a key, with its account's state read as it is now (a closed account's keys
/// export its data for a while, then stop).
pub async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer_token(headers)?;
    let Some(key) = store.authenticate(&token).await? else {
        return Err(ApiError::unauthorized(
            "the API key is unknown, revoked or expired",
        ));
    };
    let (access, country) = match store.tenant(&key.tenant).await? {
        Some(tenant) => (tenant.access(store.now()), tenant.settings.country()),
        None => return Err(closed()),
    };
    if let AccountAccess::Closed { .. } = access {
        return Err(closed());
    }
    Ok(Caller {
        tenant: key.tenant,
        key: key.id,
        scopes: key.scopes,
        access,
        country,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_others_are_refused() {
        assert_eq!(
            bearer_token(&headers("bearer mzn_x"))
                .unwrap()
                .expose_secret(),
            "mzn_x"
        );
        for bad in ["Basic abc", "Bearer", "Bearer   ", "mzn_x"] {
            assert_eq!(
                bearer_token(&headers(bad)).unwrap_err().status,
                401,
                "{bad}"
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new()).unwrap_err().status, 401);
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_CHARS + 1));
        assert_eq!(bearer_token(&headers(&long)).unwrap_err().status, 401);
    }
}
