//! Meta's WhatsApp Cloud API webhook payloads, parsed and normalized.
//!
//! One POST can carry several entries, changes, messages, statuses and errors; [`parse_delivery`]
//! turns it into a flat, ordered list of [`DeliveryItem`]s and drops nothing: what Mizan does not
//! model (other fields, unknown keys, a malformed item) comes back raw as [`DeliveryItem::Other`].

mod delivery;
mod error;
mod identity;
mod normalize;
mod payload;
#[cfg(test)]
mod testdata;

pub use delivery::{
    Delivery, DeliveryItem, IdentityChange, InboundMessage, OtherChange, PreferenceChange,
    PreferenceValue, StatusReport, WebhookError,
};
pub use error::ParseError;
pub use normalize::parse_delivery;
