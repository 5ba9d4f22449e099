//! What the handlers share: the error responses they document, the `AcceptsJson` extractor
//! (406) and the contact-ID parser.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};
use crm_models::Error;
use futures::future::LocalBoxFuture;

use crate::error::ApiError;

/// The error responses every authenticated JSON endpoint documents.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only documents responses
pub enum CommonErrors {
    /// Unauthorized: the API key is missing, unknown or revoked.
    #[response(
        status = 401,
        headers(("WWW-Authenticate" = String, description = "`ApiKey`: the scheme the key is sent with."))
    )]
    Unauthorized(Error),
    /// The Accept header excludes application/json.
    #[response(status = 406)]
    NotAcceptable(Error),
    /// Too many requests: the API key is over its budget (`--rate-limit` requests per 10
    /// seconds), or the client address over its budget of requests with a missing, unknown or
    /// revoked key (`--bad-key-limit` per minute; then every request of that address waits,
    /// before any key is looked up). Retry after `Retry-After` seconds. While the per-key limit
    /// is on (it is unless `--rate-limit 0`), every response of an operation that takes a key
    /// carries `RateLimit-Policy` (`"key";q=500;w=10`: the budget) and `RateLimit`
    /// (`"key";r=499;t=1`: what is left, and in how many seconds the budget is whole again).
    #[response(
        status = 429,
        headers(
            ("Retry-After" = u32, description = "Seconds to wait before the next request."),
            ("RateLimit-Policy" = String, description = "The budget: its name, quota `q` per window `w` seconds."),
            ("RateLimit" = String, description = "What is left of the budget (`r`) and the seconds until it is whole again (`t`)."),
        )
    )]
    TooManyRequests(Error),
    /// An unexpected error.
    #[response(status = 500)]
    Internal(Error),
    /// Try again later: the database is unavailable (`database_unavailable`), a write kept
    /// conflicting with concurrent writes to the same rows and was abandoned after its retries
    /// (`write_conflict`), or the request timed out (`request_timeout`). Nothing was kept, with
    /// one exception: when the connection to the database broke while a write was committing
    /// (a delete on PostgreSQL: while it ran), `database_unavailable` cannot say whether it was
    /// kept; read before trying again.
    #[response(status = 503)]
    Unavailable(Error),
}

/// The error responses every endpoint that takes a JSON body documents.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only documents responses
pub enum BodyErrors {
    /// The body is over the size limit.
    #[response(status = 413)]
    TooLarge(Error),
    /// The body is not declared as application/json (or `application/…+json`), is declared in
    /// a charset other than UTF-8, or comes with a `Content-Encoding` other than `identity` (the
    /// answer says `Accept-Encoding: identity`).
    #[response(status = 415)]
    NotJson(Error),
}

/// Succeeds when the request accepts `application/json` (or says nothing about what it
/// accepts); fails with 406 otherwise. As RFC 9110 (§12.5.1) says, the most specific range that
/// matches decides: `application/json;q=0, */*` excludes JSON.
#[derive(Debug, Clone, Copy)]
pub struct AcceptsJson;

impl AcceptsJson {
    fn check(req: &HttpRequest) -> Result<Self, ApiError> {
        if !req.headers().contains_key(header::ACCEPT) {
            return Ok(Self);
        }
        let accept =
            <header::Accept as header::Header>::parse(req).map_err(|_| ApiError::NotAcceptable)?;
        let quality = accept
            .iter()
            .filter_map(|item| {
                let mime = &item.item;
                let specificity = match (mime.type_().as_str(), mime.subtype().as_str()) {
                    ("application", "json") => 2,
                    ("application", "*") => 1,
                    ("*", "*") => 0,
                    _ => return None,
                };
                Some((specificity, item.quality))
            })
            .max()
            .map(|(_, quality)| quality);
        if quality.is_some_and(|quality| quality > header::Quality::ZERO) {
            Ok(Self)
        } else {
            Err(ApiError::NotAcceptable)
        }
    }
}

impl FromRequest for AcceptsJson {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// After the key, when the handler takes a [`crate::auth::Caller`] before this.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            crate::auth::authenticated(&req).await;
            Self::check(&req)
        })
    }
}

/// The `{contactid}` of the request's path ([`parse_contact_id`]).
pub fn contact_id(req: &HttpRequest) -> Result<i32, ApiError> {
    parse_contact_id(req.match_info().get("contactid").unwrap_or_default())
}

/// Parses a contact ID from the path: decimal digits, 1..=2147483647. Leading zeros are
/// allowed, as ONLYOFFICE allows them: `007` is 7.
pub fn parse_contact_id(raw: &str) -> Result<i32, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_contact_id",
            format!(
                "contactid must be an integer from 1 to 2147483647; got {}",
                crm_models::quoted(raw)
            ),
        )
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match raw.parse::<i32>() {
        Ok(id) if id >= 1 => Ok(id),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn contact_ids() {
        assert_eq!(parse_contact_id("1").ok(), Some(1));
        assert_eq!(parse_contact_id("2147483647").ok(), Some(i32::MAX));
        assert_eq!(parse_contact_id("007").ok(), Some(7));
        assert_eq!(parse_contact_id("0002147483647").ok(), Some(i32::MAX));
        let many_zeros = format!("{}42", "0".repeat(5_000));
        assert_eq!(parse_contact_id(&many_zeros).ok(), Some(42));
        for bad in [
            "0",
            "000",
            "2147483648",
            "02147483648",
            "",
            "-1",
            "+1",
            "99999999999999999999",
        ] {
            assert!(parse_contact_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accept_header() {
        let accepts = |value: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(value) = value {
                req = req.insert_header((header::ACCEPT, value));
            }
            AcceptsJson::check(&req.to_http_request()).is_ok()
        };
        assert!(accepts(None));
        assert!(accepts(Some("application/json")));
        assert!(accepts(Some("*/*")));
        assert!(accepts(Some("text/html, application/*;q=0.5")));
        assert!(accepts(Some("application/json; charset=utf-8")));
        assert!(!accepts(Some("application/xml")));
        assert!(!accepts(Some("application/json;q=0")));
        // The most specific range decides, wherever it stands.
        assert!(!accepts(Some("application/json;q=0, */*")));
        assert!(!accepts(Some("*/*, application/json;q=0")));
        assert!(!accepts(Some("application/json;q=0, application/*")));
        assert!(!accepts(Some("application/*;q=0, */*")));
        assert!(accepts(Some("application/*;q=0, application/json")));
        assert!(accepts(Some("*/*;q=0, application/json;q=0.1")));
        assert!(!accepts(Some("text/plain")));
    }
}
