//! Erasure of one contact (P7, P11, P12): the contact flagged, then its key destroyed, so content
//! is unreadable at once, then every item of the contact removed; a keyed hash survives only where
//! suppression needs it.

use super::contact_list::listing_key;
use super::contacts::{contact_update, ContactDoc, ContactWrites, SuppressionDoc, TombstoneDoc};
use super::{
    audit_write, from_doc, layout, to_doc, DataError, Store, Versioned, MAX_OPTIMISTIC_ATTEMPTS,
};
use crate::domain::audit::AuditEvent;
use crate::domain::contact::Contact;
use crate::domain::export::ExportJob;
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::retention::Category;
use crate::domain::time::Timestamp;
use crate::ports::records::{Condition, Key, Query, Record, StoreError, Write};

/// Why a contact is erased: the person (or the business for them) asked, or they are under 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErasureReason {
    Request,
    Minor,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ErasureReport {
    /// Records removed: messages, consent history, profile, aliases, export jobs.
    pub records_removed: usize,
    /// Export jobs of the contact that were removed; their archive objects must go too.
    pub exports: Vec<ExportJob>,
    /// Whether a suppression entry now keeps the contact's opt-out or block (P12).
    pub suppressed: bool,
    /// Whole-account exports that may have held the contact, revoked with their archives.
    pub account_exports_revoked: usize,
}

impl Store {
    /// Flags the contact for erasure and files it in the retention index as due at once (so the
    /// purge completes the erasure if the caller cannot), with the audit event, in one
    /// transaction; then destroys the contact's data key, so its content is unreadable at once
    /// (crypto-shredding, backups included). Refused with `Conflict` if the contact changed
    /// since it was read.
    pub async fn request_erasure(
        &self,
        contact: &Versioned<Contact>,
        reason: ErasureReason,
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        let now = self.now();
        let mut flagged = contact.value.clone();
        flagged.erasure_requested_at.get_or_insert(now);
        if reason == ErasureReason::Minor {
            flagged.minor = true;
        }
        let Some((_, stored)) = self.contact_record(&flagged.tenant, &flagged.id).await? else {
            return Err(DataError::NotFound("contact"));
        };
        let mut writes = self
            .erasure_flag(&flagged, &stored, contact.version, now)
            .await?;
        writes.push(audit_write(audit)?);
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => {
                return Err(DataError::Conflict(
                    "the contact changed since it was read".into(),
                ))
            }
            other => other?,
        }
        self.envelope
            .destroy(&Self::key_context(&flagged.tenant, &flagged.id))
            .await?;
        Ok(())
    }

    /// The update that flags `flagged` (a contact read at `read_version`) for erasure and files
    /// it in the retention index as due now (first), and the removal of its list entry.
    async fn erasure_flag(
        &self,
        flagged: &Contact,
        stored: &ContactDoc,
        read_version: i64,
        now: Timestamp,
    ) -> Result<Vec<Write>, DataError> {
        let ContactWrites {
            key, doc, listing, ..
        } = self
            .contact_writes(
                flagged,
                Some(stored),
                &stored.aliases,
                stored.seen_digest.clone(),
                None,
            )
            .await?;
        let entry = layout::retention_entry(&flagged.tenant, Category::Erasure, &key, now);
        let mut update = contact_update(key, doc, None, read_version);
        if let Write::Update { changes, .. } = &mut update {
            changes.retention = Some(Some(entry));
        }
        let mut writes = vec![update];
        writes.extend(listing);
        Ok(writes)
    }

    /// The contact, flagged for erasure before any of its records go (an idle contact the purge
    /// retires is not flagged yet). Deliveries read a contact directly by its id and trust it
    /// only unflagged (`upsert_contact`), so none attaches to a contact whose aliases are going;
    /// and an erasure that stops halfway is due in the index for the purge to finish.
    async fn contact_flagged_for_erasure(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        now: Timestamp,
    ) -> Result<Option<ContactDoc>, DataError> {
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some((record, mut doc)) = self.contact_record(tenant, contact).await? else {
                return Ok(None);
            };
            if doc.contact.erasure_requested_at.is_some() {
                return Ok(Some(doc));
            }
            let mut flagged = doc.contact.clone();
            flagged.erasure_requested_at = Some(now);
            let writes = self
                .erasure_flag(&flagged, &doc, record.version, now)
                .await?;
            doc.contact = flagged;
            match self.records.transact(writes).await {
                Err(StoreError::ConditionFailed { .. }) => continue,
                other => other?,
            }
            return Ok(Some(doc));
        }
        Err(DataError::Store(StoreError::Busy(
            "contact kept changing while its erasure began".into(),
        )))
    }

    /// Remembers, for the redelivery window, when each of the contact's identifiers was erased:
    /// older deliveries from them are dropped, not stored as a new contact (keyed hashes only).
    async fn leave_tombstones(
        &self,
        tenant: &TenantId,
        doc: &ContactDoc,
        now: Timestamp,
    ) -> Result<(), DataError> {
        let erased_at = doc.contact.erasure_requested_at.unwrap_or(now);
        let period = crate::domain::retention::RetentionPolicy::default().erasure_tombstone;
        let tombstone = to_doc(&TombstoneDoc { erased_at })?;
        let writes: Vec<Write> = doc
            .aliases
            .iter()
            .map(|hash| {
                let key = layout::erasure_tombstone(tenant, hash);
                let mut record = Record::new(
                    key.clone(),
                    layout::kind::ERASURE_TOMBSTONE,
                    tombstone.clone(),
                );
                record.retention = Some(layout::retention_entry(
                    tenant,
                    Category::ErasureTombstone,
                    &key,
                    now,
                ));
                record.expires_at = Some(now.plus(period));
                Write::Put {
                    record,
                    condition: Condition::Always,
                }
            })
            .collect();
        if !writes.is_empty() {
            self.records.transact(writes).await?;
        }
        Ok(())
    }

    /// Removes everything of one contact. Safe to repeat after a partial failure: the contact
    /// is flagged first, and the profile record, which holds the list of aliases, goes last.
    pub async fn erase_contact(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<ErasureReport, DataError> {
        let now = self.now();
        let found = self
            .contact_flagged_for_erasure(tenant, contact, now)
            .await?;
        self.envelope
            .destroy(&Self::key_context(tenant, contact))
            .await?;

        let mut suppressed = false;
        if let Some(doc) = &found {
            self.leave_tombstones(tenant, doc, now).await?;
            if SuppressionDoc::needed_for(&doc.contact) {
                let suppression = to_doc(&SuppressionDoc::of(&doc.contact, now))?;
                let writes = doc
                    .aliases
                    .iter()
                    .map(|hash| {
                        let key = layout::suppression(tenant, hash);
                        let mut record = Record::new(
                            key.clone(),
                            layout::kind::SUPPRESSION,
                            suppression.clone(),
                        );
                        // Kept as long as the account: only its closure (P3) finds it here.
                        record.retention = Some(layout::retention_entry(
                            tenant,
                            Category::AccountData,
                            &key,
                            Timestamp::MAX,
                        ));
                        Write::Put {
                            record,
                            condition: Condition::Always,
                        }
                    })
                    .collect::<Vec<_>>();
                if !writes.is_empty() {
                    self.records.transact(writes).await?;
                    suppressed = true;
                }
            }
        }

        let profile_key = layout::contact(tenant, contact);
        let mut query = Query::prefix(layout::contact_partition(tenant, contact), "");
        query.limit = 500;
        // Expired records too: erasure may not leave anything behind for TTL to find.
        let partition = self.query_all(query, Timestamp::EPOCH).await?;
        // Deliveries to the business's webhooks that name the contact go with it.
        let deliveries = partition
            .iter()
            .filter(|r| r.kind == layout::kind::WEBHOOK_DELIVERY_REF)
            .map(|r| {
                from_doc::<super::webhooks::DeliveryRef>(r, "webhook delivery ref")
                    .map(|d| layout::webhook_delivery(tenant, &d.endpoint, &d.delivery))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut doomed: Vec<Key> = partition
            .into_iter()
            .map(|r| r.key)
            .filter(|k| *k != profile_key)
            .chain(deliveries)
            .collect();
        let exports = self.exports_of_contact(tenant, contact).await?;
        doomed.extend(exports.iter().map(|j| layout::export(tenant, &j.id)));
        doomed.extend(
            exports
                .iter()
                .filter(|j| j.chat_request.is_some())
                .map(|j| layout::export_notice(tenant, &j.id)),
        );
        if let Some(doc) = &found {
            // The person's places in campaigns, found through the identifiers they were named by.
            doomed.extend(self.campaign_records_of(tenant, &doc.aliases).await?);
            doomed.extend(doc.aliases.iter().map(|h| layout::alias(tenant, h)));
        }
        doomed.push(layout::legal_hold(tenant, contact));
        let removed = doomed.len() + usize::from(found.is_some());
        // The contact's list entry went with its flag (so it is not counted), unless the
        // erasure began before the list existed.
        doomed.extend(found.as_ref().map(listing_key));
        self.records.delete_many(doomed).await?;
        if found.is_some() {
            self.records.delete_many(vec![profile_key]).await?;
        }
        Ok(ErasureReport {
            records_removed: removed,
            exports,
            suppressed,
            account_exports_revoked: 0,
        })
    }
}
