//! A business's webhook endpoint on a loopback port: it records every delivery (headers, body,
//! when), answers as scripted (a status, or no answer within the sender's timeout) and then 204,
//! and checks signatures as a receiver should (`verified`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use mizan_shared::domain::webhook_signature::{verify, SIGNATURE_HEADER};
use secrecy::SecretString;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    /// No answer for this long (longer than the sender's timeout: a timeout).
    Hang(Duration),
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status it was answered with (`None`: it hung).
    pub answered: Option<u16>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether its signature holds for `secret` at the receiver's clock.
    pub fn verified(&self, secret: &SecretString) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        self.verified_at(secret, now)
    }

    /// Whether its signature holds for `secret` at `now` (unix seconds).
    pub fn verified_at(&self, secret: &SecretString, now: i64) -> bool {
        self.header(SIGNATURE_HEADER)
            .is_some_and(|h| verify(secret, h, &self.body, now).is_ok())
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    /// When set, every delivery gets this (after the script).
    fallback: Option<u16>,
    /// When set to n, every n-th delivery (the first, the n+1-th, …) gets a 503.
    fail_one_in: Option<u64>,
    count: u64,
}

#[derive(Clone, Default)]
pub struct WebhookReceiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let mut receiver = WebhookReceiver::default();
        let router = Router::new()
            .route("/hook", post(deliver))
            .with_state(receiver.clone());
        let addr = crate::fakes::serve(router).await;
        receiver.url = format!("http://{addr}/hook");
        receiver
    }

    /// The answers to the next deliveries, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// Answers every delivery past the script with `status` (`None`: 204 again).
    pub fn answer_all(&self, status: Option<u16>) {
        self.inner.lock().unwrap().fallback = status;
    }

    /// Answers one delivery in `n` with a 503 (a transient failure), the others as usual; 0
    /// stops it.
    pub fn fail_one_in(&self, n: u64) {
        self.inner.lock().unwrap().fail_one_in = (n > 0).then_some(n);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// The deliveries it accepted (2xx), in the order they came.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
            .collect()
    }

    /// Waits until it has accepted `n` deliveries.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let accepted = self.accepted();
            if accepted.len() >= n {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver accepted {} of {n} deliveries",
                accepted.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn deliver(
    State(receiver): State<WebhookReceiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let answer = {
        let mut inner = receiver.inner.lock().unwrap();
        inner.count += 1;
        let transient = inner
            .fail_one_in
            .is_some_and(|n| (inner.count - 1) % n == 0);
        match inner.script.pop_front() {
            Some(answer) => answer,
            None if transient => Answer::Status(503),
            None => Answer::Status(inner.fallback.unwrap_or(204)),
        }
    };
    let answered = match &answer {
        Answer::Status(status) => Some(*status),
        Answer::Hang(_) => None,
    };
    receiver.inner.lock().unwrap().received.push(Received {
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        answered,
    });
    match answer {
        Answer::Status(status) => StatusCode::from_u16(status).unwrap(),
        Answer::Hang(wait) => {
            tokio::time::sleep(wait).await;
            StatusCode::NO_CONTENT
        }
    }
}

/// A delivery queue that keeps what the router queued, in order, for the test to hand to the
/// sender (the queue adapters are tested on their own).
#[derive(Default)]
pub struct RecordingQueue(Mutex<Vec<mizan_shared::ports::webhook_delivery::QueuedDelivery>>);

impl RecordingQueue {
    /// What was queued since the last call.
    pub fn take(&self) -> Vec<mizan_shared::ports::webhook_delivery::QueuedDelivery> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[async_trait::async_trait]
impl mizan_shared::ports::webhook_delivery::DeliveryQueue for RecordingQueue {
    async fn enqueue(
        &self,
        deliveries: &[mizan_shared::ports::webhook_delivery::QueuedDelivery],
    ) -> Result<(), mizan_shared::ports::webhook_delivery::QueueError> {
        self.0.lock().unwrap().extend_from_slice(deliveries);
        Ok(())
    }
}
