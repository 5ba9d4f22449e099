//! The database: connection (SQLite or PostgreSQL, chosen by the URL), migrations, entities.

pub(crate) mod entities;
mod failure;
pub mod migration;
mod write;

pub use failure::{Failure, classify};
pub use write::{Tx, WRITE_ATTEMPTS, WriteError, write, write_statement};

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chrono::{DateTime, SubsecRound, Utc};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `sqlite:PATH` (the file is created when missing) or `postgres://…`.
    pub url: String,
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long to wait for a connection to open.
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl DbConfig {
    /// A configuration with the default pool settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The default database: a SQLite file `crm.db` in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:crm.db";

/// `time` as both databases keep it: in whole microseconds (PostgreSQL's precision; SQLite,
/// keeping text, would keep nanoseconds), a leap second (`23:59:60`) as the second after it.
pub fn stored_time(time: DateTime<Utc>) -> DateTime<Utc> {
    let micros = time.trunc_subsecs(6).timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(time)
}

/// Now, as the databases keep it ([`stored_time`]).
pub fn now() -> DateTime<Utc> {
    stored_time(Utc::now())
}

/// Whether a URL names a SQLite database.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Whether a SQLite URL names no file: `sqlite:` alone, or an in-memory database — each pooled
/// connection would open a database of its own, and the schema would be in one of them only.
fn sqlite_without_file(url: &str) -> bool {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    path.is_empty() || path == ":memory:" || url.contains("mode=memory")
}

/// Why a PostgreSQL connection cannot be opened, when the pool only says it timed out: one
/// connection opened directly, within the connect timeout, gives the cause (refused, unknown
/// host, authentication…).
async fn why_no_connection(config: &DbConfig) -> Option<DbErr> {
    use sea_orm::sqlx::Connection;
    let attempt = sea_orm::sqlx::PgConnection::connect(&config.url);
    match tokio::time::timeout(config.connect_timeout, attempt).await {
        Ok(Err(error)) => Some(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            error.to_string(),
        ))),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            None
        }
        Err(_) => None,
    }
}

/// How long a pooled PostgreSQL connection may sit idle before it is pinged when handed out.
/// Connections in steady use are not pinged (sqlx already tests each one as it goes back to the
/// pool), which saves a round trip per query or transaction.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// SQLite: the most pages the write-ahead log may hold before a committing writer checkpoints it
/// itself. The background checkpointer (see [`connect`]) normally keeps the log far below it.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// SQLite: the background checkpointer runs at most this often while writes come in. Smaller
/// steps shorten the `fsync` a committing writer may wait for: with a delete that keeps the
/// trash, HTTP delete p99/p50 at concurrency 8 was 3.4–3.5 at 10 ms, 2.4–2.9 at 5 ms and
/// 1.6–2.0 at 2 ms, where the checkpoints' CPU cost 20 % of the deletes per second
/// (`cargo xtask bench`, three runs each).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(5);

/// SQLite: the background checkpointer also runs this long after the last one when it has
/// heard of no write (writes that do not go through [`write`]).
const CHECKPOINT_IDLE: Duration = Duration::from_secs(1);

/// The query parameters of a PostgreSQL URL that its driver ignores (sqlx-postgres 0.9 knows
/// these, and warns of the others with their values, which the log leaves out): each by its
/// name, or `None` when the name is not a plain one or the parameter holds an `@` — then the
/// "query" may be the tail of a password with an unencoded `?` and the user info's `@`.
fn unknown_postgres_parameters(url: &str) -> Vec<Option<String>> {
    const KNOWN: [&str; 17] = [
        "sslmode",
        "ssl-mode",
        "sslrootcert",
        "ssl-root-cert",
        "ssl-ca",
        "sslcert",
        "ssl-cert",
        "sslkey",
        "ssl-key",
        "statement-cache-capacity",
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "application_name",
    ];
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    parsed
        .query_pairs()
        .filter(|(key, _)| {
            !KNOWN.contains(&key.as_ref()) && key != "options" && !key.starts_with("options[")
        })
        .map(|(key, value)| {
            let plain = key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            (plain && !key.is_empty() && !value.contains('@')).then(|| key.into_owned())
        })
        .collect()
}

/// Opens the pool. SQLite files are created when missing and every SQLite connection runs with
/// foreign keys enforced, WAL journaling and a busy timeout.
///
/// Performance (measured by `cargo xtask bench`, see `docs/benchmarks.md`):
/// - PostgreSQL connections are pinged on acquire only after [`PING_AFTER_IDLE`] of idleness;
///   SQLite connections (a file, never a network peer) never.
/// - SQLite's write-ahead log is checkpointed by a background task on a pool connection, in
///   small steps, so a committing request does not pay for copying the log into the database
///   file and syncing it (with `wal_autocheckpoint` left as a backstop at
///   [`WAL_AUTOCHECKPOINT_PAGES`]). The task ends when the pool is closed. After an erasure it
///   empties the log instead ([`wipe_log_soon`]), which holds writers for as long as that takes
///   (at most [`EMPTY_LOG_WAIT`] of waiting for readers, then the copy and a sync).
/// - Writers on SQLite take turns in this process ([`write`]).
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let sqlite = is_sqlite(&config.url);
    if sqlite && sqlite_without_file(&config.url) {
        return Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "a SQLite database needs a file: sqlite:PATH (e.g. sqlite:crm.db)".to_owned(),
        )));
    }
    if !sqlite {
        for key in unknown_postgres_parameters(&config.url) {
            match key {
                Some(key) => tracing::warn!(
                    %key,
                    "ignoring unrecognized connect parameter (its value not shown)"
                ),
                None => tracing::warn!(
                    "ignoring unrecognized connect parameter (neither its name nor its value \
                     shown: it may hold part of a password whose `#`, `/` or `?` is not \
                     percent-encoded)"
                ),
            }
        }
    }
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(0)
        .connect_timeout(config.connect_timeout)
        .acquire_timeout(config.acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(BUSY_TIMEOUT)
                .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
                // What a delete or an erasure frees is overwritten with zeros, not left to be
                // read back from the file's free space.
                .pragma("secure_delete", "on")
        });
    if sqlite {
        options.test_before_acquire(false);
    } else {
        options.test_before_acquire_if_idle_for(PING_AFTER_IDLE);
    }
    let db = match Database::connect(options).await {
        Ok(db) => db,
        Err(error) if !sqlite && failure::pool_timed_out(&error) => {
            return Err(why_no_connection(config).await.unwrap_or(error));
        }
        Err(error) => return Err(error),
    };
    if sqlite {
        tokio::spawn(checkpoint_in_background(db.clone(), write::writes_to(&db)));
    }
    Ok(db)
}

/// Checkpoints the SQLite write-ahead log (`PASSIVE`: it never waits for readers or writers)
/// after writes, at most every [`CHECKPOINT_EVERY`], until the pool is closed. When the log is
/// to be emptied ([`wipe_log_soon`], and once at start, for an erasure a restart came between)
/// it tries that instead, backing off while readers keep it from finishing ([`Wipe`]).
async fn checkpoint_in_background(db: DatabaseConnection, writes: Arc<write::Writes>) {
    let checkpoint = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
    let mut wipe = Wipe::pending();
    loop {
        let _ = tokio::time::timeout(CHECKPOINT_IDLE, writes.committed.notified()).await;
        if db.get_sqlite_connection_pool().is_closed() {
            return;
        }
        if writes.erased.swap(false, Ordering::AcqRel) {
            wipe.ask();
        }
        if wipe.due() {
            let emptied = empty_the_log(&db, &writes).await;
            wipe.tried(emptied);
        } else if let Err(error) = db.execute_raw(checkpoint.clone()).await {
            tracing::debug!(%error, "background checkpoint failed");
        }
        tokio::time::sleep(CHECKPOINT_EVERY).await;
    }
}

/// SQLite: how long a statement waits for another connection's lock (`busy_timeout`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite: how long emptying the log waits for readers of older snapshots before it gives up
/// for now. It holds the file's write lock meanwhile, so every writer — of this process and of
/// any other on the file — waits as long.
const EMPTY_LOG_WAIT: Duration = Duration::from_millis(50);

/// SQLite: the pause after a first failed try at emptying the log; it doubles with each failed
/// try, up to [`EMPTY_LOG_PAUSE_MAX`].
const EMPTY_LOG_PAUSE: Duration = Duration::from_millis(100);
const EMPTY_LOG_PAUSE_MAX: Duration = Duration::from_secs(30);

/// SQLite: after this long without emptying the log, a warning says why.
const EMPTY_LOG_WARN_AFTER: Duration = Duration::from_secs(60);

/// Whether the write-ahead log is to be emptied, and when to try next.
struct Wipe {
    /// Since when, if it is.
    since: Option<std::time::Instant>,
    next: std::time::Instant,
    pause: Duration,
    warned: bool,
}

impl Wipe {
    fn pending() -> Self {
        let now = std::time::Instant::now();
        Self {
            since: Some(now),
            next: now,
            pause: EMPTY_LOG_PAUSE,
            warned: false,
        }
    }

    /// An erasure has committed: the log is to be emptied (at once, unless tries are failing).
    fn ask(&mut self) {
        if self.since.is_none() {
            *self = Self::pending();
        }
    }

    fn due(&self) -> bool {
        self.since.is_some() && std::time::Instant::now() >= self.next
    }

    fn tried(&mut self, emptied: bool) {
        let Some(since) = self.since else {
            return;
        };
        if emptied {
            self.since = None;
            return;
        }
        self.next = std::time::Instant::now() + self.pause;
        self.pause = (self.pause * 2).min(EMPTY_LOG_PAUSE_MAX);
        if !self.warned && since.elapsed() >= EMPTY_LOG_WARN_AFTER {
            self.warned = true;
            tracing::warn!(
                waiting_s = since.elapsed().as_secs(),
                "the SQLite write-ahead log, to be emptied after an erasure (or at start), \
                 could not be: a reader (a backup, a replication tool, an open sqlite3 shell) \
                 keeps an old snapshot; trying again"
            );
        }
    }
}

/// SQLite: copies the whole write-ahead log into the database file and truncates the log to
/// nothing (`wal_checkpoint(TRUNCATE)`), holding this process's turn to write so that no commit
/// of its own comes in between. It waits at most [`EMPTY_LOG_WAIT`] for readers of older
/// snapshots, on a connection whose busy timeout is set that short for it. Whether it did.
async fn empty_the_log(db: &DatabaseConnection, writes: &write::Writes) -> bool {
    use sea_orm::sqlx::{self, AssertSqlSafe, Row};

    let busy =
        |wait: Duration| AssertSqlSafe(format!("PRAGMA busy_timeout = {}", wait.as_millis()));
    let _turn = writes.take_turn().await;
    let mut connection = match db.get_sqlite_connection_pool().acquire().await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::debug!(%error, "emptying the log: no connection");
            return false;
        }
    };
    let emptied = match sqlx::query(busy(EMPTY_LOG_WAIT))
        .execute(&mut *connection)
        .await
    {
        Ok(_) => sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *connection)
            .await
            // One row: busy (1 when it could not finish), pages in the log, pages copied.
            .map(|row| row.try_get::<i32, _>(0).is_ok_and(|busy| busy == 0)),
        Err(error) => Err(error),
    };
    if sqlx::query(busy(BUSY_TIMEOUT))
        .execute(&mut *connection)
        .await
        .is_err()
    {
        // A connection that would give up on locks that soon must not serve requests.
        connection.close_on_drop();
    }
    emptied.unwrap_or_else(|error| {
        tracing::debug!(%error, "emptying the log failed");
        false
    })
}

/// After an erasure has committed: on SQLite, has the background checkpointer empty the
/// write-ahead log file soon (within [`CHECKPOINT_EVERY`] when no reader holds it up), so that
/// the log keeps no copy of the pages as they were before the erasure — the database file itself
/// keeps none, its freed space being overwritten with zeros (`secure_delete`, [`connect`]).
/// Nothing on PostgreSQL, which keeps old row versions until their space is reused
/// (`docs/operations.md`, "The trash").
pub fn wipe_log_soon(db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Sqlite {
        let writes = write::writes_to(db);
        writes.erased.store(true, Ordering::Release);
        writes.committed.notify_one();
    }
}

/// The PostgreSQL advisory-lock key that serialises set-up (migrations, the first-start
/// bootstrap) between instances starting together.
const SETUP_LOCK: i64 = 0x0C12_5E70;

/// Inside a transaction: waits until no other instance is setting up the database. On
/// PostgreSQL it takes a transaction-scoped advisory lock; on SQLite the transaction's
/// `BEGIN IMMEDIATE` already excludes other writers.
pub async fn lock_for_setup(tx: &DatabaseTransaction) -> Result<(), DbErr> {
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [SETUP_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Brings the schema up to date, in one write transaction that holds the set-up lock: instances
/// starting together migrate one after the other, and a failed migration leaves nothing behind.
///
/// A database a newer version has migrated further (during a roll-out, or after a roll-back
/// of the binary) is used as it is when it has every migration this version knows: migrations
/// are backward compatible (`docs/operations.md`). One that also lacks some of them is refused.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    write(db, |tx| async move {
        lock_for_setup(&tx).await?;
        let applied: Vec<String> = migration::Migrator::get_migration_models(&*tx)
            .await?
            .into_iter()
            .map(|model| model.version)
            .collect();
        let known: Vec<String> = migration::Migrator::migrations()
            .iter()
            .map(|migration| migration.name().to_owned())
            .collect();
        let newer: Vec<&str> = applied
            .iter()
            .filter(|version| !known.contains(version))
            .map(String::as_str)
            .collect();
        if newer.is_empty() {
            return migration::Migrator::up(&*tx, None).await;
        }
        let missing: Vec<&str> = known
            .iter()
            .filter(|version| !applied.contains(version))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(DbErr::Custom(format!(
                "the database has migrations this version does not know ({}) but lacks some \
                 it does ({}): it is not a version of this service's schema",
                newer.join(", "),
                missing.join(", ")
            )));
        }
        tracing::info!(
            newer = %newer.join(", "),
            "the database was migrated by a newer version; using it as it is"
        );
        Ok(())
    })
    .await
}

/// Begins a transaction with `options` that a caller dropped half-way (a request abandoned at
/// its timeout) cannot leave half-begun. The driver counts a transaction as begun only once the
/// database has answered its `BEGIN`: a caller dropped in between would hand the connection
/// back to the pool inside a transaction nobody ends, and the next request on that connection —
/// a one-statement delete, say — would run in it and never be committed. So the `BEGIN` runs in
/// a task of its own, which a dropped caller does not stop; the transaction it began is then
/// dropped there, and rolled back as any dropped transaction is.
pub async fn begin(
    db: &DatabaseConnection,
    options: TransactionOptions,
) -> Result<DatabaseTransaction, DbErr> {
    let db = db.clone();
    in_a_task_of_its_own(
        "beginning",
        async move { db.begin_with_options(options).await },
    )
    .await
}

/// Runs `step` of a transaction (`what`: "beginning", "committing", …) in a task of its own,
/// which a dropped caller does not stop, and returns its outcome: a transaction's `BEGIN`,
/// `COMMIT` or `ROLLBACK`, which the driver counts as done only once the database has answered.
pub(crate) async fn in_a_task_of_its_own<T: Send + 'static>(
    what: &str,
    step: impl Future<Output = Result<T, DbErr>> + Send + 'static,
) -> Result<T, DbErr> {
    tokio::spawn(step)
        .await
        .map_err(|error| DbErr::Custom(format!("{what} a transaction failed: {error}")))?
}

/// The service's tables (those of [`entities`]).
fn tables() -> [&'static str; 15] {
    use entities::*;
    use sea_orm::EntityName;
    [
        user::Entity.table_name(),
        api_key::Entity.table_name(),
        list_item::Entity.table_name(),
        currency::Entity.table_name(),
        contact::Entity.table_name(),
        contact_info::Entity.table_name(),
        custom_field::Entity.table_name(),
        custom_field_value::Entity.table_name(),
        tag::Entity.table_name(),
        contact_tag::Entity.table_name(),
        task::Entity.table_name(),
        contact_access::Entity.table_name(),
        audit_event::Entity.table_name(),
        setting::Entity.table_name(),
        contact_trash::Entity.table_name(),
    ]
}

/// Commits `tx` in a task of its own, for a transaction whose commit a dropped caller may cut
/// off (a read's: a write's commit is awaited, [`crate::deadline::committing`]). The driver
/// counts a transaction as ended only once the database has answered: a caller dropped in
/// between would leave it to send a second `ROLLBACK` for a transaction already ended.
pub async fn commit(tx: DatabaseTransaction) -> Result<(), DbErr> {
    in_a_task_of_its_own("committing", tx.commit()).await
}

/// Whether the database can serve now: it says, within `within` (the acquire timeout), that it
/// has every table of the service. A database that hangs instead of refusing is down, and so
/// is one that answers without the service's tables (emptied, or replaced by an empty one,
/// under the running server). The question reads the catalog and takes no lock on the tables,
/// so a lock held on one (a migration, `VACUUM FULL`) does not make the check wait.
pub async fn ping(db: &DatabaseConnection, within: Duration) -> bool {
    let backend = db.get_database_backend();
    let names = tables();
    let list = names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT CAST(COUNT(*) AS integer) AS n FROM unnest(ARRAY[{list}]) AS t(name) \
             WHERE to_regclass(t.name) IS NOT NULL"
        ),
        _ => format!(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ({list})"
        ),
    };
    let asked = db.query_one_raw(Statement::from_string(backend, sql));
    match tokio::time::timeout(within, asked).await {
        Ok(Ok(Some(row))) => row
            .try_get::<i32>("", "n")
            .is_ok_and(|n| usize::try_from(n) == Ok(names.len())),
        _ => false,
    }
}

/// How long a process that starts on a SQLite file another process is setting up waits between
/// tries (see [`connect_and_migrate`]).
const SETUP_RETRY_PAUSE: Duration = Duration::from_millis(25);

/// Opens the pool and runs the migrations.
///
/// SQLite: processes that start together on a new file race to make it (the switch to
/// write-ahead logging takes the file whole, and SQLite answers a connection that meets it
/// half-way "database is locked" at once, without its busy timeout). A process that meets
/// another's set-up tries again, for up to the connect timeout, before it gives up.
pub async fn connect_and_migrate(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let deadline = tokio::time::Instant::now() + config.connect_timeout;
    loop {
        let error = match connect(config).await {
            Ok(db) => match migrate(&db).await {
                Ok(()) => return Ok(db),
                Err(error) => {
                    let _ = db.close().await;
                    error
                }
            },
            Err(error) => error,
        };
        if !(is_sqlite(&config.url)
            && failure::sqlite_locked(&error)
            && tokio::time::Instant::now() + SETUP_RETRY_PAUSE < deadline)
        {
            return Err(error);
        }
        tracing::debug!(%error, "another process is setting up the database; trying again");
        tokio::time::sleep(SETUP_RETRY_PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_postgres_parameters_are_named() {
        assert_eq!(
            super::unknown_postgres_parameters(
                "postgres://crm@db/crm?sslmode=require&PASSWORD=S3cret&options[search_path]=a\
                 &options=-c%20x%3D1&sslmod=disable&application_name=crm"
            ),
            [Some("PASSWORD".to_owned()), Some("sslmod".to_owned())]
        );
        // The tail of a password with an unencoded `?`: not named.
        for url in [
            "postgres://crm:12?MySecretTail@db:1/crm",
            "postgres://crm:12?a=b@db/crm",
        ] {
            assert_eq!(super::unknown_postgres_parameters(url), [None], "{url}");
        }
        assert!(super::unknown_postgres_parameters("postgres://crm@db/crm").is_empty());
    }
}
