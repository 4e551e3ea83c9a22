//! Issuing the monthly usage statements: at a month's end, each account open during it gets
//! the statement of that month, made from its daily counters (what Meta reported billable or
//! free, by category and country calling code). The retention purge, a scheduled function that
//! visits every tenant, issues them; a month already issued is left as it is.

use crate::domain::analytics::{add, days_between, Counts};
use crate::domain::billing::{month_start, next_month, previous_month, Statement};
use crate::domain::tenant::{Tenant, TenantStatus};
use crate::domain::time::Timestamp;
use crate::store::{DataError, Store};

/// The statement of the month before `now`'s for `tenant`, issued now if it was not: `None`
/// when it was issued before, or the account did not exist or was closed all that month.
pub async fn issue_due_statement(
    store: &Store,
    tenant: &Tenant,
    now: Timestamp,
) -> Result<Option<Statement>, DataError> {
    let month = previous_month(now);
    let (Some(start), Some(end)) = (
        month_start(&month),
        next_month(&month).as_deref().and_then(month_start),
    ) else {
        return Ok(None);
    };
    let closed_before = matches!(tenant.status, TenantStatus::Closed { at } if at < start);
    if tenant.created_at >= end || closed_before {
        return Ok(None);
    }
    if store.statement(&tenant.id, &month).await?.is_some() {
        return Ok(None);
    }
    let last_day = crate::domain::analytics::day_of(end.minus(std::time::Duration::from_millis(1)));
    let first_day = format!("{month}-01");
    let by_day = store
        .analytics_days(&tenant.id, &first_day, &last_day)
        .await?;
    let mut counts = Counts::new();
    for day in days_between(&first_day, &last_day) {
        if let Some(more) = by_day.get(&day) {
            add(&mut counts, more);
        }
    }
    let statement = Statement::of(tenant.id.clone(), &month, &counts, now);
    Ok(store
        .issue_statement(&statement)
        .await?
        .then_some(statement))
}
