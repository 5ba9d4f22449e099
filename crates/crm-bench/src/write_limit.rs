//! The write limit: the cheapest write transaction the database can do, measured in the same run
//! as the delete so that the database ceiling can be read against the machine's own limit — one
//! statement, a 1-row `UPDATE` by primary key, prepared (sqlx prepares each statement once per
//! connection and caches it; values make sea-orm use the extended protocol), autocommit, on a
//! pool configured like the database ceiling's, against a table of the benchmark's own,
//! [`TABLE`], with as many rows as there are contacts. Each request updates a row picked at
//! random, so that workers do not queue on one row.
//!
//! On SQLite the writers of this process take turns first (a fair lock, as the server's write
//! path does), so they do not poll SQLite's lock through the busy handler.

use std::sync::Arc;

use anyhow::Context;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::OpFuture;

/// The benchmark's own table: `id` (the primary key), `n` (what each request increments).
pub const TABLE: &str = "bench_write";

/// Creates [`TABLE`] with `rows` rows, IDs 1 to `rows` (not timed).
pub async fn create(db: &DatabaseConnection, rows: usize) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    db.execute_unprepared(&format!(
        "CREATE TABLE {TABLE} (id integer PRIMARY KEY, n bigint NOT NULL)"
    ))
    .await
    .with_context(|| format!("cannot create the table {TABLE}"))?;
    let fill = match backend {
        DbBackend::Postgres => {
            format!("INSERT INTO {TABLE} (id, n) SELECT g, 0 FROM generate_series(1, {rows}) AS g")
        }
        _ => format!(
            "INSERT INTO {TABLE} (id, n) WITH RECURSIVE s(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) SELECT i, 0 FROM s"
        ),
    };
    db.execute_unprepared(&fill)
        .await
        .with_context(|| format!("cannot fill the table {TABLE}"))?;
    Ok(())
}

/// `count` row IDs of [`TABLE`] (of `rows`), at random, the same for the same `seed`.
pub fn row_ids(rows: usize, count: usize, seed: u64) -> Vec<i32> {
    let last = i32::try_from(rows.max(1)).unwrap_or(i32::MAX);
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(|_| rng.random_range(1..=last)).collect()
}

/// The write-limit operation: `UPDATE bench_write SET n = n + 1 WHERE id = $1`, autocommit;
/// an `Err` when it fails or finds no row.
pub fn update(db: &DatabaseConnection) -> impl Fn(i32) -> OpFuture + Clone + Send + Sync + 'static {
    let db = db.clone();
    let backend = db.get_database_backend();
    let sql: Arc<str> = match backend {
        DbBackend::Postgres => format!("UPDATE {TABLE} SET n = n + 1 WHERE id = $1"),
        _ => format!("UPDATE {TABLE} SET n = n + 1 WHERE id = ?"),
    }
    .into();
    // SQLite: one writer at a time in this process, first come first served.
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    move |id| {
        let (db, sql, turn) = (db.clone(), sql.clone(), turn.clone());
        Box::pin(async move {
            let statement = Statement::from_sql_and_values(backend, &*sql, [id.into()]);
            let result = if backend == DbBackend::Sqlite {
                let _turn = turn.lock().await;
                db.execute_raw(statement).await
            } else {
                db.execute_raw(statement).await
            };
            match result {
                Ok(done) if done.rows_affected() == 1 => Ok(()),
                Ok(done) => Err(format!(
                    "write limit: the update of row {id} changed {} rows",
                    done.rows_affected()
                )),
                Err(error) => Err(format!("write limit: the update of row {id}: {error}")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_stay_in_the_table_and_repeat_by_seed() {
        let ids = row_ids(50, 1_000, 3);
        assert_eq!(ids.len(), 1_000);
        assert!(ids.iter().all(|id| (1..=50).contains(id)));
        assert_eq!(ids, row_ids(50, 1_000, 3));
        assert_ne!(ids, row_ids(50, 1_000, 4));
        // Spread over the table, not one row.
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert!(distinct.len() > 40);
    }

    #[tokio::test]
    async fn the_update_changes_one_row_and_fails_on_a_missing_one() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite:{}", dir.path().join("w.db").display());
        let db = crm_server::db::connect(&crm_server::db::DbConfig::new(url)).await?;
        create(&db, 10).await?;
        let op = update(&db);
        op(3).await.map_err(anyhow::Error::msg)?;
        op(3).await.map_err(anyhow::Error::msg)?;
        assert!(op(11).await.is_err());
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("SELECT SUM(n) AS total, COUNT(*) AS rows FROM {TABLE}"),
            ))
            .await?
            .context("no row")?;
        assert_eq!(row.try_get::<i64>("", "total")?, 2);
        assert_eq!(row.try_get::<i64>("", "rows")?, 10);
        db.close().await?;
        Ok(())
    }
}
