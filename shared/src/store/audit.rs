//! The audit trail: one partition per tenant, newest first, each event written with its change.

use super::{from_doc, layout, to_doc, DataError, Store};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::TenantId;
use crate::domain::retention::{Category, RetentionPolicy};
use crate::ports::records::{Condition, Cursor, Page, Query, Range, Record, Write};

pub(super) fn write_for(event: &AuditEvent) -> Result<Write, DataError> {
    let key = layout::audit(&event.tenant, event.at, &event.id);
    let mut record = Record::new(key.clone(), layout::kind::AUDIT, to_doc(event)?);
    record.retention = Some(layout::retention_entry(
        &event.tenant,
        Category::Audit,
        &key,
        event.at,
    ));
    // Audit retention is the same for every tenant: past it, reads hide the event even before
    // the purge removes it (and TTL is the backstop).
    record.expires_at = Some(event.at.plus(RetentionPolicy::default().audit));
    Ok(Write::Put {
        record,
        condition: Condition::Absent,
    })
}

impl Store {
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<(), DataError> {
        Ok(self.records.write(write_for(event)?).await?)
    }

    pub async fn audit_events(
        &self,
        tenant: &TenantId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<AuditEvent>, DataError> {
        let page = self
            .records
            .query(
                &Query {
                    pk: layout::audit_partition(tenant),
                    range: Range::Prefix(String::new()),
                    newest_first: true,
                    limit,
                    after,
                },
                self.now(),
            )
            .await?;
        let policy = RetentionPolicy::default();
        let now = self.now();
        let mut items = Vec::with_capacity(page.items.len());
        for record in &page.items {
            let event: AuditEvent = from_doc(record, "audit event")?;
            // Events written before they carried their expiry.
            if !policy.is_due(Category::Audit, event.at, now) {
                items.push(event);
            }
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }
}
