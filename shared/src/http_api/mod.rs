//! The edge of Mizan's HTTP APIs for businesses (consent-api, data-export), behind API Gateway
//! (HTTP API, payload 2.0): bearer API-key authentication scoped to one tenant, request input
//! that names the field it refuses, and one mapping of every failure to an HTTP answer.

pub mod auth;
pub mod contact;
pub mod error;
pub mod input;
pub mod router;

pub use auth::{authenticate, Caller};
pub use contact::callers_contact;
pub use error::ApiError;
pub use router::{resolve, route, Resolved, Route};

use lambda_http::{Body, Request, RequestExt, Response};

/// A successful answer: a status and a JSON body (or, for a document, text of a media type).
#[derive(Debug)]
pub struct Reply {
    status: u16,
    body: serde_json::Value,
    /// A text document instead of JSON: its media type and text.
    document: Option<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: serde_json::Value) -> Self {
        Reply {
            status: 200,
            body,
            document: None,
        }
    }

    pub fn created(body: serde_json::Value) -> Self {
        Reply {
            status: 201,
            ..Reply::ok(body)
        }
    }

    pub fn accepted(body: serde_json::Value) -> Self {
        Reply {
            status: 202,
            ..Reply::ok(body)
        }
    }

    /// 200 with a text document (`text/markdown; charset=utf-8`, …).
    pub fn document(media_type: &'static str, text: String) -> Self {
        Reply {
            document: Some((media_type, text)),
            ..Reply::ok(serde_json::Value::Null)
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let (media_type, text) = match self.document {
            Some((media_type, text)) => (media_type, text),
            None => ("application/json", self.body.to_string()),
        };
        let mut response = Response::builder()
            .status(self.status)
            .header("content-type", media_type)
            .header("cache-control", "no-store");
        if media_type.starts_with("text/html") {
            // Pages are self-contained: no script, nothing fetched, inline styles only.
            response = response
                .header(
                    "content-security-policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                )
                .header("x-content-type-options", "nosniff");
        }
        response
            .body(Body::Text(text))
            .expect("a response is valid")
    }
}

/// The path API Gateway routed on (without a stage prefix), or the URI's path outside Lambda.
pub fn request_path(request: &Request) -> String {
    let raw = request.raw_http_path();
    if raw.is_empty() {
        request.uri().path().to_owned()
    } else {
        raw.to_owned()
    }
}
