//! The account's monthly usage statements (what WhatsApp reported billable or free, by
//! category and country calling code): `GET /v1/billing/statements` lists them newest first,
//! `GET /v1/billing/statements/{month}` gives one (`format=csv` for a spreadsheet). Issued at
//! each month's end, never changed, kept seven years.

use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::billing::{is_month, Statement};
use mizan_shared::http_api::{input, ApiError, Caller};
use serde_json::{json, Value};

fn view(statement: &Statement) -> Value {
    json!({
        "month": statement.month,
        "issued_at": statement.issued_at.to_rfc3339(),
        "billable": statement.billable,
        "free": statement.free,
        "lines": statement.lines,
    })
}

pub async fn list(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    input::known_query(request, &[])?;
    let statements = deps.store.statements(&caller.tenant).await?;
    Ok(Reply::ok(json!({
        "statements": statements.iter().map(|s| json!({
            "month": s.month,
            "issued_at": s.issued_at.to_rfc3339(),
            "billable": s.billable,
            "free": s.free,
        })).collect::<Vec<_>>(),
    })))
}

pub async fn get(
    deps: &Deps,
    caller: &Caller,
    month: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    input::known_query(request, &["format"])?;
    let csv = input::format(request, &["json", "csv"])? == "csv";
    if !is_month(month) {
        return Err(ApiError::invalid("month", "a month is YYYY-MM (2026-11)"));
    }
    let statement = deps
        .store
        .statement(&caller.tenant, month)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                404,
                "statement_not_found",
                format!("no statement of {month}: statements are issued after each month's end"),
            )
        })?;
    if csv {
        return Ok(Reply::document(
            "text/csv; charset=utf-8",
            statement.to_csv(),
        ));
    }
    Ok(Reply::ok(view(&statement)))
}
