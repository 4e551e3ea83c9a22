//! The automated reply's rules, pure and without I/O, one concern per file:
//!
//! - `plan`: whether a customer's message gets a reply, which one, and whether a reply planned
//!   earlier may still go (the outbound gate's question, DESIGN §8).
//! - `conversation`: which message of a burst is answered, and the customer's words in it.
//! - `language`: the language to answer in, and whether the customer asks for a person.
//! - `wording`: the fixed texts (consent keywords, hand-off, the opt-out hint) in three
//!   languages, composed and capped to WhatsApp's limit.
//!
//! The orchestration that reads the store and calls the model and the Graph API is the reply
//! workflow (`workflows::reply`).

mod conversation;
mod language;
mod plan;
mod wording;

pub use crate::domain::outbound::{window_open, CUSTOMER_SERVICE_WINDOW};
pub use conversation::{burst_candidate, customer_order, customer_text, has_newer_inbound, newest};
pub use language::{asks_for_human, guess_language, is_greeting};
pub use plan::{
    answerable, needs_opt_out_hint, plan, still_allowed, Plan, ReplyFacts, ReplyKind, SkipReason,
    OPT_OUT_HINT_EVERY,
};
pub use wording::{cap, compose, fixed_text, hand_off_text, opt_out_hint, WHATSAPP_TEXT_LIMIT};
