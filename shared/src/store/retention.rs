//! Finding what retention has made due (the exact expired range per tenant, category and shard)
//! and the storage operations the retention purge acts with.

use super::{from_doc, layout, DataError, Store};
use crate::domain::api_key::ApiKey;
use crate::domain::contact::Contact;
use crate::domain::export::ExportJob;
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::ports::records::{
    Changes, Condition, Cursor, Due, Key, Page, Query, Range, Record, StoreError, Write,
};

impl Store {
    /// One page of records of `category`, across its shards, with a reference time at or
    /// before `up_to` (one request however many shards hold something).
    pub async fn due_in_category(
        &self,
        tenant: &TenantId,
        category: Category,
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, DataError> {
        Ok(self
            .records
            .due(
                &layout::retention_partitions(tenant, category),
                up_to,
                limit,
                after,
            )
            .await?)
    }

    /// Every record of `category` due at `up_to`, across all shards, oldest first.
    pub async fn all_due(
        &self,
        tenant: &TenantId,
        category: Category,
        up_to: Timestamp,
    ) -> Result<Vec<Due>, DataError> {
        let mut due = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .due_in_category(tenant, category, up_to, 500, after)
                .await?;
            due.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        due.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
        Ok(due)
    }
}

/// A contact as the purge sees it: its flags and the last time anything happened in it.
#[derive(Clone, Debug)]
pub struct ContactActivity {
    pub contact: crate::domain::contact::Contact,
    pub last_activity: Timestamp,
}

impl Store {
    /// A record as stored, expired or not: the purge acts on what reads already hide.
    pub async fn stored_record(&self, key: &Key) -> Result<Option<Record>, DataError> {
        Ok(self.records.get(key, Timestamp::EPOCH).await?)
    }

    /// Removes a message's content and re-files it under message metadata at the same time
    /// (retention's first phase). `false` when the message is gone already.
    pub async fn strip_content(
        &self,
        tenant: &TenantId,
        key: &Key,
        sent_at: Timestamp,
    ) -> Result<bool, DataError> {
        let changes = Changes {
            sealed: Some(None),
            retention: Some(Some(layout::retention_entry(
                tenant,
                Category::MessageMetadata,
                key,
                sent_at,
            ))),
            ..Changes::default()
        };
        self.update_if_present(key, changes).await
    }

    /// Files a record in `category` at `at`. `false` when the record is gone.
    pub async fn refile(
        &self,
        tenant: &TenantId,
        key: &Key,
        category: Category,
        at: Timestamp,
    ) -> Result<bool, DataError> {
        let changes = Changes {
            retention: Some(Some(layout::retention_entry(tenant, category, key, at))),
            ..Changes::default()
        };
        self.update_if_present(key, changes).await
    }

    async fn update_if_present(&self, key: &Key, changes: Changes) -> Result<bool, DataError> {
        match self
            .records
            .write(Write::Update {
                key: key.clone(),
                changes,
                condition: Condition::Exists,
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes records in batches (unconditionally: callers pass only what is due).
    pub async fn remove_records(&self, keys: Vec<Key>) -> Result<(), DataError> {
        if keys.is_empty() {
            return Ok(());
        }
        Ok(self.records.delete_many(keys).await?)
    }

    /// The contact's flags and its last activity: the later of its last inbound message seen
    /// and its newest stored message (outbound replies count too).
    pub async fn contact_activity(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Option<ContactActivity>, DataError> {
        let Some((_, doc)) = self.contact_record(tenant, contact).await? else {
            return Ok(None);
        };
        let newest = self
            .records
            .query(
                &Query {
                    pk: layout::contact_partition(tenant, contact),
                    range: Range::Time {
                        from: Timestamp::EPOCH,
                        to: Timestamp::MAX,
                    },
                    newest_first: true,
                    limit: 1,
                    after: None,
                },
                Timestamp::EPOCH,
            )
            .await?;
        let contact = doc.contact;
        let last_activity = newest
            .items
            .iter()
            .filter_map(|r| r.time)
            .chain([contact.last_seen_at, contact.created_at])
            .max()
            .unwrap_or(contact.created_at);
        Ok(Some(ContactActivity {
            contact,
            last_activity,
        }))
    }

    /// Where the purge's next run starts: the tenant the last run stopped at (`None`: from the
    /// first tenant). Platform data, no personal data.
    pub async fn purge_resume_point(&self) -> Result<Option<TenantId>, DataError> {
        let record = self
            .records
            .get(&layout::purge_cursor(), self.now())
            .await?;
        let Some(record) = record else {
            return Ok(None);
        };
        let cursor: PurgeCursorDoc = from_doc(&record, "purge cursor")?;
        Ok(cursor.next_tenant)
    }

    /// Records where the next run starts (`None` once a run went through every tenant).
    pub async fn set_purge_resume_point(&self, next: Option<&TenantId>) -> Result<(), DataError> {
        let doc = super::to_doc(&PurgeCursorDoc {
            next_tenant: next.cloned(),
            at: self.now(),
        })?;
        self.records
            .write(Write::Put {
                record: Record::new(layout::purge_cursor(), layout::kind::PURGE_CURSOR, doc),
                condition: Condition::Always,
            })
            .await?;
        Ok(())
    }

    /// Whether retention has ended for the contact at `now` under `policy`: idle past its
    /// period and not under legal hold. The purge retires such a contact on its next run;
    /// until then reads must not show it. Costs nothing for a contact seen within its period
    /// (`last_seen_at` is refreshed hourly by its messages); otherwise its newest record decides,
    /// as for the purge (the business's own replies count as activity).
    pub async fn contact_retired(
        &self,
        contact: &Contact,
        policy: &RetentionPolicy,
    ) -> Result<bool, DataError> {
        let now = self.now();
        let seen = contact.last_seen_at.max(contact.created_at);
        if contact.legal_hold || !policy.is_due(Category::Contact, seen, now) {
            return Ok(false);
        }
        let activity = self.contact_activity(&contact.tenant, &contact.id).await?;
        Ok(activity.is_none_or(|a| policy.is_due(Category::Contact, a.last_activity, now)))
    }

    /// An export job as stored, expired or not.
    pub async fn stored_export(&self, key: &Key) -> Result<Option<ExportJob>, DataError> {
        self.stored_record(key)
            .await?
            .map(|r| from_doc(&r, "export job"))
            .transpose()
    }

    /// Removes what is left of a closed account once its contacts, messages, exports and audit
    /// trail are gone: API keys (both records), its phone number routes, the tenant record and
    /// its directory entry. Returns how many records went.
    /// Whether the tenant's account was removed (its directory entry stays while its payment
    /// records are kept).
    pub async fn account_removed(&self, tenant: &TenantId) -> Result<bool, DataError> {
        Ok(self
            .records
            .get(&layout::tenant_directory_entry(tenant), self.now())
            .await?
            .is_some_and(|r| r.doc.get("removed_at").is_some()))
    }

    /// A removed tenant's last traces, once nothing of it is kept: the purge's marks left in
    /// its partition and its entry in the tenant directory.
    pub async fn forget_tenant(&self, tenant: &TenantId) -> Result<(), DataError> {
        let query = Query::prefix(layout::tenant_partition(tenant), "");
        let mut doomed: Vec<_> = self
            .query_all(query, Timestamp::EPOCH)
            .await?
            .into_iter()
            .map(|r| r.key)
            .collect();
        doomed.push(layout::tenant_directory_entry(tenant));
        self.records.delete_many(doomed).await?;
        Ok(())
    }

    pub async fn remove_account(&self, tenant: &Tenant) -> Result<usize, DataError> {
        let query = Query::prefix(layout::tenant_partition(&tenant.id), "");
        let records = self.query_all(query, Timestamp::EPOCH).await?;
        let tenant_key = layout::tenant(&tenant.id);
        let mut doomed = Vec::new();
        for record in records.iter().filter(|r| r.key != tenant_key) {
            if record.kind == layout::kind::API_KEY {
                let key: ApiKey = from_doc(record, "api key")?;
                doomed.push(layout::api_key_lookup(&key.hash));
            }
            doomed.push(record.key.clone());
        }
        for phone in &tenant.phone_numbers {
            let key = layout::phone_number(phone);
            if let Some(record) = self.stored_record(&key).await? {
                // A number moved to another tenant keeps routing there.
                if record.doc.get("tenant").and_then(|t| t.as_str()) == Some(tenant.id.as_str()) {
                    doomed.push(key);
                }
            }
        }
        // The directory keeps the tenant while its payment records (statements) are kept, so
        // the purge still finds them at their seven years; the entry says the account is gone.
        if self.files_any(&tenant.id, Category::Payment).await? {
            self.records
                .write(Write::Put {
                    record: Record::new(
                        layout::tenant_directory_entry(&tenant.id),
                        layout::kind::TENANT_ENTRY,
                        serde_json::json!({ "removed_at": self.now() }),
                    ),
                    condition: Condition::Always,
                })
                .await?;
        } else {
            doomed.push(layout::tenant_directory_entry(&tenant.id));
        }
        // Unreadable first, backups included; then gone.
        self.shred_account_details(&tenant.id).await?;
        let removed = doomed.len() + 1;
        self.records.delete_many(doomed).await?;
        self.records.delete_many(vec![tenant_key]).await?;
        self.forget_routing(tenant);
        Ok(removed)
    }
}

impl Store {
    /// Puts a contact under legal hold (deletion suspended) or lifts it, with its audit event,
    /// in one transaction. Returns the new version.
    pub async fn set_contact_legal_hold(
        &self,
        contact: &super::Versioned<crate::domain::contact::Contact>,
        on: bool,
        audit: &crate::domain::audit::AuditEvent,
    ) -> Result<i64, DataError> {
        let mut held = contact.value.clone();
        held.legal_hold = on;
        let Some((_, doc)) = self.contact_record(&held.tenant, &held.id).await? else {
            return Err(DataError::NotFound("contact"));
        };
        let mut writes = self
            .contact_writes(
                &held,
                Some(&doc),
                &doc.aliases,
                doc.seen_digest.clone(),
                None,
            )
            .await?
            .into_update(contact.version);
        let entry = layout::legal_hold(&held.tenant, &held.id);
        let hold_write = if on {
            Write::Put {
                record: Record::new(entry, layout::kind::LEGAL_HOLD, serde_json::json!({})),
                condition: Condition::Always,
            }
        } else {
            Write::Delete {
                key: entry,
                condition: Condition::Always,
            }
        };
        writes.push(hold_write);
        writes.push(super::audit_write(audit)?);
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Err(DataError::Conflict(
                "the contact changed since it was read".into(),
            )),
            other => {
                other?;
                Ok(contact.version + 1)
            }
        }
    }

    /// The tenant's contacts under legal hold.
    pub async fn legal_holds(
        &self,
        tenant: &TenantId,
    ) -> Result<std::collections::HashSet<ContactId>, DataError> {
        let mut query = Query::prefix(layout::legal_holds_partition(tenant), "");
        query.limit = 1_000;
        self.query_all(query, Timestamp::EPOCH)
            .await?
            .iter()
            .map(|r| ContactId::parse(&r.key.sk).map_err(|e| super::codec("legal hold", e)))
            .collect()
    }
}

impl Store {
    /// Every contact of the tenant, from the retention index (each contact is filed there once,
    /// as a contact or as an erasure in progress; the latter are left out).
    pub async fn contact_ids(&self, tenant: &TenantId) -> Result<Vec<ContactId>, DataError> {
        let mut ids: Vec<ContactId> = self
            .all_due(tenant, Category::Contact, Timestamp::MAX)
            .await?
            .iter()
            .filter_map(|due| layout::contact_of(tenant, &due.key))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PurgeCursorDoc {
    next_tenant: Option<TenantId>,
    at: Timestamp,
}
