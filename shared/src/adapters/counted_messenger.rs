//! A messenger whose sends are noted in the business number's pace ledger, so the campaign
//! sender leaves room for them (WhatsApp counts every message of a number against its
//! throughput). The ledger is advisory: a failure to note a send is logged, never keeps a
//! customer's answer from going out.

use crate::domain::ids::{PhoneNumberId, Wamid};
use crate::ports::messenger::{Messenger, OutboundSend, SendError, TextReply};
use crate::ports::pace_ledger::PaceLedger;
use async_trait::async_trait;
use std::sync::Arc;

pub struct CountedMessenger {
    inner: Arc<dyn Messenger>,
    ledger: Arc<dyn PaceLedger>,
}

impl CountedMessenger {
    pub fn new(inner: Arc<dyn Messenger>, ledger: Arc<dyn PaceLedger>) -> Self {
        CountedMessenger { inner, ledger }
    }

    async fn note(&self, from: &PhoneNumberId) {
        if let Err(e) = self.ledger.record(from).await {
            tracing::warn!(error = %e, "a send could not be noted in the pace ledger");
        }
    }
}

#[async_trait]
impl Messenger for CountedMessenger {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn mark_read(&self, from: &PhoneNumberId, message: &Wamid) -> Result<(), SendError> {
        // A read receipt is not a message: it does not count against the throughput.
        self.inner.mark_read(from, message).await
    }

    async fn send_text(&self, reply: &TextReply) -> Result<Wamid, SendError> {
        self.note(&reply.from).await;
        self.inner.send_text(reply).await
    }

    async fn send(&self, message: &OutboundSend) -> Result<Wamid, SendError> {
        self.note(&message.from).await;
        self.inner.send(message).await
    }
}
