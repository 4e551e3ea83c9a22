//! A Lambda Runtime API of our own: the HTTP interface Lambda gives a function's `bootstrap`
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>). A test or bench starts a
//! function's real binary with `AWS_LAMBDA_RUNTIME_API` pointing here, hands it events one at a
//! time and reads what it posts back: the only way to prove `main.rs`, the configuration read
//! from the environment and the Lambda glue.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";
/// How long an invocation may take before the test gives up on it.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// What the function posted for one invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// `POST …/invocation/{id}/response`: the handler's result.
    Response(Value),
    /// `POST …/invocation/{id}/error`: `{"errorType", "errorMessage"}`.
    Error(Value),
}

impl Outcome {
    pub fn response(self) -> Value {
        match self {
            Outcome::Response(value) => value,
            Outcome::Error(error) => panic!("the function failed: {error}"),
        }
    }

    /// The error the function reported, checked to have Lambda's shape (`errorType`,
    /// `errorMessage`).
    pub fn error(self) -> Value {
        match self {
            Outcome::Error(error) => {
                assert!(
                    error["errorType"].is_string() && error["errorMessage"].is_string(),
                    "not Lambda's error shape: {error}"
                );
                error
            }
            Outcome::Response(value) => panic!("the function answered instead of failing: {value}"),
        }
    }
}

/// When the function reached the Runtime API, for cold-start measurements.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline {
    /// Its first `GET …/invocation/next`: its initialisation is over.
    pub first_poll: Option<Instant>,
    /// Its first posted outcome: the first invocation is over.
    pub first_outcome: Option<Instant>,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
    timeline: Mutex<Timeline>,
}

pub struct RuntimeApi {
    /// `host:port`, what `AWS_LAMBDA_RUNTIME_API` holds.
    pub address: String,
    queue: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let (queue, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            timeline: Mutex::new(Timeline::default()),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the Runtime API");
        let address = listener.local_addr().expect("its address").to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            address,
            queue,
            shared,
            server,
        }
    }

    /// Hands `event` to the function and waits for what it posts back.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = mizan_shared::domain::ids::random_id("req");
        let (sender, outcome) = oneshot::channel();
        lock(&self.shared.waiting).insert(id.clone(), sender);
        self.queue
            .send((id, event))
            .expect("the Runtime API is running");
        tokio::time::timeout(INVOCATION_TIMEOUT, outcome)
            .await
            .unwrap_or_else(|_| panic!("no outcome within {INVOCATION_TIMEOUT:?}"))
            .expect("the Runtime API is running")
    }

    /// What the function reported when it could not start, if it did.
    pub fn init_error(&self) -> Option<Value> {
        lock(&self.shared.init_error).clone()
    }

    pub fn timeline(&self) -> Timeline {
        *lock(&self.shared.timeline)
    }

    /// Waits until the function polls for its first event (its initialisation is over), or
    /// reports an init error, or `limit` passes; whether it polled.
    pub async fn wait_for_first_poll(&self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.timeline().first_poll.is_some() {
                return true;
            }
            if self.init_error().is_some() {
                return false;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        false
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut timeline = lock(&shared.timeline);
        timeline.first_poll.get_or_insert_with(Instant::now);
    }
    let Some((id, event)) = shared.events.lock().await.recv().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let deadline = SystemTime::now() + INVOCATION_TIMEOUT;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:mizan-test".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, event.to_string()).into_response()
}

fn settle(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    {
        let mut timeline = lock(&shared.timeline);
        timeline.first_outcome.get_or_insert_with(Instant::now);
    }
    match lock(&shared.waiting).remove(id) {
        Some(waiting) => {
            let _ = waiting.send(outcome);
            StatusCode::ACCEPTED
        }
        // As Lambda answers an unknown or already settled request id.
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_of(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &id, Outcome::Response(json_of(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &id, Outcome::Error(json_of(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some(json_of(&body));
    StatusCode::ACCEPTED
}
