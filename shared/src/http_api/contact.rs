//! The caller's contact named in a request: another tenant's contact, an unknown one, one being
//! erased and one whose retention has ended are the same 404, so nothing tells them apart.

use super::{input, ApiError, Caller};
use crate::domain::contact::Contact;
use crate::domain::contact_reference::ContactReference;
use crate::domain::retention::{Category, RetentionPolicy};
use crate::store::{Store, Versioned};

/// The contact `raw` (a phone number or user id, percent-encoded) names among the caller's.
/// Aliases are keyed by tenant, so another tenant's contact is never found.
pub async fn callers_contact(
    store: &Store,
    caller: &Caller,
    raw: &str,
) -> Result<Versioned<Contact>, ApiError> {
    let found = match input::contact_reference(raw, caller.country)? {
        ContactReference::Identifier { kind, value } => {
            store
                .find_contact(&caller.tenant, kind, value.expose())
                .await?
        }
        ContactReference::Id(id) => store.contact(&caller.tenant, &id).await?,
    };
    let Some(contact) = found.filter(|contact| {
        contact.value.tenant == caller.tenant
            && !contact.value.is_erasure_due()
            && contact.value.profile.is_some()
    }) else {
        return Err(ApiError::contact_not_found());
    };
    // Reads never show what retention has ended, even before the purge removes it. No tenant
    // keeps an idle contact less than the default policy does: a contact seen within that
    // period costs no further read.
    let seen = contact.value.last_seen_at.max(contact.value.created_at);
    if !RetentionPolicy::default().is_due(Category::Contact, seen, store.now()) {
        return Ok(contact);
    }
    let tenant = store.tenant(&caller.tenant).await?;
    let held = tenant.as_ref().is_some_and(|t| t.settings.legal_hold);
    let policy = tenant.map(|t| t.retention()).unwrap_or_default();
    if !held && store.contact_retired(&contact.value, &policy).await? {
        return Err(ApiError::contact_not_found());
    }
    Ok(contact)
}
