//! HTTP requests as API Gateway (HTTP API) gives them to Lambda, and Lambda's answers back: the
//! runner calls each function's own `handle` with exactly what it gets in production.

use crate::api_error::ApiError;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::{Body, RequestExt};
use std::collections::HashMap;

/// API Gateway's payload limit: larger bodies never reach a function.
const API_GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

pub async fn to_lambda(
    request: Request,
    read_timeout: std::time::Duration,
) -> Result<lambda_http::Request, ApiError> {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        read_timeout,
        axum::body::to_bytes(body, API_GATEWAY_MAX_BODY),
    )
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                read_timeout.as_secs()
            ),
        )
    })?;
    let bytes = read.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "API Gateway refuses bodies over 10 MB",
        )
    })?;
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(text) = parts.uri.query() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                "the query string is not valid",
            )
        })?;
        for (key, value) in pairs {
            query.entry(key).or_default().push(value);
        }
    }
    // API Gateway passes UTF-8 bodies as text and anything else base64-encoded (decoded by
    // lambda_http into bytes): the same split here.
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(binary) => Body::Binary(binary.into_bytes()),
        }
    };
    Ok(lambda_http::http::Request::from_parts(parts, body)
        .with_query_string_parameters(QueryMap::from(query)))
}

pub fn from_lambda(answer: Result<lambda_http::Response<Body>, lambda_http::Error>) -> Response {
    match answer {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes: Vec<u8> = match body {
                Body::Empty => Vec::new(),
                Body::Text(text) => text.into_bytes(),
                Body::Binary(bytes) => bytes,
                _ => Vec::new(),
            };
            Response::from_parts(parts, axum::body::Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, "function failed");
            axum::response::IntoResponse::into_response(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the function failed",
            ))
        }
    }
}
