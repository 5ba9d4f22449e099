//! PostgreSQL: a pool of connections for each HTTP worker.
//!
//! actix-web runs each HTTP worker on a single-threaded runtime of its own, and tokio polls a
//! socket from the runtime that opened it. A pool shared by the workers lends a worker
//! connections that another worker, or the start-up runtime, opened: every answer from
//! PostgreSQL on such a connection wakes that other thread first, which then wakes the worker —
//! two threads woken per round trip instead of one, on a machine where a wake-up costs more than
//! the HTTP layer's own work (`docs/benchmarks.md`). So each worker gets a pool of its own,
//! with its share of `--db-max-connections`, whose connections it opens itself, on first use.
//!
//! The workers share one pool (the one the server was built with) on SQLite, whose connections
//! are threads of the driver; when a worker's share would be under [`MIN_SHARE`] connections (a
//! request that holds one for long, waiting for a lock, would hold up its worker's others while
//! connections of other workers sit idle); and when the caller asks for it
//! (`startup::Config::pool_per_worker`).

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU32, Ordering},
};

use sea_orm::{
    DatabaseConnection, DatabaseConnectionType, SqlxPostgresConnector, sqlx::postgres::PgPool,
};

/// The fewest connections a worker's own pool has: with fewer, the workers share one pool.
pub const MIN_SHARE: u32 = 4;

/// The pools in use, each with the worker it is lent to (`None`: all of them).
type Opened = Arc<Mutex<Vec<(Option<u32>, DatabaseConnection)>>>;

/// The pools the HTTP workers use; cloned into every worker.
#[derive(Debug, Clone)]
pub struct WorkerPools {
    /// The pool the server was built with, which the workers share when `split` is `None`.
    built_with: DatabaseConnection,
    /// `None`: the workers share `built_with`.
    split: Option<Split>,
    /// The pools in use, for the metrics.
    opened: Opened,
}

/// A worker's own pool, kept in its state: when the worker's state goes (the worker stopped,
/// or was replaced after a fault), its pool leaves [`WorkerPools::all`], and with its last
/// handle the pool's idle connections close.
#[derive(Debug)]
pub struct Lease {
    worker: u32,
    opened: Opened,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(worker, _)| *worker != Some(self.worker));
    }
}

/// How `--db-max-connections` is shared among the workers.
#[derive(Debug, Clone)]
struct Split {
    /// The sqlx pool of the pool the server was built with, whose options the workers' copy.
    template: PgPool,
    /// Connections each worker gets…
    each: u32,
    /// …and one more for this many of them.
    one_more: u32,
    /// The workers served so far.
    served: Arc<AtomicU32>,
}

impl WorkerPools {
    /// The pools of `workers` HTTP workers over `db`, whose pool opens at most `max_connections`:
    /// one per worker when `per_worker` and `db` is PostgreSQL's and each worker's share is at
    /// least [`MIN_SHARE`].
    pub fn new(
        db: DatabaseConnection,
        workers: usize,
        max_connections: u32,
        per_worker: bool,
    ) -> Self {
        let workers = u32::try_from(workers).unwrap_or(u32::MAX).max(1);
        let split = postgres(&db)
            .filter(|_| per_worker && max_connections / workers >= MIN_SHARE)
            .map(|template| Split {
                template: template.clone(),
                each: max_connections / workers,
                one_more: max_connections % workers,
                served: Arc::default(),
            });
        let opened = if split.is_some() {
            vec![]
        } else {
            vec![(None, db.clone())]
        };
        Self {
            built_with: db,
            split,
            opened: Arc::new(Mutex::new(opened)),
        }
    }

    /// The pool of the worker calling, and its lease when it is the worker's own (keep it as
    /// long as the pool is used): once per worker, from inside its runtime (a worker's pool
    /// starts the pool's upkeep task on it). Connections open on first use.
    pub fn for_this_worker(&self) -> (DatabaseConnection, Option<Arc<Lease>>) {
        let Some(split) = &self.split else {
            return (self.built_with.clone(), None);
        };
        let worker = split.served.fetch_add(1, Ordering::Relaxed);
        // A worker started in place of one that failed gets the smaller share, and the failed
        // one's pool has left with its lease: the total stays within bounds.
        let share = split.each + u32::from(worker < split.one_more);
        let db = lazy(&split.template, share);
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Some(worker), db.clone()));
        let lease = Lease {
            worker,
            opened: self.opened.clone(),
        };
        (db, Some(Arc::new(lease)))
    }

    /// A pool of one connection for the server's housekeeping (the trash's purge), opened on
    /// first use; the pool the server was built with when the workers share it.
    pub fn for_housekeeping(&self) -> DatabaseConnection {
        match &self.split {
            Some(split) => lazy(&split.template, 1),
            None => self.built_with.clone(),
        }
    }

    /// Every pool the workers use.
    pub fn all(&self) -> Vec<DatabaseConnection> {
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, db)| db.clone())
            .collect()
    }

    /// Whether each worker has a pool of its own.
    pub fn per_worker(&self) -> bool {
        self.split.is_some()
    }
}

/// The sqlx pool behind `db`, when it is PostgreSQL's.
fn postgres(db: &DatabaseConnection) -> Option<&PgPool> {
    matches!(
        db.inner,
        DatabaseConnectionType::SqlxPostgresPoolConnection(_)
    )
    .then(|| db.get_postgres_connection_pool())
}

/// A pool with `pool`'s options and at most `max` connections, which it opens on first use.
fn lazy(pool: &PgPool, max: u32) -> DatabaseConnection {
    let lazy = pool
        .options()
        .clone()
        .max_connections(max)
        .min_connections(0)
        .connect_lazy_with(pool.connect_options().as_ref().clone());
    SqlxPostgresConnector::from_sqlx_postgres_pool(lazy)
}

#[cfg(test)]
mod tests {
    use sea_orm::sqlx::postgres::PgPoolOptions;

    use super::*;

    /// A PostgreSQL pool of at most `max` connections that opens none (nothing listens there).
    fn unopened(max: u32) -> DatabaseConnection {
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("a lazy pool");
        SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
    }

    fn max(db: &DatabaseConnection) -> u32 {
        db.get_postgres_connection_pool()
            .options()
            .get_max_connections()
    }

    #[tokio::test]
    async fn each_worker_gets_its_share_of_the_connections() {
        let pools = WorkerPools::new(unopened(9), 2, 9, true);
        assert!(pools.per_worker());
        assert!(pools.all().is_empty(), "no worker has started");
        let ((first, first_lease), (second, _second_lease)) =
            (pools.for_this_worker(), pools.for_this_worker());
        assert_eq!((max(&first), max(&second)), (5, 4));
        let all = pools.all();
        assert_eq!(all.iter().map(max).sum::<u32>(), 9);
        // Pools of their own: a connection of one is never lent by another.
        assert!(!std::ptr::eq(
            first.get_postgres_connection_pool().options(),
            second.get_postgres_connection_pool().options()
        ));
        assert_eq!(max(&pools.for_housekeeping()), 1);
        // A worker that fails takes its pool with it; the one started in its place gets the
        // smaller share.
        drop(first_lease);
        assert_eq!(pools.all().iter().map(max).collect::<Vec<_>>(), [4]);
        let (third, _third_lease) = pools.for_this_worker();
        assert_eq!(max(&third), 4);
        assert_eq!(pools.all().iter().map(max).sum::<u32>(), 8);
    }

    #[tokio::test]
    async fn the_workers_share_one_pool_when_there_are_too_few_connections_or_when_asked() {
        for pools in [
            WorkerPools::new(unopened(1), 2, 1, true),
            WorkerPools::new(unopened(7), 2, 7, true),
            WorkerPools::new(unopened(8), 2, 8, false),
        ] {
            assert!(!pools.per_worker());
            assert_eq!(pools.all().len(), 1);
            let ((worker, lease), housekeeping) =
                (pools.for_this_worker(), pools.for_housekeeping());
            assert!(lease.is_none());
            let shared = pools.all().remove(0);
            for db in [worker, housekeeping] {
                assert!(std::ptr::eq(
                    db.get_postgres_connection_pool().options(),
                    shared.get_postgres_connection_pool().options()
                ));
            }
        }
        let sqlite = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite database");
        let pools = WorkerPools::new(sqlite, 2, 8, true);
        assert!(!pools.per_worker());
        assert_eq!(pools.all().len(), 1);
    }
}
