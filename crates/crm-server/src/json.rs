//! `JsonBody<T>`: the request-body extractor of every endpoint that takes JSON.
//!
//! It answers 415 when the body is not declared as JSON or comes with a content coding, 413 when
//! it is over the configured limit, and 400 when it is not valid JSON or not the expected shape
//! — naming the offending property (`CommonData[1].Category: …`). The `mime` crate reads the
//! media type, Actix collects the body within the limit ([`body::to_bytes_limited`]);
//! `serde_path_to_error` names the property at fault.

use actix_web::{
    FromRequest, HttpRequest,
    body::{self, BodyStream},
    dev::Payload,
    http::header,
    mime,
    web::{self, Bytes},
};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::{error::ApiError, state::AppState};

/// A request body parsed as JSON into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Whether the request declares a JSON body: `application/json` or `application/…+json` (a
/// named subtype: no wildcard, no other suffix), with any parameters but a `charset` — each one
/// given — other than UTF-8 (`utf-8`, `utf8`, or its subset `us-ascii`):
/// the body is read as UTF-8, as RFC 8259 requires. White space around the parameters'
/// semicolons is allowed (RFC 9110 §5.6.6), which the `mime` crate alone refuses.
fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let tidy = value
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(";");
    match tidy.parse::<mime::Mime>() {
        Ok(mime) => {
            mime.type_() == mime::APPLICATION
                && match mime.suffix() {
                    None => mime.subtype() == mime::JSON,
                    Some(suffix) => suffix == mime::JSON && mime.subtype() != mime::STAR,
                }
                && mime
                    .params()
                    .filter(|(name, _)| *name == mime::CHARSET)
                    .all(|(_, charset)| {
                        ["utf-8", "utf8", "us-ascii"]
                            .iter()
                            .any(|name| charset.as_str().eq_ignore_ascii_case(name))
                    })
        }
        Err(_) => false,
    }
}

/// Whether the body comes with a content coding (`Content-Encoding` other than `identity`):
/// bodies are read as they arrive, never decoded, so such a body is refused (415) rather than
/// read as malformed JSON.
fn is_encoded(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|value| {
            value
                .to_str()
                .map_or(vec!["?"], |text| text.split(',').collect())
        })
        .map(str::trim)
        .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
}

/// Checks the request's headers before its body is read: one `Content-Type` (400), JSON (415),
/// no content coding (415), a declared length within `limit` (413).
fn check_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    if req.headers().get_all(header::CONTENT_TYPE).count() > 1 {
        return Err(ApiError::bad_request(
            "duplicate_header",
            "send exactly one Content-Type header",
        ));
    }
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON, with Content-Type: application/json".to_owned(),
        ));
    }
    if is_encoded(req) {
        return Err(ApiError::UnsupportedEncoding);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    Ok(())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
}

/// The whole body, at most `limit` bytes of it (413 beyond), not empty (400).
async fn read(payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let body = body::to_bytes_limited(BodyStream::new(payload), limit)
        .await
        .map_err(|_| too_large(limit))?
        .map_err(|error| {
            ApiError::bad_request("invalid_body", format!("cannot read the body: {error}"))
        })?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "malformed_json",
            "the body is empty; send a JSON object",
        ));
    }
    Ok(body)
}

/// Parses `bytes` as a `T`, naming the property at fault in the error.
///
/// Besides the shape of `T`: nothing but white space may follow the JSON value, and no string
/// (nor property name) may contain U+0000 — PostgreSQL cannot store it, so neither backend
/// accepts it. Every other character, control characters included, is stored as it is sent.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = &*integral_negative_zero(bytes);
    // Every body is an object: a well-formed array is the wrong shape, whatever serde would make
    // of it as a struct's fields in order.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the body is not valid: an array where a JSON object belongs",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        // serde stops at the first value of the wrong type, which may come before the place
        // where the document stops being JSON (`[[` is taken as the start of a struct's fields
        // in order): a body that is not JSON at all is malformed, whatever its first value.
        if inner.is_data()
            && let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        {
            return malformed(&syntax);
        }
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
    })?;
    deserializer.end().map_err(|error| malformed(&error))?;
    if let Some(path) = array_for_object(bytes) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("{path}: an array where a JSON object belongs"),
        ));
    }
    if let Some(path) = nul_path(bytes) {
        return Err(ApiError::invalid_field(
            path,
            "must not contain the character U+0000 (NUL)",
        ));
    }
    Ok(value)
}

/// The 400 of a body that is not JSON: `error` is where the parser stopped.
fn malformed(error: &serde_json::Error) -> ApiError {
    let hint = if error.to_string().starts_with("trailing characters") {
        " (send one JSON value)"
    } else {
        ""
    };
    ApiError::bad_request(
        "malformed_json",
        format!("the body is not valid: {error}{hint}"),
    )
}

/// `bytes` with each number `-0` written `0` (its sign a space, so that positions stay): `-0` is
/// an integer in JSON Schema's sense, which serde would read as the float `-0.0` and refuse
/// where an integer belongs. Strings and numbers such as `-0.5` or `-0e1` are left alone.
fn integral_negative_zero(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut copy: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    for (i, &byte) in bytes.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if byte == b'-'
            && bytes.get(i + 1) == Some(&b'0')
            && !bytes
                .get(i + 2)
                .is_some_and(|next| next.is_ascii_digit() || matches!(next, b'.' | b'e' | b'E'))
        {
            copy.get_or_insert_with(|| bytes.to_vec())[i] = b' ';
        }
    }
    copy.map_or(std::borrow::Cow::Borrowed(bytes), std::borrow::Cow::Owned)
}

/// Where a document that parsed has an array in place of an object, named as
/// `serde_path_to_error` names properties: serde takes a struct from an array of its fields in
/// order (`["Jane"]` for `{"FirstName": "Jane"}`), which the API's schemas do not allow. Every
/// request body is an object (a body that is an array is refused before it is parsed) and holds
/// objects only as items of arrays, never arrays of arrays, so what is looked for is an array
/// inside an array.
fn array_for_object(bytes: &[u8]) -> Option<String> {
    if !bytes.contains(&b'[') {
        return None;
    }
    let document: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let at = format!("{path}[{i}]");
                if item.is_array() {
                    Some(at)
                } else {
                    walk(item, &at)
                }
            }),
            serde_json::Value::Object(properties) => properties.iter().find_map(|(name, item)| {
                if path.is_empty() {
                    walk(item, name)
                } else {
                    walk(item, &format!("{path}.{name}"))
                }
            }),
            _ => None,
        }
    }
    walk(&document, "")
}

/// The path of the first string (or property name) of a JSON document that contains U+0000,
/// named as `serde_path_to_error` names properties (`CommonData[1].Data`). JSON can carry the
/// character only escaped, so a document without the text `\u0000` is not even parsed again.
fn nul_path(bytes: &[u8]) -> Option<String> {
    const ESCAPED_NUL: &[u8] = br"\u0000";
    if !bytes
        .windows(ESCAPED_NUL.len())
        .any(|window| window == ESCAPED_NUL)
    {
        return None;
    }
    let document: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(properties) => properties.iter().any(|(name, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let found = name.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(&document, &mut path).then(|| {
        if path.is_empty() {
            ".".to_owned()
        } else {
            path
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// After the key, when the handler takes a [`crate::auth::Caller`] before this.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            crate::auth::authenticated(&req).await;
            let limit = match req.app_data::<web::Data<AppState>>() {
                Some(state) => check_headers(&req, state.body_limit).map(|()| state.body_limit),
                None => Err(ApiError::Internal(anyhow::anyhow!(
                    "application state is not registered"
                ))),
            }?;
            let body = read(payload, limit).await?;
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
    fn negative_zero_is_the_integer_zero() {
        #[derive(Debug, serde::Deserialize)]
        struct Numbers {
            a: i32,
            b: Vec<i64>,
            c: String,
            d: f64,
        }
        let numbers: Numbers =
            parse(br#"{"a": -0, "b": [-0,-0 ,1], "c": "-0 \" -0", "d": -0.5}"#).unwrap();
        assert_eq!(
            (numbers.a, numbers.b, numbers.c.as_str()),
            (0, vec![0, 0, 1], "-0 \" -0")
        );
        assert!((numbers.d + 0.5).abs() < f64::EPSILON);
        // Still refused where they were: a fraction, an exponent, a leading zero.
        for body in [r#"{"a": -0.0}"#, r#"{"a": -0e1}"#, r#"{"a": -01}"#] {
            assert!(parse::<Numbers>(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn arrays_in_place_of_objects_are_refused_naming_where() {
        assert_eq!(
            message(r#"[[{"Category":1}]]"#),
            (
                "the body is not valid: an array where a JSON object belongs".to_owned(),
                "invalid_body"
            )
        );
        assert_eq!(
            message(r#" {"Items":[{"Category":1},[2]]}"#),
            (
                "Items[1]: an array where a JSON object belongs".to_owned(),
                "invalid_body"
            )
        );
        assert!(parse::<Outer>(br#"{"Items":[{"Category":1}]}"#).is_ok());
        assert!(parse::<Vec<u8>>(b"[1]").is_err());
        // Any well-formed array, whatever serde would make of it; a broken one is malformed.
        for body in ["[]", "[[999999],1]", " [999999] ", "[{\"Items\": []}]"] {
            assert_eq!(
                message(body),
                (
                    "the body is not valid: an array where a JSON object belongs".to_owned(),
                    "invalid_body"
                ),
                "{body}"
            );
        }
        assert_eq!(message("[").1, "malformed_json");
        // Cut off after a value serde already refused: still not JSON, so malformed.
        for body in [
            "[[",
            "[1",
            r#"{"Items": 1, "#,
            r#"{"Items":[{"Category":"x"}"#,
        ] {
            let (text, code) = message(body);
            assert_eq!(code, "malformed_json", "{body}: {text}");
            assert!(
                text.starts_with("the body is not valid: "),
                "{body}: {text}"
            );
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

    #[test]
    fn trailing_bytes_are_refused() {
        for body in [
            r#"{"Items":[]}{"Items":[]}"#,
            r#"{"Items":[]} x"#,
            r#"{"Items":[]}, "DROP""#,
            // A wrong value first: the body is still not one JSON value.
            r#"{"Items":1} x"#,
        ] {
            let (text, code) = message(body);
            assert_eq!(code, "malformed_json", "{body}");
            assert!(text.contains("trailing characters"), "{body}: {text}");
            assert!(text.ends_with("(send one JSON value)"), "{body}: {text}");
        }
        assert!(parse::<Outer>(b"{\"Items\":[]} \n\t ").is_ok());
    }

    #[test]
    fn headers_are_checked_before_the_body() {
        use actix_web::test::TestRequest;
        let check = |headers: &[(&str, &str)]| {
            let mut req = TestRequest::post();
            for header in headers {
                req = req.append_header(*header);
            }
            check_headers(&req.to_http_request(), 100)
        };
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=UTF-8",
            "application/json; charset=utf8",
            "application/json; charset=\"us-ascii\"",
            "application/json ;charset=utf-8",
            "application/json ; charset=utf-8 ",
            "application/json;",
            "APPLICATION/JSON",
            "application/vnd.api+json",
        ] {
            assert!(check(&[("content-type", ok)]).is_ok(), "{ok}");
        }
        for not_json in [
            "text/plain",
            "application/jsonx",
            "application/json+xml",
            "application/*+json",
            "application/json; charset=utf-8; charset=latin1",
            "json",
            "text/json",
            "application/json; charset=utf-16",
            "application/json; charset=latin1",
        ] {
            assert!(
                matches!(
                    check(&[("content-type", not_json)]),
                    Err(ApiError::UnsupportedMediaType(_))
                ),
                "{not_json}"
            );
        }
        assert!(matches!(check(&[]), Err(ApiError::UnsupportedMediaType(_))));
        for encoded in ["gzip", "br", "identity, gzip", "x-unknown", "\u{e9}"] {
            assert!(
                matches!(
                    check(&[
                        ("content-type", "application/json"),
                        ("content-encoding", encoded)
                    ]),
                    Err(ApiError::UnsupportedEncoding)
                ),
                "{encoded}"
            );
        }
        for plain in ["identity", "IDENTITY", "", " identity , identity"] {
            assert!(
                check(&[
                    ("content-type", "application/json"),
                    ("content-encoding", plain)
                ])
                .is_ok(),
                "{plain:?}"
            );
        }
        assert!(matches!(
            check(&[
                ("content-type", "application/json"),
                ("content-type", "application/json")
            ]),
            Err(ApiError::BadRequest {
                code: "duplicate_header",
                ..
            })
        ));
        assert!(matches!(
            check(&[
                ("content-type", "application/json"),
                ("content-length", "101")
            ]),
            Err(ApiError::PayloadTooLarge(_))
        ));
        assert!(
            check(&[
                ("content-type", "application/json"),
                ("content-length", "100")
            ])
            .is_ok()
        );
    }

    #[test]
    fn nul_is_refused_and_named() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Texts {
            a: String,
            b: Vec<Option<String>>,
        }
        let refused = |body: &str| match parse::<Texts>(body.as_bytes()) {
            Err(ApiError::BadRequest { code, message }) => (code, message),
            other => panic!("expected a 400 for {body}, got {other:?}"),
        };
        let (code, text) = refused(r#"{"a":"x\u0000y","b":[]}"#);
        assert_eq!(code, "invalid_field");
        assert!(text.starts_with("a: "), "{text}");
        let (_, text) = refused(r#"{"a":"","b":[null,"\u0000"]}"#);
        assert!(text.starts_with("b[1]: "), "{text}");
        // An escaped backslash followed by `u0000` is six ordinary characters.
        assert!(parse::<Texts>(br#"{"a":"\\u0000","b":[]}"#).is_ok());
        // Other control characters are kept.
        let texts =
            parse::<Texts>(br#"{"a":"\u0001\t\n","b":[]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(texts.a, "\u{1}\t\n");
    }
}
