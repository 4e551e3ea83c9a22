//! Pacing sends to WhatsApp's throughput: at most N sends from one business number in any
//! one-second window, counted when the sends leave, together with the number's other sends
//! (the AI's, people's) that the pace ledger noted. Time comes from a [`PaceClock`]: real time
//! in the functions and the runner, a simulated one in benches.

use crate::domain::ids::PhoneNumberId;
use crate::ports::pace_ledger::PaceLedger;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A second, and a margin for the jitter between a send's admission and its arrival at Meta.
pub const PACING_WINDOW: Duration = Duration::from_millis(1_010);

/// Where pacing's time comes from.
#[async_trait]
pub trait PaceClock: Send + Sync {
    /// Time since an arbitrary start, never going back.
    fn now(&self) -> Duration;
    async fn sleep(&self, duration: Duration);
}

/// The machine's monotonic clock and tokio's timer.
pub struct RealTime {
    start: Instant,
}

impl Default for RealTime {
    fn default() -> Self {
        RealTime {
            start: Instant::now(),
        }
    }
}

#[async_trait]
impl PaceClock for RealTime {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// How stale the view of a number's other sends may be (a ledger read per number at most this
/// often).
pub const OTHERS_REFRESH: Duration = Duration::from_millis(100);

/// At most `per_second` sends from one business number in any one-second window (a sliding
/// window: the times of the last `per_second` sends of each number, kept for [`PACING_WINDOW`]),
/// counting the number's other sends when a ledger is given.
pub struct Pacer {
    clock: Arc<dyn PaceClock>,
    windows: Mutex<HashMap<PhoneNumberId, VecDeque<Duration>>>,
    others: Option<Others>,
}

/// The number's sends outside this pacer, as last read from the ledger.
struct Others {
    ledger: Arc<dyn PaceLedger>,
    seen: tokio::sync::Mutex<HashMap<PhoneNumberId, OthersSeen>>,
}

#[derive(Default)]
struct OthersSeen {
    read_at: Option<Duration>,
    /// When they left, on the pacer's clock.
    at: Vec<Duration>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::with_clock(Arc::new(RealTime::default()))
    }
}

impl Pacer {
    pub fn with_clock(clock: Arc<dyn PaceClock>) -> Self {
        Pacer {
            clock,
            windows: Mutex::new(HashMap::new()),
            others: None,
        }
    }

    /// The same pacer, leaving room in each window for the sends `ledger` notes.
    pub fn leaving_room_for(mut self, ledger: Arc<dyn PaceLedger>) -> Self {
        self.others = Some(Others {
            ledger,
            seen: tokio::sync::Mutex::new(HashMap::new()),
        });
        self
    }

    /// When the number's other sends in the window left, read from the ledger when the last
    /// read is older than [`OTHERS_REFRESH`]. A failed read keeps the last one (logged).
    async fn others_in_window(&self, number: &PhoneNumberId) -> Vec<Duration> {
        let Some(others) = &self.others else {
            return Vec::new();
        };
        let mut seen = others.seen.lock().await;
        let entry = seen.entry(number.clone()).or_default();
        let now = self.clock.now();
        if entry
            .read_at
            .is_none_or(|at| now.saturating_sub(at) >= OTHERS_REFRESH)
        {
            match others.ledger.recent(number, PACING_WINDOW).await {
                Ok(ages) => {
                    let now = self.clock.now();
                    entry.at = ages.iter().map(|age| now.saturating_sub(*age)).collect();
                    entry.read_at = Some(now);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the pace ledger could not be read");
                }
            }
        }
        entry.at.clone()
    }

    /// Waits for a slot, then takes it.
    pub async fn admit(&self, number: &PhoneNumberId, per_second: u32) {
        let limit = per_second.max(1) as usize;
        loop {
            let others = self.others_in_window(number).await;
            let wait = {
                let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
                let sends = windows.entry(number.clone()).or_default();
                let now = self.clock.now();
                while sends
                    .front()
                    .is_some_and(|t| now.saturating_sub(*t) >= PACING_WINDOW)
                {
                    sends.pop_front();
                }
                let in_window = |t: &Duration| now.saturating_sub(*t) < PACING_WINDOW;
                let others: Vec<Duration> = others.into_iter().filter(in_window).collect();
                if sends.len() + others.len() < limit {
                    sends.push_back(now);
                    return;
                }
                // The oldest send in the window leaves it first; a fresh look at the others
                // may free a slot sooner.
                let oldest = others.iter().chain(sends.front()).min().copied();
                let leaves = oldest.map_or(Duration::ZERO, |t| {
                    PACING_WINDOW.saturating_sub(now.saturating_sub(t))
                });
                if self.others.is_some() {
                    leaves.min(OTHERS_REFRESH)
                } else {
                    leaves
                }
            };
            self.clock.sleep(wait.max(Duration::from_micros(100))).await;
        }
    }

    /// Gives back the newest slot of `number`: nothing was sent with it (the recipient was
    /// skipped).
    pub fn release(&self, number: &PhoneNumberId) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sends) = windows.get_mut(number) {
            sends.pop_back();
        }
    }

    /// Moves the newest slot of `number` to now, right before the call it was taken for: the
    /// window counts when sends leave, whatever was written between admission and the call.
    pub fn sending(&self, number: &PhoneNumberId) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        if let Some(newest) = windows.get_mut(number).and_then(|sends| sends.back_mut()) {
            *newest = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pacer_never_lets_more_than_the_limit_into_any_one_second_window() {
        let pacer = Pacer::default();
        let number = PhoneNumberId::new("100000000000001");
        let mut at = Vec::new();
        for _ in 0..25 {
            pacer.admit(&number, 10).await;
            at.push(Instant::now());
        }
        for (i, t) in at.iter().enumerate() {
            let within = at[i..]
                .iter()
                .filter(|u| u.duration_since(*t) < Duration::from_secs(1))
                .count();
            assert!(within <= 10, "{within} sends within a second of send {i}");
        }
        assert!(
            at[24].duration_since(at[0]) >= Duration::from_secs(2),
            "25 sends at 10 a second take at least 2 seconds"
        );
        // Another number has its own window.
        let started = Instant::now();
        pacer
            .admit(&PhoneNumberId::new("100000000000002"), 10)
            .await;
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn the_numbers_other_sends_take_their_slots_in_the_window() {
        use crate::adapters::in_process_pace_ledger::InProcessPaceLedger;
        let ledger = Arc::new(InProcessPaceLedger::default());
        let pacer = Pacer::default().leaving_room_for(ledger.clone());
        let number = PhoneNumberId::new("100000000000001");
        for _ in 0..8 {
            ledger.record(&number).await.unwrap();
        }
        let started = Instant::now();
        for _ in 0..2 {
            pacer.admit(&number, 10).await;
        }
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "2 slots left"
        );
        pacer.admit(&number, 10).await;
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "the 11th send in a second waits for the AI's sends to leave the window"
        );
    }
}
