//! The one write path: [`write`] runs a unit of work in a write transaction, commits it when the
//! work succeeds, and on failure rolls it back — awaiting the rollback — before anyone else may
//! write. A serialization failure or deadlock is retried, a bounded number of times.
//!
//! Every write of the service goes through here (API requests, the command line, the first-start
//! bootstrap, migrations); nothing else opens a write transaction. A write that is one statement
//! on PostgreSQL (the delete's function) runs through [`write_statement`], without a transaction
//! of its own, under the same retries.

use std::{
    collections::HashMap,
    ops::Deref,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex, Weak, atomic::AtomicBool},
    time::Duration,
};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions,
};
use tokio::sync::{Mutex as AsyncMutex, Notify, OwnedMutexGuard};

use super::failure::{Failure, classify};

/// How many times [`write`] runs a unit of work, in all, while it meets serialization failures
/// or deadlocks; after the last, the failure is returned (an API request answers 503).
pub const WRITE_ATTEMPTS: u32 = 4;

/// The pause before the second attempt; each later attempt waits this much longer again.
const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// An error a unit of work may fail with: it can carry a database error, and tells whether it is
/// one that a new attempt may not meet (a serialization failure or a deadlock).
pub trait WriteError: From<DbErr> {
    /// Whether trying the whole unit of work again may succeed.
    fn is_retryable(&self) -> bool;
}

impl WriteError for DbErr {
    fn is_retryable(&self) -> bool {
        matches!(classify(self), Failure::Retryable)
    }
}

impl WriteError for anyhow::Error {
    fn is_retryable(&self) -> bool {
        self.downcast_ref::<DbErr>()
            .is_some_and(WriteError::is_retryable)
    }
}

/// Options of a transaction that writes: on SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so a transaction never has to upgrade a read lock and two writers in
/// different processes queue on the busy timeout instead of failing.
fn write_transaction() -> TransactionOptions {
    TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    }
}

/// The transaction a unit of work of [`write`] writes through; it dereferences to sea-orm's
/// `DatabaseTransaction`. The unit of work gets it by value (so its future borrows nothing from
/// [`write`] and is `Send` when what it captures is) and must not keep it: [`write`] commits or
/// rolls back once the work's future is done.
#[derive(Clone)]
pub struct Tx(Arc<DatabaseTransaction>);

impl Deref for Tx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.0
    }
}

/// Runs `work` in a write transaction and commits it when `work` returns `Ok`:
/// `db::write(db, |tx| async move { … &tx … }).await`.
///
/// - On `Err`, the transaction is rolled back, and the rollback awaited, before the turn to
///   write is given up: the next writer never meets a half-finished transaction.
/// - When the work (or the commit) fails with a serialization failure or a deadlock, the whole
///   unit of work runs again in a new transaction, [`WRITE_ATTEMPTS`] times in all; `work` must
///   therefore be safe to run again (it is a closure over what the request asked for).
/// - On SQLite the writers of this process take turns on the file (so a transaction never holds
///   a pooled connection while it waits for another writer), then `BEGIN IMMEDIATE`; on
///   PostgreSQL a plain `BEGIN` (READ COMMITTED).
/// - Should the caller's future be dropped half-way (a request timeout), the rollback is still
///   finished before the turn is given up, in a task of its own. Once the commit is sent the
///   request is not abandoned any more ([`crate::deadline::committing`]): it waits for the
///   commit's answer.
pub async fn write<T, E, F, Fut>(db: &DatabaseConnection, mut work: F) -> Result<T, E>
where
    E: WriteError,
    F: FnMut(Tx) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        let tx = WriteTransaction::begin(db).await?;
        let outcome = match work(tx.handle()).await {
            Ok(value) => tx.commit().await.map(|()| value).map_err(E::from),
            Err(error) => {
                tx.rollback().await;
                Err(error)
            }
        };
        match outcome {
            Err(error) if another_attempt(&error, &mut attempt).await => {}
            outcome => return outcome,
        }
    }
}

/// Runs `work`, a write that is a single statement, on PostgreSQL without opening a
/// transaction: the statement commits on its own (autocommit), one round trip to the database
/// instead of three. A serialization failure or a deadlock is retried as by [`write`]. On
/// SQLite, whose writers take turns through [`write`], it fails without running `work`.
///
/// Such a statement cannot be rolled back once sent: `work` must call
/// [`crate::deadline::sending_final_statement`] right before it sends it.
pub async fn write_statement<T, E, F, Fut>(db: &DatabaseConnection, mut work: F) -> Result<T, E>
where
    E: WriteError,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if db.get_database_backend() != DbBackend::Postgres {
        return Err(E::from(DbErr::Custom(
            "a write outside a transaction is only for PostgreSQL".to_owned(),
        )));
    }
    let mut attempt = 1;
    loop {
        match work().await {
            Err(error) if another_attempt(&error, &mut attempt).await => {}
            outcome => return outcome,
        }
    }
}

/// Whether a write that failed with `error` on its attempt number `attempt` runs again: when a
/// new attempt may succeed, fewer than [`WRITE_ATTEMPTS`] ran and the request (if it runs in one)
/// is not past its deadline — a request that awaited its commit past the deadline is not
/// abandoned any more, so it must not start over. Pauses first, longer each time.
async fn another_attempt<E: WriteError>(error: &E, attempt: &mut u32) -> bool {
    if *attempt >= WRITE_ATTEMPTS || !error.is_retryable() || crate::deadline::passed() {
        return false;
    }
    tracing::debug!(attempt, "a write met a serialization failure or a deadlock");
    tokio::time::sleep(RETRY_PAUSE * *attempt).await;
    *attempt += 1;
    true
}

/// A transaction that writes. On SQLite it also holds this process's turn to write to the file,
/// and tells the background checkpointer when it commits.
struct WriteTransaction {
    /// `None` once committed or rolled back.
    tx: Option<Arc<DatabaseTransaction>>,
    /// On SQLite: the file's writes, and the turn to write (held until the transaction ends).
    sqlite: Option<(Arc<Writes>, OwnedMutexGuard<()>)>,
}

impl WriteTransaction {
    /// Waits for the turn to write (SQLite), then begins.
    async fn begin(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let sqlite = if db.get_database_backend() == DbBackend::Sqlite {
            let writes = writes_to(db);
            let turn = writes.take_turn().await;
            Some((writes, turn))
        } else {
            None
        };
        let tx = super::begin(db, write_transaction()).await?;
        if db.get_database_backend() == DbBackend::Postgres
            && let Some(left) = crate::deadline::time_left()
        {
            // Each lock wait is bounded by the time left now (PostgreSQL then fails the
            // statement, and the request answers 503 `request_timeout`): a wait that begins
            // with the transaction ends by the request's deadline, a later one at most one
            // request timeout after it. Without it, a request abandoned at its deadline would
            // keep waiting — its rollback queued behind the statement, its connection and
            // locks held (the trash's turn, shared by every instance) — until whatever holds
            // the lock lets go.
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('lock_timeout', $1, true)",
                [format!("{}ms", left.as_millis().clamp(1, i32::MAX as u128)).into()],
            ))
            .await?;
        }
        Ok(Self {
            tx: Some(Arc::new(tx)),
            sqlite,
        })
    }

    /// The handle the unit of work gets.
    fn handle(&self) -> Tx {
        Tx(self
            .tx
            .clone()
            .unwrap_or_else(|| unreachable!("a write transaction is used only while it is open")))
    }

    /// The transaction, once the unit of work has let go of it; `None` once committed or
    /// rolled back, or while the work still holds a handle (a bug: it is then rolled back when
    /// the last handle goes).
    fn take(&mut self) -> Option<DatabaseTransaction> {
        Arc::try_unwrap(self.tx.take()?).ok()
    }

    /// Commits, then gives up the turn to write.
    async fn commit(mut self) -> Result<(), DbErr> {
        let Some(tx) = self.take() else {
            return Err(DbErr::Custom(
                "a unit of work kept its transaction; it was not committed".to_owned(),
            ));
        };
        // Once sent, a commit may take effect whatever happens to the request: it is awaited.
        crate::deadline::committing();
        tx.commit().await?;
        if let Some((writes, _)) = &self.sqlite {
            writes.committed.notify_one();
        }
        Ok(())
    }

    /// Rolls back, then gives up the turn to write, in a task of its own: a request abandoned
    /// meanwhile neither gives up the turn before the rollback is done nor leaves the driver
    /// counting a transaction the database has ended (it would send a second `ROLLBACK`). A
    /// rollback that fails (the connection broke) is logged: the database discards the
    /// transaction with the connection.
    async fn rollback(mut self) {
        let Some(tx) = self.take() else { return };
        let turn = self.sqlite.take();
        let rolled_back = super::in_a_task_of_its_own("rolling back", async move {
            let outcome = tx.rollback().await;
            drop(turn);
            outcome
        });
        if let Err(error) = rolled_back.await {
            tracing::warn!(%error, "a rollback failed");
        }
    }
}

impl Drop for WriteTransaction {
    /// Dropped while open (the caller's future was dropped): roll back in a task that holds the
    /// turn to write until the rollback is done.
    fn drop(&mut self) {
        let Some(tx) = self.take() else { return };
        let turn = self.sqlite.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tx.rollback().await.ok();
                drop(turn);
            });
        }
    }
}

/// What this process knows about writes to one SQLite file.
#[derive(Default)]
pub(super) struct Writes {
    /// Whose turn it is to write: writers queue here in order instead of polling SQLite's lock
    /// (its busy handler sleeps up to 100 ms between tries, which makes a queue of writers
    /// slow and unfair).
    turn: Arc<AsyncMutex<()>>,
    /// Woken on each commit, for the background checkpointer.
    pub(super) committed: Notify,
    /// Set when an erasure has committed: the background checkpointer's next checkpoint also
    /// empties the log file (`super::wipe_log_soon`).
    pub(super) erased: AtomicBool,
}

impl Writes {
    /// Waits for the turn to write, and holds it until the guard is dropped.
    pub(super) async fn take_turn(&self) -> OwnedMutexGuard<()> {
        self.turn.clone().lock_owned().await
    }
}

/// The SQLite files this process writes to, by path.
static WRITES: LazyLock<Mutex<HashMap<PathBuf, Weak<Writes>>>> = LazyLock::new(Default::default);

/// The writes of the SQLite file behind `db`, shared by every pool of this process on that file.
pub(super) fn writes_to(db: &DatabaseConnection) -> Arc<Writes> {
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut files = WRITES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(writes) = files.get(&file).and_then(Weak::upgrade) {
        return writes;
    }
    files.retain(|_, writes| writes.strong_count() > 0);
    let writes = Arc::new(Writes::default());
    files.insert(file, Arc::downgrade(&writes));
    writes
}
