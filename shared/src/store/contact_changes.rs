//! The one path a contact changes after it exists: read it, apply a domain transition, save it
//! with its audit event in one conditional transaction, and retry (as every optimistic update of
//! the store does) when it changed underneath: a message arrived, another request changed it.

use super::{DataError, Store, Versioned, MAX_OPTIMISTIC_ATTEMPTS};
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::contact::Contact;
use crate::domain::contact_change::{ContactChange, Transition};
use crate::domain::ids::{ContactId, TenantId};

/// What a change came to.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeOutcome {
    /// Saved with its audit event.
    Changed(Versioned<Contact>),
    /// Already so: nothing saved, nothing audited.
    Unchanged(Versioned<Contact>),
    /// No such contact, or its erasure is due: a contact being erased changes no more.
    Gone,
}

impl Store {
    /// Applies `change` to the contact on behalf of `actor`. A rectification is checked by the
    /// caller first (`ProfileCorrection::check`); one that is refused here anyway is `Invalid`.
    pub async fn change_contact(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        change: &ContactChange,
        actor: &Actor,
    ) -> Result<ChangeOutcome, DataError> {
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some(mut current) = self.contact(tenant, contact).await? else {
                return Ok(ChangeOutcome::Gone);
            };
            if current.value.is_erasure_due() {
                return Ok(ChangeOutcome::Gone);
            }
            let detail = match change.apply(&mut current.value, self.now()) {
                Ok(Transition::Unchanged) => return Ok(ChangeOutcome::Unchanged(current)),
                Ok(Transition::Changed { detail }) => detail,
                Err(e) => return Err(DataError::Invalid(e.to_string())),
            };
            let mut audit = AuditEvent::new(
                tenant.clone(),
                actor.clone(),
                change.action(),
                Some(contact.clone()),
                self.now(),
            );
            if let Some(detail) = detail {
                audit = audit.with_detail(detail);
            }
            match self.save_contact(&current, Some(&audit)).await {
                Ok(version) => {
                    current.version = version;
                    return Ok(ChangeOutcome::Changed(current));
                }
                Err(DataError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(DataError::Conflict(format!(
            "the contact kept changing: {} not applied after {MAX_OPTIMISTIC_ATTEMPTS} attempts",
            change.action()
        )))
    }
}
