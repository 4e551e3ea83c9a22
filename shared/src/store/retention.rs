//! Finding what retention has made due: the exact expired range per tenant, category and shard.

use super::{layout, DataError, Store};
use crate::domain::ids::TenantId;
use crate::domain::retention::{Category, RETENTION_SHARDS};
use crate::domain::time::Timestamp;
use crate::ports::records::{Cursor, Due, Page};

impl Store {
    /// One page of records of `category` in one shard with a reference time at or before `up_to`.
    pub async fn due_in_shard(
        &self,
        tenant: &TenantId,
        category: Category,
        shard: u8,
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, DataError> {
        Ok(self
            .records
            .due(
                &layout::retention_partition(tenant, category, shard),
                up_to,
                limit,
                after,
            )
            .await?)
    }

    /// Every record of `category` due at `up_to`, across all shards.
    pub async fn all_due(
        &self,
        tenant: &TenantId,
        category: Category,
        up_to: Timestamp,
    ) -> Result<Vec<Due>, DataError> {
        let mut due = Vec::new();
        for shard in 0..RETENTION_SHARDS {
            let mut after = None;
            loop {
                let page = self
                    .due_in_shard(tenant, category, shard, up_to, 500, after)
                    .await?;
                due.extend(page.items);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        due.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
        Ok(due)
    }
}
