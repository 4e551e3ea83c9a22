//! Deliveries kept raw: a validly signed body that does not parse, or a part of one Mizan does
//! not model. Sealed (they may hold personal data), expiring, and never lost (DESIGN §7).

use super::{layout, to_doc, DataError, Store};
use crate::domain::ids::{random_id, ContactId, TenantId};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::ports::keys::KeyContext;
use crate::ports::records::{Condition, Key, Record, Write};
use serde::{Deserialize, Serialize};

/// The tenant raw payloads of unknown owners are filed under.
pub const PLATFORM_TENANT: &str = "_platform";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPayloadInfo {
    /// Why it is kept: `unparseable`, `unmodeled:<field>`, …
    pub reason: String,
    pub size_bytes: usize,
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
        let day = now.to_rfc3339().get(..10).unwrap_or("unknown").to_owned();
        let key = layout::raw_payload(&owner, &day, now, &random_id("raw"));
        let context = KeyContext::new(owner.clone(), ContactId::new(format!("raw-{day}")));
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
        record.expires_at = Some(now.plus(RetentionPolicy::default().quarantine));
        self.records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await?;
        Ok(key)
    }
}
