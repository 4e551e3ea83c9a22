//! The sends a business number made outside campaigns (the AI's replies, people's messages,
//! keyword confirmations): WhatsApp's throughput limit counts every message of the number, so
//! the campaign sender leaves room for them.

use crate::domain::ids::PhoneNumberId;
use crate::ports::records::StoreError;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait PaceLedger: Send + Sync {
    /// Notes a message leaving `from` now.
    async fn record(&self, from: &PhoneNumberId) -> Result<(), StoreError>;

    /// How long ago each message noted for `from` in the last `within` left, newest first.
    async fn recent(
        &self,
        from: &PhoneNumberId,
        within: Duration,
    ) -> Result<Vec<Duration>, StoreError>;
}
