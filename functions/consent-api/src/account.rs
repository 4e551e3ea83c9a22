//! The business's account: `GET /v1/account` (its status and details), `PATCH /v1/account`
//! (rectifying the details: admin scope, audited by field name) and `POST /v1/account/close`
//! (admin scope, `{"confirm": true}`). Once closed, nothing of it is stored or sent, its keys only
//! export its data for `closed_export_days`, and the purge removes everything two years later.
//! Reopening is the platform operator's (`mizan-local tenant reopen`).

use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::account_details::AccountDetailsPatch;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::workflows::account::{
    account_details_view, account_view, change_account, change_account_details, AccountChange,
    AccountChangeError, AccountDetailsError,
};

fn tenant_gone() -> ApiError {
    ApiError::new(404, "tenant_not_found", "the API key's tenant is gone")
}

async fn tenant(deps: &Deps, caller: &Caller) -> Result<Tenant, ApiError> {
    deps.store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(tenant_gone)
}

/// The account's status and details as one view.
fn view(tenant: &Tenant, details: serde_json::Value) -> serde_json::Value {
    let mut view = account_view(tenant);
    view["name"] = serde_json::json!(tenant.name);
    view["details"] = details;
    view
}

pub async fn get(deps: &Deps, caller: &Caller) -> Result<Reply, ApiError> {
    let tenant = tenant(deps, caller).await?;
    let details = deps
        .store
        .account_details(&caller.tenant)
        .await?
        .map(|d| d.value)
        .unwrap_or_default();
    Ok(Reply::ok(view(&tenant, account_details_view(&details))))
}

pub async fn update(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let patch: AccountDetailsPatch = input::json_body(request)?;
    if patch.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "name at least one field: business_name, industry, contact_email, contact_phone or \
             company (legal_name, address, tax_id, country)",
        ));
    }
    let tenant = tenant(deps, caller).await?;
    let details = change_account_details(&deps.store, &caller.tenant, &patch, caller.actor())
        .await
        .map_err(|e| match e {
            AccountDetailsError::Invalid(invalid) => {
                ApiError::invalid(invalid.field, invalid.reason)
            }
            AccountDetailsError::Data(e) => e.into(),
        })?;
    Ok(Reply::ok(view(&tenant, account_details_view(&details))))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Closing {
    confirm: bool,
}

pub async fn close(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let closing: Closing = input::json_body(request)?;
    if !closing.confirm {
        return Err(ApiError::invalid(
            "confirm",
            "closing the account stops everything: send {\"confirm\": true}",
        ));
    }
    match change_account(
        &deps.store,
        &caller.tenant,
        AccountChange::Close,
        caller.actor(),
    )
    .await
    {
        Ok(tenant) => Ok(Reply::ok(account_view(&tenant))),
        Err(AccountChangeError::Refused(e)) => {
            Err(ApiError::new(409, "account_closed", e.to_string()))
        }
        Err(AccountChangeError::NotFound) => Err(tenant_gone()),
        Err(AccountChangeError::Data(e)) => Err(e.into()),
    }
}
