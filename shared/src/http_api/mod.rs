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

/// A successful answer: a status and a JSON body.
#[derive(Debug)]
pub struct Reply {
    status: u16,
    body: serde_json::Value,
}

impl Reply {
    pub fn ok(body: serde_json::Value) -> Self {
        Reply { status: 200, body }
    }

    pub fn created(body: serde_json::Value) -> Self {
        Reply { status: 201, body }
    }

    pub fn accepted(body: serde_json::Value) -> Self {
        Reply { status: 202, body }
    }

    pub fn into_response(self) -> Response<Body> {
        Response::builder()
            .status(self.status)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .body(Body::Text(self.body.to_string()))
            .expect("a JSON response is valid")
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
