//! Webhook deliveries over HTTP: one POST, no redirects, bounded by `ATTEMPT_TIMEOUT`. The URL
//! is checked again before each call, so an endpoint stored under another policy is never called.

use crate::adapters::lazy_http::LazyHttp;
use crate::domain::webhook::{AttemptResult, UrlPolicy, ATTEMPT_TIMEOUT};
use crate::ports::webhook_delivery::{WebhookPoster, WebhookRequest};
use async_trait::async_trait;

pub struct HttpWebhookPoster {
    http: LazyHttp,
    policy: UrlPolicy,
}

impl HttpWebhookPoster {
    pub fn new(policy: UrlPolicy) -> Self {
        HttpWebhookPoster {
            http: LazyHttp::new(ATTEMPT_TIMEOUT).without_redirects(),
            policy,
        }
    }
}

fn failed(reason: &str) -> AttemptResult {
    AttemptResult::Failed {
        status: None,
        reason: reason.to_owned(),
    }
}

#[async_trait]
impl WebhookPoster for HttpWebhookPoster {
    async fn post(&self, request: WebhookRequest<'_>) -> AttemptResult {
        if self.policy.check(request.url).is_err() {
            return failed("url_refused");
        }
        let client = match self.http.client() {
            Ok(client) => client,
            Err(_) => return failed("client"),
        };
        let mut call = client
            .post(request.url)
            .header("content-type", "application/json")
            .header("user-agent", "Mizan-Webhooks/1");
        for (name, value) in request.headers {
            call = call.header(name, value);
        }
        match call.body(request.body).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                if response.status().is_success() {
                    AttemptResult::Accepted { status }
                } else {
                    AttemptResult::Failed {
                        status: Some(status),
                        reason: format!("http_{status}"),
                    }
                }
            }
            // Reasons are kinds, never the error's text (it may quote the URL).
            Err(e) if e.is_timeout() => failed("timeout"),
            Err(e) if e.is_connect() => failed("connect"),
            Err(_) => failed("request"),
        }
    }
}
