//! A fake WhatsApp Cloud API: `POST /{version}/{phone_number_id}/messages`, answering like Meta
//! (message ids for sends, `{"success":true}` for read receipts, Graph error bodies).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the fake answers the next text send.
#[derive(Clone, Debug)]
pub enum Send {
    /// A Graph API error with Meta's body for this code.
    Error { status: u16, code: i64 },
    /// No answer for this long (longer than the client's timeout).
    Hang(Duration),
}

#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Request>,
    script: VecDeque<Send>,
    sent: u32,
}

#[derive(Clone, Default)]
pub struct FakeGraph {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

/// Meta's title and details of the codes the tests use.
fn meta_error(code: i64) -> (&'static str, &'static str) {
    match code {
        130429 => ("Rate limit hit", "Message failed to send because there were too many messages sent from this phone number in a short period of time"),
        131056 => ("(Business Account, Consumer Account) pair rate limit hit", "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."),
        131047 => ("Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."),
        131026 => ("Message undeliverable", "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number."),
        131050 => ("Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."),
        131051 => ("Unsupported message type", "Message type is not currently supported."),
        131000 => ("Something went wrong", "Message failed to send due to an unknown error."),
        2 => ("Service temporarily unavailable", "Service temporarily unavailable"),
        _ => ("Unknown error", "Unknown error"),
    }
}

pub fn error_body(code: i64) -> Value {
    let (title, details) = meta_error(code);
    json!({"error": {
        "message": format!("(#{code}) {title}"),
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "AbCdEfGhIjKlMnOp"
    }})
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let mut fake = FakeGraph::default();
        let router = Router::new()
            .route("/{version}/{phone}/messages", post(messages))
            .with_state(fake.clone());
        let addr = super::serve(router).await;
        fake.base_url = format!("http://{addr}");
        fake
    }

    /// Answers for the next text sends, in order; after them, sends succeed.
    pub fn script(&self, answers: impl IntoIterator<Item = Send>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Text messages posted (attempts included).
    pub fn text_attempts(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.body["type"] == "text")
            .map(|r| r.body)
            .collect()
    }

    pub fn read_receipts(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.body["status"] == "read")
            .map(|r| r.body)
            .collect()
    }

    /// Text messages that got a message id (delivered to WhatsApp).
    pub fn sent(&self) -> u32 {
        self.inner.lock().unwrap().sent
    }
}

async fn messages(
    State(fake): State<FakeGraph>,
    Path((version, phone)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let next = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(Request {
            path: format!("/{version}/{phone}/messages"),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.clone(),
        });
        if body["status"] == "read" {
            return Json(json!({"success": true})).into_response();
        }
        inner.script.pop_front()
    };
    match next {
        Some(Send::Error { status, code }) => (
            StatusCode::from_u16(status).unwrap(),
            Json(error_body(code)),
        )
            .into_response(),
        Some(Send::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        None => {
            let id = {
                let mut inner = fake.inner.lock().unwrap();
                inner.sent += 1;
                format!("wamid.FAKE{:04}", inner.sent)
            };
            let to = body["to"].clone();
            Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": id}]
            }))
            .into_response()
        }
    }
}
