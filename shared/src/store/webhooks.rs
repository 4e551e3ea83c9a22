//! A tenant's webhook endpoints (filed under account data) and their delivery logs (one
//! partition per endpoint, kept `DELIVERY_LOG_DAYS`). A delivery about a contact is also noted
//! in the contact's partition, so the contact's erasure removes the deliveries that name it.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store, Versioned};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::domain::time::{days, Timestamp};
use crate::domain::webhook::{Delivery, EndpointId, WebhookEndpoint, DELIVERY_LOG_DAYS};
use crate::ports::records::{Condition, Cursor, Key, Page, Query, Record, StoreError, Write};
use serde::{Deserialize, Serialize};

/// What a contact's partition keeps of a delivery that names it: where the delivery is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRef {
    pub endpoint: EndpointId,
    pub delivery: String,
}

fn endpoint_write(
    endpoint: &WebhookEndpoint,
    version: i64,
    condition: Condition,
) -> Result<Write, DataError> {
    let key = layout::webhook_endpoint(&endpoint.tenant, &endpoint.id);
    let mut record = Record::new(
        key.clone(),
        layout::kind::WEBHOOK_ENDPOINT,
        to_doc(endpoint)?,
    );
    record.version = version;
    // Removed with the account (or by the business), never by age.
    record.retention = Some(layout::retention_entry(
        &endpoint.tenant,
        Category::AccountData,
        &key,
        Timestamp::MAX,
    ));
    Ok(Write::Put { record, condition })
}

fn delivery_key(delivery: &Delivery) -> Key {
    layout::webhook_delivery(&delivery.event.tenant, &delivery.endpoint, &delivery.id())
}

fn delivery_write(
    delivery: &Delivery,
    version: i64,
    condition: Condition,
) -> Result<Write, DataError> {
    let key = delivery_key(delivery);
    let mut record = Record::new(
        key.clone(),
        layout::kind::WEBHOOK_DELIVERY,
        to_doc(delivery)?,
    );
    record.version = version;
    record.retention = Some(layout::retention_entry(
        &delivery.event.tenant,
        Category::MessageMetadata,
        &key,
        delivery.created_at,
    ));
    record.expires_at = Some(delivery.created_at.plus(days(DELIVERY_LOG_DAYS)));
    Ok(Write::Put { record, condition })
}

impl Store {
    /// The tenant's endpoints, oldest first.
    pub async fn webhook_endpoints(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<Versioned<WebhookEndpoint>>, DataError> {
        let records = self
            .query_all(
                Query::prefix(layout::webhook_partition(tenant), ""),
                self.now(),
            )
            .await?;
        let mut endpoints = records
            .iter()
            .map(|r| {
                Ok(Versioned {
                    value: from_doc::<WebhookEndpoint>(r, "webhook endpoint")?,
                    version: r.version,
                })
            })
            .collect::<Result<Vec<_>, DataError>>()?;
        endpoints.sort_by_key(|e| e.value.created_at);
        Ok(endpoints)
    }

    pub async fn webhook_endpoint(
        &self,
        tenant: &TenantId,
        id: &EndpointId,
    ) -> Result<Option<Versioned<WebhookEndpoint>>, DataError> {
        let record = self
            .records
            .get(&layout::webhook_endpoint(tenant, id), self.now())
            .await?;
        record
            .map(|r| {
                Ok(Versioned {
                    value: from_doc(&r, "webhook endpoint")?,
                    version: r.version,
                })
            })
            .transpose()
    }

    /// A new endpoint with its audit event, in one transaction.
    pub async fn add_webhook_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        let writes = vec![
            endpoint_write(endpoint, 1, Condition::Absent)?,
            audit_write(audit)?,
        ];
        Ok(self.records.transact(writes).await?)
    }

    /// Saves an endpoint read at `endpoint.version` (with an audit event of the change, if
    /// any); `Conflict` if it changed since.
    pub async fn save_webhook_endpoint(
        &self,
        endpoint: &Versioned<WebhookEndpoint>,
        audit: Option<&AuditEvent>,
    ) -> Result<(), DataError> {
        let mut writes = vec![endpoint_write(
            &endpoint.value,
            endpoint.version + 1,
            Condition::VersionIs(endpoint.version),
        )?];
        if let Some(audit) = audit {
            writes.push(audit_write(audit)?);
        }
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Err(DataError::Conflict(
                "the webhook endpoint changed since it was read".into(),
            )),
            other => Ok(other?),
        }
    }

    /// Removes an endpoint (its delivery log stays until it expires); `false` if it was gone.
    pub async fn remove_webhook_endpoint(
        &self,
        tenant: &TenantId,
        id: &EndpointId,
        audit: &AuditEvent,
    ) -> Result<bool, DataError> {
        let writes = vec![
            Write::Delete {
                key: layout::webhook_endpoint(tenant, id),
                condition: Condition::Exists,
            },
            audit_write(audit)?,
        ];
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Ok(false),
            other => other.map(|()| true).map_err(DataError::from),
        }
    }

    /// Records a new delivery, noted in its contact's partition when `noted` (a contact erased
    /// or being erased is not written to again); `false` when it was recorded before (the same
    /// change read again), whatever its state now.
    pub async fn create_webhook_delivery(
        &self,
        delivery: &Delivery,
        noted: bool,
    ) -> Result<bool, DataError> {
        let mut writes = vec![delivery_write(delivery, 1, Condition::Absent)?];
        if let Some(contact) = delivery.event.contact.as_ref().filter(|_| noted) {
            let id = delivery.id();
            let key = layout::webhook_delivery_ref(
                &delivery.event.tenant,
                contact,
                &delivery.endpoint,
                &id,
            );
            let note = DeliveryRef {
                endpoint: delivery.endpoint.clone(),
                delivery: id,
            };
            let mut record = Record::new(key, layout::kind::WEBHOOK_DELIVERY_REF, to_doc(&note)?);
            record.expires_at = Some(delivery.created_at.plus(days(DELIVERY_LOG_DAYS)));
            writes.push(Write::Put {
                record,
                condition: Condition::Always,
            });
        }
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Ok(false),
            other => other.map(|()| true).map_err(DataError::from),
        }
    }

    pub async fn webhook_delivery(
        &self,
        tenant: &TenantId,
        endpoint: &EndpointId,
        id: &str,
    ) -> Result<Option<Versioned<Delivery>>, DataError> {
        let record = self
            .records
            .get(&layout::webhook_delivery(tenant, endpoint, id), self.now())
            .await?;
        record
            .map(|r| {
                Ok(Versioned {
                    value: from_doc(&r, "webhook delivery")?,
                    version: r.version,
                })
            })
            .transpose()
    }

    /// Saves a delivery read at `delivery.version` (with the audit event of a business's
    /// change, if any); `Conflict` if it changed since, `NotFound` if it is gone (its contact
    /// erased, its log expired).
    pub async fn save_webhook_delivery(
        &self,
        delivery: &Versioned<Delivery>,
        audit: Option<&AuditEvent>,
    ) -> Result<(), DataError> {
        let mut writes = vec![delivery_write(
            &delivery.value,
            delivery.version + 1,
            Condition::VersionIs(delivery.version),
        )?];
        if let Some(audit) = audit {
            writes.push(audit_write(audit)?);
        }
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => {
                let key = delivery_key(&delivery.value);
                match self.records.get(&key, self.now()).await? {
                    Some(_) => Err(DataError::Conflict(
                        "the webhook delivery changed since it was read".into(),
                    )),
                    None => Err(DataError::NotFound("webhook delivery")),
                }
            }
            other => Ok(other?),
        }
    }

    /// A page of an endpoint's deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        tenant: &TenantId,
        endpoint: &EndpointId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Delivery>, DataError> {
        self.newest_page(
            layout::webhook_deliveries_partition(tenant, endpoint),
            "webhook delivery",
            limit,
            after,
        )
        .await
    }
}
