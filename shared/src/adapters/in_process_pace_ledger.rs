//! The pace ledger of one process (the local runner, where ai-reply and the campaign sender
//! share a process): the times of recent sends in memory.

use crate::domain::ids::PhoneNumberId;
use crate::ports::pace_ledger::PaceLedger;
use crate::ports::records::StoreError;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longer than any window a reader asks about.
const KEPT_FOR: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct InProcessPaceLedger {
    sends: Mutex<HashMap<PhoneNumberId, VecDeque<Instant>>>,
}

#[async_trait]
impl PaceLedger for InProcessPaceLedger {
    async fn record(&self, from: &PhoneNumberId) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut sends = self.sends.lock().unwrap_or_else(|e| e.into_inner());
        let times = sends.entry(from.clone()).or_default();
        while times.front().is_some_and(|t| now - *t > KEPT_FOR) {
            times.pop_front();
        }
        times.push_back(now);
        Ok(())
    }

    async fn recent(
        &self,
        from: &PhoneNumberId,
        within: Duration,
    ) -> Result<Vec<Duration>, StoreError> {
        let now = Instant::now();
        let sends = self.sends.lock().unwrap_or_else(|e| e.into_inner());
        Ok(sends
            .get(from)
            .map(|times| {
                times
                    .iter()
                    .rev()
                    .map(|t| now - *t)
                    .take_while(|age| *age < within)
                    .collect()
            })
            .unwrap_or_default())
    }
}
