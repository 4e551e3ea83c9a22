//! Consent history: appended, never rewritten; the contact's current state moves with it.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store, MAX_OPTIMISTIC_ATTEMPTS};
use crate::domain::audit::AuditEvent;
use crate::domain::consent::{ConsentEvent, ConsentState};
use crate::domain::ids::{ContactId, TenantId};
use crate::ports::records::{Condition, Query, Record, StoreError, Write};

/// How committing a consent decision ended.
pub(super) enum ConsentCommit {
    Recorded(ConsentState),
    /// The same decision (time and evidence) was recorded before: nothing changed.
    AlreadyRecorded(ConsentState),
    /// One of the writes committed alongside was refused (e.g. the message exists already).
    CompanionRefused,
}

impl Store {
    /// Appends a decision and updates the contact's state in one transaction. Recording the same
    /// decision (same time and evidence) again changes nothing.
    pub async fn record_consent(
        &self,
        event: &ConsentEvent,
        audit: Option<&AuditEvent>,
    ) -> Result<ConsentState, DataError> {
        let companions = audit.map(audit_write).transpose()?.into_iter().collect();
        match self.commit_consent(event, companions).await? {
            ConsentCommit::Recorded(state) | ConsentCommit::AlreadyRecorded(state) => Ok(state),
            ConsentCommit::CompanionRefused => Err(DataError::Conflict(
                "the audit event of this decision exists already".into(),
            )),
        }
    }

    /// Commits `companions` (e.g. the message that carried a keyword) with the decision, all or
    /// nothing, retrying when the contact changes underneath.
    pub(super) async fn commit_consent(
        &self,
        event: &ConsentEvent,
        companions: Vec<Write>,
    ) -> Result<ConsentCommit, DataError> {
        let history_key = layout::consent(&event.tenant, &event.contact, event.at, &event.evidence);
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some((record, doc)) = self.contact_record(&event.tenant, &event.contact).await?
            else {
                return Err(DataError::NotFound("contact"));
            };
            if self.records.get(&history_key, self.now()).await?.is_some() {
                return Ok(ConsentCommit::AlreadyRecorded(doc.contact.consent));
            }
            let mut contact = doc.contact.clone();
            let mut history = self.consent_history(&event.tenant, &event.contact).await?;
            history.push(event.clone());
            contact.consent = ConsentState::from_history(&history);
            let mut writes = companions.clone();
            writes.push(Write::Put {
                record: Record::new(history_key.clone(), layout::kind::CONSENT, to_doc(event)?),
                condition: Condition::Absent,
            });
            writes.extend(
                self.contact_writes(
                    &contact,
                    Some(&doc),
                    &doc.aliases,
                    doc.seen_digest.clone(),
                    None,
                )
                .await?
                .into_update(record.version),
            );
            match self.records.transact(writes).await {
                Ok(()) => return Ok(ConsentCommit::Recorded(contact.consent)),
                Err(StoreError::ConditionFailed { index }) if index < companions.len() => {
                    return Ok(ConsentCommit::CompanionRefused)
                }
                // The decision or the contact changed meanwhile: read again and decide again.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "contact kept changing while consent was recorded".into(),
        )))
    }

    /// Every decision of the contact, oldest first.
    pub async fn consent_history(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Vec<ConsentEvent>, DataError> {
        let query = Query::prefix(
            layout::contact_partition(tenant, contact),
            layout::CONSENT_PREFIX,
        );
        self.query_all(query, self.now())
            .await?
            .iter()
            .map(|r| from_doc(r, "consent event"))
            .collect()
    }
}
