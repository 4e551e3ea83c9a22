//! The local outbox: a `Messenger` that records the Graph API requests it would have posted
//! (bodies built by the Graph adapter itself) instead of posting them. Used by the local runner
//! when no Graph API token is configured; `GET /local/outbox` shows its entries.
//!
//! Kept in memory only (the newest [`OUTBOX_CAPACITY`]): the bodies hold phone numbers and
//! message text, which Mizan never writes to disk unsealed.

use super::graph::{mark_read_body, messages_path, outbound_body, text_body};
use crate::domain::ids::{random_id, PhoneNumberId, Wamid};
use crate::ports::messenger::{Messenger, OutboundSend, SendError, TextReply};
use async_trait::async_trait;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;

pub const OUTBOX_CAPACITY: usize = 1_000;

/// One request as it would have been posted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub phone_number_id: String,
    /// `/{version}/{phone_number_id}/messages`
    pub path: String,
    pub body: serde_json::Value,
    /// The id the outbox answered with, for a text message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wamid: Option<String>,
}

pub struct Outbox {
    version: String,
    entries: Mutex<VecDeque<OutboxEntry>>,
}

impl Outbox {
    pub fn new(version: impl Into<String>) -> Self {
        Outbox {
            version: version.into(),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// Every recorded request, oldest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<OutboxEntry>> {
        // A panic while holding the lock leaves a valid list: keep using it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, from: &PhoneNumberId, body: serde_json::Value, wamid: Option<&Wamid>) {
        let mut entries = self.lock();
        if entries.len() >= OUTBOX_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(OutboxEntry {
            phone_number_id: from.to_string(),
            path: messages_path(&self.version, from),
            body,
            wamid: wamid.map(|w| w.as_str().to_owned()),
        });
    }
}

#[async_trait]
impl Messenger for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn mark_read(&self, from: &PhoneNumberId, message: &Wamid) -> Result<(), SendError> {
        self.record(from, mark_read_body(message), None);
        Ok(())
    }

    async fn send_text(&self, reply: &TextReply) -> Result<Wamid, SendError> {
        let wamid = Wamid::new(format!("wamid.{}", random_id("local")));
        self.record(&reply.from, text_body(reply), Some(&wamid));
        Ok(wamid)
    }

    async fn send(&self, message: &OutboundSend) -> Result<Wamid, SendError> {
        let wamid = Wamid::new(format!("wamid.{}", random_id("local")));
        self.record(&message.from, outbound_body(message), Some(&wamid));
        Ok(wamid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::messenger::Recipient;

    #[tokio::test]
    async fn the_outbox_records_the_exact_graph_bodies_with_their_phone_number_id() {
        let outbox = Outbox::new("v24.0");
        let from = PhoneNumberId::new("100000000000001");
        let reply = TextReply {
            from: from.clone(),
            to: Recipient::WaId("212600000001".into()),
            quoting: Wamid::new("wamid.IN"),
            body: "We open at 9.".into(),
        };
        outbox.mark_read(&from, &reply.quoting).await.unwrap();
        let wamid = outbox.send_text(&reply).await.unwrap();
        let entries = outbox.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].body, mark_read_body(&reply.quoting));
        assert_eq!(entries[1].body, text_body(&reply));
        assert_eq!(entries[1].phone_number_id, "100000000000001");
        assert_eq!(entries[1].path, "/v24.0/100000000000001/messages");
        assert_eq!(entries[1].wamid.as_deref(), Some(wamid.as_str()));
    }
}
