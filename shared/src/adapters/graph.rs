//! The WhatsApp Cloud API (Graph API) sender: `POST {base}/{version}/{phone_number_id}/messages`.
//!
//! Request bodies are built here once ([`text_body`], [`mark_read_body`]) and used by both this
//! adapter and the local outbox, so the outbox shows exactly what would be posted. Errors come
//! back as `{"error":{"message","type","code","error_data":{"details"},"fbtrace_id"}}`; they are
//! classified by `code` (Meta's advice), then by HTTP status.

use super::backoff::{exchange, retrying, Failure, NoAnswer, RetryPolicy};
use super::lazy_http::LazyHttp;
use crate::domain::ids::{PhoneNumberId, Wamid};
use crate::ports::messenger::{
    Messenger, OutboundBody, OutboundSend, Recipient, SendError, TextReply,
};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::time::Duration;

/// Throttling and transient server errors: worth another attempt.
/// 130429 throughput limit, 131056 pair rate limit, 1/2 temporary API errors, 4 and 80007
/// rate limits, 131000 "something went wrong", 131016 service unavailable, 133004 server
/// temporarily unavailable.
pub const RETRYABLE_CODES: &[i64] = &[130429, 131056, 1, 2, 4, 80007, 131000, 131016, 133004];

/// Never retried whatever the HTTP status: 131047 re-engagement (24-hour window closed),
/// 131026 undeliverable, 131050 user stopped marketing messages, 131051 unsupported type,
/// 131030 not in the allowed list, 131052/131053 media errors, 100 invalid parameter,
/// 190 bad token, 10/200 permission.
pub const PERMANENT_CODES: &[i64] = &[
    131047, 131026, 131050, 131051, 131030, 131052, 131053, 100, 190, 10, 200,
];

#[derive(Clone, Debug)]
pub struct GraphSettings {
    /// `https://graph.facebook.com`
    pub base_url: String,
    /// `v24.0`
    pub version: String,
    pub access_token: SecretString,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

pub struct GraphMessenger {
    http: LazyHttp,
    settings: GraphSettings,
}

/// The path a phone number's messages are posted to.
pub fn messages_path(version: &str, from: &PhoneNumberId) -> String {
    format!("/{version}/{from}/messages")
}

/// A text reply quoting the customer's message (`context.message_id`).
pub fn text_body(reply: &TextReply) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "context": { "message_id": reply.quoting.as_str() },
        "type": "text",
        "text": { "preview_url": false, "body": reply.body.expose() },
    });
    address(&mut body, &reply.to);
    body
}

/// A person's message: free text, or a template object exactly as filled.
pub fn outbound_body(message: &OutboundSend) -> Value {
    let mut body = match &message.body {
        OutboundBody::Text(text) => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "text",
            "text": { "preview_url": false, "body": text.expose() },
        }),
        OutboundBody::Template(template) => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "template",
            "template": template.expose(),
        }),
    };
    address(&mut body, &message.to);
    body
}

fn address(body: &mut Value, to: &Recipient) {
    match to {
        Recipient::WaId(wa_id) => body["to"] = json!(wa_id.expose()),
        Recipient::UserId(user_id) => body["recipient"] = json!(user_id.expose()),
    }
}

/// The id in a successful send's answer.
fn sent_id(answer: &Value) -> Result<Wamid, SendError> {
    answer["messages"][0]["id"]
        .as_str()
        .map(Wamid::new)
        .ok_or_else(|| SendError::Permanent {
            code: None,
            http_status: Some(200),
            title: "the answer names no message id".into(),
        })
}

/// Marks a message read and shows the typing indicator until the reply (or 25 seconds).
pub fn mark_read_body(message: &Wamid) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message.as_str(),
        "typing_indicator": { "type": "text" },
    })
}

/// Classifies a Graph API error answer.
pub fn classify(http_status: u16, body: &Value) -> SendError {
    let error = &body["error"];
    let code = error["code"].as_i64();
    // Meta's message is "(#131047) Re-engagement message": a code and a title, no personal data.
    let title = error["message"]
        .as_str()
        .unwrap_or("no error body")
        .chars()
        .take(200)
        .collect::<String>();
    let retryable = match code {
        Some(c) if RETRYABLE_CODES.contains(&c) => true,
        Some(c) if PERMANENT_CODES.contains(&c) => false,
        _ => http_status >= 500 || http_status == 429,
    };
    let http_status = Some(http_status);
    if retryable {
        SendError::Retryable {
            code,
            http_status,
            title,
        }
    } else {
        SendError::Permanent {
            code,
            http_status,
            title,
        }
    }
}

impl GraphMessenger {
    /// Its HTTP client is made on the first send.
    pub fn new(settings: GraphSettings) -> Self {
        GraphMessenger {
            http: LazyHttp::new(settings.timeout),
            settings,
        }
    }

    fn url(&self, from: &PhoneNumberId) -> String {
        format!(
            "{}{}",
            self.settings.base_url.trim_end_matches('/'),
            messages_path(&self.settings.version, from)
        )
    }

    /// Posts `body`, retrying what can be retried. `resend_on_timeout` is false for sends: a
    /// timed-out send may have gone out, and a second one would reach the customer twice.
    async fn post(
        &self,
        from: &PhoneNumberId,
        body: &Value,
        resend_on_timeout: bool,
    ) -> Result<Value, SendError> {
        let http = self.http.client().map_err(|e| SendError::Permanent {
            code: None,
            http_status: None,
            title: format!("cannot make the HTTP client: {e}"),
        })?;
        retrying(&self.settings.retry, "graph", || async {
            let request = http
                .post(self.url(from))
                .bearer_auth(self.settings.access_token.expose_secret())
                .json(body);
            match exchange(request).await {
                Ok(answer) if answer.is_success() => Ok(answer.body),
                Ok(answer) => match classify(answer.status, &answer.body) {
                    error if error.is_retryable() => Err(Failure::Retry {
                        error,
                        retry_after: answer.retry_after,
                    }),
                    error => Err(Failure::Final(error)),
                },
                Err(NoAnswer::TimedOut) if !resend_on_timeout => {
                    Err(Failure::Final(SendError::Unanswered {
                        title: "timed out: the message may have been sent, so it is not resent"
                            .into(),
                    }))
                }
                Err(no_answer) => Err(Failure::Retry {
                    error: SendError::Retryable {
                        code: None,
                        http_status: None,
                        title: no_answer.describe().into(),
                    },
                    retry_after: None,
                }),
            }
        })
        .await
    }
}

#[async_trait]
impl Messenger for GraphMessenger {
    fn name(&self) -> &'static str {
        "graph"
    }

    async fn mark_read(&self, from: &PhoneNumberId, message: &Wamid) -> Result<(), SendError> {
        self.post(from, &mark_read_body(message), true)
            .await
            .map(|_| ())
    }

    async fn send_text(&self, reply: &TextReply) -> Result<Wamid, SendError> {
        sent_id(&self.post(&reply.from, &text_body(reply), false).await?)
    }

    async fn send(&self, message: &OutboundSend) -> Result<Wamid, SendError> {
        sent_id(
            &self
                .post(&message.from, &outbound_body(message), false)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: i64) -> Value {
        json!({"error": {"message": format!("(#{code}) title"), "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "d"}, "fbtrace_id": "A1"}})
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_the_rest_permanent() {
        for code in [130429, 131056, 131000] {
            assert!(classify(400, &error(code)).is_retryable(), "{code}");
        }
        for code in [131047, 131026, 131050, 131051, 100, 190] {
            assert!(!classify(400, &error(code)).is_retryable(), "{code}");
        }
        assert!(!classify(500, &error(131047)).is_retryable());
        assert!(classify(503, &Value::Null).is_retryable());
        assert!(classify(502, &json!({"error": {"code": 999999}})).is_retryable());
        assert!(!classify(400, &json!({"error": {"code": 999999}})).is_retryable());
        assert_eq!(classify(400, &error(131047)).code(), Some(131047));
    }

    #[test]
    fn a_reply_quotes_the_customer_message_and_goes_to_the_user_id_without_a_phone() {
        let reply = TextReply {
            from: PhoneNumberId::new("106540352242922"),
            to: Recipient::UserId("US.1349".into()),
            quoting: Wamid::new("wamid.IN"),
            body: "Hello".into(),
        };
        let body = text_body(&reply);
        assert_eq!(body["context"]["message_id"], "wamid.IN");
        assert_eq!(body["recipient"], "US.1349");
        assert!(body.get("to").is_none());
        assert_eq!(body["text"]["body"], "Hello");
        assert_eq!(
            mark_read_body(&Wamid::new("w"))["typing_indicator"]["type"],
            "text"
        );
    }
}
