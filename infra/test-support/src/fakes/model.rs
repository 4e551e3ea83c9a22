//! A fake OpenAI-compatible server: `POST /v1/chat/completions`, answering with a completion or
//! with OpenAI's error bodies (429 rate limit, 500 server error), or not at all (timeouts).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Completion {
    Answer(String),
    RateLimited,
    ServerError,
    Hang(Duration),
    /// Answers once the test lets it (it is "thinking" until then).
    Held(Arc<tokio::sync::Notify>, String),
}

#[derive(Default)]
struct Inner {
    requests: Vec<Value>,
    script: VecDeque<Completion>,
}

#[derive(Clone, Default)]
pub struct FakeModel {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

/// What the fake answers once its script is used up.
pub const DEFAULT_ANSWER: &str = "Our tea house opens at 9 every morning.";

impl FakeModel {
    pub async fn start() -> FakeModel {
        let mut fake = FakeModel::default();
        let router = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(fake.clone());
        let addr = super::serve(router).await;
        fake.base_url = format!("http://{addr}/v1");
        fake
    }

    pub fn script(&self, answers: impl IntoIterator<Item = Completion>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().requests.clone()
    }
}

async fn completions(State(fake): State<FakeModel>, Json(body): Json<Value>) -> Response {
    let next = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(body.clone());
        inner.script.pop_front()
    };
    let answer = match next {
        None => DEFAULT_ANSWER.to_owned(),
        Some(Completion::Answer(text)) => text,
        Some(Completion::Held(release, text)) => {
            release.notified().await;
            text
        }
        Some(Completion::RateLimited) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"error": {
                    "message": "Rate limit reached for gpt-4o-mini in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
                    "type": "requests",
                    "param": null,
                    "code": "rate_limit_exceeded"
                }})),
            )
                .into_response()
        }
        Some(Completion::ServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error",
                    "param": null,
                    "code": null
                }})),
            )
                .into_response()
        }
        Some(Completion::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
    };
    Json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1767225600,
        "model": body["model"],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
    }))
    .into_response()
}
