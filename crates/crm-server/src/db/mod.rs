//! The database: connection (SQLite or PostgreSQL, chosen by the URL), migrations, entities.

pub mod entities;
pub mod migration;

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement, TransactionTrait,
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

/// Whether a URL names a SQLite database.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Opens the pool. SQLite files are created when missing and every SQLite connection runs with
/// foreign keys enforced, WAL journaling and a busy timeout.
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
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
                .busy_timeout(Duration::from_secs(5))
        });
    Database::connect(options).await
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

/// Brings the schema up to date, in one transaction that holds the set-up lock: instances
/// starting together migrate one after the other, and a failed migration leaves nothing behind.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let tx = db
        .begin_with_options(crate::contacts::write_transaction())
        .await?;
    lock_for_setup(&tx).await?;
    migration::Migrator::up(&tx, None).await?;
    tx.commit().await
}

/// Whether the database answers a trivial query now.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Opens the pool and runs the migrations.
pub async fn connect_and_migrate(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let db = connect(config).await?;
    migrate(&db).await?;
    Ok(db)
}
