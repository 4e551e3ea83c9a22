//! Exponential backoff with jitter for the HTTP adapters (Graph API, chat completions).

use rand::Rng;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): doubling, capped, with
    /// "equal jitter" (half fixed, half random) so concurrent senders spread out. A server's
    /// `Retry-After` is honoured up to the cap.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .first_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        let computed = half + Duration::from_millis(jitter);
        match retry_after {
            Some(after) => after.min(self.max_delay).max(computed.min(after)),
            None => computed,
        }
    }
}

/// `Retry-After` in seconds, as 429 and 503 answers may carry it.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_honour_retry_after_within_it() {
        let policy = RetryPolicy {
            max_attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
        };
        for attempt in 1..=6 {
            let d = policy.delay(attempt, None);
            let exp = (100u64 << (attempt - 1)).min(1_000);
            assert!(d >= Duration::from_millis(exp / 2) && d <= Duration::from_millis(exp + 1));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(60))),
            Duration::from_millis(1_000)
        );
    }
}
