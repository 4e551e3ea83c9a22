//! Deliveries kept raw: a validly signed body that does not parse, or a part of one Mizan does
//! not model. Sealed (they may hold personal data), expiring, and never lost (DESIGN §7).

use super::{from_doc, layout, to_doc, DataError, Store};
use crate::domain::ids::{random_id, ContactId, PhoneNumberId, TenantId};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::time::{days, Timestamp};
use crate::domain::whatsapp::DeliveryItem;
use crate::ports::keys::KeyContext;
use crate::ports::records::{Condition, Key, Query, Record, Write};
use serde::{Deserialize, Serialize};

/// The tenant raw payloads of unknown owners are filed under.
pub const PLATFORM_TENANT: &str = "_platform";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPayloadInfo {
    /// Why it is kept: `unparseable`, `unmodeled:<field>`, …
    pub reason: String,
    pub size_bytes: usize,
}

/// Why an item of a delivery for a number no tenant owns (yet) is kept: replayed once the
/// number is attached.
pub fn unrouted_reason(phone: &PhoneNumberId) -> String {
    format!("unrouted:{phone}")
}

/// A kept delivery item for a number that had no tenant, ready to be replayed.
pub struct UnroutedItem {
    pub key: Key,
    pub item: DeliveryItem,
}

fn raw_day(at: Timestamp) -> String {
    at.to_rfc3339().get(..10).unwrap_or("unknown").to_owned()
}

fn raw_key_context(owner: &TenantId, day: &str) -> KeyContext {
    KeyContext::new(owner.clone(), ContactId::new(format!("raw-{day}")))
}

impl Store {
    /// Keeps `body` sealed for inspection until the quarantine retention (14 days) ends. Each day
    /// has its own data key, so a whole day can also be shredded at once.
    pub async fn keep_raw(
        &self,
        tenant: Option<&TenantId>,
        reason: &str,
        body: &[u8],
    ) -> Result<Key, DataError> {
        let now = self.now();
        let owner = tenant
            .cloned()
            .unwrap_or_else(|| TenantId::new(PLATFORM_TENANT));
        let day = raw_day(now);
        let key = layout::raw_payload(&owner, &day, now, &random_id("raw"));
        let context = raw_key_context(&owner, &day);
        let sealed = self
            .envelope
            .seal(&context, &layout::aad(&key), body)
            .await?;
        let mut record = Record::new(
            key.clone(),
            layout::kind::RAW_PAYLOAD,
            to_doc(&RawPayloadInfo {
                reason: reason.to_owned(),
                size_bytes: body.len(),
            })?,
        );
        record.sealed = Some(sealed);
        record.retention = Some(layout::retention_entry(
            &owner,
            Category::Quarantine,
            &key,
            now,
        ));
        let kept_for = RetentionPolicy::default().quarantine;
        record.expires_at = Some(now.plus(kept_for));
        // The day's key goes when the day's last payload is due: filed at the day's end.
        let day_ends = Timestamp::from_millis((now.as_millis().div_euclid(DAY_MS) + 1) * DAY_MS);
        let marker_key = layout::raw_day_key(&owner, &day);
        let mut marker = Record::new(
            marker_key.clone(),
            layout::kind::RAW_DAY_KEY,
            serde_json::json!({}),
        );
        marker.retention = Some(layout::retention_entry(
            &owner,
            Category::Quarantine,
            &marker_key,
            day_ends,
        ));
        marker.expires_at = Some(day_ends.plus(kept_for));
        self.records
            .transact(vec![
                Write::Put {
                    record,
                    condition: Condition::Absent,
                },
                Write::Put {
                    record: marker,
                    condition: Condition::Always,
                },
            ])
            .await?;
        Ok(key)
    }

    /// Destroys the data key of one day of kept payloads (the purge, once all of them are due).
    pub async fn shred_raw_day(&self, owner: &TenantId, day: &str) -> Result<(), DataError> {
        self.envelope.destroy(&raw_key_context(owner, day)).await?;
        Ok(())
    }
}

const DAY_MS: i64 = 86_400_000;

impl Store {
    /// Keeps one item of a delivery for `phone`, which no tenant owns, so that it can be
    /// replayed once the number is attached (`replay_unrouted` in intake) instead of lost.
    pub async fn keep_unrouted(
        &self,
        phone: &PhoneNumberId,
        item: &DeliveryItem,
    ) -> Result<Key, DataError> {
        let body = serde_json::to_vec(item)
            .map_err(|e| DataError::Invalid(format!("delivery item does not serialize: {e}")))?;
        self.keep_raw(None, &unrouted_reason(phone), &body).await
    }

    /// The kept, unexpired items for `phone`, oldest first (every day of the quarantine).
    pub async fn unrouted_items(
        &self,
        phone: &PhoneNumberId,
    ) -> Result<Vec<UnroutedItem>, DataError> {
        let owner = TenantId::new(PLATFORM_TENANT);
        let reason = unrouted_reason(phone);
        let now = self.now();
        let kept_days = RetentionPolicy::default().quarantine.as_secs() / 86_400;
        let mut items = Vec::new();
        for back in (0..=kept_days).rev() {
            let day = raw_day(now.minus(days(back)));
            let partition = layout::raw_payload(&owner, &day, now, "").pk;
            let mut query = Query::prefix(partition, "");
            query.limit = 500;
            for record in self.query_all(query, now).await? {
                if record.kind != layout::kind::RAW_PAYLOAD {
                    continue;
                }
                let info: RawPayloadInfo = from_doc(&record, "raw payload")?;
                if info.reason != reason {
                    continue;
                }
                let Some(sealed) = &record.sealed else {
                    continue;
                };
                let body = self
                    .envelope
                    .open(
                        &raw_key_context(&owner, &day),
                        &layout::aad(&record.key),
                        sealed,
                    )
                    .await?;
                let item = serde_json::from_slice(&body).map_err(|e| {
                    DataError::Invalid(format!("kept delivery item does not parse: {e}"))
                })?;
                items.push(UnroutedItem {
                    key: record.key.clone(),
                    item,
                });
            }
        }
        Ok(items)
    }

    /// Removes a kept item once it has been replayed.
    pub async fn forget_raw(&self, key: &Key) -> Result<(), DataError> {
        self.records
            .write(Write::Delete {
                key: key.clone(),
                condition: Condition::Always,
            })
            .await?;
        Ok(())
    }
}
