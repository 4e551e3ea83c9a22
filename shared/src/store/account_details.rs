//! The business's account details, sealed under a data key of the tenant's own (not any
//! contact's): read and saved whole, with optimistic concurrency and the audit event in one
//! transaction. The closure purge destroys the key before it removes the record.

use super::{audit_write, layout, DataError, Store, Versioned};
use crate::domain::account_details::AccountDetails;
use crate::domain::audit::AuditEvent;
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::retention::Category;
use crate::domain::time::Timestamp;
use crate::ports::keys::KeyContext;
use crate::ports::records::{Changes, Condition, Record, StoreError, Write};

/// The key context of the account's own data key: no contact id looks like it (they are `c`
/// and 32 hex digits), so no contact's erasure reaches it.
const ACCOUNT_KEY_OWNER: &str = "account";

fn account_owner() -> ContactId {
    ContactId::new(ACCOUNT_KEY_OWNER)
}

impl Store {
    /// The account's details, opened; `None` before any were given (or once the key is gone).
    pub async fn account_details(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Versioned<AccountDetails>>, DataError> {
        let Some(record) = self
            .records
            .get(&layout::account_details(tenant), self.now())
            .await?
        else {
            return Ok(None);
        };
        let details: Option<AccountDetails> = self
            .open(tenant, &account_owner(), &record, "account details")
            .await?;
        Ok(details.map(|value| Versioned {
            value,
            version: record.version,
        }))
    }

    /// Saves the details over the version read (`None`: none stored yet), with `audit`;
    /// `Conflict` when someone saved meanwhile. Returns the new version.
    pub async fn save_account_details(
        &self,
        tenant: &TenantId,
        details: &AccountDetails,
        read_version: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<i64, DataError> {
        let key = layout::account_details(tenant);
        let sealed = self.seal(tenant, &account_owner(), &key, details).await?;
        let doc = serde_json::json!({ "updated_at": self.now() });
        let (write, version) = match read_version {
            None => {
                let mut record = Record::new(key.clone(), layout::kind::ACCOUNT_DETAILS, doc);
                record.sealed = Some(sealed);
                record.version = 1;
                // Kept as long as the account: only its closure (P3) finds it here.
                record.retention = Some(layout::retention_entry(
                    tenant,
                    Category::AccountData,
                    &key,
                    Timestamp::MAX,
                ));
                let write = Write::Put {
                    record,
                    condition: Condition::Absent,
                };
                (write, 1)
            }
            Some(version) => {
                let write = Write::Update {
                    key,
                    changes: Changes {
                        doc: Some(doc),
                        version: Some(version + 1),
                        sealed: Some(Some(sealed)),
                        ..Changes::default()
                    },
                    condition: Condition::VersionIs(version),
                };
                (write, version + 1)
            }
        };
        match self
            .records
            .transact(vec![write, audit_write(audit)?])
            .await
        {
            Err(StoreError::ConditionFailed { index: 0 }) => Err(DataError::Conflict(
                "the account details changed since they were read".into(),
            )),
            other => {
                other?;
                Ok(version)
            }
        }
    }

    /// Destroys the account's data key: its sealed details are unreadable from now on,
    /// backups included.
    pub(super) async fn shred_account_details(&self, tenant: &TenantId) -> Result<(), DataError> {
        self.envelope
            .destroy(&KeyContext::new(tenant.clone(), account_owner()))
            .await?;
        Ok(())
    }
}
