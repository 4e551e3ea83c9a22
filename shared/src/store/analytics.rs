//! Usage counters: per tenant and day, spread over shards so a busy tenant makes no hot item,
//! each change counted exactly once however often the stream delivers it. A batch's changes of
//! one tenant's day go in one transaction: the shard's new counts (read, added to, written on
//! the condition that nobody wrote it meanwhile) and a short-lived mark per change (written on
//! the condition that none exists). A change seen again finds its mark and adds nothing.

use super::{from_doc, layout, to_doc, DataError, Store};
use crate::domain::analytics::{add, Counts};
use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::domain::time::{days, Timestamp};
use crate::ports::records::{Condition, Query, Range, Record, StoreError, Write};
use std::collections::BTreeMap;

/// Shards of a tenant's day: concurrent batches mostly write different items.
pub const ANALYTICS_SHARDS: u64 = 8;
/// Changes per transaction beside the shard (DynamoDB takes 100 writes in one).
pub const MARKS_PER_WRITE: usize = 99;
/// How long a change's mark is kept: past the stream's 24 hours and the queue's retries.
const MARK_DAYS: u64 = 7;
const ATTEMPTS: usize = 8;

/// What counting a tenant's day did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountedOnce {
    /// Changes added to the counters now.
    pub counted: usize,
    /// Changes already counted before (a redelivery).
    pub already_counted: usize,
    /// Transactions written.
    pub writes: usize,
}

impl std::ops::AddAssign for CountedOnce {
    fn add_assign(&mut self, other: CountedOnce) {
        self.counted += other.counted;
        self.already_counted += other.already_counted;
        self.writes += other.writes;
    }
}

fn shard_of(mark: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(mark.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % ANALYTICS_SHARDS
}

/// The start of a day named `YYYY-MM-DD` (its counters' time in the retention index).
fn day_start(day: &str) -> Timestamp {
    Timestamp::parse_rfc3339(&format!("{day}T00:00:00Z")).unwrap_or(Timestamp::EPOCH)
}

impl Store {
    /// Adds each change's counts to the tenant's `day`, once per change: `changes` are
    /// (mark, counts), the mark naming the change (its stream event id).
    pub async fn count_once(
        &self,
        tenant: &TenantId,
        day: &str,
        changes: &[(String, Counts)],
    ) -> Result<CountedOnce, DataError> {
        let mut done = CountedOnce::default();
        for chunk in changes.chunks(MARKS_PER_WRITE) {
            done += self.count_chunk(tenant, day, chunk.to_vec()).await?;
        }
        Ok(done)
    }

    async fn count_chunk(
        &self,
        tenant: &TenantId,
        day: &str,
        mut pending: Vec<(String, Counts)>,
    ) -> Result<CountedOnce, DataError> {
        let mut done = CountedOnce::default();
        for _ in 0..ATTEMPTS {
            if pending.is_empty() {
                return Ok(done);
            }
            let shard = shard_of(&pending[0].0);
            let key = layout::analytics_counter(tenant, day, shard);
            let now = self.now();
            let (mut counts, condition, version) = match self.records.get(&key, now).await? {
                Some(record) => (
                    from_doc::<Counts>(&record, "analytics counter")?,
                    Condition::VersionIs(record.version),
                    record.version + 1,
                ),
                None => (Counts::new(), Condition::Absent, 1),
            };
            for (_, more) in &pending {
                add(&mut counts, more);
            }
            let mut record = Record::new(
                key.clone(),
                layout::ANALYTICS_COUNTER_KIND,
                to_doc(&counts)?,
            );
            record.version = version;
            record.retention = Some(layout::retention_entry(
                tenant,
                Category::Analytics,
                &key,
                day_start(day),
            ));
            let mut writes = vec![Write::Put { record, condition }];
            for (mark, _) in &pending {
                let mut record = Record::new(
                    layout::analytics_mark(tenant, mark),
                    layout::ANALYTICS_MARK_KIND,
                    serde_json::json!({}),
                );
                let key = record.key.clone();
                record.expires_at = Some(now.plus(days(MARK_DAYS)));
                // DynamoDB's TTL removes it after its days; the purge removes it on a store
                // without TTL (the runner's), as it does idempotency keys.
                record.retention = Some(layout::retention_entry(
                    tenant,
                    Category::MessageMetadata,
                    &key,
                    now,
                ));
                writes.push(Write::Put {
                    record,
                    condition: Condition::Absent,
                });
            }
            match self.records.transact(writes).await {
                Ok(()) => {
                    done.counted += pending.len();
                    done.writes += 1;
                    return Ok(done);
                }
                // Another batch wrote the shard meanwhile: read it again.
                Err(StoreError::ConditionFailed { index: 0 }) => continue,
                // A change was counted before: leave out every change that was.
                Err(StoreError::ConditionFailed { .. }) => {
                    let mut fresh = Vec::with_capacity(pending.len());
                    for (mark, counts) in pending {
                        if self
                            .records
                            .get(&layout::analytics_mark(tenant, &mark), now)
                            .await?
                            .is_some()
                        {
                            done.already_counted += 1;
                        } else {
                            fresh.push((mark, counts));
                        }
                    }
                    pending = fresh;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "the day's counters kept changing while they were added to".into(),
        )))
    }

    /// The tenant's counters of every day from `from` to `to` (both `YYYY-MM-DD`), by day.
    pub async fn analytics_days(
        &self,
        tenant: &TenantId,
        from: &str,
        to: &str,
    ) -> Result<BTreeMap<String, Counts>, DataError> {
        let mut query = Query::prefix(layout::analytics_partition(tenant), "");
        query.range = Range::Keys {
            from: from.to_owned(),
            // '~' sorts after the shard numbers: the whole last day is in.
            to: format!("{to}#~"),
        };
        query.limit = 500;
        let records = self.query_all(query, self.now()).await?;
        let mut by_day: BTreeMap<String, Counts> = BTreeMap::new();
        for record in &records {
            let day = record
                .key
                .sk
                .split('#')
                .next()
                .unwrap_or_default()
                .to_owned();
            let counts: Counts = from_doc(record, "analytics counter")?;
            add(by_day.entry(day).or_default(), &counts);
        }
        Ok(by_day)
    }

    /// When the first customer message a reply answers was sent: the earliest inbound message
    /// after the last outbound one before `sent_at` (within a day of it); `None` when the
    /// reply answers nothing new (the customer had been answered already).
    pub async fn first_unanswered_inbound(
        &self,
        tenant: &TenantId,
        contact: &crate::domain::ids::ContactId,
        reply: &crate::domain::ids::MessageId,
        sent_at: Timestamp,
    ) -> Result<Option<Timestamp>, DataError> {
        use crate::domain::message::{Direction, Message};
        let query = Query {
            pk: layout::contact_partition(tenant, contact),
            range: Range::Time {
                from: sent_at.minus(days(1)),
                to: sent_at,
            },
            newest_first: true,
            limit: 50,
            after: None,
        };
        let page = self.records.query(&query, self.now()).await?;
        let mut first = None;
        for record in &page.items {
            if record.kind != layout::kind::MESSAGE_IN && record.kind != layout::kind::MESSAGE_OUT {
                continue;
            }
            let message: Message = from_doc(record, "message")?;
            if message.id == *reply {
                continue;
            }
            match message.direction {
                Direction::Inbound => first = Some(message.sent_at),
                _ => break,
            }
        }
        Ok(first)
    }
}
