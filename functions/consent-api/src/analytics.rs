//! Usage analytics of the tenant, aggregate only: `GET /v1/analytics` (JSON, or `format=csv`
//! for a spreadsheet) and `GET /v1/analytics/report` (an HTML page with charts). Both take
//! `from` and `to` (days, `YYYY-MM-DD`, UTC; the last 30 days by default, 25 months at most)
//! and `granularity` (`day` or `month`).

use crate::{Deps, Reply};
use lambda_http::{Request, RequestExt};
use mizan_shared::domain::analytics::{
    add, day_of, is_day, periods, Counts, Granularity, Period, Summary,
};
use mizan_shared::domain::time::days;
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::workflows::analytics::report::{report_csv, report_html};
use serde_json::json;

/// The longest range: the counters' 25 months.
pub const MAX_DAYS: usize = 762;
/// The range when none is given: the last 30 days, today included.
const DEFAULT_DAYS: u64 = 30;

struct Asked {
    from: String,
    to: String,
    granularity: Granularity,
    csv: bool,
}

fn asked(deps: &Deps, request: &Request, formats: bool) -> Result<Asked, ApiError> {
    let query = request.query_string_parameters();
    let known: &[&str] = if formats {
        &["from", "to", "granularity", "format"]
    } else {
        &["from", "to", "granularity"]
    };
    input::known_query(request, known)?;
    let day = |name: &'static str, text: &str| {
        if is_day(text) {
            Ok(text.to_owned())
        } else {
            Err(ApiError::invalid(
                name,
                format!("{name} is a day, YYYY-MM-DD (UTC)"),
            ))
        }
    };
    let now = deps.store.now();
    let to = match query.first("to") {
        Some(text) => day("to", text)?,
        None => day_of(now),
    };
    let from = match query.first("from") {
        Some(text) => day("from", text)?,
        None => day_of(
            mizan_shared::domain::time::Timestamp::parse_rfc3339(&format!("{to}T00:00:00Z"))
                .unwrap_or(now)
                .minus(days(DEFAULT_DAYS - 1)),
        ),
    };
    if from > to {
        return Err(ApiError::invalid("from", "from is after to"));
    }
    if mizan_shared::domain::analytics::days_between(&from, &to).len() > MAX_DAYS {
        return Err(ApiError::invalid(
            "from",
            format!("a range is at most {MAX_DAYS} days (the counters' 25 months)"),
        ));
    }
    let granularity = match query.first("granularity") {
        None => Granularity::Day,
        Some(text) => Granularity::parse(text)
            .ok_or_else(|| ApiError::invalid("granularity", "granularity is day or month"))?,
    };
    let csv = input::format(request, &["json", "csv"])? == "csv";
    Ok(Asked {
        from,
        to,
        granularity,
        csv,
    })
}

async fn periods_of(deps: &Deps, caller: &Caller, asked: &Asked) -> Result<Vec<Period>, ApiError> {
    let by_day = deps
        .store
        .analytics_days(&caller.tenant, &asked.from, &asked.to)
        .await?;
    Ok(periods(&by_day, &asked.from, &asked.to, asked.granularity))
}

fn total(periods: &[Period]) -> (Counts, Summary) {
    let mut counts = Counts::new();
    for p in periods {
        add(&mut counts, &p.counts);
    }
    let summary = Summary::of(&counts);
    (counts, summary)
}

pub async fn get(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let asked = asked(deps, request, true)?;
    let periods = periods_of(deps, caller, &asked).await?;
    if asked.csv {
        return Ok(Reply::document(
            "text/csv; charset=utf-8",
            report_csv(&periods),
        ));
    }
    let (counts, summary) = total(&periods);
    Ok(Reply::ok(json!({
        "from": asked.from,
        "to": asked.to,
        "granularity": asked.granularity.as_str(),
        "periods": periods.iter().map(|p| json!({
            "period": p.name,
            "summary": p.summary,
            "counts": p.counts,
        })).collect::<Vec<_>>(),
        "total": { "summary": summary, "counts": counts },
    })))
}

pub async fn report(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let asked = asked(deps, request, false)?;
    let periods = periods_of(deps, caller, &asked).await?;
    let (_, summary) = total(&periods);
    let tenant =
        deps.store.tenant(&caller.tenant).await?.ok_or_else(|| {
            ApiError::new(404, "tenant_not_found", "the API key's tenant is gone")
        })?;
    let business = deps
        .store
        .account_details(&caller.tenant)
        .await?
        .and_then(|d| d.value.business_name)
        .unwrap_or(tenant.name);
    Ok(Reply::document(
        "text/html; charset=utf-8",
        report_html(&business, &asked.from, &asked.to, &periods, &summary),
    ))
}
