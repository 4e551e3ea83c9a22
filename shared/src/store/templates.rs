//! A tenant's message templates: one partition per tenant (`T#{tenant}#TPL`), one record per
//! name and language. Account data: kept while the account is, removed with it at closure.
//! Webhook changes are applied with optimistic concurrency and audited in the same transaction.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store, Versioned};
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::domain::template::{
    AppliedChange, LanguageCode, Template, TemplateName, TemplateUpdate,
};
use crate::ports::records::{Condition, Query, Record, StoreError, Write};
use serde_json::json;

/// What applying a template webhook did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateUpdateOutcome {
    Applied(AppliedChange),
    /// Older than (or the same as) what is stored: nothing changed.
    Stale,
}

impl Store {
    fn template_record(template: &Template, version: i64) -> Result<Record, DataError> {
        let key = layout::template(&template.tenant, &template.name, &template.language);
        let mut record = Record::new(key.clone(), layout::kind::TEMPLATE, to_doc(template)?);
        record.version = version;
        // Filed under account data: the purge removes it only when the account goes.
        record.retention = Some(layout::retention_entry(
            &template.tenant,
            Category::AccountData,
            &key,
            template.updated_at,
        ));
        Ok(record)
    }

    async fn template_versioned(
        &self,
        tenant: &TenantId,
        name: &TemplateName,
        language: &LanguageCode,
    ) -> Result<Option<Versioned<Template>>, DataError> {
        let key = layout::template(tenant, name, language);
        match self.records.get(&key, self.now()).await? {
            Some(record) => Ok(Some(Versioned {
                value: from_doc(&record, "template")?,
                version: record.version,
            })),
            None => Ok(None),
        }
    }

    pub async fn template(
        &self,
        tenant: &TenantId,
        name: &TemplateName,
        language: &LanguageCode,
    ) -> Result<Option<Template>, DataError> {
        Ok(self
            .template_versioned(tenant, name, language)
            .await?
            .map(|v| v.value))
    }

    /// Every template of the tenant, by name then language.
    pub async fn templates(&self, tenant: &TenantId) -> Result<Vec<Template>, DataError> {
        let records = self
            .query_all(
                Query::prefix(layout::template_partition(tenant), ""),
                self.now(),
            )
            .await?;
        records
            .iter()
            .map(|record| from_doc(record, "template"))
            .collect()
    }

    /// Stores a template as the Graph API describes it (a sync or a creation), keeping what
    /// webhooks applied after `template.updated_at`, with its audit event.
    pub async fn save_template(
        &self,
        template: &Template,
        audit: &AuditEvent,
    ) -> Result<Template, DataError> {
        for _ in 0..super::MAX_OPTIMISTIC_ATTEMPTS {
            let existing = self
                .template_versioned(&template.tenant, &template.name, &template.language)
                .await?;
            let (mut saved, condition, version) = match existing {
                Some(Versioned { value, version }) => (
                    merged(value, template),
                    Condition::VersionIs(version),
                    version + 1,
                ),
                None => (template.clone(), Condition::Absent, 1),
            };
            saved.tenant = template.tenant.clone();
            let writes = vec![
                Write::Put {
                    record: Self::template_record(&saved, version)?,
                    condition,
                },
                audit_write(audit)?,
            ];
            match self.records.transact(writes).await {
                Ok(()) => return Ok(saved),
                Err(StoreError::ConditionFailed { index: 0 }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "the template kept changing".into(),
        )))
    }

    /// Applies a template webhook (creating the template when the registry does not know it
    /// yet); a change is audited with Meta as the actor.
    pub async fn apply_template_update(
        &self,
        tenant: &TenantId,
        update: &TemplateUpdate,
    ) -> Result<TemplateUpdateOutcome, DataError> {
        for _ in 0..super::MAX_OPTIMISTIC_ATTEMPTS {
            let existing = self
                .template_versioned(tenant, &update.name, &update.language)
                .await?;
            let (template, change, condition, version) = match existing {
                Some(Versioned { mut value, version }) => match value.apply(update) {
                    Some(change) => (value, change, Condition::VersionIs(version), version + 1),
                    None => return Ok(TemplateUpdateOutcome::Stale),
                },
                None => {
                    let created = Template::from_update(tenant.clone(), update);
                    let change = AppliedChange {
                        status: Some((String::new(), created.status.clone())),
                        category: None,
                        quality: None,
                    };
                    (created, change, Condition::Absent, 1)
                }
            };
            let audit = AuditEvent::new(
                tenant.clone(),
                Actor::System("meta".into()),
                update.change.action(),
                None,
                self.now(),
            )
            .with_detail(json!({
                "template": template.name,
                "language": template.language,
                "status": template.status,
                "category": template.category,
                "quality": template.quality,
                "reason": template.reason,
                "reported_at": update.at.to_rfc3339(),
            }));
            let writes = vec![
                Write::Put {
                    record: Self::template_record(&template, version)?,
                    condition,
                },
                audit_write(&audit)?,
            ];
            match self.records.transact(writes).await {
                Ok(()) => return Ok(TemplateUpdateOutcome::Applied(change)),
                Err(StoreError::ConditionFailed { index: 0 }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "the template kept changing".into(),
        )))
    }

    /// Removes a template from the registry (after Meta deleted it), with its audit event.
    /// Returns whether it was there.
    pub async fn delete_template(
        &self,
        tenant: &TenantId,
        name: &TemplateName,
        language: &LanguageCode,
        audit: &AuditEvent,
    ) -> Result<bool, DataError> {
        let writes = vec![
            Write::Delete {
                key: layout::template(tenant, name, language),
                condition: Condition::Exists,
            },
            audit_write(audit)?,
        ];
        match self.records.transact(writes).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed { index: 0 }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// What the Graph API says now (components, category, status, quality) over what is stored,
/// except aspects a webhook reported after the Graph API's answer was read.
fn merged(stored: Template, fresh: &Template) -> Template {
    let newer_than_fresh =
        |at: Option<crate::domain::time::Timestamp>| at.is_some_and(|at| at > fresh.updated_at);
    Template {
        status: if newer_than_fresh(stored.applied.status) {
            stored.status.clone()
        } else {
            fresh.status.clone()
        },
        reason: if newer_than_fresh(stored.applied.status) {
            stored.reason.clone()
        } else {
            fresh.reason.clone()
        },
        category: if newer_than_fresh(stored.applied.category) {
            stored.category
        } else {
            fresh.category
        },
        quality: if newer_than_fresh(stored.applied.quality) {
            stored.quality.clone()
        } else {
            fresh.quality.clone()
        },
        meta_id: fresh.meta_id.clone().or(stored.meta_id),
        applied: stored.applied,
        ..fresh.clone()
    }
}
