//! The audit trail: one partition per tenant, newest first, each event written with its change.

use super::{from_doc, layout, to_doc, DataError, Store};
use crate::domain::audit::{AuditEvent, AuditFilter};
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
        self.audit_events_matching(tenant, &AuditFilter::default(), limit, after)
            .await
    }

    /// A page of the events `filter` wants, newest first. The time range is a range of sort
    /// keys (they begin with the time); action and subject are checked on each event, reading
    /// on (a few pages at most) until the page is full, so a page may hold fewer than `limit`
    /// with a cursor to read on from.
    pub async fn audit_events_matching(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        limit: usize,
        mut after: Option<Cursor>,
    ) -> Result<Page<AuditEvent>, DataError> {
        const MAX_READS: usize = 10;
        let range = match (filter.from, filter.to) {
            (None, None) => Range::Prefix(String::new()),
            (from, to) => Range::Keys {
                from: format!("{:013}", from.map_or(0, |t| t.as_millis().max(0))),
                // '~' sorts after every id character: the whole last millisecond is in.
                to: format!(
                    "{:013}#~",
                    to.map_or(9_999_999_999_999, |t| t.as_millis().max(0))
                ),
            },
        };
        let mut items = Vec::new();
        for _ in 0..MAX_READS {
            let page = self
                .audit_page(tenant, range.clone(), limit - items.len(), after)
                .await?;
            items.extend(page.items.into_iter().filter(|e| filter.matches(e)));
            after = page.next;
            if after.is_none() || items.len() >= limit {
                break;
            }
        }
        Ok(Page { items, next: after })
    }

    async fn audit_page(
        &self,
        tenant: &TenantId,
        range: Range,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<AuditEvent>, DataError> {
        let page = self
            .records
            .query(
                &Query {
                    pk: layout::audit_partition(tenant),
                    range,
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
