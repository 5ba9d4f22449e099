//! What a database error means, the same way on SQLite and PostgreSQL.

use sea_orm::{DbErr, RuntimeErr, sqlx};

/// The class of a database error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A unique index refused a row. The constraint is PostgreSQL's index name, or the columns
    /// SQLite names (`list_items.kind, list_items.title_key`).
    Unique(Option<String>),
    /// A foreign key refused a row: the row it refers to does not exist (any more). The
    /// constraint is PostgreSQL's name; SQLite names none.
    ForeignKey(Option<String>),
    /// A serialization failure or a deadlock: the same work may succeed when run again.
    Retryable,
    /// PostgreSQL gave up waiting for a lock (`lock_timeout`, which the one-statement delete
    /// sets to the time left before the request's deadline, `crate::deadline`): the statement
    /// did nothing.
    LockTimeout,
    /// The database cannot be reached right now (no connection could be had, the connection
    /// broke, the server is shutting down or refusing connections, SQLite stayed locked past the
    /// busy timeout).
    Unavailable,
    /// Anything else: a bug, or a failure nobody planned for.
    Other,
}

/// Whether `error` is the pool's "timed out while waiting for an open connection", which
/// hides why no connection opened.
pub fn pool_timed_out(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(sqlx)) => {
            matches!(sqlx.as_ref(), sqlx::Error::PoolTimedOut)
        }
        _ => false,
    }
}

/// Classifies a database error.
pub fn classify(error: &DbErr) -> Failure {
    let runtime = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return Failure::Unavailable,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return Failure::Other,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return Failure::Other;
    };
    let database = match sqlx.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => return Failure::Unavailable,
        sqlx::Error::Database(database) => database,
        _ => return Failure::Other,
    };
    match database.kind() {
        sqlx::error::ErrorKind::UniqueViolation => {
            return Failure::Unique(constraint(database.as_ref()));
        }
        sqlx::error::ErrorKind::ForeignKeyViolation => {
            return Failure::ForeignKey(constraint(database.as_ref()));
        }
        _ => {}
    }
    let Some(code) = database.code() else {
        return Failure::Other;
    };
    match code.as_ref() {
        // PostgreSQL: serialization_failure, deadlock_detected. SQLite: SQLITE_BUSY_SNAPSHOT
        // (a read transaction could not become a write transaction).
        "40001" | "40P01" | "517" => Failure::Retryable,
        // PostgreSQL: lock_not_available (the service never locks with NOWAIT).
        "55P03" => Failure::LockTimeout,
        // PostgreSQL: class 08 (connection exception), 57P01–57P03 (shutting down, cannot
        // connect now). SQLite: SQLITE_BUSY and SQLITE_LOCKED and their extended codes, past
        // the busy timeout.
        code if code.starts_with("08") => Failure::Unavailable,
        "57P01" | "57P02" | "57P03" | "5" | "6" | "261" | "262" | "773" => Failure::Unavailable,
        _ => Failure::Other,
    }
}

/// Whether a SQLite error says that another connection holds the file (`SQLITE_BUSY`,
/// `SQLITE_LOCKED` and their extended codes), wherever sea-orm put it — opening a connection
/// included, which [`classify`] counts as unavailable without looking further.
pub fn sqlite_locked(error: &DbErr) -> bool {
    let (DbErr::Conn(RuntimeErr::SqlxError(sqlx))
    | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx))) = error
    else {
        return false;
    };
    let sqlx::Error::Database(database) = sqlx.as_ref() else {
        return false;
    };
    database
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
        && database.code().is_some_and(|code| {
            code.parse::<i32>()
                .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
        })
}

/// The constraint a database error names: PostgreSQL's constraint name, or for SQLite the
/// columns after `UNIQUE constraint failed: `.
fn constraint(error: &dyn sqlx::error::DatabaseError) -> Option<String> {
    if let Some(name) = error.constraint() {
        return Some(name.to_owned());
    }
    error
        .message()
        .split_once("constraint failed: ")
        .map(|(_, columns)| columns.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, TransactionTrait};

    use super::*;

    /// A file another connection holds is "locked" however sea-orm reports it; other failures
    /// are not.
    #[tokio::test]
    async fn a_file_held_by_another_connection_is_sqlite_locked() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite:{}?mode=rwc", dir.path().join("held.db").display());
        let holder = Database::connect(&url).await.expect("connect");
        holder
            .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .await
            .expect("create");
        let mut options = ConnectOptions::new(url.clone());
        options
            .max_connections(1)
            .map_sqlx_sqlite_opts(|opts| opts.busy_timeout(std::time::Duration::ZERO));
        let other = Database::connect(options).await.expect("connect");

        let held = holder.begin().await.expect("begin");
        held.execute_unprepared("INSERT INTO t (id) VALUES (1)")
            .await
            .expect("insert");
        let error = other
            .execute_unprepared("INSERT INTO t (id) VALUES (2)")
            .await
            .expect_err("the file is held");
        assert!(sqlite_locked(&error), "{error:?}");
        held.commit().await.expect("commit");

        let error = other
            .execute_unprepared("INSERT INTO t (id) VALUES (1)")
            .await
            .expect_err("a duplicate");
        assert!(!sqlite_locked(&error), "{error:?}");
        assert!(!sqlite_locked(&DbErr::Conn(RuntimeErr::Internal(
            "database is locked".into()
        ))));
    }
}
