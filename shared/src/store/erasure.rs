//! Erasure of one contact (P7, P11, P12): key destroyed first, so content is unreadable at once,
//! then every item of the contact removed; a keyed hash survives only where suppression needs it.

use super::contacts::SuppressionDoc;
use super::{layout, to_doc, DataError, Store};
use crate::domain::export::ExportJob;
use crate::domain::ids::{ContactId, TenantId};
use crate::ports::records::{Condition, Key, Query, Record, Write};

#[derive(Clone, Debug, PartialEq)]
pub struct ErasureReport {
    /// Records removed: messages, consent history, profile, aliases, export jobs.
    pub records_removed: usize,
    /// Export jobs of the contact that were removed; their archive objects must go too.
    pub exports: Vec<ExportJob>,
    /// Whether a suppression entry now keeps the contact's opt-out or block (P12).
    pub suppressed: bool,
}

impl Store {
    /// Removes everything of one contact. Safe to repeat after a partial failure: the profile
    /// record, which holds the list of aliases, goes last.
    pub async fn erase_contact(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<ErasureReport, DataError> {
        let now = self.now();
        let found = self.contact_record(tenant, contact).await?;
        self.envelope
            .destroy(&Self::key_context(tenant, contact))
            .await?;

        let mut suppressed = false;
        if let Some((_, doc)) = &found {
            if doc.contact.consent.needs_suppression() {
                let suppression = to_doc(&SuppressionDoc::from_consent(&doc.contact.consent, now))?;
                let writes = doc
                    .aliases
                    .iter()
                    .map(|hash| Write::Put {
                        record: Record::new(
                            layout::suppression(tenant, hash),
                            layout::kind::SUPPRESSION,
                            suppression.clone(),
                        ),
                        condition: Condition::Always,
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
        let mut doomed: Vec<Key> = self
            .query_all(query, crate::domain::time::Timestamp::EPOCH)
            .await?
            .into_iter()
            .map(|r| r.key)
            .filter(|k| *k != profile_key)
            .collect();
        let exports = self.exports_of_contact(tenant, contact).await?;
        doomed.extend(exports.iter().map(|j| layout::export(tenant, &j.id)));
        if let Some((_, doc)) = &found {
            doomed.extend(doc.aliases.iter().map(|h| layout::alias(tenant, h)));
        }
        let removed = doomed.len() + usize::from(found.is_some());
        self.records.delete_many(doomed).await?;
        if found.is_some() {
            self.records.delete_many(vec![profile_key]).await?;
        }
        Ok(ErasureReport {
            records_removed: removed,
            exports,
            suppressed,
        })
    }
}
