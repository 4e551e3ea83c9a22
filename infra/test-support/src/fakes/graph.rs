//! A fake WhatsApp Cloud API: `POST /{version}/{phone_number_id}/messages`, answering like Meta
//! (message ids for sends, `{"success":true}` for read receipts, Graph error bodies); and a
//! business account's message templates, `GET|POST|DELETE /{version}/{waba_id}/message_templates`
//! (listings paged with `paging.cursors.after` and a `next` link while more follow; a new
//! template `PENDING`; a duplicate name and language refused with code 100 as Meta does).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
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
    /// Templates by business account, in creation order.
    templates: BTreeMap<String, Vec<Value>>,
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
            .route("/{version}/{id}/messages", post(messages))
            .route(
                "/{version}/{id}/message_templates",
                get(list_templates)
                    .post(create_template)
                    .delete(delete_template),
            )
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

    /// Puts templates into a business account, as Meta lists them.
    pub fn seed_templates(&self, account: &str, templates: impl IntoIterator<Item = Value>) {
        self.inner
            .lock()
            .unwrap()
            .templates
            .entry(account.to_owned())
            .or_default()
            .extend(templates);
    }

    /// The account's templates as the fake holds them now.
    pub fn templates(&self, account: &str) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .templates
            .get(account)
            .cloned()
            .unwrap_or_default()
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

fn record(fake: &FakeGraph, path: String, headers: &HeaderMap, body: Value) {
    fake.inner.lock().unwrap().requests.push(Request {
        path,
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    });
}

fn template_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {
            "message": "Invalid parameter",
            "type": "OAuthException",
            "code": 100,
            "error_user_msg": message,
            "fbtrace_id": "AbCdEfGhIjKlMnOp"
        }})),
    )
        .into_response()
}

async fn list_templates(
    State(fake): State<FakeGraph>,
    Path((version, account)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &fake,
        format!("/{version}/{account}/message_templates"),
        &headers,
        Value::Null,
    );
    let all = fake.templates(&account);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25);
    let start: usize = query
        .get("after")
        .and_then(|c| c.strip_prefix("cursor-"))
        .and_then(|i| i.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let mut paging =
        json!({"cursors": {"before": format!("cursor-{start}"), "after": format!("cursor-{end}")}});
    if end < all.len() {
        paging["next"] = json!(format!(
            "https://graph.facebook.com/{version}/{account}/message_templates?limit={limit}&after=cursor-{end}"
        ));
    }
    Json(json!({"data": page, "paging": paging})).into_response()
}

async fn create_template(
    State(fake): State<FakeGraph>,
    Path((version, account)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    record(
        &fake,
        format!("/{version}/{account}/message_templates"),
        &headers,
        body.clone(),
    );
    let mut inner = fake.inner.lock().unwrap();
    let templates = inner.templates.entry(account).or_default();
    let duplicate = templates
        .iter()
        .any(|t| t["name"] == body["name"] && t["language"] == body["language"]);
    if duplicate {
        return template_error("Content in this language already exists");
    }
    let id = format!("{}", 1_000_000_000_000_100u64 + templates.len() as u64);
    let mut stored = body.clone();
    stored["id"] = json!(id);
    stored["status"] = json!("PENDING");
    stored["quality_score"] = json!({"score": "UNKNOWN"});
    templates.push(stored);
    Json(json!({"id": id, "status": "PENDING", "category": body["category"]})).into_response()
}

async fn delete_template(
    State(fake): State<FakeGraph>,
    Path((version, account)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &fake,
        format!("/{version}/{account}/message_templates"),
        &headers,
        json!(query),
    );
    let Some(name) = query.get("name") else {
        return template_error("name is required");
    };
    let mut inner = fake.inner.lock().unwrap();
    let templates = inner.templates.entry(account).or_default();
    let before = templates.len();
    templates.retain(|t| {
        t["name"] != json!(name) || query.get("hsm_id").is_some_and(|id| t["id"] != json!(id))
    });
    if templates.len() == before {
        return template_error("Message template not found");
    }
    Json(json!({"success": true})).into_response()
}
