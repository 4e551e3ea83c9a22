//! Reading what a request carries: JSON bodies (unknown fields, wrong types and bad values are
//! 400s naming the field), the `{contact}` path segment, and query parameters.

use super::error::ApiError;
use crate::domain::contact_reference::{ContactReference, InvalidContactReference};
use crate::domain::phone_country::Country;
use lambda_http::Request;
use serde::de::DeserializeOwned;

/// Requests carry a few small fields; anything bigger is not a request of this API.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON object body, decoded into `T`.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    json_body_within(request, MAX_BODY_BYTES)
}

/// The same, for a route whose bodies may be larger (a campaign's audience).
pub fn json_body_within<T: DeserializeOwned>(
    request: &Request,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "a JSON object body is required"));
    }
    decode_within(bytes, limit)
}

/// A body that may be empty or `{}`: nothing else is accepted.
pub fn empty_body(request: &Request) -> Result<(), ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    decode::<NoFields>(bytes).map(|_| ())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    decode_within(bytes, MAX_BODY_BYTES)
}

pub fn decode_within<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!("request bodies are limited to {limit} bytes"),
        )
        .with_field("body"));
    }
    let malformed = |e: &serde_json::Error| {
        ApiError::new(
            400,
            "malformed_json",
            format!(
                "the body is not valid JSON: {}",
                without_position(&e.to_string())
            ),
        )
        .with_field("body")
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        // Not an object: say whether it is JSON at all.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(e) => malformed(&e),
                Ok(_) => ApiError::invalid("body", "the body must be a JSON object"),
            },
        );
    }
    // Straight from the bytes into `T`, with no tree of the whole body in between: a large
    // body (a campaign's 100,000 recipients) costs its typed size, not several times it.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        // serde_json reports some type errors (a number where an enum's name goes) as syntax:
        // only a body that does not parse at all is malformed.
        if e.inner().is_syntax() || e.inner().is_eof() {
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                return malformed(&e);
            }
        }
        let path = e.path().to_string();
        let message = without_position(&e.inner().to_string());
        ApiError::invalid(field_of(&path, &message), message)
    })?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// The field an error is about: the path locates it (an unknown field's path ends with its
/// name); a missing field is named only in the message, under its parent's path.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (missing, path) {
        (Some(name), "." | "") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "." | "") => "body".to_owned(),
        (None, path) => path.to_owned(),
    }
}

/// serde_json's messages end with " at line L column C": noise in an API answer.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The `{contact}` segment: percent-decoded, then a phone number (a local one read in
/// `country`), a business-scoped user id or Mizan's contact id.
pub fn contact_reference(
    raw: &str,
    country: Option<Country>,
) -> Result<ContactReference, ApiError> {
    let refused = |e: InvalidContactReference| ApiError::invalid("contact", e.to_string());
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| refused(InvalidContactReference::Shape))?;
    ContactReference::parse_in(&decoded, country).map_err(refused)
}

/// Refuses a query parameter not in `known`, naming it (400).
pub fn known_query(request: &Request, known: &[&str]) -> Result<(), ApiError> {
    use lambda_http::RequestExt;
    for (name, _) in request.query_string_parameters().iter() {
        if !known.contains(&name) {
            let expected = if known.is_empty() {
                "this route takes none".to_owned()
            } else {
                format!("use {}", known.join(", "))
            };
            return Err(ApiError::invalid(
                name,
                format!("unknown query parameter {name:?}: {expected}"),
            ));
        }
    }
    Ok(())
}

/// The `format` query parameter, one of `choices` (the first when absent); 400 otherwise.
pub fn format<'a>(request: &Request, choices: &[&'a str]) -> Result<&'a str, ApiError> {
    use lambda_http::RequestExt;
    let query = request.query_string_parameters();
    match query.first("format") {
        None => Ok(choices[0]),
        Some(given) => choices
            .iter()
            .copied()
            .find(|c| *c == given)
            .ok_or_else(|| {
                ApiError::invalid("format", format!("format is {}", choices.join(" or ")))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        days: u32,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        flag: bool,
    }

    fn field(body: &str) -> Option<String> {
        decode::<Sample>(body.as_bytes()).unwrap_err().field
    }

    #[test]
    fn errors_name_the_field_they_are_about() {
        assert_eq!(field(r#"{"days": "x"}"#).as_deref(), Some("days"));
        assert_eq!(
            field(r#"{"days": 1, "extra": 2}"#).as_deref(),
            Some("extra")
        );
        assert_eq!(field(r#"{}"#).as_deref(), Some("days"));
        assert_eq!(
            field(r#"{"days": 1, "nested": {"flag": 1}}"#).as_deref(),
            Some("nested.flag")
        );
        assert_eq!(
            field(r#"{"days": 1, "nested": {"flag": true, "x": 1}}"#).as_deref(),
            Some("nested.x")
        );
        assert_eq!(field(r#"{"days": -1}"#).as_deref(), Some("days"));
    }

    #[test]
    fn malformed_or_non_object_bodies_are_about_the_body() {
        let err = decode::<Sample>(b"{\"days\": ").unwrap_err();
        assert_eq!((err.status, err.code), (400, "malformed_json"));
        assert_eq!(field("[1]").as_deref(), Some("body"));
        assert!(!err.message.contains("line"));
    }

    #[test]
    fn percent_encoded_phone_numbers_are_decoded() {
        let r = contact_reference("%2B212600000000", None).unwrap();
        assert_eq!(r.identifier().unwrap().1.expose(), "212600000000");
        assert_eq!(
            contact_reference("%FF", None).unwrap_err().field.as_deref(),
            Some("contact")
        );
        assert_eq!(
            contact_reference("a%23b", None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("contact")
        );
        let local = contact_reference("0612345678", Country::parse("MA")).unwrap();
        assert_eq!(local.identifier().unwrap().1.expose(), "212612345678");
    }
}
