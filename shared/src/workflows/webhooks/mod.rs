//! Signed webhooks to the business: events made from the data table's changes
//! (`events`), a delivery per endpoint queued in order per contact (`fan_out`), each attempt
//! signed and retried for a day (`send`), and the endpoints the business manages (`endpoints`).

pub mod endpoints;
pub mod events;
pub mod fan_out;
pub mod send;

pub use endpoints::{Endpoints, NewEndpoint, WebhookError};
pub use fan_out::{pending_deliveries, FanOut, FanOutError, Router};
pub use send::{Sender, Turn};
