//! `GET /metrics`: Prometheus' text format, the counters following the requests exactly (in a
//! `crm-server` process of its own, so that no other test's requests count), the histogram, the
//! pool gauges, a bounded set of route labels whatever the paths sent, and the off switch.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crm_testkit::process::{Launch, ServerProcess};

use crate::helpers::{Backend, TestApp, error_status, scratch};

const SERVER: &str = env!("CARGO_BIN_EXE_crm-server");
const KEY: &str = "3E7A1C5D-0000-4000-8000-0000000000A1";

const CONTACT: &str = "/api/2.0/crm/contact/{contactid}";
const PERSON: &str = "/api/2.0/crm/contact/person";
const BATCH: &str = "/api/2.0/crm/contact";
const RESTORE: &str = "/api/2.0/crm/contact/{contactid}/restore";
const ERASE: &str = "/api/2.0/crm/contact/trash/{contactid}";

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: its samples, and the type each `# TYPE` line declares.
#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses `text`, failing the test on any line that is neither a comment, empty, nor
    /// `name{label="value",…} value`.
    fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with("# HELP ") {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "{line}"
                );
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            assert!(!line.starts_with('#'), "an unknown comment: {line}");
            samples.push(parse_sample(line));
        }
        Self { samples, types }
    }

    /// The value of the sample `name` with exactly `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == labels)
            .map(|s| s.value)
    }

    /// Like [`Self::get`], zero when the series is not there (yet).
    fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Every value the label `label` takes among the samples named `name`.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
        "a metric name: {line}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices();
        let end = loop {
            let Some((at, c)) = chars.next() else {
                panic!("unclosed labels: {line}")
            };
            if c == '}' {
                break at + 1;
            }
            if c == ',' {
                continue;
            }
            let mut key = String::from(c);
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                assert!(c.is_ascii_alphanumeric() || c == '_', "label name: {line}");
                key.push(c);
            }
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        other => panic!("a bad escape {other:?}: {line}"),
                    },
                    Some((_, c)) => value.push(c),
                    None => panic!("unclosed label value: {line}"),
                }
            }
            assert!(labels.insert(key, value).is_none(), "a label twice: {line}");
        };
        rest = &after[end..];
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value: {line}"));
    // No timestamps: the value is the last field.
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        value => value
            .parse()
            .unwrap_or_else(|e| panic!("a value ({e}): {line}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// `GET /metrics`: its status, `Content-Type` and body.
async fn scrape(address: &str) -> (StatusCode, String, String) {
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// A scrape that must succeed, parsed.
async fn metrics(address: &str) -> Exposition {
    let (status, content_type, text) = scrape(address).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Exposition::parse(&text)
}

/// `GET /metrics` through the Rust client (built from `openapi.yaml`), parsed.
async fn metrics_through_the_client(app: &TestApp) -> Exposition {
    use futures::TryStreamExt;

    let response = app.admin_client().get_metrics().await.expect("the metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let mut stream = response.into_inner_stream();
    let mut text = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.extend_from_slice(&chunk);
    }
    Exposition::parse(std::str::from_utf8(&text).unwrap())
}

/// A request with `key`; the status and the body as JSON (`Null` when it is not JSON).
async fn call(
    address: &str,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{address}{path}"))
        .header(header::AUTHORIZATION, key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A create whose body stops arriving: the server abandons it at its request timeout (1 s) with
/// a 503.
async fn abandoned_create(address: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let body = br#"{"FirstName": "Slow"}"#;
    let head = format!(
        "POST {PERSON} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
}

/// Checks the histogram of `route` and `method`: cumulative buckets from 0.5 ms to 10 s and
/// `+Inf`, which equals `_count`; returns `_count`.
fn histogram_count(metrics: &Exposition, route: &str, method: &str) -> f64 {
    let name = "crm_http_request_duration_seconds";
    assert_eq!(
        metrics.types.get(name).map(String::as_str),
        Some("histogram")
    );
    let mut buckets: Vec<(f64, f64)> = metrics
        .samples
        .iter()
        .filter(|s| {
            s.name == format!("{name}_bucket")
                && s.labels.get("route").map(String::as_str) == Some(route)
                && s.labels.get("method").map(String::as_str) == Some(method)
        })
        .map(|s| {
            let le = &s.labels["le"];
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (bound, s.value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bounds: Vec<f64> = buckets.iter().map(|(le, _)| *le).collect();
    assert_eq!(
        bounds,
        [
            0.0005,
            0.001,
            0.0025,
            0.005,
            0.01,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            2.5,
            5.0,
            10.0,
            f64::INFINITY
        ],
        "{route} {method}"
    );
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative buckets: {buckets:?}"
    );
    let labels = [("route", route), ("method", method)];
    let count = metrics
        .get(&format!("{name}_count"), &labels)
        .unwrap_or_else(|| panic!("no _count for {route} {method}"));
    let sum = metrics
        .get(&format!("{name}_sum"), &labels)
        .unwrap_or_else(|| panic!("no _sum for {route} {method}"));
    assert_eq!(buckets.last().map(|b| b.1), Some(count));
    assert!(sum > 0.0 && sum.is_finite(), "{sum}");
    count
}

/// The pool's gauges: in use and idle, within the maximum `max`.
fn assert_pool_gauges(metrics: &Exposition, max: f64) {
    let in_use = metrics
        .get("crm_db_pool_connections", &[("state", "in_use")])
        .expect("connections in use");
    let idle = metrics
        .get("crm_db_pool_connections", &[("state", "idle")])
        .expect("idle connections");
    assert_eq!(
        metrics.get("crm_db_pool_max_connections", &[]),
        Some(max),
        "the pool's maximum"
    );
    assert!(
        in_use >= 0.0 && idle >= 0.0 && in_use + idle <= max,
        "{in_use} + {idle} ≤ {max}"
    );
    assert!(
        in_use + idle >= 1.0,
        "the pool holds a connection after requests"
    );
    for name in ["crm_db_pool_connections", "crm_db_pool_max_connections"] {
        assert_eq!(
            metrics.types.get(name).map(String::as_str),
            Some("gauge"),
            "{name}"
        );
    }
}

/// Every label value of the request series is a known route pattern or `unmatched`, and `path`
/// (sent by a client) appears nowhere.
fn assert_bounded_labels(metrics: &Exposition, sent: &str) {
    // The routes of the document (other tests of this process count too, in-process) and the
    // server's other routes: Swagger UI, its redirects, the pictures.
    let document = crm_server::openapi::document_json();
    let mut known: BTreeSet<&str> = [
        CONTACT,
        PERSON,
        BATCH,
        RESTORE,
        ERASE,
        "/api/2.0/crm/contact/trash",
        "/healthz",
        "/metrics",
        "/",
        "/swagger-ui",
        "/swagger-ui/{file}",
        "/api-docs/openapi.json",
        "/images/{name}",
        "unmatched",
    ]
    .into();
    let paths = document["paths"].as_object().expect("paths");
    known.extend(paths.keys().map(String::as_str));
    for name in [
        "crm_http_requests_total",
        "crm_http_request_duration_seconds_count",
    ] {
        let routes = metrics.label_values(name, "route");
        assert!(!routes.is_empty(), "{name}");
        for route in &routes {
            assert!(known.contains(route.as_str()), "{name}: route {route:?}");
        }
    }
    for sample in &metrics.samples {
        for value in sample.labels.values() {
            assert!(!value.contains(sent), "{sample:?} names {sent}");
        }
    }
}

/// A server process with metrics on: after creates, a single and a batch delete, a restore, an
/// erasure, client errors and unknown paths, each counter went up by exactly what was done; the
/// histogram, the pool gauges and the key cache's counters are there; no path a client sent
/// became a label.
async fn the_counters_follow_the_requests(backend: Backend) {
    let (_scratch, url) = scratch(&backend).await;
    let args = ["--db-max-connections", "5", "--request-timeout", "1s"].map(str::to_owned);
    let server = ServerProcess::start(Launch {
        args: &args,
        ..Launch::new(Path::new(SERVER), &url, KEY)
    })
    .await
    .expect("the server starts");
    let address = server.address.as_str();

    let before = metrics(address).await;
    // Present before any request used them, and described.
    for name in [
        "crm_api_key_cache_hits_total",
        "crm_api_key_cache_misses_total",
        "crm_contacts_deleted_total",
        "crm_contacts_restored_total",
        "crm_contacts_erased_total",
    ] {
        assert_eq!(before.get(name, &[]), Some(0.0), "{name}");
        assert_eq!(
            before.types.get(name).map(String::as_str),
            Some("counter"),
            "{name}"
        );
    }
    assert_eq!(
        before
            .types
            .get("crm_http_requests_total")
            .map(String::as_str),
        Some("counter")
    );
    // The start-up waited for `/healthz`.
    assert!(
        before.count(
            "crm_http_requests_total",
            &[("route", "/healthz"), ("method", "GET"), ("status", "200")]
        ) >= 1.0
    );
    histogram_count(&before, "/healthz", "GET");
    assert_pool_gauges(&before, 5.0);

    let mut ids = Vec::new();
    for i in 0..4 {
        let (status, body) = call(
            address,
            KEY,
            Method::POST,
            PERSON,
            Some(json!({"FirstName": format!("Metric {i}"), "LastName": "Counted"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["ID"].as_i64().unwrap());
    }
    let (status, _) = call(
        address,
        KEY,
        Method::DELETE,
        &format!("{BATCH}/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // A batch of three IDs deletes two contacts: one ID names none.
    let (status, body) = call(
        address,
        KEY,
        Method::PUT,
        BATCH,
        Some(json!({"contactids": [ids[1], ids[2], 2_000_000_000]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
    let (status, _) = call(
        address,
        KEY,
        Method::POST,
        &format!("{BATCH}/{}/restore", ids[0]),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        address,
        KEY,
        Method::DELETE,
        &format!("{BATCH}/trash/{}", ids[1]),
        None,
    )
    .await;
    assert_eq!(status, 204);
    // Client errors: a deleted contact, a wrong key, a wrong method, paths that match no route.
    let (status, _) = call(
        address,
        KEY,
        Method::GET,
        &format!("{BATCH}/{}", ids[2]),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        address,
        "not-a-key",
        Method::GET,
        &format!("{BATCH}/{}", ids[3]),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        address,
        KEY,
        Method::PATCH,
        &format!("{BATCH}/{}", ids[3]),
        None,
    )
    .await;
    assert_eq!(status, 405);
    let unknown = format!("nope-{}", Uuid::new_v4());
    for path in [format!("/{unknown}"), format!("{BATCH}/{unknown}")] {
        let (status, _) = call(address, KEY, Method::GET, &path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = call(
        address,
        KEY,
        Method::from_bytes(b"BREW").unwrap(),
        "/healthz",
        None,
    )
    .await;
    assert_eq!(status, 405);

    abandoned_create(address).await;

    let after = metrics(address).await;
    let went_up = |name: &str, labels: &[(&str, &str)]| {
        after.count(name, labels) - before.count(name, labels)
    };
    let requests = |route: &str, method: &str, status: &str| {
        went_up(
            "crm_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests(PERSON, "POST", "201"), 4.0);
    assert_eq!(requests(CONTACT, "DELETE", "200"), 1.0);
    assert_eq!(requests(BATCH, "PUT", "200"), 1.0);
    assert_eq!(requests(RESTORE, "POST", "200"), 1.0);
    assert_eq!(requests(ERASE, "DELETE", "204"), 1.0);
    assert_eq!(requests(CONTACT, "GET", "404"), 1.0);
    assert_eq!(requests(CONTACT, "GET", "401"), 1.0);
    assert_eq!(requests(CONTACT, "PATCH", "405"), 1.0);
    assert_eq!(requests("unmatched", "GET", "404"), 2.0);
    assert_eq!(requests("/healthz", "other", "405"), 1.0);
    // Abandoned at the request timeout: counted with its route, as the 503 it got.
    assert_eq!(requests(PERSON, "POST", "503"), 1.0);
    // The first scrape, counted once it was answered.
    assert_eq!(requests("/metrics", "GET", "200"), 1.0);

    assert_eq!(went_up("crm_contacts_deleted_total", &[]), 3.0);
    assert_eq!(went_up("crm_contacts_restored_total", &[]), 1.0);
    assert_eq!(went_up("crm_contacts_erased_total", &[]), 1.0);

    // Ten requests looked up the good key (the abandoned create too: the key is checked before
    // the body is read), one a bad key; the 405s and the 404s of unknown routes look up none. The
    // first good one and the bad one asked the database at least.
    let hits = went_up("crm_api_key_cache_hits_total", &[]);
    let misses = went_up("crm_api_key_cache_misses_total", &[]);
    assert!(misses >= 2.0, "hits {hits}, misses {misses}");
    assert_eq!(hits + misses, 11.0, "hits {hits}, misses {misses}");

    assert_eq!(histogram_count(&after, PERSON, "POST"), 5.0);
    let waited = after.count(
        "crm_http_request_duration_seconds_sum",
        &[("route", PERSON), ("method", "POST")],
    );
    assert!(
        waited >= 1.0,
        "the abandoned request waited the timeout: {waited}"
    );
    assert_eq!(histogram_count(&after, CONTACT, "DELETE"), 1.0);
    assert_eq!(histogram_count(&after, "unmatched", "GET"), 2.0);
    assert_pool_gauges(&after, 5.0);
    assert_bounded_labels(&after, &unknown);
}

/// In a process that builds many servers (this one): every server serves the one recorder,
/// whatever another server did before it; a path sent adds no series.
async fn an_unknown_path_adds_no_series(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let before = metrics_through_the_client(&app).await;
    let unknown = format!("unknown-{}", Uuid::new_v4());
    for path in [
        format!("/{unknown}"),
        format!("/api/2.0/crm/{unknown}/1"),
        format!("/api/2.0/crm/contact/{unknown}"),
        format!("/swagger-ui-{unknown}"),
    ] {
        let response = reqwest::get(app.url(&path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // A request that reads the database, so that a pool holds a connection.
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let after = metrics_through_the_client(&app).await;
    assert_bounded_labels(&after, &unknown);
    // Other tests of this process count too: at least these four.
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert!(
        after.count("crm_http_requests_total", &unmatched)
            - before.count("crm_http_requests_total", &unmatched)
            >= 4.0
    );
    assert!(histogram_count(&after, "unmatched", "GET") >= 4.0);
    // This server's pools together: the default maximum of `DbConfig::new`.
    assert_pool_gauges(&after, 8.0);
}

/// `--metrics false`: `/metrics` is a JSON 404 like an unknown route's, with the headers every
/// response carries; the rest of the server works.
async fn the_off_switch_gives_404(backend: Backend) {
    let (_scratch, url) = scratch(&backend).await;
    let args = ["--metrics".to_owned(), "false".to_owned()];
    let server = ServerProcess::start(Launch {
        args: &args,
        ..Launch::new(Path::new(SERVER), &url, KEY)
    })
    .await
    .expect("the server starts");
    let response = reqwest::get(format!("{}/metrics", server.address))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response
            .headers()
            .get(header::X_CONTENT_TYPE_OPTIONS)
            .map(|v| v.to_str().unwrap()),
        Some("nosniff")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["Code"], "route_not_found", "{body}");
    assert_eq!(body["Status"], 404, "{body}");
    // Every method: the path is unknown, not one whose methods a 405 would list.
    for method in [Method::POST, Method::HEAD, Method::DELETE] {
        let response = reqwest::Client::new()
            .request(method.clone(), format!("{}/metrics", server.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method}");
        assert!(response.headers().get(header::ALLOW).is_none(), "{method}");
    }
    let (status, _) = call(
        &server.address,
        KEY,
        Method::GET,
        "/api/2.0/crm/contact/status",
        None,
    )
    .await;
    assert_eq!(status, 200);

    // The same through the configuration, in this process (whose recorder other servers use).
    let app = TestApp::spawn_with(backend, |config| config.metrics = false).await;
    let (status, error) = error_status(app.admin_client().get_metrics().await.map(|r| r.status()));
    assert_eq!(status, 404);
    assert_eq!(error.code, "route_not_found");
}

crate::backend_tests!(
    the_counters_follow_the_requests,
    an_unknown_path_adds_no_series,
    the_off_switch_gives_404,
);
