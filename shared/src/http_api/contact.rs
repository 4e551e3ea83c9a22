//! The caller's contact named in a request: another tenant's contact, an unknown one and one
//! being erased are the same 404, so nothing tells them apart.

use super::{input, ApiError, Caller};
use crate::domain::contact::Contact;
use crate::store::{Store, Versioned};

/// The contact `raw` (a phone number or user id, percent-encoded) names among the caller's.
/// Aliases are keyed by tenant, so another tenant's contact is never found.
pub async fn callers_contact(
    store: &Store,
    caller: &Caller,
    raw: &str,
) -> Result<Versioned<Contact>, ApiError> {
    let reference = input::contact_reference(raw)?;
    let found = store
        .find_contact(&caller.tenant, reference.kind(), reference.value().expose())
        .await?;
    match found {
        Some(contact)
            if contact.value.tenant == caller.tenant
                && !contact.value.is_erasure_due()
                && contact.value.profile.is_some() =>
        {
            Ok(contact)
        }
        _ => Err(ApiError::contact_not_found()),
    }
}
