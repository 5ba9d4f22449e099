//! Real `crm-server` processes: two instances on one database, `kill -9` in a delete storm,
//! start-up failures; and the database going away under a running server.

use std::{
    collections::HashMap,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use futures::future::join_all;
use reqwest::header;
use sea_orm::{ConnectionTrait, Database, FromQueryResult, Statement};

use crm_testkit::process::{Launch, ServerProcess};

use crate::helpers::{Backend, TestApp, count, orphans};

const KEY: &str = "5EED0000-1111-2222-3333-444455556666";
const SERVER: &str = env!("CARGO_BIN_EXE_crm-server");

/// A `crm-server serve` process on `database_url` (not waited for).
fn spawn(database_url: &str) -> ServerProcess {
    ServerProcess::spawn(Launch::new(Path::new(SERVER), database_url, KEY))
        .expect("the server starts")
}

/// `server`, once it answers `/healthz`.
async fn ready(mut server: ServerProcess) -> ServerProcess {
    server
        .wait_healthy()
        .await
        .expect("the server becomes healthy");
    server
}

/// Creates `count` contacts with children through `servers` (16 at a time); returns their IDs.
async fn create_contacts(servers: &[&str], count: usize) -> Vec<i64> {
    let client = reqwest::Client::new();
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(16) {
        let requests = chunk.iter().map(|i| {
            let body = serde_json::json!({
                "FirstName": format!("Person {i}"),
                "LastName": "Storm",
                "Tags": ["storm", format!("t{}", i % 7)],
                "CommonData": [
                    {"InfoType": 1, "Data": format!("p{i}@example.com")},
                    {"InfoType": 0, "Category": 2, "Data": "+1 555 0100"}
                ],
                "Addresses": [{"City": "Riga", "Category": 1}],
            });
            client
                .post(format!(
                    "{}/api/2.0/crm/contact/person",
                    servers[i % servers.len()]
                ))
                .header(header::AUTHORIZATION, KEY)
                .json(&body)
                .send()
        });
        for response in join_all(requests).await {
            let response = response.expect("create");
            assert_eq!(response.status().as_u16(), 201);
            let body: serde_json::Value = response.json().await.expect("json");
            ids.push(body["ID"].as_i64().expect("ID"));
        }
    }
    ids
}

/// Two server processes started together on one database (their migrations and first-start
/// bootstraps race), then 16 clients deleting 1,000 contacts through both: every contact is
/// deleted exactly once and nothing is left pointing at a deleted contact.
async fn two_processes_delete_a_thousand_contacts_exactly_once(backend: Backend) {
    let (_scratch, url) = crate::helpers::scratch(&backend).await;
    let a = spawn(&url);
    let b = spawn(&url);
    let (a, b) = tokio::join!(ready(a), ready(b));
    let db = Database::connect(&url).await.expect("database");
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM users").await,
        1,
        "one bootstrap"
    );

    let started = Instant::now();
    let ids = create_contacts(&[&a.address], 1000).await;
    let created_in = started.elapsed();

    // Client c deletes the IDs at positions ≡ c (mod 8) through server c mod 2: each ID is
    // deleted by two clients, through both servers at once.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let clients = (0..16).map(|c| {
        let client = client.clone();
        let server = if c % 2 == 0 { &a.address } else { &b.address };
        let mine: Vec<i64> = ids.iter().copied().skip(c % 8).step_by(8).collect();
        async move {
            let mut outcomes = Vec::new();
            for id in mine {
                let response = client
                    .delete(format!("{server}/api/2.0/crm/contact/{id}"))
                    .header(header::AUTHORIZATION, KEY)
                    .send()
                    .await
                    .expect("response");
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.expect("a JSON body");
                if status == 200 {
                    assert_eq!(body["ID"].as_i64(), Some(id));
                } else {
                    assert_eq!(body["Code"], "contact_not_found", "{body}");
                }
                outcomes.push((id, status));
            }
            outcomes
        }
    });
    let outcomes: Vec<(i64, u16)> = join_all(clients).await.into_iter().flatten().collect();
    let deleted_in = started.elapsed();

    let mut successes: HashMap<i64, usize> = HashMap::new();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for (id, status) in &outcomes {
        *statuses.entry(*status).or_default() += 1;
        if *status == 200 {
            *successes.entry(*id).or_default() += 1;
        }
    }
    assert_eq!(outcomes.len(), 2000);
    assert_eq!(statuses.get(&200), Some(&1000), "{statuses:?}");
    assert_eq!(statuses.get(&404), Some(&1000), "{statuses:?}");
    assert!(successes.values().all(|n| *n == 1));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM contacts").await, 0);
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM audit_events").await,
        1000
    );
    assert_eq!(orphans(&db).await, 0);
    eprintln!(
        "two processes: created 1000 contacts in {created_in:?}, 2000 deletes in {deleted_in:?}: \
         {statuses:?}, 0 orphans"
    );
}

/// `kill -9` in the middle of a delete storm: every contact is afterwards either whole or gone,
/// and a restarted server serves on.
async fn a_killed_server_leaves_every_contact_whole_or_gone(backend: Backend) {
    let (_scratch, url) = crate::helpers::scratch(&backend).await;
    let mut server = ready(spawn(&url)).await;
    let ids = create_contacts(&[&server.address], 300).await;

    let client = reqwest::Client::new();
    let storm = (0..16).map(|c| {
        let client = client.clone();
        let address = server.address.clone();
        let mine: Vec<i64> = ids.iter().copied().skip(c).step_by(16).collect();
        async move {
            for id in mine {
                let sent = client
                    .delete(format!("{address}/api/2.0/crm/contact/{id}"))
                    .header(header::AUTHORIZATION, KEY)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                if sent.is_err() {
                    break; // the server is gone
                }
            }
        }
    });
    let storm = tokio::spawn(join_all(storm));
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.kill();
    storm.await.expect("the storm ends");

    let db = Database::connect(&url).await.expect("database");
    // One statement, one snapshot: on PostgreSQL a delete the killed server had sent may still
    // commit (with its audit record, atomically) while this runs.
    #[derive(FromQueryResult)]
    struct Counts {
        remaining: i64,
        audited: i64,
    }
    let Counts { remaining, audited } = Counts::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT (SELECT COUNT(*) FROM contacts) AS remaining, \
                (SELECT COUNT(*) FROM audit_events) AS audited",
    ))
    .one(&db)
    .await
    .expect("counts")
    .expect("a row");
    assert!(
        remaining > 0 && remaining < 300,
        "the kill came mid-storm: {remaining} left"
    );
    assert_eq!(
        audited,
        300 - remaining,
        "an audit record for each delete, and only those"
    );
    assert_eq!(orphans(&db).await, 0);
    // Whole: each remaining contact has all 3 infos and both tag links.
    let partial = count(
        &db,
        "SELECT COUNT(*) AS n FROM contacts c WHERE \
         (SELECT COUNT(*) FROM contact_infos i WHERE i.contact_id = c.id) <> 3 \
         OR (SELECT COUNT(*) FROM contact_tags t WHERE t.contact_id = c.id) <> 2",
    )
    .await;
    assert_eq!(partial, 0);
    db.close().await.ok();

    let restarted = ready(spawn(&url)).await;
    let left: Vec<i64> = {
        let db = Database::connect(&url).await.expect("database");
        #[derive(FromQueryResult)]
        struct Id {
            id: i32,
        }
        Id::find_by_statement(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM contacts ORDER BY id",
        ))
        .all(&db)
        .await
        .expect("ids")
        .into_iter()
        .map(|row| i64::from(row.id))
        .collect()
    };
    let response = client
        .delete(format!(
            "{}/api/2.0/crm/contact/{}",
            restarted.address, left[0]
        ))
        .header(header::AUTHORIZATION, KEY)
        .send()
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 200);
    eprintln!("kill -9: {audited} deleted before the kill, {remaining} whole, 0 orphans");
}

/// The database becomes unreachable under a running server: requests get 503 with the `Error`
/// body within the acquire timeout, `/healthz` says so, and the same process recovers.
async fn the_database_going_away_gives_503_and_the_server_recovers(backend: Backend) {
    let Backend::Postgres(server_url) = &backend else {
        return; // an embedded SQLite file does not go away
    };
    let acquire = Duration::from_secs(1);
    let app = TestApp::spawn_with(backend.clone(), |config| {
        config.database.acquire_timeout = acquire;
        config.database.connect_timeout = acquire;
    })
    .await;
    let name = app
        .database_url
        .rsplit('/')
        .next()
        .expect("a name")
        .to_owned();
    let admin = Database::connect(format!("{server_url}/postgres"))
        .await
        .expect("admin");
    let client = reqwest::Client::new();
    let get = |path: String| {
        client
            .get(app.url(&path))
            .header(header::AUTHORIZATION, &app.admin_key)
            .timeout(Duration::from_secs(15))
            .send()
    };
    let id =
        crate::fixtures::shared(&app.db, app.admin.id, crm_models::ShareType::ReadWrite, &[]).await;

    for sql in [
        format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    ] {
        admin
            .execute_unprepared(&sql)
            .await
            .expect("make the database unreachable");
    }
    let started = Instant::now();
    let responses = join_all((0..20).map(|_| get(format!("/api/2.0/crm/contact/{id}")))).await;
    let waited = started.elapsed();
    for response in responses {
        let response = response.expect("an answer, not a hang");
        assert_eq!(response.status().as_u16(), 503);
        let body: serde_json::Value = response.json().await.expect("an Error body");
        assert_eq!(body["Code"], "database_unavailable", "{body}");
    }
    assert!(waited < acquire * 5, "answered in {waited:?}");
    let health = get("/healthz".into()).await.expect("health");
    assert_eq!(health.status().as_u16(), 503);

    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
        ))
        .await
        .expect("bring the database back");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = get("/healthz".into()).await.expect("health");
        if health.status().is_success() {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = get(format!("/api/2.0/crm/contact/{id}"))
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 200);
    eprintln!("database outage: 20 requests answered 503 in {waited:?}; recovered");
}

/// Start-up with a database it cannot open: one line that names the problem (the cause, not
/// the pool's timeout), a non-zero exit, no panic.
#[tokio::test]
async fn start_up_failures_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("file");
    std::fs::write(&file, "").expect("a file");
    for (url, says) in [
        (
            "postgres://postgres@127.0.0.1:1/crm".to_owned(),
            "Connection refused",
        ),
        // No file: each pooled connection would have a database of its own.
        ("sqlite:".to_owned(), "a SQLite database needs a file"),
        (
            "sqlite::memory:".to_owned(),
            "a SQLite database needs a file",
        ),
        // A path below a regular file can never be created.
        (
            format!("sqlite:{}/crm.db", file.display()),
            "cannot open the database",
        ),
        (
            "mysql://root@127.0.0.1/crm".to_owned(),
            "cannot open the database",
        ),
    ] {
        let output = Command::new(SERVER)
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
            .env("RUST_LOG", "warn")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!output.status.success(), "{url}");
        assert_eq!(output.status.code(), Some(1), "{url}");
        assert_eq!(lines.len(), 1, "{url}: {stderr}");
        assert!(
            lines[0].starts_with("error: cannot open the database") && lines[0].contains(says),
            "{url}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{url}: {stderr}");
    }
}

/// One log line per request — method, path, status, latency — that never shows the key; and
/// SIGTERM stops the server cleanly.
/// With the default log filter (no `RUST_LOG`): a line per request, never the key; requests the
/// HTTP parser refuses (which anyone can send) log no `ERROR`.
#[tokio::test]
async fn the_request_log_never_shows_the_key_and_sigterm_stops_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite:{}", dir.path().join("crm.db").display());
    let log = dir.path().join("server.log");
    let mut server = ServerProcess::start(Launch {
        log: Some(&log),
        rust_log: "",
        ..Launch::new(Path::new(SERVER), &url, KEY)
    })
    .await
    .expect("the server starts");
    let address = server.address.clone();
    for garbage in [
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(address.trim_start_matches("http://"))
            .await
            .expect("connect");
        stream.write_all(garbage.as_bytes()).await.expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{garbage:?}: {answer}");
    }
    let client = reqwest::Client::new();
    for key in [KEY.to_owned(), format!("Bearer {KEY}")] {
        let response = client
            .delete(format!("{address}/api/2.0/crm/contact/77"))
            .header(header::AUTHORIZATION, key)
            .send()
            .await
            .expect("response");
        assert_eq!(response.status().as_u16(), 404);
    }

    let status = server.terminate().await.expect("SIGTERM stops the server");
    assert!(status.success(), "a clean exit: {status:?}");

    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(!text.contains(KEY), "the key is in the log:\n{text}");
    assert!(!text.contains("ERROR"), "{text}");
    let deletes: Vec<_> = text
        .lines()
        .filter(|line| line.contains("method=DELETE"))
        .collect();
    assert_eq!(deletes.len(), 2, "{text}");
    for line in deletes {
        assert!(line.contains("path=/api/2.0/crm/contact/77"), "{line}");
        assert!(line.contains("status=404"), "{line}");
        assert!(line.contains("latency_ms="), "{line}");
    }
}

crate::backend_tests!(
    two_processes_delete_a_thousand_contacts_exactly_once,
    a_killed_server_leaves_every_contact_whole_or_gone,
    the_database_going_away_gives_503_and_the_server_recovers,
);
