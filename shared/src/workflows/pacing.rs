//! Pacing sends to WhatsApp's throughput: at most N sends from one business number in any
//! one-second window, counted when the sends leave. Time comes from a [`PaceClock`]: real time
//! in the functions and the runner, a simulated one in benches.

use crate::domain::ids::PhoneNumberId;
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

/// At most `per_second` sends from one business number in any one-second window (a sliding
/// window: the times of the last `per_second` sends of each number, kept for [`PACING_WINDOW`]).
pub struct Pacer {
    clock: Arc<dyn PaceClock>,
    windows: Mutex<HashMap<PhoneNumberId, VecDeque<Duration>>>,
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
        }
    }

    /// Waits for a slot, then takes it.
    pub async fn admit(&self, number: &PhoneNumberId, per_second: u32) {
        let limit = per_second.max(1) as usize;
        loop {
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
                if sends.len() < limit {
                    sends.push_back(now);
                    return;
                }
                // The oldest of the last `limit` sends leaves the window first.
                PACING_WINDOW.saturating_sub(now.saturating_sub(sends[0]))
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
}
