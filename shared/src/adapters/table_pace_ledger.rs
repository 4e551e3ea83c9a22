//! The pace ledger in the data table, for functions in separate processes (AWS): one small
//! item per send, in a partition per number and second (`PACE#{number}#{second}`), so the
//! writes of a busy number spread over partitions; each item expires after ten minutes
//! (DynamoDB's TTL deletes it). A reader queries the two seconds its window spans.

use crate::domain::ids::{random_id, PhoneNumberId};
use crate::domain::time::Timestamp;
use crate::ports::pace_ledger::PaceLedger;
use crate::ports::records::{Condition, Key, Query, Record, StoreError, Write};
use crate::store::Store;
use async_trait::async_trait;
use std::time::Duration;

pub const PACE_MARK_KIND: &str = "pace_mark";
const KEPT_FOR: Duration = Duration::from_secs(600);

pub struct TablePaceLedger {
    store: Store,
}

impl TablePaceLedger {
    pub fn new(store: Store) -> Self {
        TablePaceLedger { store }
    }
}

fn partition(from: &PhoneNumberId, second: i64) -> String {
    format!("PACE#{from}#{second}")
}

#[async_trait]
impl PaceLedger for TablePaceLedger {
    async fn record(&self, from: &PhoneNumberId) -> Result<(), StoreError> {
        let now = self.store.now();
        let key = Key::new(
            partition(from, now.as_unix_seconds()),
            format!("{:013}#{}", now.as_millis().max(0), random_id("m")),
        );
        let mut record = Record::new(key, PACE_MARK_KIND, serde_json::json!({}));
        record.expires_at = Some(now.plus(KEPT_FOR));
        self.store
            .records()
            .write(Write::Put {
                record,
                condition: Condition::Always,
            })
            .await
    }

    async fn recent(
        &self,
        from: &PhoneNumberId,
        within: Duration,
    ) -> Result<Vec<Duration>, StoreError> {
        let now = self.store.now();
        let since = Timestamp::from_millis(now.as_millis() - within.as_millis() as i64);
        let mut ages = Vec::new();
        for second in (since.as_unix_seconds()..=now.as_unix_seconds()).rev() {
            let mut query = Query::prefix(partition(from, second), "");
            query.limit = 1_000;
            let page = self.store.records().query(&query, now).await?;
            for item in page.items.iter().rev() {
                let at = item
                    .key
                    .sk
                    .split_once('#')
                    .and_then(|(millis, _)| millis.parse::<i64>().ok())
                    .map(Timestamp::from_millis);
                if let Some(at) = at.filter(|at| *at > since) {
                    ages.push(now.since(at));
                }
            }
        }
        Ok(ages)
    }
}
