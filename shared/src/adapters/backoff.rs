//! Retries for the HTTP adapters (Graph API, chat completions), written once: what a failed
//! exchange was (no answer, or an answer with a status), exponential backoff with jitter, and
//! the loop that runs attempts until one is done, one fails for good, or the attempts are spent.
//! Each adapter only says which answers are worth another attempt.

use rand::Rng;
use serde_json::Value;
use std::future::Future;
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

/// Why an HTTP call got no answer: the one classification of `reqwest` failures. None of them
/// proves the request did not reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAnswer {
    TimedOut,
    CouldNotConnect,
    Failed,
}

impl NoAnswer {
    pub fn of(error: &reqwest::Error) -> NoAnswer {
        if error.is_timeout() {
            NoAnswer::TimedOut
        } else if error.is_connect() {
            NoAnswer::CouldNotConnect
        } else {
            NoAnswer::Failed
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            NoAnswer::TimedOut => "timed out",
            NoAnswer::CouldNotConnect => "could not connect",
            NoAnswer::Failed => "request failed",
        }
    }
}

/// An HTTP answer: its status, the server's `Retry-After`, and its JSON body (`Null` when it
/// has none or it is not JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpAnswer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Value,
}

impl HttpAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Throttled or a server fault: the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

/// Sends the request and reads its answer.
pub async fn exchange(request: reqwest::RequestBuilder) -> Result<HttpAnswer, NoAnswer> {
    let response = request.send().await.map_err(|e| NoAnswer::of(&e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let text = response.text().await.unwrap_or_default();
    Ok(HttpAnswer {
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}

/// How an attempt failed.
#[derive(Debug)]
pub enum Failure<E> {
    /// Another attempt cannot help.
    Final(E),
    /// Another attempt may succeed, after the server's hint when it gave one.
    Retry {
        error: E,
        retry_after: Option<Duration>,
    },
}

/// Runs `attempt` until it succeeds, fails for good, or the policy's attempts are spent (the
/// last error is returned). Each retry is logged with the adapter's name and the error, which
/// carries no personal data.
pub async fn retrying<T, E, F, Fut>(
    policy: &RetryPolicy,
    adapter: &'static str,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (error, hint) = match attempt().await {
            Ok(done) => return Ok(done),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Retry { error, retry_after }) => (error, retry_after),
        };
        if attempts >= policy.max_attempts {
            return Err(error);
        }
        tracing::info!(adapter, attempt = attempts, error = %error, "call failed; retrying");
        tokio::time::sleep(policy.delay(attempts, hint)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn instant(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn retries_until_done_and_stops_at_a_final_failure_or_the_last_attempt() {
        let calls = AtomicU32::new(0);
        let done: Result<u32, String> = retrying(&instant(3), "test", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(Failure::Retry {
                    error: "busy".to_owned(),
                    retry_after: None,
                }),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(done, Ok(1));

        calls.store(0, Ordering::SeqCst);
        let refused: Result<(), String> = retrying(&instant(3), "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Final("refused".to_owned()))
        })
        .await;
        assert_eq!(refused, Err("refused".to_owned()));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a final failure is not retried"
        );

        calls.store(0, Ordering::SeqCst);
        let spent: Result<(), String> = retrying(&instant(3), "test", || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Retry {
                error: format!("busy {n}"),
                retry_after: None,
            })
        })
        .await;
        assert_eq!(
            spent,
            Err("busy 2".to_owned()),
            "the last error is returned"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn throttling_and_server_faults_are_transient() {
        let answer = |status| HttpAnswer {
            status,
            retry_after: None,
            body: Value::Null,
        };
        assert!(answer(429).is_transient() && answer(503).is_transient());
        assert!(!answer(400).is_transient() && !answer(401).is_transient());
        assert!(answer(201).is_success() && !answer(301).is_success());
    }

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
