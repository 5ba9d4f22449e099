//! HTTP routes: the API, Swagger UI and the document, default pictures, and JSON errors for
//! everything that matches no route.

pub mod contacts;
pub mod meta;
pub mod reference;
pub mod tasks;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use crm_models::Error;
use futures::future::{Ready, ready};

use crate::error::ApiError;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/2.0/crm/contact/{contactid:[0-9]+}")
            .route(web::get().to(contacts::get_contact))
            .route(web::delete().to(contacts::delete_contact))
            .default_service(meta::method_not_allowed("GET, DELETE")),
    )
    .service(
        web::resource("/api/2.0/crm/contact/person")
            .route(web::post().to(contacts::create_person))
            .default_service(meta::method_not_allowed("POST")),
    )
    .service(
        web::resource("/api/2.0/crm/contact/company")
            .route(web::post().to(contacts::create_company))
            .default_service(meta::method_not_allowed("POST")),
    )
    .service(
        web::resource("/api/2.0/crm/contact/status")
            .route(web::get().to(reference::list_statuses))
            .route(web::post().to(reference::create_status))
            .default_service(meta::method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/api/2.0/crm/contact/type")
            .route(web::get().to(reference::list_types))
            .route(web::post().to(reference::create_type))
            .default_service(meta::method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/api/2.0/crm/{entityType}/customfield/definitions")
            .route(web::get().to(reference::list_custom_fields))
            .default_service(meta::method_not_allowed("GET")),
    )
    .service(
        web::resource("/api/2.0/crm/{entityType}/customfield")
            .route(web::post().to(reference::create_custom_field))
            .default_service(meta::method_not_allowed("POST")),
    )
    .service(
        web::resource("/api/2.0/crm/settings/currency")
            .route(web::get().to(reference::list_currencies))
            .default_service(meta::method_not_allowed("GET")),
    )
    .service(
        web::resource("/api/2.0/crm/task")
            .route(web::post().to(tasks::create_task))
            .default_service(meta::method_not_allowed("POST")),
    );
    meta::configure(cfg);
}

/// The error responses every authenticated JSON endpoint documents.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only documents responses
pub enum CommonErrors {
    /// Unauthorized: the API key is missing, unknown or revoked.
    #[response(status = 401)]
    Unauthorized(Error),
    /// The Accept header excludes application/json.
    #[response(status = 406)]
    NotAcceptable(Error),
    /// An unexpected error.
    #[response(status = 500)]
    Internal(Error),
    /// Try again later: the database is unavailable (`database_unavailable`), a write kept
    /// conflicting with concurrent writes to the same rows and was abandoned after its retries
    /// (`write_conflict`), or the request timed out (`request_timeout`). Nothing was kept.
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
    /// The body is not declared as application/json.
    #[response(status = 415)]
    NotJson(Error),
}

/// Succeeds when the request accepts `application/json` (or says nothing about what it
/// accepts); fails with 406 otherwise.
#[derive(Debug, Clone, Copy)]
pub struct AcceptsJson;

impl AcceptsJson {
    fn check(req: &HttpRequest) -> Result<Self, ApiError> {
        if !req.headers().contains_key(header::ACCEPT) {
            return Ok(Self);
        }
        let accept =
            <header::Accept as header::Header>::parse(req).map_err(|_| ApiError::NotAcceptable)?;
        let json = accept.iter().any(|item| {
            let mime = &item.item;
            let type_ok = mime.type_() == "*" || mime.type_() == "application";
            let subtype_ok = mime.subtype() == "*" || mime.subtype() == "json";
            type_ok && subtype_ok && item.quality > header::Quality::ZERO
        });
        if json {
            Ok(Self)
        } else {
            Err(ApiError::NotAcceptable)
        }
    }
}

impl FromRequest for AcceptsJson {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::check(req))
    }
}

/// Parses a contact ID from the path: decimal digits, no leading zero, 1..=2147483647.
pub fn parse_contact_id(raw: &str) -> Result<i32, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_contact_id",
            format!(
                "contactid must be an integer from 1 to 2147483647, without leading zeros; got {raw:?}"
            ),
        )
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) || raw.starts_with('0') {
        return Err(invalid());
    }
    raw.parse::<i32>().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn contact_ids() {
        assert_eq!(parse_contact_id("1").ok(), Some(1));
        assert_eq!(parse_contact_id("2147483647").ok(), Some(i32::MAX));
        for bad in [
            "0",
            "2147483648",
            "007",
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
        assert!(!accepts(Some("text/plain")));
    }
}
