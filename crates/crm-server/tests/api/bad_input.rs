//! Hostile and malformed input, table-driven: every request gets a 4xx, never a 5xx. Where the
//! request reaches the application, the answer is the JSON `Error` body.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Backend, TestApp};

/// Sends `request` as raw bytes and returns the status and the body, or `None` when the server
/// cut the connection without an answer it could be heard to give (it may reset a connection
/// whose oversized request it refused while the request was still being sent).
async fn raw(app: &TestApp, request: Vec<u8>) -> Option<(u16, String)> {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let mut buffer = [0_u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => response.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("no answer within 10 s"),
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// A request with `Connection: close`, the admin key and the given extra header lines and body.
fn request(app: &TestApp, method: &str, path: &[u8], headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with(b"authorization:"))
    {
        out.extend_from_slice(format!("Authorization: {}\r\n", app.admin_key).as_bytes());
    }
    for header in headers {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// (name, method, path, header lines, body, expected status, whether the JSON `Error` is due)
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [u8],
    Vec<&'a [u8]>,
    &'a [u8],
    u16,
    bool,
);

async fn hostile_requests_get_4xx_and_never_5xx(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let long_path = format!("/api/2.0/crm/contact/{}", "9".repeat(5_000));
    let very_long_path = format!("/{}", "a".repeat(200_000));
    let big_header = format!("X-Filler: {}", "x".repeat(200_000));
    let bomb = format!(
        r#"{{"CompanyName": "A", "Tags": {}{}}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let huge = format!(r#"{{"CompanyName": "{}"}}"#, "x".repeat(1_100_000));
    let long_property = format!(r#"{{"FirstName": "A", "{}": 1}}"#, "X".repeat(500_000));
    let zeros_path = format!("/api/2.0/crm/contact/{}", "0".repeat(60_000));
    let long_unknown_path = format!("/api/2.0/{}", "q".repeat(60_000));
    let key_line = format!("Authorization: {}", app.admin_key);
    let json: &[u8] = b"Content-Type: application/json";
    let person = b"/api/2.0/crm/contact/person".as_slice();
    let company = b"/api/2.0/crm/contact/company".as_slice();
    let valid_person = br#"{"FirstName": "Ann"}"#.as_slice();

    let cases: Vec<Case> = vec![
        (
            "id with a plus sign",
            "DELETE",
            b"/api/2.0/crm/contact/+1",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "id with a minus sign",
            "DELETE",
            b"/api/2.0/crm/contact/-1",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "id with a leading zero (contact 1, which does not exist)",
            "DELETE",
            b"/api/2.0/crm/contact/01",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "id of zeros",
            "DELETE",
            b"/api/2.0/crm/contact/000",
            vec![],
            b"",
            400,
            true,
        ),
        (
            "id in hex",
            "DELETE",
            b"/api/2.0/crm/contact/0x10",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "id with an exponent",
            "DELETE",
            b"/api/2.0/crm/contact/1e3",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "id with an encoded space",
            "GET",
            b"/api/2.0/crm/contact/%201",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "id of 5,000 digits",
            "GET",
            long_path.as_bytes(),
            vec![],
            b"",
            400,
            true,
        ),
        (
            "percent-encoded non-UTF-8",
            "GET",
            b"/api/2.0/crm/contact/%FF%FE",
            vec![],
            b"",
            404,
            true,
        ),
        (
            "raw non-UTF-8 in the path",
            "GET",
            b"/api/2.0/crm/\xff\xfe",
            vec![],
            b"",
            400,
            false,
        ),
        (
            "non-UTF-8 key",
            "GET",
            b"/api/2.0/crm/contact/1",
            vec![b"Authorization: \xff\xfe"],
            b"",
            401,
            true,
        ),
        (
            "two keys",
            "GET",
            b"/api/2.0/crm/contact/1",
            vec![key_line.as_bytes(), key_line.as_bytes()],
            b"",
            401,
            true,
        ),
        (
            "two content types",
            "POST",
            person,
            vec![json, b"Content-Type: text/plain"],
            valid_person,
            400,
            true,
        ),
        (
            "no content type",
            "POST",
            person,
            vec![],
            valid_person,
            415,
            true,
        ),
        (
            "text/plain",
            "POST",
            person,
            vec![b"Content-Type: text/plain"],
            valid_person,
            415,
            true,
        ),
        (
            "form data",
            "POST",
            person,
            vec![b"Content-Type: application/x-www-form-urlencoded"],
            b"FirstName=Ann",
            415,
            true,
        ),
        (
            "XML",
            "POST",
            company,
            vec![b"Content-Type: application/xml"],
            b"<CompanyName>A</CompanyName>",
            415,
            true,
        ),
        (
            "a JSON array",
            "POST",
            company,
            vec![json],
            b"[1, 2]",
            400,
            true,
        ),
        ("JSON null", "POST", company, vec![json], b"null", 400, true),
        (
            "invalid UTF-8 in JSON",
            "POST",
            company,
            vec![json],
            b"{\"CompanyName\": \"\xff\"}",
            400,
            true,
        ),
        (
            "a nesting bomb",
            "POST",
            company,
            vec![json],
            bomb.as_bytes(),
            400,
            true,
        ),
        (
            "a body over 1 MiB",
            "POST",
            company,
            vec![json],
            huge.as_bytes(),
            413,
            true,
        ),
        (
            "a 500,000-character unknown property",
            "POST",
            person,
            vec![json],
            long_property.as_bytes(),
            400,
            true,
        ),
        (
            "an ID of 60,000 zeros",
            "GET",
            zeros_path.as_bytes(),
            vec![],
            b"",
            400,
            true,
        ),
        (
            "an unknown path of 60,000 bytes",
            "GET",
            long_unknown_path.as_bytes(),
            vec![],
            b"",
            404,
            true,
        ),
        (
            "a 200 KB header",
            "GET",
            b"/healthz",
            vec![big_header.as_bytes()],
            b"",
            431,
            false,
        ),
        (
            "a 200 KB path",
            "GET",
            very_long_path.as_bytes(),
            vec![],
            b"",
            431,
            false,
        ),
    ];
    for (name, method, path, headers, body, status, json_body) in cases {
        let answer = raw(&app, request(&app, method, path, &headers, body)).await;
        let Some((got, text)) = answer else {
            // Only a request refused for its size may be cut off without an answer.
            assert_eq!(
                status, 431,
                "{name}: the connection was cut without an answer"
            );
            continue;
        };
        assert_eq!(got, status, "{name}: {text}");
        if json_body {
            let error: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {text:?}"));
            assert_eq!(error["Status"], status, "{name}: {text}");
            // Whatever the request's size, the message quotes at most a bounded part of it.
            let message = error["Message"].as_str().unwrap_or_default();
            assert!(
                message.chars().count() <= 500,
                "{name}: {} chars",
                message.len()
            );
        }
    }
    // The server is still fine.
    let health = raw(&app, request(&app, "GET", b"/healthz", &[], b"")).await;
    assert_eq!(health.map(|(status, _)| status), Some(200));
}

crate::backend_tests!(hostile_requests_get_4xx_and_never_5xx);
