//! Monthly usage statements, one record per tenant and month in the tenant's billing partition:
//! issued once (a second issue of the same month changes nothing), filed as payment records due
//! seven years after their month, outside the tenant's own partition so the account's removal
//! leaves them until then.

use super::{from_doc, layout, to_doc, DataError, Store};
use crate::domain::billing::{month_start, next_month, Statement};
use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::ports::records::{Condition, Query, Record, StoreError, Write};

impl Store {
    /// The tenant's statement of `month` (`YYYY-MM`), if issued.
    pub async fn statement(
        &self,
        tenant: &TenantId,
        month: &str,
    ) -> Result<Option<Statement>, DataError> {
        self.records
            .get(&layout::billing_statement(tenant, month), self.now())
            .await?
            .map(|r| from_doc(&r, "billing statement"))
            .transpose()
    }

    /// Issues `statement` unless its month's is issued already (then `false`: statements are
    /// never changed once issued).
    pub async fn issue_statement(&self, statement: &Statement) -> Result<bool, DataError> {
        let key = layout::billing_statement(&statement.tenant, &statement.month);
        let period_end = next_month(&statement.month)
            .as_deref()
            .and_then(month_start)
            .ok_or_else(|| DataError::Invalid(format!("{:?} is not a month", statement.month)))?;
        let mut record = Record::new(
            key.clone(),
            layout::kind::BILLING_STATEMENT,
            to_doc(statement)?,
        );
        // Kept seven years after the month it covers.
        record.retention = Some(layout::retention_entry(
            &statement.tenant,
            Category::Payment,
            &key,
            period_end,
        ));
        match self
            .records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every statement of the tenant, newest month first.
    pub async fn statements(&self, tenant: &TenantId) -> Result<Vec<Statement>, DataError> {
        let mut query = Query::prefix(layout::billing_partition(tenant), "");
        query.newest_first = true;
        let records = self.query_all(query, self.now()).await?;
        records
            .iter()
            .map(|r| from_doc(r, "billing statement"))
            .collect()
    }
}
