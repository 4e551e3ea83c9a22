//! The outbound gate for a person's send, asked with what the store knows now: the contact's
//! flags and consent, when it last wrote (the customer service window) and, for a template,
//! whether its number is suppressed. Asked when the API accepts the send and again by the
//! sender right before the Graph API call.

use crate::domain::contact::Contact;
use crate::domain::identity_hash::IdentifierKind;
use crate::domain::ids::TenantId;
use crate::domain::outbound::{may_send, Outbound, Recipient, Refusal, CUSTOMER_SERVICE_WINDOW};
use crate::domain::template::TemplateCategory;
use crate::store::{DataError, Store};

/// Free text, or a template of this category.
pub fn outbound_of(template: Option<TemplateCategory>) -> Outbound {
    match template {
        None => Outbound::AgentText,
        Some(category) => Outbound::Template(category),
    }
}

/// Whether a person may send `template` (or free text) to `contact` now.
pub async fn ask(
    store: &Store,
    tenant: &TenantId,
    contact: &Contact,
    template: Option<TemplateCategory>,
) -> Result<Result<(), Refusal>, DataError> {
    let wa_id = contact.profile.as_ref().and_then(|p| p.wa_id.as_ref());
    let suppressed = match (template, wa_id) {
        (Some(_), Some(wa_id)) => {
            store
                .is_suppressed(tenant, IdentifierKind::WaId, wa_id.expose())
                .await?
        }
        _ => false,
    };
    // Only free text needs the customer service window; a template goes outside it.
    let last_inbound_at = match template {
        None => {
            store
                .last_inbound_within(tenant, &contact.id, CUSTOMER_SERVICE_WINDOW)
                .await?
        }
        Some(_) => None,
    };
    let recipient = Recipient {
        contact: Some(contact),
        last_inbound_at,
        suppressed,
        now: store.now(),
    };
    Ok(may_send(outbound_of(template), &recipient))
}
