//! Traits for what the rules need from the world. Adapters implement them.

pub mod archives;
pub mod change_forward;
pub mod clock;
pub mod keys;
pub mod messenger;
pub mod pace_ledger;
pub mod record_item;
pub mod records;
pub mod responder;
pub mod template_catalog;
pub mod webhook_delivery;
