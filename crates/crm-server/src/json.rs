//! `JsonBody<T>`: the request-body extractor of every endpoint that takes JSON.
//!
//! It answers 415 when the body is not declared as JSON, 413 when it is over the configured
//! limit, and 400 when it is not valid JSON or not the expected shape — naming the offending
//! property (`CommonData[1].Category: …`).

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures::{StreamExt, future::LocalBoxFuture};
use serde::de::DeserializeOwned;

use crate::{error::ApiError, startup::AppState};

/// A request body parsed as JSON into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses `bytes` as a `T`, naming the property at fault in the error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let code = if inner.is_data() {
            "invalid_body"
        } else {
            "malformed_json"
        };
        let message = match (code, path.as_str()) {
            ("invalid_body", ".") | ("malformed_json", _) => {
                format!("the body is not valid: {inner}")
            }
            _ => format!("{path}: {inner}"),
        };
        ApiError::bad_request(code, message)
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(crate::startup::DEFAULT_BODY_LIMIT, |state| state.body_limit);
        let content_types = req.headers().get_all(header::CONTENT_TYPE).count();
        let json = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if content_types > 1 {
                return Err(ApiError::bad_request(
                    "duplicate_header",
                    "send exactly one Content-Type header",
                ));
            }
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON, with Content-Type: application/json".to_owned(),
                ));
            }
            let too_large =
                || ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"));
            if declared.is_some_and(|length| length > limit) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|error| {
                    ApiError::bad_request("invalid_body", format!("cannot read the body: {error}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Err(ApiError::bad_request(
                    "malformed_json",
                    "the body is empty; send a JSON object",
                ));
            }
            parse(&body).map(JsonBody)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    #[allow(dead_code)]
    struct Inner {
        category: u8,
    }

    fn message(body: &str) -> (String, &'static str) {
        match parse::<Outer>(body.as_bytes()) {
            Err(ApiError::BadRequest { code, message }) => (message, code),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_property() {
        let (text, code) = message(r#"{"Items":[{"Category":1},{"Category":"x"}]}"#);
        assert_eq!(code, "invalid_body");
        assert!(text.starts_with("Items[1].Category: "), "{text}");
        let (text, _) = message(r#"{"Items":[],"Extra":1}"#);
        assert!(text.contains("Extra"), "{text}");
        let (_, code) = message(r#"{"Items":["#);
        assert_eq!(code, "malformed_json");
        // A nesting bomb is a 400 like any other bad body, not a stack overflow.
        let deep = format!(
            r#"{{"Items":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        message(&deep);
    }
}
