//! `ApiError`: every failure a request can meet, mapped to an HTTP status and the `Error` body.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header::HeaderMap},
};
use sea_orm::DbErr;

use crate::db::{self, Failure, WriteError};

/// A failed request. Rendered as `application/json` with the `Error` schema.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; `code` tells what is wrong.
    #[error("{message}")]
    BadRequest {
        /// A stable machine-readable code.
        code: &'static str,
        /// What is wrong, naming the offending field or parameter.
        message: String,
    },
    /// 422: the body matches its schema, but refers to something that does not exist or breaks
    /// a rule the schema cannot express (e.g. a category that the kind of info does not have).
    #[error("{message}")]
    Unprocessable {
        /// A stable machine-readable code.
        code: &'static str,
        /// What is wrong, naming the offending field.
        message: String,
    },
    /// 401: no API key, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource.
    #[error("{message}")]
    NotFound {
        /// A stable machine-readable code.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// 409: the request conflicts with what exists (e.g. a duplicate title); the message starts
    /// with the property at fault.
    #[error("{0}")]
    Conflict(String),
    /// 405: the path exists, the method does not.
    #[error("method {0} is not allowed on this path")]
    MethodNotAllowed(String),
    /// 406: the client accepts no representation the API produces.
    #[error("this endpoint produces application/json only, which the Accept header excludes")]
    NotAcceptable,
    /// 413: the body is over the size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 415: the body comes with a content coding (`Content-Encoding`); none is accepted.
    #[error("send the body without a Content-Encoding: no content coding is accepted")]
    UnsupportedEncoding,
    /// 503: the request took longer than the configured request timeout; nothing it did was kept.
    #[error("the request took longer than {0:?} and was abandoned; nothing it did was kept")]
    Timeout(std::time::Duration),
    /// 429: the caller is over a rate-limit budget; try again after `Retry-After` seconds.
    #[error(
        "too many requests: over the budget of {} requests per {} s per {}; retry in {} s",
        .0.quota,
        .0.window.as_secs(),
        .0.name,
        .0.retry_after_seconds().unwrap_or(1)
    )]
    RateLimited(crate::limits::Verdict),
    /// 503: the database cannot be reached right now.
    #[error("the database is unavailable; try again later")]
    Unavailable(#[source] DbErr),
    /// 503: the write kept meeting concurrent writes to the same rows (a serialization failure
    /// or a deadlock, every one of its attempts); nothing it did was kept.
    #[error(
        "the write conflicted with concurrent writes {attempts} times and was abandoned; nothing \
         it did was kept; try again",
        attempts = db::WRITE_ATTEMPTS
    )]
    Contended(#[source] DbErr),
    /// 500: a bug or an unexpected database failure. Details are logged, not returned.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 400 with a code and a message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 400 about a property of the body: `code` `invalid_field`, the message starts with the
    /// property's path.
    pub fn invalid_field(field: impl std::fmt::Display, problem: impl std::fmt::Display) -> Self {
        Self::bad_request("invalid_field", format!("{field}: {problem}"))
    }

    /// A 422 about a property of a body that matches its schema: `code` `invalid_field`, the
    /// message starts with the property's path. For unknown references (IDs, codes) and rules
    /// across fields; a value the schema itself rules out is a 400 ([`Self::invalid_field`]).
    pub fn unprocessable_field(
        field: impl std::fmt::Display,
        problem: impl std::fmt::Display,
    ) -> Self {
        Self::Unprocessable {
            code: "invalid_field",
            message: format!("{field}: {problem}"),
        }
    }

    /// A 404 with a code and a message.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    /// The stable machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::NotFound { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::RateLimited(_) => "rate_limited",
            Self::Forbidden(_) => "forbidden",
            Self::Conflict(_) => "conflict",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::NotAcceptable => "not_acceptable",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) | Self::UnsupportedEncoding => "unsupported_media_type",
            Self::Timeout(_) => "request_timeout",
            Self::Unavailable(_) => "database_unavailable",
            Self::Contended(_) => "write_conflict",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The body of the error response.
    pub fn body(&self) -> crm_models::Error {
        crm_models::Error::new(
            self.status_code().as_u16(),
            self.code(),
            clipped(self.to_string()),
        )
    }
}

/// The longest `Message`, in characters: a message quoting what the client sent (an unknown
/// property's name, a path) is cut to this length, its last character `…`, so an error never
/// echoes a request's size back.
pub const MAX_MESSAGE_CHARS: usize = 500;

fn clipped(mut message: String) -> String {
    let mut from_last = message.char_indices().skip(MAX_MESSAGE_CHARS - 1);
    if let (Some((cut, _)), Some(_)) = (from_last.next(), from_last.next()) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) | Self::UnsupportedEncoding => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Unavailable(_) | Self::Contended(_) | Self::Timeout(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed")
            }
            Self::Unavailable(error) => tracing::warn!(%error, "database unavailable"),
            Self::Contended(error) => tracing::warn!(%error, "write abandoned after retries"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Self::RateLimited(verdict) = self {
            response.insert_header(("Retry-After", verdict.retry_after_seconds().unwrap_or(1)));
            for field in verdict.fields() {
                response.insert_header(field);
            }
        }
        if matches!(self, Self::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "ApiKey"));
        }
        if matches!(self, Self::UnsupportedEncoding) {
            // No content coding is accepted (RFC 9110 §12.5.3).
            response.insert_header(("Accept-Encoding", "identity"));
        }
        response.json(self.body())
    }
}

/// The request property each database constraint stands for: PostgreSQL's constraint names, and
/// the columns SQLite names in a unique violation. A violation of one of these is the client's
/// (a 409 or a 422 naming the property); of any other, a bug (500).
const CONSTRAINT_PROPERTIES: &[(&str, &str)] = &[
    ("fk_tasks_contact", "ContactId"),
    ("fk_contacts_company", "CompanyId"),
    ("fk_contacts_status", "ContactStatusId"),
    ("fk_contacts_type", "ContactTypeId"),
    ("fk_contacts_currency", "Currency"),
    ("fk_custom_field_values_field", "CustomFields"),
    ("fk_contact_access_user", "AccessList"),
    ("fk_contact_tags_tag", "Tags"),
    (crate::db::entities::list_item::TITLE_INDEX, "Title"),
    ("list_items.kind, list_items.title_key", "Title"),
];

fn property(constraint: Option<&str>) -> Option<&'static str> {
    let constraint = constraint?;
    CONSTRAINT_PROPERTIES
        .iter()
        .find(|(name, _)| *name == constraint)
        .map(|(_, property)| *property)
}

/// Every database error is mapped here, the same on both backends: a unique violation → 409
/// naming the property; a foreign-key violation → 422 naming the property whose row is gone; a
/// serialization failure or deadlock (left after [`db::write`]'s retries) → 503
/// `write_conflict`; no database → 503 `database_unavailable`; anything else → 500, the cause
/// in the log.
impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        match db::classify(&error) {
            Failure::Unique(constraint) => match property(constraint.as_deref()) {
                Some(property) => {
                    Self::Conflict(format!("{property}: another record already has this value"))
                }
                None => Self::Internal(error.into()),
            },
            Failure::ForeignKey(constraint) => {
                let property = match constraint.as_deref() {
                    Some(name) => property(Some(name)),
                    // SQLite names no foreign key. There every write holds the file's write lock
                    // from its first read, so a reference the request checked cannot vanish
                    // before its insert; this is the backstop.
                    None => Some("(a reference)"),
                };
                match property {
                    Some(property) => Self::unprocessable_field(
                        property,
                        "the record it refers to does not exist (it was deleted while this \
                         request ran)",
                    ),
                    None => Self::Internal(error.into()),
                }
            }
            Failure::Retryable => Self::Contended(error),
            // The lock wait a request's delete allowed itself ran out at its deadline; outside
            // a request (a `lock_timeout` of the database's own settings) it is no timeout of
            // ours.
            Failure::LockTimeout => match crate::deadline::timeout() {
                Some(timeout) => Self::Timeout(timeout),
                None => Self::Internal(error.into()),
            },
            Failure::Unavailable => Self::Unavailable(error),
            Failure::Other => Self::Internal(error.into()),
        }
    }
}

impl WriteError for ApiError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Contended(_))
    }
}

/// An error raised around the handlers, which has no response yet when a middleware that adds
/// header fields sees it (the request timeout): answered as the error itself, with `fields` —
/// what that middleware would have put on a response.
#[derive(Debug)]
pub struct WithFields {
    error: actix_web::Error,
    fields: HeaderMap,
}

impl WithFields {
    /// `error`, to be answered with `fields` on top of its own.
    pub fn new(error: actix_web::Error, fields: HeaderMap) -> Self {
        Self { error, fields }
    }
}

impl std::fmt::Display for WithFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for WithFields {
    fn status_code(&self) -> StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.error.error_response();
        for (name, value) in self.fields.iter() {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_clipped_to_the_maximum_at_a_character_boundary() {
        let exact = "é".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(clipped(exact.clone()), exact);
        let over = clipped("é".repeat(MAX_MESSAGE_CHARS + 1));
        assert_eq!(over.chars().count(), MAX_MESSAGE_CHARS);
        assert!(over.ends_with("é…"), "{over}");
        assert_eq!(clipped("short".to_owned()), "short");
    }
}
