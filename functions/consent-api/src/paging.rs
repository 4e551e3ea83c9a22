//! Pages of a list, newest first: `limit` and `cursor` from the query string, and cursors bound
//! by a keyed hash to the tenant and to what they page through, so a cursor cannot be forged or
//! carried to another tenant or another list.

use crate::Deps;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::{Request, RequestExt};
use mizan_shared::http_api::{ApiError, Caller};
use mizan_shared::ports::records::Cursor;
use subtle::ConstantTimeEq;

pub const DEFAULT_LIMIT: usize = 50;

/// Which page of which list a request asks for.
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<Cursor>,
}

/// What a cursor belongs to: the tenant and the list (`"audit"`, a contact's conversation).
pub struct Pages<'a> {
    deps: &'a Deps,
    caller: &'a Caller,
    list: String,
}

impl<'a> Pages<'a> {
    pub fn of(deps: &'a Deps, caller: &'a Caller, list: impl Into<String>) -> Pages<'a> {
        Pages {
            deps,
            caller,
            list: list.into(),
        }
    }

    fn tag(&self, encoded: &str) -> String {
        self.deps.store.hasher().for_logs(&format!(
            "{}-cursor\0{}\0{encoded}",
            self.list, self.caller.tenant
        ))
    }

    /// The cursor the caller gets for the next page.
    pub fn sign(&self, cursor: &Cursor) -> String {
        let encoded = URL_SAFE_NO_PAD.encode(cursor.0.as_bytes());
        format!("{encoded}.{}", self.tag(&encoded))
    }

    fn verify(&self, text: &str) -> Result<Cursor, ApiError> {
        let refused =
            || ApiError::invalid("cursor", "cursor is not one this API issued for this list");
        let (encoded, tag) = text.rsplit_once('.').ok_or_else(refused)?;
        let tags_match: bool = self.tag(encoded).as_bytes().ct_eq(tag.as_bytes()).into();
        if !tags_match {
            return Err(refused());
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refused())?;
        String::from_utf8(bytes).map(Cursor).map_err(|_| refused())
    }

    /// `limit` (1 to `max`, default [`DEFAULT_LIMIT`]) and `cursor` from the query string; any
    /// other parameter is refused, naming it.
    pub fn request(&self, request: &Request, max: usize) -> Result<PageRequest, ApiError> {
        self.request_with(request, max, &[])
    }

    /// The same, where the list also takes the filters `also` names.
    pub fn request_with(
        &self,
        request: &Request,
        max: usize,
        also: &[&str],
    ) -> Result<PageRequest, ApiError> {
        let query = request.query_string_parameters();
        for (name, _) in query.iter() {
            if name != "limit" && name != "cursor" && !also.contains(&name) {
                return Err(ApiError::invalid(
                    name,
                    format!("unknown query parameter {name:?}: use limit and cursor"),
                ));
            }
        }
        let limit = match query.first("limit") {
            None => DEFAULT_LIMIT.min(max),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        format!("limit must be a whole number from 1 to {max}"),
                    )
                })?,
        };
        let after = query
            .first("cursor")
            .map(|text| self.verify(text))
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}
