//! Every failure of a request, mapped once to an HTTP status and a JSON body
//! `{"error": {"code", "message", "field"}}`. Bad input is always a 4xx naming its field.

use crate::store::DataError;
use lambda_http::{Body, Response};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 about one field of the request (a body field, `contact`, a query parameter).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(400, "invalid_request", message).with_field(field)
    }

    pub fn unauthorized(message: &str) -> Self {
        ApiError::new(401, "unauthorized", message)
    }

    /// What a missing contact, another tenant's contact and an erased one all get: nothing tells
    /// them apart.
    pub fn contact_not_found() -> Self {
        ApiError::new(
            404,
            "contact_not_found",
            "no contact of this tenant has this identifier",
        )
    }

    pub fn route_not_found(method: &str) -> Self {
        ApiError::new(
            404,
            "not_found",
            format!("no route for {method} on this path"),
        )
    }

    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        ApiError::new(
            405,
            "method_not_allowed",
            format!("this path accepts {}", allowed.join(", ")),
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message, "field": self.field }
        });
        let mut builder = Response::builder()
            .status(self.status)
            .header("content-type", "application/json");
        if self.status == 401 {
            builder = builder.header("www-authenticate", "Bearer");
        }
        if self.status == 503 {
            builder = builder.header("retry-after", "1");
        }
        builder
            .body(Body::Text(body.to_string()))
            .expect("an error response is valid")
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NotFound(what) => {
                ApiError::new(404, "not_found", format!("{what} not found"))
            }
            DataError::Conflict(reason) => ApiError::new(
                409,
                "conflict",
                format!("{reason}; read it again and retry"),
            ),
            DataError::Settings(e) => ApiError::invalid(e.field(), e.to_string()),
            e if e.is_retryable() => {
                tracing::warn!(error = %e, "storage busy or unavailable");
                ApiError::new(503, "unavailable", "storage is busy; retry shortly")
            }
            e => {
                tracing::error!(error = %e, "request failed");
                ApiError::new(500, "internal", "the request could not be completed")
            }
        }
    }
}
