//! Export jobs, kept in a per-tenant partition so a download token's export id finds its job.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store, Versioned};
use crate::domain::audit::AuditEvent;
use crate::domain::export::{ExportJob, ExportScope};
use crate::domain::ids::{ContactId, ExportId, TenantId};
use crate::domain::retention::Category;
use crate::domain::time::days;
use crate::ports::records::{Condition, Query, Record, StoreError, Write};

impl Store {
    fn export_record(job: &ExportJob, version: i64) -> Result<Record, DataError> {
        let key = layout::export(&job.tenant, &job.id);
        let mut record = Record::new(key.clone(), layout::kind::EXPORT_JOB, to_doc(job)?);
        record.version = version;
        record.retention = Some(layout::retention_entry(
            &job.tenant,
            Category::ExportArchive,
            &key,
            job.requested_at,
        ));
        // Past the link's expiry the job still answers "expired" for a day, then reads stop.
        record.expires_at = Some(job.expires_at.plus(days(1)));
        Ok(record)
    }

    pub async fn create_export(&self, job: &ExportJob) -> Result<(), DataError> {
        self.write_new_export(job, None).await
    }

    /// A new job with the audit event of its request, in one transaction.
    pub async fn request_export(
        &self,
        job: &ExportJob,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        self.write_new_export(job, Some(audit)).await
    }

    /// The write of a new job.
    pub(super) fn export_put(job: &ExportJob) -> Result<Write, DataError> {
        Ok(Write::Put {
            record: Self::export_record(job, 1)?,
            condition: Condition::Absent,
        })
    }

    async fn write_new_export(
        &self,
        job: &ExportJob,
        audit: Option<&AuditEvent>,
    ) -> Result<(), DataError> {
        let mut writes = vec![Self::export_put(job)?];
        writes.extend(audit.map(audit_write).transpose()?);
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => {
                Err(DataError::Conflict(format!("export {} exists", job.id)))
            }
            other => Ok(other?),
        }
    }

    pub async fn export(
        &self,
        tenant: &TenantId,
        id: &ExportId,
    ) -> Result<Option<Versioned<ExportJob>>, DataError> {
        let record = self
            .records
            .get(&layout::export(tenant, id), self.now())
            .await?;
        record
            .map(|r| {
                Ok(Versioned {
                    value: from_doc(&r, "export job")?,
                    version: r.version,
                })
            })
            .transpose()
    }

    /// Saves a job read at `job.version`; fails with `Conflict` if it changed since.
    pub async fn save_export(&self, job: &Versioned<ExportJob>) -> Result<i64, DataError> {
        self.save_export_with(job, None).await
    }

    /// Saves a job the worker just finished (built or failed); one asked for in the chat leaves
    /// its notice in the same transaction, for ai-reply to tell the person.
    pub async fn finish_export(&self, job: &Versioned<ExportJob>) -> Result<i64, DataError> {
        let notice = Self::export_notice_write(&job.value)?;
        self.save_export_writes(job, notice).await
    }

    /// Saves a job with the audit event of what changed it (a download), in one transaction;
    /// fails with `Conflict` if the job changed since it was read.
    pub async fn save_export_audited(
        &self,
        job: &Versioned<ExportJob>,
        audit: &AuditEvent,
    ) -> Result<i64, DataError> {
        self.save_export_with(job, Some(audit)).await
    }

    async fn save_export_with(
        &self,
        job: &Versioned<ExportJob>,
        audit: Option<&AuditEvent>,
    ) -> Result<i64, DataError> {
        self.save_export_writes(job, audit.map(audit_write).transpose()?)
            .await
    }

    async fn save_export_writes(
        &self,
        job: &Versioned<ExportJob>,
        with: Option<Write>,
    ) -> Result<i64, DataError> {
        let version = job.version + 1;
        let mut writes = vec![Write::Put {
            record: Self::export_record(&job.value, version)?,
            condition: Condition::VersionIs(job.version),
        }];
        writes.extend(with);
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Err(DataError::Conflict(
                "the export changed since it was read".into(),
            )),
            other => {
                other?;
                Ok(version)
            }
        }
    }

    /// Every export job of the tenant (exports are few: a handful per data-subject request).
    pub async fn exports(&self, tenant: &TenantId) -> Result<Vec<ExportJob>, DataError> {
        let query = Query::prefix(layout::exports_partition(tenant), "");
        self.query_all(query, self.now())
            .await?
            .iter()
            .map(|r| from_doc(r, "export job"))
            .collect()
    }

    pub async fn exports_of_contact(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Vec<ExportJob>, DataError> {
        Ok(self
            .exports(tenant)
            .await?
            .into_iter()
            .filter(|j| matches!(&j.scope, ExportScope::Contact { contact: c } if c == contact))
            .collect())
    }
}
