//! The contract's and the command line's finish: the routes are the documented ones, contact IDs
//! with leading zeros, the headers every response carries, JSON 404s under Swagger UI, the
//! limits of the HTTP layer, the JSON body reader, and the administration commands' output.

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader},
    process::{Command, Output, Stdio},
    time::Duration,
};

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Backend, TestApp};

const SERVER: &str = env!("CARGO_BIN_EXE_crm-server");

/// A request with the admin key; the status, the headers and the body as text.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<(&str, &str)>,
) -> (StatusCode, header::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header(header::AUTHORIZATION, &app.admin_key);
    if let Some((content_type, body)) = body {
        request = request
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn error_code(text: &str) -> String {
    let body: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
    body["Code"].as_str().unwrap_or_default().to_owned()
}

/// The document's paths with their methods (upper case).
fn documented(document: &Value) -> Vec<(String, BTreeSet<String>)> {
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The bytes that follow the head of the answer to `HEAD path` (with the admin key), read
/// off the socket until the server closes it: a client library would not read them.
async fn raw_body_of_head(app: &TestApp, path: &str) -> Vec<u8> {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!(
        "HEAD {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        app.admin_key
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .expect("read");
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    answer.split_off(end + 4)
}

/// For every path of the served document and every method: a documented method reaches its
/// handler (no 405, no `route_not_found`), and so does `HEAD` where `GET` is documented — the
/// answer's head without a body; any other is a JSON 405 whose `Allow` lists exactly the
/// documented methods (and `HEAD` with `GET`). A path the document lacks is a 404.
async fn the_server_routes_exactly_the_documented_paths_and_methods(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let document = app.served_document().await;
    let paths = documented(&document);
    assert!(paths.len() >= 9, "{paths:?}");
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::HEAD,
    ];
    for (path, documented) in &paths {
        let mut allowed = documented.clone();
        if allowed.contains("GET") {
            allowed.insert("HEAD".to_owned());
        }
        let allowed = &allowed;
        let concrete = path
            .replace("{contactid}", "2147483647")
            .replace("{entityType}", "person");
        for method in &methods {
            let at = format!("{method} {concrete}");
            // A body the POST handlers reject (400) without writing anything.
            let (status, headers, text) = send(
                &app,
                method.clone(),
                &concrete,
                Some(("application/json", "{}")),
            )
            .await;
            if allowed.contains(method.as_str()) {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{at}: {text}");
                if *method == Method::HEAD {
                    let (get, get_headers, _) = send(
                        &app,
                        Method::GET,
                        &concrete,
                        Some(("application/json", "{}")),
                    )
                    .await;
                    assert_eq!(status, get, "{at}: the status of GET");
                    // The metrics' text changes with every request, so its length too.
                    let same = if concrete == "/metrics" {
                        vec![header::CONTENT_TYPE]
                    } else {
                        vec![header::CONTENT_TYPE, header::CONTENT_LENGTH]
                    };
                    for name in same {
                        assert_eq!(headers.get(&name), get_headers.get(&name), "{at}: {name}");
                    }
                    assert_eq!(
                        raw_body_of_head(&app, &concrete).await,
                        b"",
                        "{at}: no body"
                    );
                } else if status == StatusCode::NOT_FOUND {
                    assert_ne!(error_code(&text), "route_not_found", "{at}");
                }
                continue;
            }
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{at}: {text}");
            let allow: BTreeSet<String> = headers
                .get(header::ALLOW)
                .unwrap_or_else(|| panic!("{at}: no Allow header"))
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_owned())
                .collect();
            assert_eq!(&allow, allowed, "{at}");
            if *method != Method::HEAD {
                assert_eq!(error_code(&text), "method_not_allowed", "{at}");
            }
        }
    }
    for path in [
        "/api/2.0/crm/contact/person/extra",
        "/api/2.0/crm/contacts",
        "/api/2.0/crm/deal/1",
    ] {
        let (status, _, text) = send(&app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(&text), "route_not_found", "{path}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            body["Message"],
            format!("No route matches \"GET\" \"{path}\"."),
            "{path}"
        );
    }
    // What the message quotes of the request is at most 40 characters.
    let long = format!("/{}", "a".repeat(5_000));
    let (status, _, text) = send(&app, Method::GET, &long, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&text).unwrap();
    let expected = format!("No route matches \"GET\" \"/{}\"….", "a".repeat(39));
    assert_eq!(body["Message"], expected);
}

/// `/contact/007` is contact 7, as in ONLYOFFICE; zeros alone are still no ID.
async fn contact_ids_may_have_leading_zeros(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (status, _, text) = send(
        &app,
        Method::POST,
        "/api/2.0/crm/contact/person",
        Some((
            "application/json",
            r#"{"FirstName": "Jane", "LastName": "Doe"}"#,
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["ID"]
        .as_i64()
        .unwrap();
    let padded = format!("/api/2.0/crm/contact/{id:0>12}");
    let (status, _, text) = send(&app, Method::GET, &padded, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["ID"], id);
    let (status, _, text) = send(
        &app,
        Method::DELETE,
        &format!("/api/2.0/crm/contact/00{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["DisplayName"],
        "Jane Doe"
    );
    let (status, _, text) = send(&app, Method::GET, &padded, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert_eq!(error_code(&text), "contact_not_found");
    for zeros in ["0", "000"] {
        let (status, _, text) = send(
            &app,
            Method::GET,
            &format!("/api/2.0/crm/contact/{zeros}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{zeros}: {text}");
        assert_eq!(error_code(&text), "invalid_contact_id");
    }
}

fn assert_security_headers(at: &str, headers: &header::HeaderMap, swagger_ui: bool) {
    let value = |name: header::HeaderName| {
        headers
            .get(&name)
            .unwrap_or_else(|| panic!("{at}: no {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(value(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{at}");
    assert_eq!(value(header::REFERRER_POLICY), "no-referrer", "{at}");
    assert_eq!(value(header::X_FRAME_OPTIONS), "DENY", "{at}");
    let csp = value(header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("frame-ancestors 'none'"), "{at}: {csp}");
    assert!(csp.starts_with("default-src 'none'"), "{at}: {csp}");
    assert_eq!(csp.contains("script-src 'self'"), swagger_ui, "{at}: {csp}");
}

/// `nosniff`, `no-referrer`, `DENY` and a content security policy on every kind of response:
/// API answers and errors, the document, Swagger UI (with the policy it works under),
/// pictures, redirects.
async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases: &[(Method, &str, Option<&str>, u16, bool)] = &[
        (Method::GET, "/api/2.0/crm/contact/status", None, 200, false),
        (Method::GET, "/api/2.0/crm/contact/42", None, 404, false),
        (Method::GET, "/api/2.0/crm/contact/x", None, 404, false),
        (Method::PUT, "/api/2.0/crm/contact/42", None, 405, false),
        (Method::POST, "/api/2.0/crm/task", Some("x"), 415, false),
        (Method::GET, "/healthz", None, 200, false),
        (Method::GET, "/api-docs/openapi.json", None, 200, false),
        (Method::GET, "/images/person_40.svg", None, 200, false),
        (Method::POST, "/images/person_40.svg", None, 404, false),
        (Method::GET, "/", None, 302, false),
        (Method::GET, "/swagger-ui/", None, 200, true),
        (
            Method::GET,
            "/swagger-ui/swagger-initializer.js",
            None,
            200,
            true,
        ),
        (Method::GET, "/swagger-ui/swagger-ui.css", None, 200, true),
        (Method::GET, "/swagger-ui/nope", None, 404, true),
    ];
    for (method, path, body, status, swagger_ui) in cases {
        let mut request = no_redirects
            .request(method.clone(), app.url(path))
            .header(header::AUTHORIZATION, &app.admin_key);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "text/plain")
                .body(*body);
        }
        let response = request.send().await.unwrap();
        let at = format!("{method} {path}");
        assert_eq!(response.status().as_u16(), *status, "{at}");
        assert_security_headers(&at, response.headers(), *swagger_ui);
    }
    // Unauthenticated.
    let response = reqwest::get(app.url("/api/2.0/crm/contact/1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_security_headers("no key", response.headers(), false);
}

/// An error raised around the handlers (the request timeout) carries the headers too — the
/// security headers and the key's rate-limit fields: a body that never finishes arriving is
/// abandoned with a 503.
async fn a_timed_out_request_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = Duration::from_millis(300);
        config.limits = crm_server::limits::Limits::new(100, 10, Vec::new());
    })
    .await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/2.0/crm/contact/status HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n\
         {{\"Title\": ",
        app.admin_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Read the answer up to the end of its body (the connection stays open).
    let mut response = Vec::new();
    let mut buffer = [0_u8; 4096];
    let complete = |response: &[u8]| {
        let text = String::from_utf8_lossy(response);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let length = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|length| length.trim().parse::<usize>().ok());
        length.is_some_and(|length| body.len() >= length)
    };
    while !complete(&response) {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "the connection closed: {:?}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 503"), "{text}");
    assert_eq!(error_code(body), "request_timeout");
    let mut headers = header::HeaderMap::new();
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':').unwrap();
        headers.insert(
            header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            header::HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    assert_security_headers("timeout", &headers, false);
    // The key was counted before the body stalled: the answer says how much of its budget is left.
    for field in ["ratelimit-policy", "ratelimit"] {
        assert!(headers.contains_key(field), "no {field} on the 503: {text}");
    }
}

/// Swagger UI's own 404s have the JSON body; its configuration calls no outside validator.
async fn swagger_ui_404s_are_json_and_it_validates_nothing_outside(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    for path in ["/swagger-ui/nope", "/swagger-ui/a/b.js", "/api-docs/nope"] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json",
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["Status"], 404, "{path}");
        assert_eq!(body["Code"], "route_not_found", "{path}");
    }
    let initializer = reqwest::get(app.url("/swagger-ui/swagger-initializer.js"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
}

/// Sends raw bytes; the status and body, or `None` when the connection was cut unanswered.
async fn raw(app: &TestApp, request: &[u8]) -> Option<(u16, String)> {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").into_bytes()
}

/// What `docs/operations.md` says of the HTTP layer's limits: up to 65,534 bytes of URI the
/// application answers (JSON); from 65,535 the HTTP layer refuses the request line with a bare
/// 400; a request head of 128 KiB or more, or with more than 96 headers, gets a bare 431 (or
/// the connection is cut while it is being sent).
async fn long_uris_meet_the_documented_limits(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let target = |length: usize| format!("/{}", "a".repeat(length - 1));
    let (status, body) = raw(&app, &get(&target(65_534))).await.expect("an answer");
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "route_not_found");
    for length in [65_535, 100_000] {
        let (status, body) = raw(&app, &get(&target(length))).await.expect("an answer");
        assert_eq!((status, body.as_str()), (400, ""), "{length}");
    }
    if let Some((status, body)) = raw(&app, &get(&target(131_072))).await {
        assert_eq!((status, body.as_str()), (431, ""));
    }
    let with_headers = |count: usize| {
        let mut request =
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".to_vec();
        for i in 2..count {
            request.extend_from_slice(format!("X-Filler-{i}: x\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        request
    };
    let (status, _) = raw(&app, &with_headers(96)).await.expect("an answer");
    assert_eq!(status, 200);
    let (status, body) = raw(&app, &with_headers(97)).await.expect("an answer");
    assert_eq!((status, body.as_str()), (431, ""));
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// The JSON body reader: the media types it takes, the limit on declared and on streamed
/// (chunked) bodies.
async fn json_bodies_are_read_by_media_type_and_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.body_limit = 256).await;
    let status_body = r#"{"Title": "Tepid"}"#;
    for (i, content_type) in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/merge-patch+json",
    ]
    .into_iter()
    .enumerate()
    {
        let body = status_body.replace("Tepid", &format!("Tepid {i}"));
        let (status, _, text) = send(
            &app,
            Method::POST,
            "/api/2.0/crm/contact/status",
            Some((content_type, &body)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{content_type}: {text}");
    }
    for content_type in [
        "application/jsonx",
        "text/json",
        "json",
        "application/json garbage",
    ] {
        let (status, _, text) = send(
            &app,
            Method::POST,
            "/api/2.0/crm/contact/status",
            Some((content_type, status_body)),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
        assert_eq!(error_code(&text), "unsupported_media_type");
    }
    let long = json!({ "Title": "x".repeat(300) }).to_string();
    let (status, _, text) = send(
        &app,
        Method::POST,
        "/api/2.0/crm/contact/status",
        Some(("application/json", &long)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_eq!(error_code(&text), "payload_too_large");
    // Chunked: no declared length, so the limit holds while the body streams in.
    let chunks: Vec<Result<String, std::io::Error>> =
        vec![Ok(long[..150].to_owned()), Ok(long[150..].to_owned())];
    let response = reqwest::Client::new()
        .post(app.url("/api/2.0/crm/contact/status"))
        .header(header::AUTHORIZATION, &app.admin_key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A chunked body within the limit is read whole.
    let chunks: Vec<Result<&str, std::io::Error>> = vec![Ok(r#"{"Title": "#), Ok(r#""Chunked"}"#)];
    let response = reqwest::Client::new()
        .post(app.url("/api/2.0/crm/contact/status"))
        .header(header::AUTHORIZATION, &app.admin_key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// `HEAD` of what is served around the API — Swagger UI's page and files, the document, the
/// redirects, a picture — answers as its `GET` does, without a body.
async fn head_around_the_api_answers_as_get_does(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    for path in [
        "/",
        "/swagger-ui",
        "/swagger-ui/",
        "/swagger-ui/swagger-ui.css",
        "/api-docs/openapi.json",
        "/images/person_40.svg",
        "/images/nothing.svg",
        "/swagger-ui/nothing.js",
    ] {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let get = client.get(app.url(path)).send().await.unwrap();
        let head = client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_ne!(get.status(), StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::LOCATION,
        ] {
            assert_eq!(
                head.headers().get(&name),
                get.headers().get(&name),
                "HEAD {path}: {name}"
            );
        }
        assert_eq!(
            raw_body_of_head(&app, path).await,
            b"",
            "HEAD {path}: no body"
        );
    }
    // Elsewhere a `HEAD` is not taken for a `GET`: a path that only deletes is a 405.
    let (status, headers, _) = send(&app, Method::HEAD, "/api/2.0/crm/contact/trash/1", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.get(header::ALLOW).is_some());
}

crate::backend_tests!(
    head_around_the_api_answers_as_get_does,
    the_server_routes_exactly_the_documented_paths_and_methods,
    contact_ids_may_have_leading_zeros,
    every_response_carries_the_security_headers,
    a_timed_out_request_carries_the_security_headers,
    swagger_ui_404s_are_json_and_it_validates_nothing_outside,
    long_uris_meet_the_documented_limits,
    json_bodies_are_read_by_media_type_and_limit,
);

/// The administration commands, run as a user runs them, over a SQLite file of their own.
mod cli {
    use super::*;

    struct Cli {
        _dir: tempfile::TempDir,
        url: String,
    }

    impl Cli {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite:{}", dir.path().join("crm.db").display());
            Self { _dir: dir, url }
        }

        /// Runs `crm-server ARGS --database-url …` without `RUST_LOG`, stderr not a terminal.
        fn run(&self, args: &[&str]) -> Output {
            Command::new(SERVER)
                .args(args)
                .args(["--database-url", &self.url])
                .env_remove("RUST_LOG")
                .env_remove("CRM_BOOTSTRAP_API_KEY")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }

        /// Runs a command that must succeed; its stdout.
        fn ok(&self, args: &[&str]) -> String {
            let output = self.run(args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{args:?}: {stderr}");
            assert!(
                !stderr.contains("INFO") && !stderr.contains('\u{1b}'),
                "{args:?} logged on stderr: {stderr:?}"
            );
            String::from_utf8(output.stdout).unwrap()
        }
    }

    /// The character offsets at which each column of `line` starts (after runs of 2+ spaces).
    fn column_starts(header: &str) -> Vec<usize> {
        let chars: Vec<char> = header.chars().collect();
        let mut starts = vec![0];
        for i in 2..chars.len() {
            if chars[i] != ' ' && chars[i - 1] == ' ' && chars[i - 2] == ' ' {
                starts.push(i);
            }
        }
        starts
    }

    /// Every row's cells start where the header's do (left-aligned columns) or end where the
    /// header's end (`right`-aligned ones); returns the rows' cells.
    fn assert_aligned(table: &str, right: &[usize]) -> Vec<Vec<String>> {
        let lines: Vec<&str> = table.lines().collect();
        let starts = column_starts(lines[0]);
        let mut rows = Vec::new();
        for line in &lines[1..] {
            let chars: Vec<char> = line.chars().collect();
            let mut cells = Vec::new();
            for (column, start) in starts.iter().enumerate() {
                let end = starts.get(column + 1).map_or(chars.len(), |next| next - 2);
                let cell: String = chars[*start..end.min(chars.len())].iter().collect();
                if cell.trim().is_empty() {
                    // An empty cell: spaces only.
                } else if right.contains(&column) {
                    assert!(!cell.ends_with(' '), "{table}");
                } else {
                    assert!(
                        !cell.starts_with(' '),
                        "column {column} of {line:?} in\n{table}"
                    );
                }
                if column + 1 < starts.len() {
                    assert_eq!(&chars[end..end + 2], &[' ', ' '], "{line:?} in\n{table}");
                }
                cells.push(cell.trim().to_owned());
            }
            rows.push(cells);
        }
        rows
    }

    #[test]
    fn users_list_shows_every_user_aligned() {
        let cli = Cli::new();
        let empty = cli.ok(&["users", "list"]);
        assert_eq!(empty.lines().count(), 1, "{empty}");
        let admin = cli.ok(&["users", "add", "--name", "Ada", "--admin"]);
        let long_name = "Bartholomew Fitzgerald-Øster, Head of Purchasing";
        let member = cli.ok(&["users", "add", "--name", long_name]);
        let (admin, member) = (admin.trim(), member.trim());
        for label in ["laptop", "phone"] {
            cli.ok(&["keys", "create", "--user", member, "--label", label]);
        }
        cli.ok(&["keys", "create", "--user", admin]);
        cli.ok(&["keys", "revoke", "3"]);
        let table = cli.ok(&["users", "list"]);
        assert!(table.starts_with("ID "), "{table}");
        let rows = assert_aligned(&table, &[3]);
        assert_eq!(
            rows,
            vec![
                vec![admin.to_owned(), "Ada".into(), "yes".into(), "0".into()],
                vec![member.to_owned(), long_name.into(), "no".into(), "2".into()],
            ],
            "{table}"
        );
    }

    #[test]
    fn keys_list_columns_are_aligned_whatever_the_lengths() {
        let cli = Cli::new();
        let short = cli.ok(&["users", "add", "--name", "Al"]);
        let long = cli.ok(&["users", "add", "--name", &"Ł".repeat(40)]);
        cli.ok(&["keys", "create", "--user", short.trim(), "--label", ""]);
        cli.ok(&[
            "keys",
            "create",
            "--user",
            long.trim(),
            "--label",
            "a label longer than any column was wide",
        ]);
        cli.ok(&["keys", "revoke", "1"]);
        let table = cli.ok(&["keys", "list"]);
        let header: Vec<&str> = table
            .lines()
            .next()
            .unwrap()
            .split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect();
        assert_eq!(
            header,
            [
                "ID",
                "PREFIX",
                "USER",
                "USER NAME",
                "LABEL",
                "CREATED",
                "REVOKED"
            ]
        );
        let rows = assert_aligned(&table, &[0]);
        assert_eq!(rows.len(), 2, "{table}");
        assert_eq!(rows[0][0], "1");
        assert_eq!(rows[0][3], "Al");
        assert_ne!(rows[0][6], "-", "{table}");
        assert_eq!(rows[1][3], "Ł".repeat(40));
        assert_eq!(rows[1][4], "a label longer than any column was wide");
        assert_eq!(rows[1][6], "-");
    }

    #[test]
    fn blank_user_names_are_refused() {
        let cli = Cli::new();
        for name in ["", "   "] {
            let output = cli.run(&["users", "add", "--name", name]);
            assert_eq!(output.status.code(), Some(1), "{name:?}");
            let stderr = String::from_utf8(output.stderr).unwrap();
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with("error: --name must not be blank"),
                "{stderr}"
            );
            assert!(output.stdout.is_empty());
        }
        assert_eq!(cli.ok(&["users", "list"]).lines().count(), 1);
    }

    /// Names, titles and labels are one line of at most 255 characters (a line break or a
    /// terminal escape would forge rows of `users list` or restyle the operator's terminal), a
    /// profile URL is http or https, and a timeout is above zero: anything else is a usage error
    /// (exit 2) that changes nothing.
    #[test]
    fn administration_texts_are_one_line_and_urls_web_addresses() {
        let cli = Cli::new();
        let long = "x".repeat(256);
        for args in [
            vec![
                "users",
                "add",
                "--name",
                "Evil\nFAKE  Administrator  yes  9",
            ],
            vec!["users", "add", "--name", "Esc\u{1b}[31mRed"],
            vec!["users", "add", "--name", long.as_str()],
            vec!["users", "add", "--name", "Tab", "--title", "a\tb"],
            vec![
                "users",
                "add",
                "--name",
                "Js",
                "--profile-url",
                "javascript:alert(1)",
            ],
            vec![
                "users",
                "add",
                "--name",
                "Rel",
                "--profile-url",
                "/people/rel",
            ],
            vec![
                "users",
                "add",
                "--name",
                "Lf",
                "--profile-url",
                "https://x.example/\n\u{1b}[31mFAKE",
            ],
            vec!["users", "add", "--name", "Bob\u{202E}nimda"],
            vec!["users", "add", "--name", "Two\u{2028}lines"],
            vec!["users", "list", "--db-acquire-timeout", "0s"],
            vec!["users", "list", "--db-connect-timeout", "0s"],
            // Out of range: refused before the database is opened (no administrator printed).
            vec!["serve", "--workers", "0"],
            vec!["serve", "--workers", "513"],
            vec!["serve", "--request-timeout", "0s"],
            vec!["serve", "--key-cache-ttl", "1000years"],
            vec!["serve", "--bind", "127.0.0.1:99999"],
            vec!["serve", "--bind", "nonsense"],
            vec!["serve", "--bind", ""],
            vec!["users", "list", "--db-max-connections", "4294967295"],
            vec!["serve", "--db-max-connections", "10001"],
        ] {
            let output = cli.run(&args);
            assert_eq!(output.status.code(), Some(2), "{args:?}");
            assert!(output.stdout.is_empty(), "{args:?}");
        }
        let id = cli.ok(&[
            "users",
            "add",
            "--name",
            &"y".repeat(255),
            "--title",
            "CTO",
            "--profile-url",
            "https://people.example.com/y",
        ]);
        let user = id.trim();
        let output = cli.run(&["keys", "create", "--user", user, "--label", "line\nbreak"]);
        assert_eq!(output.status.code(), Some(2));
        cli.ok(&["keys", "create", "--user", user, "--label", "laptop"]);
        assert_eq!(
            cli.ok(&["users", "list"]).lines().count(),
            2,
            "one user added"
        );
    }

    /// An address the server cannot listen on (in use here) fails before the database is
    /// opened: no database file, no first administrator's key printed for a server that never
    /// ran.
    #[test]
    fn an_address_in_use_fails_before_the_database_is_opened() {
        let cli = Cli::new();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let bind = taken.local_addr().unwrap().to_string();
        let output = cli.run(&["serve", "--bind", &bind]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cannot listen on"), "{stderr}");
        let file = cli.url.trim_start_matches("sqlite:");
        assert!(!std::path::Path::new(file).exists(), "{file} was created");
    }

    /// The server's environment variables belong to `serve`: an administration command run in
    /// the server's environment neither reads nor checks them, while `serve` still refuses them.
    #[test]
    fn administration_commands_ignore_the_servers_environment() {
        let cli = Cli::new();
        let bad = [
            ("CRM_WORKERS", "513"),
            ("CRM_REQUEST_TIMEOUT", "0s"),
            ("CRM_KEY_CACHE_TTL", "soon"),
            ("CRM_METRICS", "maybe"),
        ];
        let run = |args: &[&str]| {
            Command::new(SERVER)
                .args(args)
                .args(["--database-url", &cli.url])
                .envs(bad)
                .env_remove("RUST_LOG")
                .env_remove("CRM_BOOTSTRAP_API_KEY")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let output = run(&["users", "add", "--name", "Ada", "--admin"]);
        assert!(output.status.success(), "{output:?}");
        let output = run(&["users", "list"]);
        assert!(output.status.success(), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("Ada"));
        for args in [&["serve"][..], &[]] {
            let output = run(args);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        }
    }

    /// Administration commands on a fresh database (it is migrated on the way) print nothing on
    /// stderr but their own message; `serve` logs at info, a line per request, without colour
    /// codes when stderr is not a terminal.
    #[test]
    fn only_the_server_logs_at_info() {
        let cli = Cli::new();
        // `ok` checks that nothing is logged at info and that there are no colour codes.
        cli.ok(&["users", "add", "--name", "Ada", "--admin"]);
        let output = cli.run(&["keys", "revoke", "99"]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("INFO"), "{stderr}");
        assert_eq!(
            stderr.lines().last(),
            Some("error: no API key with ID 99 exists")
        );

        let mut server = Command::new(SERVER)
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &cli.url])
            .env_remove("RUST_LOG")
            .env_remove("CRM_BOOTSTRAP_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, received) = std::sync::mpsc::channel();
        let stderr = server.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let next = || received.recv_timeout(Duration::from_secs(30)).unwrap();
        let mut seen = Vec::new();
        let address = loop {
            let line = next();
            seen.push(line.clone());
            if let Some((_, rest)) = line.split_once("listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = runtime
            .block_on(async {
                reqwest::get(format!("{address}/healthz"))
                    .await
                    .map(|r| r.status())
            })
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        let request = loop {
            let line = next();
            seen.push(line.clone());
            if line.contains("/healthz") {
                break line;
            }
        };
        let _ = server.kill();
        let _ = server.wait();
        assert!(
            request.contains("INFO") && request.contains("status=200"),
            "{request}"
        );
        assert!(
            seen.iter().all(|line| !line.contains('\u{1b}')),
            "colour codes: {seen:?}"
        );
    }
}
