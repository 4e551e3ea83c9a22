//! Tenants and the phone numbers that route deliveries to them.

use super::{from_doc, layout, to_doc, DataError, Store, Versioned};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::{PhoneNumberId, TenantId, WabaId};
use crate::domain::retention::Category;
use crate::domain::tenant::Tenant;
use crate::ports::records::{Condition, Record, StoreError, Write};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A pointer from a phone number id or business account id to its tenant.
#[derive(Serialize, Deserialize)]
struct PhoneDoc {
    tenant: TenantId,
}

impl Store {
    fn tenant_record(tenant: &Tenant, version: i64) -> Result<Record, DataError> {
        let key = layout::tenant(&tenant.id);
        let mut record = Record::new(key.clone(), layout::kind::TENANT, to_doc(tenant)?);
        record.version = version;
        if let crate::domain::tenant::TenantStatus::Closed { at } = tenant.status {
            // A closed account enters the account-data retention clock at closure (P3).
            record.retention = Some(layout::retention_entry(
                &tenant.id,
                Category::AccountData,
                &key,
                at,
            ));
        }
        Ok(record)
    }

    /// The tenant's entry in the tenant directory (written with every tenant save, so tenants
    /// created before the directory existed join it on their next change).
    fn directory_write(tenant: &TenantId) -> Write {
        Write::Put {
            record: Record::new(
                layout::tenant_directory_entry(tenant),
                layout::kind::TENANT_ENTRY,
                serde_json::json!({}),
            ),
            condition: Condition::Always,
        }
    }

    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), DataError> {
        let record = Self::tenant_record(tenant, 1)?;
        match self
            .records
            .transact(vec![
                Write::Put {
                    record,
                    condition: Condition::Absent,
                },
                Self::directory_write(&tenant.id),
            ])
            .await
        {
            Err(StoreError::ConditionFailed { .. }) => {
                Err(DataError::Conflict(format!("tenant {} exists", tenant.id)))
            }
            other => Ok(other?),
        }
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, DataError> {
        Ok(self.tenant_versioned(id).await?.map(|t| t.value))
    }

    /// The tenant with the version it was read at, for `save_tenant`.
    pub async fn tenant_versioned(
        &self,
        id: &TenantId,
    ) -> Result<Option<Versioned<Tenant>>, DataError> {
        let record = self.records.get(&layout::tenant(id), self.now()).await?;
        record
            .map(|r| {
                Ok(Versioned {
                    value: from_doc(&r, "tenant")?,
                    version: r.version,
                })
            })
            .transpose()
    }

    /// Saves a tenant's settings or status if nobody changed it since it was read, with its audit
    /// event in the same transaction. Returns the new version.
    pub async fn save_tenant(
        &self,
        tenant: &Versioned<Tenant>,
        audit: Option<&AuditEvent>,
    ) -> Result<i64, DataError> {
        tenant.value.settings.validate()?;
        let version = tenant.version + 1;
        let mut writes = vec![Write::Put {
            record: Self::tenant_record(&tenant.value, version)?,
            condition: Condition::VersionIs(tenant.version),
        }];
        writes.push(Self::directory_write(&tenant.value.id));
        if let Some(event) = audit {
            writes.push(super::audit_write(event)?);
        }
        self.forget_routing(&tenant.value);
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => {
                match self.tenant_versioned(&tenant.value.id).await? {
                    None => Err(DataError::NotFound("tenant")),
                    Some(_) => Err(DataError::Conflict(
                        "the tenant changed since it was read".into(),
                    )),
                }
            }
            other => {
                other?;
                Ok(version)
            }
        }
    }

    /// Every tenant id in the directory, in id order.
    pub async fn tenant_ids(&self) -> Result<Vec<TenantId>, DataError> {
        let mut query = crate::ports::records::Query::prefix(layout::TENANT_DIRECTORY, "");
        query.limit = 1_000;
        self.query_all(query, self.now())
            .await?
            .iter()
            .map(|r| TenantId::parse(&r.key.sk).map_err(|e| super::codec("tenant entry", e)))
            .collect()
    }

    /// Routes deliveries for `phone` to the tenant. Attaching a number twice is harmless; a
    /// number another tenant owns is a conflict.
    pub async fn attach_phone_number(
        &self,
        tenant_id: &TenantId,
        phone: &PhoneNumberId,
    ) -> Result<Tenant, DataError> {
        let Versioned {
            value: mut tenant,
            version,
        } = self
            .tenant_versioned(tenant_id)
            .await?
            .ok_or(DataError::NotFound("tenant"))?;
        self.tenants_by_phone.remove(phone);
        let owner = self.read_tenant_by_phone_number(phone).await?.map(|t| t.id);
        if owner.as_ref().is_some_and(|o| o != tenant_id) {
            return Err(DataError::Conflict(format!(
                "phone number id {phone} belongs to another tenant"
            )));
        }
        if !tenant.phone_numbers.contains(phone) {
            tenant.phone_numbers.push(phone.clone());
        }
        let mut writes = Vec::with_capacity(2);
        if owner.is_none() {
            let pointer = Record::new(
                layout::phone_number(phone),
                layout::kind::PHONE_NUMBER,
                to_doc(&PhoneDoc {
                    tenant: tenant_id.clone(),
                })?,
            );
            // Absent: of two tenants racing for one number, exactly one wins.
            writes.push(Write::Put {
                record: pointer,
                condition: Condition::Absent,
            });
        }
        writes.push(Write::Put {
            record: Self::tenant_record(&tenant, version + 1)?,
            condition: Condition::VersionIs(version),
        });
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { .. }) => Err(DataError::Conflict(format!(
                "the tenant or phone number id {phone} changed concurrently; retry"
            ))),
            other => {
                other?;
                self.tenants_by_phone.remove(phone);
                Ok(tenant)
            }
        }
    }

    /// Names the WhatsApp Business Account whose templates are the tenant's. An account
    /// belongs to one tenant; a tenant has one account (setting another moves it).
    pub async fn attach_business_account(
        &self,
        tenant_id: &TenantId,
        account: &WabaId,
    ) -> Result<Tenant, DataError> {
        let Versioned {
            value: mut tenant,
            version,
        } = self
            .tenant_versioned(tenant_id)
            .await?
            .ok_or(DataError::NotFound("tenant"))?;
        let owner = self
            .tenant_by_business_account(account)
            .await?
            .map(|t| t.id);
        if owner.as_ref().is_some_and(|o| o != tenant_id) {
            return Err(DataError::Conflict(format!(
                "business account {account} belongs to another tenant"
            )));
        }
        let mut writes = Vec::with_capacity(3);
        if let Some(previous) = tenant.business_account.as_ref().filter(|p| *p != account) {
            writes.push(Write::Delete {
                key: layout::business_account(previous),
                condition: Condition::Always,
            });
        }
        if owner.is_none() {
            writes.push(Write::Put {
                record: Record::new(
                    layout::business_account(account),
                    layout::kind::BUSINESS_ACCOUNT,
                    to_doc(&PhoneDoc {
                        tenant: tenant_id.clone(),
                    })?,
                ),
                condition: Condition::Absent,
            });
        }
        tenant.business_account = Some(account.clone());
        writes.push(Write::Put {
            record: Self::tenant_record(&tenant, version + 1)?,
            condition: Condition::VersionIs(version),
        });
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { .. }) => Err(DataError::Conflict(format!(
                "the tenant or business account {account} changed concurrently; retry"
            ))),
            other => {
                other?;
                Ok(tenant)
            }
        }
    }

    /// The tenant a WhatsApp Business Account belongs to (template webhooks are rare: no cache).
    pub async fn tenant_by_business_account(
        &self,
        account: &WabaId,
    ) -> Result<Option<Tenant>, DataError> {
        let Some(pointer) = self
            .records
            .get(&layout::business_account(account), self.now())
            .await?
        else {
            return Ok(None);
        };
        let doc: PhoneDoc = from_doc(&pointer, "business account")?;
        self.tenant(&doc.tenant).await
    }

    /// The tenant that owns a WhatsApp phone number id, remembered for `TENANT_CACHE_TTL`.
    /// Absence is never remembered: a number attached in another instance routes the very
    /// next delivery, wherever it lands.
    pub async fn tenant_by_phone_number(
        &self,
        phone: &PhoneNumberId,
    ) -> Result<Option<Arc<Tenant>>, DataError> {
        if let Some((tenant, read_at)) = self.tenants_by_phone.get(phone) {
            if read_at.elapsed() < super::TENANT_CACHE_TTL {
                return Ok(Some(tenant));
            }
        }
        let tenant = self.read_tenant_by_phone_number(phone).await?.map(Arc::new);
        if let Some(found) = &tenant {
            self.tenants_by_phone
                .insert(phone.clone(), (found.clone(), std::time::Instant::now()));
        }
        Ok(tenant)
    }

    pub(super) fn forget_routing(&self, tenant: &Tenant) {
        for phone in &tenant.phone_numbers {
            self.tenants_by_phone.remove(phone);
        }
    }

    /// The tenant that owns a WhatsApp phone number id (`metadata.phone_number_id`), read now.
    async fn read_tenant_by_phone_number(
        &self,
        phone: &PhoneNumberId,
    ) -> Result<Option<Tenant>, DataError> {
        let Some(pointer) = self
            .records
            .get(&layout::phone_number(phone), self.now())
            .await?
        else {
            return Ok(None);
        };
        let doc: PhoneDoc = from_doc(&pointer, "phone number")?;
        self.tenant(&doc.tenant).await
    }
}
