//! The use cases: each carries out one thing the system does, from a request or an event to
//! the store and back, with the domain's rules (`domain`) over the ports (`store`, `ports`).
//! Functions call these; these never call a function.

pub mod accept_send;
pub mod account;
pub mod analytics;
pub mod billing;
pub mod campaign_send;
pub mod campaigns;
pub mod erasure;
pub mod export;
pub mod intake;
pub mod outbound_send;
pub mod pacing;
pub mod persons_gate;
pub mod purge;
pub mod reply;
pub mod rights_chat;
pub mod templates;
pub mod webhooks;
