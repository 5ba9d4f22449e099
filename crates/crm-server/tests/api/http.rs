//! HTTP-level behaviour: status codes and JSON bodies for bad input, unknown routes and methods,
//! content negotiation, Swagger UI and the served document.

use crm_models::ShareType;
use reqwest::{Method, StatusCode, header};

use crate::{
    fixtures,
    helpers::{Backend, TestApp},
};

/// Sends a request with the admin key and returns the status and the JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header(header::AUTHORIZATION, &app.admin_key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{path}: {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

fn assert_error(body: &serde_json::Value, status: StatusCode, code: &str) {
    assert_eq!(body["Status"], status.as_u16(), "{body}");
    assert_eq!(body["Code"], code, "{body}");
    assert!(
        body["Message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// A request (method, path, extra headers) and the status and error code it must get.
type Case = (
    Method,
    String,
    &'static [(&'static str, &'static str)],
    StatusCode,
    &'static str,
);

async fn bad_requests_get_json_errors(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let id = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let cases: &[Case] = &[
        (
            Method::DELETE,
            "/api/2.0/crm/contact/0".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/2147483648".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/99999999999999999999999".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/000".into(),
            &[],
            StatusCode::BAD_REQUEST,
            "invalid_contact_id",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/2147483647".into(),
            &[],
            StatusCode::NOT_FOUND,
            "contact_not_found",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/abc".into(),
            &[],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::DELETE,
            "/api/2.0/crm/contact/-1".into(),
            &[],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::GET,
            "/no/such/route".into(),
            &[],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::PATCH,
            format!("/api/2.0/crm/contact/{id}"),
            &[],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::DELETE,
            format!("/api/2.0/crm/contact/{id}"),
            &[("accept", "application/xml")],
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
        ),
    ];
    for (method, path, headers, status, code) in cases {
        let (got, body) = call(&app, method.clone(), path, headers).await;
        assert_eq!(got, *status, "{method} {path}: {body}");
        assert_error(&body, *status, code);
    }
    // None of them deleted the contact; a well-formed request with JSON headers does.
    let (status, body) = call(
        &app,
        Method::DELETE,
        &format!("/api/2.0/crm/contact/{id}"),
        &[
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ID"], id);
}

async fn swagger_ui_and_the_document_are_served(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/swagger-ui"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(response.headers()[header::LOCATION], "/swagger-ui/");
    }
    let page = client.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));

    let served = app.served_document().await;
    let committed = std::fs::read_to_string(crm_server::openapi::committed_path()).unwrap();
    let committed: serde_json::Value = yaml_serde::from_str(&committed).unwrap();
    assert_eq!(
        served, committed,
        "the served document is the committed openapi.yaml"
    );

    let picture = client
        .get(app.url("/images/person_40.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(picture.status(), StatusCode::OK);
    assert_eq!(picture.headers()[header::CONTENT_TYPE], "image/svg+xml");
}

/// A request that outlives the request timeout (here: its body arrives too slowly) is abandoned
/// with a 503 `Error`, and nothing it would have done is done.
async fn a_request_over_the_timeout_gets_503(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let body = br#"{"FirstName": "Slow"}"#;
    let head = format!(
        "POST /api/2.0/crm/contact/person HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.admin_key,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let _ = stream.write_all(&body[5..]).await;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_error(&body, StatusCode::SERVICE_UNAVAILABLE, "request_timeout");
    let count = sea_orm::PaginatorTrait::count(
        <crm_testkit::entities::contact::Entity as sea_orm::EntityTrait>::find(),
        &app.db,
    )
    .await
    .unwrap();
    assert_eq!(count, 0);
}

/// A request timeout so short that the deadline often falls while a write is committing: each
/// answer must say what happened. A 503 `request_timeout` ("nothing it did was kept") leaves no
/// trace; a 201 or 200 was kept. Before, a commit already sent could take effect after its
/// request had been answered 503, on both backends (and so could SQLite's delete, which commits
/// a transaction).
async fn a_request_timed_out_while_committing_says_what_was_kept(backend: Backend) {
    use crm_testkit::entities::contact;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = std::time::Duration::from_millis(2);
    })
    .await;
    let client = reqwest::Client::new();
    // (answered, timed out); `done`: whether the write took effect.
    let mut tally = (0, 0);
    let mut check = |at: &str, status: StatusCode, success: StatusCode, done: bool| {
        if status == success {
            tally.0 += 1;
            assert!(done, "{at}: {status}, so done");
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            tally.1 += 1;
            assert!(!done, "{at}: 503 request_timeout, so nothing done");
        } else {
            panic!("{at}: {status}");
        }
    };
    for i in 0..60 {
        let last = format!("Timed{i}");
        let response = client
            .post(app.url("/api/2.0/crm/contact/person"))
            .header(header::AUTHORIZATION, &app.admin_key)
            .json(&serde_json::json!({"FirstName": "Jane", "LastName": last}))
            .send()
            .await
            .unwrap();
        let kept = contact::Entity::find()
            .filter(contact::Column::LastName.eq(last.as_str()))
            .count(&app.db)
            .await
            .unwrap();
        check(&last, response.status(), StatusCode::CREATED, kept == 1);
    }
    for id in fixtures::people(&app.db, app.admin.id, "Doomed", 60).await {
        let response = client
            .delete(app.url(&format!("/api/2.0/crm/contact/{id}")))
            .header(header::AUTHORIZATION, &app.admin_key)
            .send()
            .await
            .unwrap();
        let kept = contact::Entity::find_by_id(id)
            .count(&app.db)
            .await
            .unwrap();
        check(
            &format!("delete {id}"),
            response.status(),
            StatusCode::OK,
            kept == 0,
        );
    }
    let (answered, timed_out) = tally;
    assert!(
        timed_out > 0,
        "the deadline fell in no request: the race was not provoked"
    );
    eprintln!("{answered} answered, {timed_out} timed out");
}

/// Requests cut off by a request timeout so short that it often falls while a transaction is
/// beginning leave no transaction open on a pooled connection, and every delete answered 200
/// is kept. Before, a `BEGIN` cut off half-way left its connection in a transaction nobody
/// ended: the next request's one-statement delete ran inside it and answered 200 without being
/// committed (PostgreSQL).
async fn requests_cut_off_while_beginning_leave_no_transaction_open(backend: Backend) {
    use crm_testkit::entities::contact;
    use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement};

    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = std::time::Duration::from_millis(2);
    })
    .await;
    let people = fixtures::people(&app.db, app.admin.id, "Cut", 400).await;
    let client = reqwest::Client::new();
    let mut deleted = Vec::new();
    for chunk in people.chunks(16) {
        let requests = chunk.iter().enumerate().map(|(i, id)| {
            let client = client.clone();
            let app = &app;
            async move {
                // Reads (a read-only transaction) and deletes, interleaved.
                let (method, reading) = if i % 2 == 0 {
                    (Method::GET, true)
                } else {
                    (Method::DELETE, false)
                };
                let response = client
                    .request(method, app.url(&format!("/api/2.0/crm/contact/{id}")))
                    .header(header::AUTHORIZATION, &app.admin_key)
                    .send()
                    .await
                    .unwrap();
                (*id, reading, response.status())
            }
        });
        for (id, reading, status) in futures::future::join_all(requests).await {
            assert!(
                status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
                "{id}: {status}"
            );
            if !reading && status == StatusCode::OK {
                deleted.push(id);
            }
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for id in &deleted {
        let kept = contact::Entity::find_by_id(*id)
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(kept, 0, "delete of {id} answered 200");
    }
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let open = app
            .db
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT CAST(COUNT(*) AS integer) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND state LIKE 'idle in transaction%'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i32>("", "n")
            .unwrap();
        assert_eq!(open, 0, "pooled connections left in a transaction");
    }
    eprintln!("{} deletes answered 200", deleted.len());
}

/// PostgreSQL: a commit that takes longer than the time left (a deferred trigger sleeps in it,
/// as a slow disk or a synchronous standby would) is awaited past the deadline, and the request
/// answers what it did: 201, the task kept. (SQLite runs no code of the service's choosing in a
/// commit; the test above provokes the same moment on both backends by chance.)
#[tokio::test]
async fn postgres_a_slow_commit_is_awaited_and_answered() {
    use crm_testkit::entities::task;
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    let app = TestApp::spawn_with(backend, |config| {
        config.request_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    app.db
        .execute_unprepared(
            "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS \
             $$BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END$$; \
             CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON tasks \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.title = 'Slow') \
             EXECUTE FUNCTION slow_commit();",
        )
        .await
        .unwrap();
    let contact = fixtures::shared(&app.db, app.admin.id, ShareType::ReadWrite, &[]).await;
    let started = std::time::Instant::now();
    let response = reqwest::Client::new()
        .post(app.url("/api/2.0/crm/task"))
        .header(header::AUTHORIZATION, &app.admin_key)
        .json(&serde_json::json!({"Title": "Slow", "ContactId": contact}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(took >= std::time::Duration::from_millis(1_500), "{took:?}");
    let kept = task::Entity::find()
        .filter(task::Column::Title.eq("Slow"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, 1);
}

/// `/healthz` says the database is down when the service's tables are gone from it (a database
/// emptied or replaced under the running server), not only when it cannot be reached: every
/// keyed request would fail.
async fn health_is_down_without_the_services_tables(backend: Backend) {
    use sea_orm::ConnectionTrait;

    let app = TestApp::spawn_on(backend).await;
    let health = || async {
        let response = reqwest::get(app.url("/healthz")).await.unwrap();
        let status = response.status();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(health().await.0, StatusCode::OK);
    // Any of its tables: contacts gone, then back.
    app.db
        .execute_unprepared("ALTER TABLE contacts RENAME TO contacts_gone")
        .await
        .unwrap();
    assert_eq!(health().await.0, StatusCode::SERVICE_UNAVAILABLE);
    app.db
        .execute_unprepared("ALTER TABLE contacts_gone RENAME TO contacts")
        .await
        .unwrap();
    assert_eq!(health().await.0, StatusCode::OK);
    app.db
        .execute_unprepared("DROP TABLE api_keys")
        .await
        .unwrap();
    let (status, body) = health().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"Status": "unavailable", "Database": "down"})
    );
}

/// PostgreSQL: a lock held on the table of keys (a migration, `VACUUM FULL`) does not make
/// `/healthz` wait, nor take the pool's connections with it: it reads the catalog only.
#[tokio::test]
async fn postgres_health_answers_while_the_table_of_keys_is_locked() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    let app = TestApp::spawn_with(backend, |config| {
        config.database.acquire_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let other = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let holder = other.begin().await.unwrap();
    holder
        .execute_unprepared("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    for _ in 0..12 {
        let health = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }
    holder.rollback().await.unwrap();
    other.close().await.ok();
}

/// PostgreSQL: a database that stops answering (here a proxy in front of it stops passing
/// bytes on) is down for `/healthz` within the acquire timeout, not at the request timeout.
#[tokio::test]
async fn postgres_health_is_down_within_the_acquire_timeout_when_the_database_hangs() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream, tcp::OwnedReadHalf, tcp::OwnedWriteHalf};

    async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, frozen: Arc<AtomicBool>) {
        let mut buffer = [0_u8; 8192];
        loop {
            let n = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if frozen.load(Ordering::Acquire) {
                // Hold both ends open, passing nothing on.
                std::future::pending::<()>().await;
            }
            if to.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    }

    let Some(backend) = crate::helpers::postgres() else {
        return;
    };
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let frozen = Arc::new(AtomicBool::new(false));
    let target = Arc::new(std::sync::Mutex::new(String::new()));
    let app = TestApp::spawn_with(backend, |config| {
        let mut url = url::Url::parse(&config.database.url).unwrap();
        *target.lock().unwrap() =
            format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        url.set_port(Some(proxy_port)).unwrap();
        config.database.url = url.to_string();
        config.database.acquire_timeout = std::time::Duration::from_secs(1);
        config.request_timeout = std::time::Duration::from_secs(20);
        let (target, frozen) = (target.lock().unwrap().clone(), frozen.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = proxy.accept().await {
                let outbound = TcpStream::connect(&target).await.unwrap();
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(pump(in_read, out_write, frozen.clone()));
                tokio::spawn(pump(out_read, in_write, frozen.clone()));
            }
        });
    })
    .await;
    let client = reqwest::Client::new();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    frozen.store(true, Ordering::Release);
    let started = std::time::Instant::now();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["Database"],
        "down"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

crate::backend_tests!(
    requests_cut_off_while_beginning_leave_no_transaction_open,
    health_is_down_without_the_services_tables,
    a_request_timed_out_while_committing_says_what_was_kept,
    a_request_over_the_timeout_gets_503,
    bad_requests_get_json_errors,
    swagger_ui_and_the_document_are_served,
);
