//! `POST /v1/account/close`: the business closes its account (admin scope, `{"confirm": true}`).
//! From then on nothing of it is stored or sent, its keys only export its data for
//! `closed_export_days`, and the purge removes everything two years later. Reopening is the
//! platform operator's (`mizan-local tenant reopen`).

use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::workflows::account::{
    account_view, change_account, AccountChange, AccountChangeError,
};

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
        Err(AccountChangeError::NotFound) => Err(ApiError::new(
            404,
            "tenant_not_found",
            "the API key's tenant is gone",
        )),
        Err(AccountChangeError::Data(e)) => Err(e.into()),
    }
}
