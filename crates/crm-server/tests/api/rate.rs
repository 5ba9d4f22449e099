//! Rate limits (issue 12), on small configured budgets so that every test is bounded in time: a
//! key's budget lets its quota through and then answers 429 with `Retry-After` and the
//! `RateLimit-Policy`/`RateLimit` fields, and lets the key through again after the wait; two keys
//! have budgets of their own; bad keys from one address hit 429 and, from then on, every request
//! of that address is answered without a statement being run; a limit of `0` lets everything
//! through; health, Swagger UI and the document are not limited by key; the served document
//! states the 429 on every operation that takes a key.

use std::time::Duration;

use crm_server::{limits::Limits, users};
use reqwest::{Response, header};
use serde_json::Value;

use crate::{
    helpers::{self, Backend, TestApp, error_status},
    parity::resolve,
};

/// A cheap operation that takes a key.
const OPERATION: &str = "/api/2.0/crm/contact/status";

/// The per-key budget of most tests here: 5 per 10 s, so one request back every 2 s.
const BUDGET: u32 = 5;

/// A key nobody holds.
const UNKNOWN_KEY: &str = "864FE52C-1C1C-469F-9308-51DAFEFE7436";

/// `GET OPERATION` with `key` in `Authorization` (none: no header).
async fn call(app_address: &str, key: Option<&str>) -> Response {
    let mut request = reqwest::Client::new().get(format!("{app_address}{OPERATION}"));
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, key);
    }
    request.send().await.expect("a response")
}

/// The value of a header field the response must carry.
fn field(response: &Response, name: &str) -> String {
    let value = response
        .headers()
        .get(name)
        .unwrap_or_else(|| {
            panic!(
                "{} {}: no {name} field; fields: {:?}",
                response.status(),
                response.url(),
                response.headers()
            )
        })
        .to_str()
        .expect("a visible-ASCII field value")
        .to_owned();
    // The header appears once.
    assert_eq!(
        response.headers().get_all(name).iter().count(),
        1,
        "{name} appears more than once: {:?}",
        response.headers()
    );
    value
}

/// A `RateLimit` field: `"name";r=R;t=T`.
#[derive(Debug, PartialEq)]
struct Left {
    name: String,
    r: u64,
    t: u64,
}

fn parse_left(value: &str) -> Left {
    let mut parts = value.split(';');
    let name = parts
        .next()
        .and_then(|name| name.strip_prefix('"'))
        .and_then(|name| name.strip_suffix('"'))
        .unwrap_or_else(|| panic!("RateLimit without a quoted name: {value}"))
        .to_owned();
    let (mut r, mut t) = (None, None);
    for part in parts {
        let (key, number) = part
            .split_once('=')
            .unwrap_or_else(|| panic!("RateLimit parameter without a value: {value}"));
        let number: u64 = number
            .parse()
            .unwrap_or_else(|_| panic!("RateLimit parameter not a whole number: {value}"));
        match key {
            "r" => r = Some(number),
            "t" => t = Some(number),
            other => panic!("RateLimit parameter {other} unexpected: {value}"),
        }
    }
    Left {
        name,
        r: r.unwrap_or_else(|| panic!("RateLimit without r: {value}")),
        t: t.unwrap_or_else(|| panic!("RateLimit without t: {value}")),
    }
}

/// `Retry-After` of a 429: whole seconds, at least 1.
fn retry_after(response: &Response) -> u64 {
    let value = field(response, "retry-after");
    let seconds: u64 = value
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not a whole number of seconds: {value:?}"));
    assert!(seconds >= 1, "Retry-After {seconds}");
    seconds
}

/// Checks a 429 (its body the `Error` with `rate_limited`) and returns its `Retry-After`.
async fn assert_rate_limited(response: Response, policy: &str, window: u64) -> u64 {
    assert_eq!(response.status().as_u16(), 429, "{}", response.url());
    let wait = retry_after(&response);
    assert!(
        wait <= window,
        "Retry-After {wait} is longer than the window"
    );
    assert_eq!(field(&response, "ratelimit-policy"), policy);
    let left = parse_left(&field(&response, "ratelimit"));
    assert_eq!(left.r, 0, "{left:?}");
    assert!(left.t >= 1 && left.t <= window, "{left:?}");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["Status"], 429, "{body}");
    assert_eq!(body["Code"], "rate_limited", "{body}");
    let message = body["Message"].as_str().unwrap_or_default();
    assert!(message.contains("retry"), "{body}");
    wait
}

/// `requests` requests with `key` (whose budget is `BUDGET`, whole) that must pass, with
/// `RateLimit` counting down from `BUDGET - 1`.
async fn spend(address: &str, key: &str, requests: u32) {
    for i in 0..requests {
        let response = call(address, Some(key)).await;
        assert_eq!(response.status().as_u16(), 200, "request {i}");
        assert_eq!(
            field(&response, "ratelimit-policy"),
            format!("\"key\";q={BUDGET};w=10"),
            "request {i}"
        );
        let left = parse_left(&field(&response, "ratelimit"));
        assert_eq!(left.name, "key");
        assert_eq!(left.r, u64::from(BUDGET - 1 - i), "request {i}: {left:?}");
        assert!(left.t >= 1 && left.t <= 10, "request {i}: {left:?}");
        assert!(
            response.headers().get("retry-after").is_none(),
            "request {i}"
        );
    }
}

async fn budget_plus_one_requests_get_429_and_pass_again_after_the_wait(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(BUDGET, 3, Vec::new());
    })
    .await;
    spend(&app.address, &app.admin_key, BUDGET).await;

    let over = call(&app.address, Some(&app.admin_key)).await;
    let wait = assert_rate_limited(over, "\"key\";q=5;w=10", 10).await;
    // One request comes back every 2 s: the wait is at most that.
    assert!(wait <= 2, "Retry-After {wait}");

    // The typed client sees the 429 as an `Error`.
    let (status, error) = error_status(app.admin_client().list_contact_statuses().await);
    assert_eq!(
        (status, error.code.as_str(), error.status),
        (429, "rate_limited", 429)
    );

    tokio::time::sleep(Duration::from_secs(wait)).await;
    let again = call(&app.address, Some(&app.admin_key)).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(field(&again, "ratelimit-policy"), "\"key\";q=5;w=10");
    assert_eq!(parse_left(&field(&again, "ratelimit")).r, 0);
    // The wait gave back one request, and it is spent: `Bearer` or not, the key's budget is one.
    let after = call(&app.address, Some(&format!("Bearer {}", app.admin_key))).await;
    assert_eq!(after.status().as_u16(), 429);
}

async fn two_keys_have_budgets_of_their_own(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(BUDGET, 3, Vec::new());
    })
    .await;
    let (_, member_key) = app.member("Mia Member").await;

    spend(&app.address, &app.admin_key, BUDGET).await;
    assert_rate_limited(
        call(&app.address, Some(&app.admin_key)).await,
        "\"key\";q=5;w=10",
        10,
    )
    .await;

    // The member's budget is whole although the administrator's is spent.
    spend(&app.address, &member_key, BUDGET).await;
    assert_rate_limited(
        call(&app.address, Some(&member_key)).await,
        "\"key\";q=5;w=10",
        10,
    )
    .await;

    // Spending the member's did not give the administrator's back, nor spend a third key's.
    assert_eq!(
        call(&app.address, Some(&app.admin_key))
            .await
            .status()
            .as_u16(),
        429
    );
    let (_, third_key) = app.member("Theo Third").await;
    spend(&app.address, &third_key, 1).await;
}

/// Every response of an operation that takes a key, not only a 200, carries the fields.
async fn error_responses_of_an_operation_with_a_key_carry_the_fields(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(BUDGET, 3, Vec::new());
    })
    .await;
    let client = reqwest::Client::new();
    for (i, (path, status)) in [
        ("/api/2.0/crm/contact/999999", 404),
        ("/api/2.0/crm/contact/0", 400),
    ]
    .into_iter()
    .enumerate()
    {
        let response = client
            .get(app.url(path))
            .header(header::AUTHORIZATION, &app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(field(&response, "ratelimit-policy"), "\"key\";q=5;w=10");
        let left = parse_left(&field(&response, "ratelimit"));
        assert_eq!(left.r, u64::from(BUDGET) - 1 - i as u64, "{path}: {left:?}");
    }
}

async fn bad_keys_from_one_address_get_429_and_then_cost_no_statement(backend: Backend) {
    let server = helpers::Recording::spawn(&backend, |config| {
        config.limits = Limits::new(BUDGET, 3, Vec::new());
    })
    .await;
    let (_, admin_key) = TestApp::user_with_key(&server.db, "Ada Admin", true).await;
    let (member, revoked_key) = TestApp::user_with_key(&server.db, "Rex Revoked", false).await;
    let keys = users::list_keys(&server.db).await.unwrap();
    let revoked = keys.iter().find(|k| k.user_id == member.id).unwrap();
    users::revoke_key(&server.db, revoked.id).await.unwrap();
    // The purge of the trash the server runs as it starts is long over by now; let it be.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // An unknown, a revoked and a missing key: 401, each counted against the address.
    let before_401s = server.count();
    for (i, key) in [Some(UNKNOWN_KEY), Some(revoked_key.as_str()), None]
        .into_iter()
        .enumerate()
    {
        let response = call(&server.address, key).await;
        assert_eq!(response.status().as_u16(), 401, "bad key {i}");
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(
            field(&response, "ratelimit-policy"),
            "\"address\";q=3;w=60",
            "bad key {i}"
        );
        let left = parse_left(&field(&response, "ratelimit"));
        assert_eq!(left.name, "address");
        assert_eq!(left.r, 2 - i as u64, "bad key {i}: {left:?}");
    }
    // The unknown and the revoked keys were looked up (the counter counts the server's work).
    assert!(
        server.count() >= before_401s + 2,
        "the key lookups ran no statement? {:?}",
        server.since(before_401s)
    );

    // The fourth bad key goes over the budget: 429.
    let over = call(&server.address, Some(UNKNOWN_KEY)).await;
    let wait = assert_rate_limited(over, "\"address\";q=3;w=60", 60).await;
    assert!(
        wait > 1,
        "Retry-After {wait}: one bad key comes back every 20 s"
    );

    // From now on the address waits: whatever it sends — a bad key, no key, even the valid
    // administrator's key, raw or `Bearer` — is 429 without a statement.
    let blocked_from = server.count();
    let bearer = format!("Bearer {admin_key}");
    for round in 0..5 {
        for key in [
            Some(UNKNOWN_KEY),
            Some(admin_key.as_str()),
            Some(bearer.as_str()),
            Some(revoked_key.as_str()),
            None,
        ] {
            let response = call(&server.address, key).await;
            assert_eq!(response.status().as_u16(), 429, "round {round}, {key:?}");
            assert_rate_limited(response, "\"address\";q=3;w=60", 60).await;
        }
    }
    assert_eq!(
        server.count(),
        blocked_from,
        "statements run while the address was blocked: {:?}",
        server.since(blocked_from)
    );
}

async fn an_address_is_let_through_again_after_the_wait(backend: Backend) {
    // 30 bad keys per minute: one comes back every 2 s.
    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(BUDGET, 30, Vec::new());
    })
    .await;
    for i in 0..30 {
        let response = call(&app.address, Some(UNKNOWN_KEY)).await;
        assert_eq!(response.status().as_u16(), 401, "bad key {i}");
    }
    let wait = assert_rate_limited(
        call(&app.address, Some(UNKNOWN_KEY)).await,
        "\"address\";q=30;w=60",
        60,
    )
    .await;
    assert!(wait <= 2, "Retry-After {wait}");
    assert_eq!(
        call(&app.address, Some(&app.admin_key))
            .await
            .status()
            .as_u16(),
        429
    );
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let response = call(&app.address, Some(&app.admin_key)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(field(&response, "ratelimit-policy"), "\"key\";q=5;w=10");
}

/// A bad key from `forwarded_for` (in `X-Forwarded-For`), or the administrator's key.
async fn from(app: &TestApp, forwarded_for: Option<&str>, key: &str) -> u16 {
    let mut request = reqwest::Client::new()
        .get(app.url(OPERATION))
        .header(header::AUTHORIZATION, key);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn forwarded_for_is_believed_from_a_trusted_proxy_only(backend: Backend) {
    // No trusted proxy: the client is the socket's peer, whatever `X-Forwarded-For` says.
    let direct = TestApp::spawn_with(backend.clone(), |config| {
        config.limits = Limits::new(BUDGET, 1, Vec::new());
    })
    .await;
    assert_eq!(from(&direct, Some("203.0.113.1"), UNKNOWN_KEY).await, 401);
    assert_eq!(from(&direct, Some("203.0.113.2"), UNKNOWN_KEY).await, 429);
    assert_eq!(from(&direct, None, &direct.admin_key).await, 429);

    // The peer (127.0.0.1) a trusted proxy: each forwarded client has a budget of its own.
    let proxied = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(BUDGET, 1, vec!["127.0.0.1".parse().unwrap()]);
    })
    .await;
    assert_eq!(from(&proxied, Some("203.0.113.1"), UNKNOWN_KEY).await, 401);
    assert_eq!(from(&proxied, Some("203.0.113.1"), UNKNOWN_KEY).await, 429);
    assert_eq!(
        from(&proxied, Some("203.0.113.1"), &proxied.admin_key).await,
        429
    );
    // The client is the last address the proxy did not add itself.
    assert_eq!(
        from(
            &proxied,
            Some("198.51.100.7, 203.0.113.1"),
            &proxied.admin_key
        )
        .await,
        429
    );
    // Every line of the field counts, in order: a client's own line ahead of the one the
    // proxy appended changes nothing.
    let two_lines = reqwest::Client::new()
        .get(proxied.url(OPERATION))
        .header(header::AUTHORIZATION, &proxied.admin_key)
        .header("x-forwarded-for", "8.8.8.8")
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await
        .unwrap();
    assert_eq!(two_lines.status().as_u16(), 429);
    // The proxy's entry with a port is the client still, not the blocked address before it.
    assert_eq!(
        from(
            &proxied,
            Some("203.0.113.1, 192.0.2.55:4711"),
            &proxied.admin_key
        )
        .await,
        200
    );
    assert_eq!(
        from(&proxied, Some("203.0.113.2"), &proxied.admin_key).await,
        200
    );
    assert_eq!(from(&proxied, Some("203.0.113.2"), UNKNOWN_KEY).await, 401);
    // Without the field, the proxy itself is the client, with its own budget.
    assert_eq!(from(&proxied, None, UNKNOWN_KEY).await, 401);
    assert_eq!(from(&proxied, None, &proxied.admin_key).await, 200);
}

async fn a_limit_of_zero_lets_everything_through(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(0, 0, Vec::new());
    })
    .await;
    let (good, bad) = tokio::join!(
        futures::future::join_all((0..50).map(|_| call(&app.address, Some(&app.admin_key)))),
        futures::future::join_all((0..50).map(|_| call(&app.address, Some(UNKNOWN_KEY)))),
    );
    for (responses, status) in [(good, 200), (bad, 401)] {
        for (i, response) in responses.iter().enumerate() {
            assert_eq!(response.status().as_u16(), status, "request {i}");
            for name in ["ratelimit-policy", "ratelimit", "retry-after"] {
                assert!(
                    response.headers().get(name).is_none(),
                    "request {i}: {name} with no limit"
                );
            }
        }
    }
    // And one after another, too.
    for i in 0..50 {
        assert_eq!(
            call(&app.address, Some(&app.admin_key))
                .await
                .status()
                .as_u16(),
            200,
            "request {i}"
        );
    }
}

async fn health_swagger_ui_and_the_document_are_not_limited_by_key(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(1, 1, Vec::new());
    })
    .await;
    let client = reqwest::Client::new();
    for round in 0..20 {
        for path in ["/healthz", "/swagger-ui/", "/api-docs/openapi.json"] {
            // Without a key, with an unknown one and with the administrator's.
            for key in [None, Some(UNKNOWN_KEY), Some(app.admin_key.as_str())] {
                let mut request = client.get(app.url(path));
                if let Some(key) = key {
                    request = request.header(header::AUTHORIZATION, key);
                }
                let response = request.send().await.unwrap();
                assert_eq!(
                    response.status().as_u16(),
                    200,
                    "round {round}: {path} with {key:?}"
                );
                assert!(
                    response.headers().get("ratelimit").is_none(),
                    "{path}: counted against a budget"
                );
            }
        }
    }
    // None of them was counted: the administrator's budget of 1 is whole, and the address's
    // budget of 1 bad key too.
    let response = call(&app.address, Some(&app.admin_key)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(field(&response, "ratelimit"), "\"key\";r=0;t=10");
    assert_eq!(
        call(&app.address, Some(UNKNOWN_KEY))
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        call(&app.address, Some(UNKNOWN_KEY))
            .await
            .status()
            .as_u16(),
        429
    );
}

async fn the_document_states_the_429_on_every_operation_with_a_key(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let document = app.served_document().await;
    let global_security = document.get("security").cloned();
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let Some(operation) = operation.as_object() else {
                continue;
            };
            if !operation.contains_key("responses") {
                continue;
            }
            let at = format!("{} {path}", method.to_uppercase());
            let security = operation
                .get("security")
                .cloned()
                .or_else(|| global_security.clone())
                .unwrap_or(Value::Null);
            let takes_a_key = security
                .as_array()
                .is_some_and(|schemes| schemes.iter().any(|s| s.get("apiKey").is_some()));
            if !takes_a_key {
                continue;
            }
            let response = resolve(&document, &operation["responses"]["429"]);
            assert!(response.is_object(), "{at}: no 429");
            let headers = response["headers"]
                .as_object()
                .unwrap_or_else(|| panic!("{at}: a 429 without headers"));
            for name in ["Retry-After", "RateLimit-Policy", "RateLimit"] {
                let header = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, h)| resolve(&document, h))
                    .unwrap_or_else(|| panic!("{at}: the 429 does not state {name}"));
                assert!(
                    header["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{at}: {name} undescribed"
                );
            }
            assert_eq!(
                resolve(&document, &headers["Retry-After"]["schema"])["type"],
                "integer",
                "{at}"
            );
            let content = &response["content"]["application/json"];
            assert_eq!(
                resolve(&document, &content["schema"]),
                resolve(
                    &document,
                    &serde_json::json!({"$ref": "#/components/schemas/Error"})
                ),
                "{at}: the 429's body is not the Error"
            );
            let example = &content["example"];
            assert_eq!(example["Status"], 429, "{at}: {example}");
            assert_eq!(example["Code"], "rate_limited", "{at}: {example}");
            assert!(
                example["Message"].as_str().is_some_and(|m| !m.is_empty()),
                "{at}: {example}"
            );
            checked.push(at);
        }
    }
    // Every operation but health takes a key.
    assert!(checked.len() >= 15, "{checked:?}");
}

/// The key is checked before the rest of the request: with a bad key, a bad body, a body that is
/// not JSON or an `Accept` that refuses JSON still gets the 401 (counted against the address)
/// and then the 429, every time; with a good key, the 400 carries the key's rate-limit fields.
/// (The extractors ran concurrently, so whichever failed first answered.)
async fn the_key_is_checked_before_the_body_and_accept(backend: Backend) {
    let app = TestApp::spawn_with(backend.clone(), |config| {
        config.limits = Limits::new(BUDGET, 8, Vec::new());
    })
    .await;
    let client = reqwest::Client::new();
    let bad = |path: &str, kind: usize, key: &str| {
        let request = client
            .request(
                if path == "/api/2.0/crm/contact" {
                    reqwest::Method::PUT
                } else {
                    reqwest::Method::POST
                },
                app.url(path),
            )
            .header(header::AUTHORIZATION, key);
        match kind {
            0 => request
                .header(header::CONTENT_TYPE, "application/json")
                .body("{bad"),
            1 => request
                .header(header::CONTENT_TYPE, "text/plain")
                .body("{}"),
            _ => request
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "text/plain")
                .body(r#"{"FirstName": "Jane"}"#),
        }
    };
    let paths = ["/api/2.0/crm/contact", "/api/2.0/crm/contact/person"];
    for i in 0..12 {
        let (path, kind) = (paths[i % 2], i % 3);
        let key = format!("{UNKNOWN_KEY}-{i}");
        let response = bad(path, kind, &key).send().await.expect("a response");
        let expected = if i < 8 { 401 } else { 429 };
        assert_eq!(
            response.status().as_u16(),
            expected,
            "request {i}: {path}, kind {kind}"
        );
        assert_eq!(
            field(&response, "ratelimit-policy"),
            "\"address\";q=8;w=60",
            "request {i}"
        );
    }

    let app = TestApp::spawn_with(backend, |config| {
        config.limits = Limits::new(100, 8, Vec::new());
    })
    .await;
    let client = reqwest::Client::new();
    for i in 0..10 {
        let response = client
            .put(app.url("/api/2.0/crm/contact"))
            .header(header::AUTHORIZATION, &app.admin_key)
            .header(header::CONTENT_TYPE, "application/json")
            .body("{bad")
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status().as_u16(), 400, "request {i}");
        assert_eq!(field(&response, "ratelimit-policy"), "\"key\";q=100;w=10");
        let left = parse_left(&field(&response, "ratelimit"));
        assert_eq!(left.r, 99 - i as u64, "request {i}: {left:?}");
    }
}

crate::backend_tests!(
    budget_plus_one_requests_get_429_and_pass_again_after_the_wait,
    two_keys_have_budgets_of_their_own,
    error_responses_of_an_operation_with_a_key_carry_the_fields,
    bad_keys_from_one_address_get_429_and_then_cost_no_statement,
    an_address_is_let_through_again_after_the_wait,
    forwarded_for_is_believed_from_a_trusted_proxy_only,
    a_limit_of_zero_lets_everything_through,
    health_swagger_ui_and_the_document_are_not_limited_by_key,
    the_document_states_the_429_on_every_operation_with_a_key,
    the_key_is_checked_before_the_body_and_accept,
);
