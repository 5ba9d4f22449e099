//! The API-key cache: a cached key costs no statement; a revocation takes effect at once in the
//! process that makes it, within a second in every other server on PostgreSQL (`NOTIFY`, with a
//! TTL so long that nothing else could explain it), within the TTL on a shared SQLite file; a
//! zero TTL turns the cache off. On PostgreSQL: the bootstrap and a revocation announce
//! themselves on the channel, the listener has a connection of its own, and a lost listener
//! connection empties the cache.

use std::{
    path::Path,
    sync::Mutex,
    time::{Duration, Instant},
};

use reqwest::header;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, FromQueryResult, Statement};

use crm_server::{auth::hash_key, db::DbConfig, keycache, users};
use crm_testkit::process::{Launch, ServerProcess};

use crate::helpers::{self, Backend, TestApp};

const SERVER: &str = env!("CARGO_BIN_EXE_crm-server");

/// The first administrator's key of the server processes.
const ADMIN_KEY: &str = "CAC4E000-1111-2222-3333-444455556666";

/// A cheap operation that takes a key.
const OPERATION: &str = "/api/2.0/crm/contact/status";

/// The status of `GET OPERATION` with `key`.
async fn status(address: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{address}{OPERATION}"))
        .header(header::AUTHORIZATION, key)
        .send()
        .await
        .expect("a response")
        .status()
        .as_u16()
}

/// Runs `crm-server ARGS --database-url URL`, which must succeed; its stdout, trimmed.
async fn cli(url: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(SERVER)
        .args(args)
        .args(["--database-url", url])
        .env_remove("RUST_LOG")
        .env_remove("CRM_BOOTSTRAP_API_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the command runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// Two `crm-server serve` processes on `url` with `--key-cache-ttl TTL`, once both are healthy
/// (one after the other: starting together is `processes.rs`'s concern, not this file's).
async fn two_servers(url: &str, ttl: &str) -> (ServerProcess, ServerProcess) {
    let args = ["--key-cache-ttl".to_owned(), ttl.to_owned()];
    let launch = Launch {
        args: &args,
        ..Launch::new(Path::new(SERVER), url, ADMIN_KEY)
    };
    let a = ServerProcess::start(launch).await.expect("server a starts");
    let b = ServerProcess::start(launch).await.expect("server b starts");
    (a, b)
}

/// A member and a key of its own, made through the command line: the key's ID and the key.
async fn member_key(url: &str) -> (i32, String) {
    let user = cli(url, &["users", "add", "--name", "Kim Cached"]).await;
    let key = cli(
        url,
        &["keys", "create", "--user", &user, "--label", "cached"],
    )
    .await;
    let db = Database::connect(url).await.expect("the database");
    let id = users::list_keys(&db)
        .await
        .expect("the keys")
        .into_iter()
        .find(|listed| listed.user_id.to_string() == user)
        .expect("the member's key")
        .id;
    db.close().await.ok();
    (id, key)
}

/// Asks every server, every 20 ms, until each has answered 401 for `key`; how long after
/// `since` the last one did. Panics when that takes longer than `limit`.
async fn until_refused(
    servers: &[&ServerProcess],
    key: &str,
    since: Instant,
    limit: Duration,
) -> Duration {
    let mut refused = vec![false; servers.len()];
    loop {
        for (server, refused) in servers.iter().zip(refused.iter_mut()) {
            if !*refused {
                match status(&server.address, key).await {
                    401 => *refused = true,
                    200 => {}
                    other => panic!("{}: status {other}", server.address),
                }
            }
        }
        let elapsed = since.elapsed();
        if refused.iter().all(|refused| *refused) {
            return elapsed;
        }
        assert!(
            elapsed <= limit,
            "still accepted {elapsed:?} after the revocation (servers refusing: {refused:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug, FromQueryResult)]
struct Pid {
    pid: i32,
}

/// The key-cache listeners on the database `db` is connected to, once there are `expected` of
/// them listening (at most 10 s): their backend process IDs.
async fn listeners(db: &DatabaseConnection, expected: usize) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids: Vec<i32> = Pid::find_by_statement(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = $1 AND query LIKE 'LISTEN%' AND state = 'idle' \
             ORDER BY pid",
            [keycache::LISTENER_APPLICATION_NAME.into()],
        ))
        .all(db)
        .await
        .expect("pg_stat_activity")
        .into_iter()
        .map(|row| row.pid)
        .collect();
        if pids.len() == expected {
            // The database has answered the `LISTEN`; let the listener (a task of this runtime,
            // when the server runs in-process) read the answer and start using its cache.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "{} key-cache listeners, expected {expected}",
            pids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two processes on one PostgreSQL database, keys cached for 60 s: a key works on both (and
/// is cached there), is revoked through the command line, and both refuse it within a second.
#[tokio::test]
async fn postgres_a_revocation_reaches_two_processes_within_a_second() {
    let Some(backend) = helpers::postgres() else {
        return;
    };
    let (_scratch, url) = helpers::scratch(&backend).await;
    let (a, b) = two_servers(&url, "60s").await;
    let db = Database::connect(&url).await.expect("the database");
    // Each listens on the channel, on a connection of its own.
    listeners(&db, 2).await;
    let (key_id, key) = member_key(&url).await;
    for server in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(status(&server.address, &key).await, 200);
        }
    }

    let started = Instant::now();
    cli(&url, &["keys", "revoke", &key_id.to_string()]).await;
    let revoked = Instant::now();
    let took = until_refused(&[&a, &b], &key, revoked, Duration::from_secs(1)).await;
    eprintln!(
        "PostgreSQL: both servers refused the revoked key {took:?} after `keys revoke` \
         returned ({:?} after it started)",
        started.elapsed()
    );
    // The other keys are still served.
    for server in [&a, &b] {
        assert_eq!(status(&server.address, ADMIN_KEY).await, 200);
    }
    // The listener stops with its server.
    let mut a = a;
    let stopped = a.terminate().await.expect("a stops on SIGTERM");
    assert!(stopped.success(), "{stopped}");
    listeners(&db, 1).await;
    db.close().await.ok();
}

/// Two processes on one SQLite file, keys cached for 1 s: after a revocation through the
/// command line both refuse the key within the TTL (and a margin for the polling).
#[tokio::test]
async fn sqlite_a_revocation_reaches_two_processes_within_the_ttl() {
    let (_scratch, url) = helpers::scratch(&Backend::Sqlite).await;
    let (a, b) = two_servers(&url, "1s").await;
    let (key_id, key) = member_key(&url).await;
    for server in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(status(&server.address, &key).await, 200);
        }
    }
    cli(&url, &["keys", "revoke", &key_id.to_string()]).await;
    let revoked = Instant::now();
    let took = until_refused(&[&a, &b], &key, revoked, Duration::from_millis(1500)).await;
    eprintln!("SQLite: both servers refused the revoked key {took:?} after `keys revoke`");
    for server in [&a, &b] {
        assert_eq!(status(&server.address, ADMIN_KEY).await, 200);
    }
}

/// `--key-cache-ttl 0`: no cache, so the first request after `keys revoke` is refused.
async fn with_a_zero_ttl_a_revocation_is_immediate(backend: Backend) {
    let (_scratch, url) = helpers::scratch(&backend).await;
    let (a, b) = two_servers(&url, "0").await;
    let (key_id, key) = member_key(&url).await;
    for server in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(status(&server.address, &key).await, 200);
        }
    }
    cli(&url, &["keys", "revoke", &key_id.to_string()]).await;
    for server in [&a, &b] {
        assert_eq!(status(&server.address, &key).await, 401);
    }
}

/// An in-process server whose pool records the statements it runs.
struct Recorded {
    server: helpers::Recording,
    /// Where the statements of the last [`Self::call`] start.
    last: Mutex<usize>,
}

impl std::ops::Deref for Recorded {
    type Target = helpers::Recording;

    fn deref(&self) -> &helpers::Recording {
        &self.server
    }
}

impl Recorded {
    async fn spawn(backend: &Backend, ttl: Duration, max_connections: u32) -> Self {
        let server = helpers::Recording::spawn(backend, |config| {
            config.database.max_connections = max_connections;
            config.key_cache_ttl = ttl;
            config.metrics = false;
        })
        .await;
        Self {
            server,
            last: Mutex::new(0),
        }
    }

    /// How many key lookups (statements reading `api_keys`) since `mark`.
    fn lookups_since(&self, mark: usize) -> usize {
        self.since(mark)
            .iter()
            .filter(|sql| sql.contains("api_keys"))
            .count()
    }

    /// The statements run since the last [`Self::call`] began (for failure messages).
    fn ran(&self) -> Vec<String> {
        self.since(*self.last.lock().unwrap())
    }

    /// The status of `GET OPERATION` with `key` and how many key lookups it ran.
    async fn call(&self, key: &str) -> (u16, usize) {
        let mark = self.count();
        *self.last.lock().unwrap() = mark;
        let status = status(&self.address, key).await;
        (status, self.lookups_since(mark))
    }
}

/// A key is looked up once, then served from the cache without a statement; revoked in this
/// process, it is refused at once, whatever the TTL.
async fn a_cached_key_costs_no_statement_and_a_revocation_here_is_at_once(backend: Backend) {
    let server = Recorded::spawn(&backend, Duration::from_secs(60), 8).await;
    if matches!(backend, Backend::Postgres(_)) {
        // Until the listener listens, the cache is bypassed.
        listeners(&server.db, 1).await;
    }
    let (member, key) = TestApp::user_with_key(&server.db, "Kim Cached", false).await;
    assert_eq!(
        server.call(&key).await,
        (200, 1),
        "the first request looks up"
    );
    for round in 0..5 {
        assert_eq!(
            server.call(&key).await,
            (200, 0),
            "round {round}: cached, but ran {:?}",
            server.ran()
        );
    }
    // A key created now works at once: unknown keys are never cached.
    let (_, other) = TestApp::user_with_key(&server.db, "Lou Later", false).await;
    assert_eq!(server.call(&other).await, (200, 1), "{:?}", server.ran());

    let keys = users::list_keys(&server.db).await.unwrap();
    let id = keys.iter().find(|k| k.user_id == member.id).unwrap().id;
    users::revoke_key(&server.db, id).await.unwrap();
    assert_eq!(server.call(&key).await, (401, 1), "refused at once");
    assert_eq!(server.call(&key).await, (401, 1), "refusals are not cached");
    assert_eq!(
        server.call(&other).await,
        (200, 0),
        "the other key stays cached"
    );
}

/// With the cache off every request looks its key up.
async fn with_the_cache_off_every_request_looks_its_key_up(backend: Backend) {
    let server = Recorded::spawn(&backend, Duration::ZERO, 8).await;
    let (_, key) = TestApp::user_with_key(&server.db, "Kim Uncached", false).await;
    for round in 0..3 {
        assert_eq!(server.call(&key).await, (200, 1), "round {round}");
    }
}

/// Asks with `key` (every 20 ms, at most `limit`) until a request looks the key up again, i.e.
/// until the cache no longer holds it.
async fn until_looked_up(server: &Recorded, key: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, lookups) = server.call(key).await;
        assert_eq!(status, 200);
        if lookups > 0 {
            return started.elapsed();
        }
        assert!(started.elapsed() <= limit, "still cached after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// On PostgreSQL, with a pool of one connection (the listener has its own): a notification
/// naming another key changes nothing, one naming the key (or everything) makes the server look
/// it up again; when the listener loses its connection (terminated by the database) it listens
/// again on a new one, with the cache emptied, and notifications reach it again.
#[tokio::test]
async fn postgres_the_listener_forgets_what_it_is_told_and_everything_when_its_connection_drops() {
    let Some(backend) = helpers::postgres() else {
        return;
    };
    let server = Recorded::spawn(&backend, Duration::from_secs(60), 1).await;
    let listener = listeners(&server.db, 1).await[0];
    let (_, key) = TestApp::user_with_key(&server.db, "Kim Cached", false).await;
    assert_eq!(server.call(&key).await, (200, 1));
    assert_eq!(server.call(&key).await, (200, 0));

    let notify = |payload: String| {
        let db = server.db.clone();
        async move {
            db.execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [keycache::CHANNEL.into(), payload.into()],
            ))
            .await
            .expect("NOTIFY");
        }
    };
    notify(hash_key("SOME-OTHER-KEY-0000000000")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.call(&key).await, (200, 0), "another key was named");

    notify(hash_key(&key)).await;
    let took = until_looked_up(&server, &key, Duration::from_secs(1)).await;
    eprintln!("a notification emptied the entry within {took:?}");
    assert_eq!(server.call(&key).await, (200, 0), "cached again");

    notify(keycache::FORGET_ALL.to_owned()).await;
    until_looked_up(&server, &key, Duration::from_secs(1)).await;

    assert_eq!(server.call(&key).await, (200, 0), "cached");
    // The listener's connection goes away.
    server
        .db
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend($1)",
            [listener.into()],
        ))
        .await
        .expect("pg_terminate_backend");
    // No request meanwhile: once the listener listens again on a new connection, the entry
    // cached before is gone (the first request looks the key up) and the key is cached again.
    let again = loop {
        let pids = listeners(&server.db, 1).await;
        if pids[0] != listener {
            break pids[0];
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(again, listener);
    assert_eq!(server.call(&key).await, (200, 1), "emptied on reconnecting");
    assert_eq!(server.call(&key).await, (200, 0), "cached again");
    // And notifications reach it again.
    notify(hash_key(&key)).await;
    until_looked_up(&server, &key, Duration::from_secs(1)).await;
}

/// The payload of the next notification `listener` receives within 2 s.
async fn next(listener: &mut Option<sea_orm::sqlx::postgres::PgListener>) -> Option<String> {
    let listener = listener.as_mut()?;
    tokio::time::timeout(Duration::from_secs(2), listener.recv())
        .await
        .ok()
        .map(|notification| notification.expect("a notification").payload().to_owned())
}

/// The first-start bootstrap announces "forget everything", a revocation the revoked key's
/// hash; a revocation that fails announces nothing. (On SQLite there is no channel: the
/// functions do the same work without it.)
async fn the_bootstrap_and_a_revocation_announce_themselves(backend: Backend) {
    let (_scratch, url) = helpers::scratch(&backend).await;
    let db = crm_server::db::connect_and_migrate(&DbConfig::new(url.clone()))
        .await
        .expect("a migrated database");
    let mut listener = match backend {
        Backend::Postgres(_) => {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect(&url)
                .await
                .expect("a listener");
            listener.listen(keycache::CHANNEL).await.expect("LISTEN");
            Some(listener)
        }
        Backend::Sqlite => None,
    };

    let first = users::bootstrap(&db, None)
        .await
        .unwrap()
        .expect("bootstrapped");
    let (row, key) = users::create_key(&db, first.user.id, "laptop", None)
        .await
        .unwrap();
    users::revoke_key(&db, 9_999)
        .await
        .expect_err("no such key");
    users::revoke_key(&db, row.id).await.unwrap();
    if matches!(backend, Backend::Postgres(_)) {
        assert_eq!(
            next(&mut listener).await.as_deref(),
            Some(keycache::FORGET_ALL)
        );
        // Nothing from the failed revocation: the next one is the revoked key's hash.
        assert_eq!(next(&mut listener).await, Some(hash_key(&key)));
    }
    assert!(
        users::bootstrap(&db, None).await.unwrap().is_none(),
        "once only"
    );
    let keys = users::list_keys(&db).await.unwrap();
    assert!(
        keys.iter()
            .find(|k| k.id == row.id)
            .unwrap()
            .revoked_at
            .is_some()
    );
    db.close().await.ok();
}

crate::backend_tests!(
    with_a_zero_ttl_a_revocation_is_immediate,
    a_cached_key_costs_no_statement_and_a_revocation_here_is_at_once,
    with_the_cache_off_every_request_looks_its_key_up,
    the_bootstrap_and_a_revocation_announce_themselves,
);
