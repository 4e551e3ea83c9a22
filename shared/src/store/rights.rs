//! Rights requests (one partition per tenant, newest first, kept like the audit trail: they prove
//! a right was honoured), and what a chat request needs between two messages: the deletion code
//! waiting for its answer and the export made today, both in the contact's partition so they
//! go with the contact's erasure.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store, Versioned};
use crate::domain::audit::AuditEvent;
use crate::domain::export::ExportJob;
use crate::domain::ids::{ContactId, ExportId, RightsRequestId, TenantId};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::rights_request::{
    ChatExport, PendingErasure, RightsRequest, RightsState, CHAT_EXPORT_EVERY, CONFIRMATION_WINDOW,
};
use crate::domain::time::days;
use crate::ports::records::{Condition, Cursor, Key, Page, Record, StoreError, Write};
use serde::{Deserialize, Serialize};

/// The record a built (or failed) chat export leaves for ai-reply: ids only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportNotice {
    pub tenant: TenantId,
    pub contact: ContactId,
    pub export: ExportId,
    pub request: RightsRequestId,
}

/// How a chat export request was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatExportOutcome {
    Requested,
    /// Another request of the contact got there first (a duplicated message): nothing new.
    AlreadyRequested,
}

fn rights_write(
    request: &RightsRequest,
    version: i64,
    condition: Condition,
) -> Result<Write, DataError> {
    let key = layout::rights_request(&request.tenant, &request.id);
    let mut record = Record::new(key.clone(), layout::kind::RIGHTS_REQUEST, to_doc(request)?);
    record.version = version;
    record.retention = Some(layout::retention_entry(
        &request.tenant,
        Category::Audit,
        &key,
        request.received_at,
    ));
    record.expires_at = Some(request.received_at.plus(RetentionPolicy::default().audit));
    Ok(Write::Put { record, condition })
}

/// The write that saves a request read at `request.version`, refused if it changed since.
fn rights_save(request: &Versioned<RightsRequest>) -> Result<Write, DataError> {
    rights_write(
        &request.value,
        request.version + 1,
        Condition::VersionIs(request.version),
    )
}

fn contact_side_record<T: Serialize>(
    key: Key,
    kind: &str,
    value: &T,
    version: i64,
    expires_at: crate::domain::time::Timestamp,
) -> Result<Record, DataError> {
    let mut record = Record::new(key, kind, to_doc(value)?);
    record.version = version;
    record.expires_at = Some(expires_at);
    Ok(record)
}

fn conflict(what: &str) -> DataError {
    DataError::Conflict(format!("{what} changed since it was read"))
}

impl Store {
    /// The record at `key` as a `T` with its version, if any.
    async fn versioned<T: serde::de::DeserializeOwned>(
        &self,
        key: &Key,
        kind: &'static str,
    ) -> Result<Option<Versioned<T>>, DataError> {
        let record = self.records.get(key, self.now()).await?;
        record
            .map(|r| {
                Ok(Versioned {
                    value: from_doc(&r, kind)?,
                    version: r.version,
                })
            })
            .transpose()
    }

    /// A new request with its audit event, in one transaction.
    pub async fn record_rights_request(
        &self,
        request: &RightsRequest,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        let writes = vec![
            rights_write(request, 1, Condition::Absent)?,
            audit_write(audit)?,
        ];
        Ok(self.records.transact(writes).await?)
    }

    /// A request the business carried out through the API, on the register as it is done (its
    /// action is audited on its own).
    pub async fn file_rights_request(&self, request: &RightsRequest) -> Result<(), DataError> {
        Ok(self
            .records
            .write(rights_write(request, 1, Condition::Absent)?)
            .await?)
    }

    pub async fn rights_request(
        &self,
        tenant: &TenantId,
        id: &RightsRequestId,
    ) -> Result<Option<Versioned<RightsRequest>>, DataError> {
        self.versioned(&layout::rights_request(tenant, id), "rights request")
            .await
    }

    /// A page of the tenant's requests, newest first.
    pub async fn rights_requests(
        &self,
        tenant: &TenantId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<RightsRequest>, DataError> {
        self.newest_page(
            layout::rights_partition(tenant),
            "rights request",
            limit,
            after,
        )
        .await
    }

    /// A page of the tenant's requests in `state` (all with `None`), newest first. Filtered, a
    /// read may keep fewer than asked: the next reads ask only for what is missing (a few at
    /// most), so the page never overshoots and its cursor resumes exactly after it.
    pub async fn rights_requests_in(
        &self,
        tenant: &TenantId,
        state: Option<RightsState>,
        limit: usize,
        mut after: Option<Cursor>,
    ) -> Result<Page<RightsRequest>, DataError> {
        const MAX_READS: usize = 10;
        let mut items = Vec::new();
        for _ in 0..MAX_READS {
            let page = self
                .rights_requests(tenant, limit - items.len(), after)
                .await?;
            items.extend(
                page.items
                    .into_iter()
                    .filter(|r| state.is_none_or(|s| r.state == s)),
            );
            after = page.next;
            if after.is_none() || items.len() >= limit {
                break;
            }
        }
        Ok(Page { items, next: after })
    }

    /// Saves a request read at `request.version`, with the audit event of the change; fails
    /// with `Conflict` if it changed since.
    pub async fn save_rights_request(
        &self,
        request: &Versioned<RightsRequest>,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        let writes = vec![rights_save(request)?, audit_write(audit)?];
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Err(conflict("the rights request")),
            other => Ok(other?),
        }
    }

    /// The deletion waiting for the contact's code, if any (expired ones too: the answer says so).
    pub async fn pending_erasure(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Option<Versioned<PendingErasure>>, DataError> {
        self.versioned(&layout::pending_erasure(tenant, contact), "pending erasure")
            .await
    }

    /// A deletion question: the new request, its code (replacing a question asked before,
    /// whose request `replaced` lapses in the same transaction) and the audit event.
    pub async fn ask_erasure_confirmation(
        &self,
        request: &RightsRequest,
        pending: &PendingErasure,
        replaced: Option<(&Versioned<PendingErasure>, &Versioned<RightsRequest>)>,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        let key = layout::pending_erasure(&request.tenant, &request.contact);
        let (version, condition) = match replaced {
            Some((old, _)) => (old.version + 1, Condition::VersionIs(old.version)),
            None => (1, Condition::Absent),
        };
        let record = contact_side_record(
            key,
            layout::kind::PENDING_ERASURE,
            pending,
            version,
            pending.expires_at.plus(days(1)),
        )?;
        let mut writes = vec![
            Write::Put { record, condition },
            rights_write(request, 1, Condition::Absent)?,
            audit_write(audit)?,
        ];
        if let Some((_, lapsed)) = replaced {
            writes.push(rights_save(lapsed)?);
        }
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { .. }) => Err(conflict("the deletion question")),
            other => Ok(other?),
        }
    }

    /// Counts a wrong code on the pending deletion.
    pub async fn save_pending_erasure(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        pending: &Versioned<PendingErasure>,
    ) -> Result<(), DataError> {
        let record = contact_side_record(
            layout::pending_erasure(tenant, contact),
            layout::kind::PENDING_ERASURE,
            &pending.value,
            pending.version + 1,
            pending.value.expires_at.plus(days(1)),
        )?;
        let write = Write::Put {
            record,
            condition: Condition::VersionIs(pending.version),
        };
        match self.records.transact(vec![write]).await {
            Err(StoreError::ConditionFailed { .. }) => Err(conflict("the deletion question")),
            other => Ok(other?),
        }
    }

    /// Ends a pending deletion (confirmed, expired or missed too often): its code is removed,
    /// so it cannot be used again, and its request saved, with the audit event, at once. A
    /// replayed confirmation finds no code.
    pub async fn settle_pending_erasure(
        &self,
        pending: &Versioned<PendingErasure>,
        request: &Versioned<RightsRequest>,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        let key = layout::pending_erasure(&request.value.tenant, &request.value.contact);
        let writes = vec![
            Write::Delete {
                key,
                condition: Condition::VersionIs(pending.version),
            },
            rights_save(request)?,
            audit_write(audit)?,
        ];
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { .. }) => Err(conflict("the deletion question")),
            other => Ok(other?),
        }
    }

    /// The export the contact last asked for in the chat, while it still counts.
    pub async fn chat_export(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Option<Versioned<ChatExport>>, DataError> {
        self.versioned(&layout::chat_export(tenant, contact), "chat export")
            .await
    }

    /// An export asked for in the chat: the job (the worker builds it from the stream), the
    /// request, the contact's marker (replacing the one read at `previous`, or new) and the
    /// audit event, in one transaction, so a duplicated message makes one export.
    pub async fn request_chat_export(
        &self,
        job: &ExportJob,
        request: &RightsRequest,
        marker: &ChatExport,
        previous: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<ChatExportOutcome, DataError> {
        let (version, condition) = match previous {
            Some(v) => (v + 1, Condition::VersionIs(v)),
            None => (1, Condition::Absent),
        };
        let record = contact_side_record(
            layout::chat_export(&request.tenant, &request.contact),
            layout::kind::CHAT_EXPORT,
            marker,
            version,
            marker.requested_at.plus(CHAT_EXPORT_EVERY).plus(days(1)),
        )?;
        let writes = vec![
            Write::Put { record, condition },
            Self::export_put(job)?,
            rights_write(request, 1, Condition::Absent)?,
            audit_write(audit)?,
        ];
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => {
                Ok(ChatExportOutcome::AlreadyRequested)
            }
            other => {
                other?;
                Ok(ChatExportOutcome::Requested)
            }
        }
    }

    /// The notice of a finished chat export, written with the job's last state.
    pub(super) fn export_notice_write(job: &ExportJob) -> Result<Option<Write>, DataError> {
        let (Some(request), crate::domain::export::ExportScope::Contact { contact }) =
            (&job.chat_request, &job.scope)
        else {
            return Ok(None);
        };
        let notice = ExportNotice {
            tenant: job.tenant.clone(),
            contact: contact.clone(),
            export: job.id.clone(),
            request: request.clone(),
        };
        let mut record = Record::new(
            layout::export_notice(&job.tenant, &job.id),
            layout::kind::EXPORT_NOTICE,
            to_doc(&notice)?,
        );
        // Acted on within seconds; kept a little for a stream retry, then gone.
        record.expires_at = Some(
            job.requested_at
                .plus(CHAT_EXPORT_EVERY)
                .plus(CONFIRMATION_WINDOW),
        );
        Ok(Some(Write::Put {
            record,
            condition: Condition::Always,
        }))
    }
}
