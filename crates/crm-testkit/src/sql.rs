//! Counting rows with plain SQL, the same on both backends.

use sea_orm::{DatabaseConnection, FromQueryResult, Statement};

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

/// The `n` of a `SELECT COUNT(*) AS n …`. Panics when the query fails (a test kit).
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    Count::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"))
        .n
}

/// Rows that point at a contact (or company) that does not exist, over every child table.
pub async fn orphans(db: &DatabaseConnection) -> i64 {
    let mut total = 0;
    for (table, column) in [
        ("contact_infos", "contact_id"),
        ("custom_field_values", "contact_id"),
        ("contact_tags", "contact_id"),
        ("tasks", "contact_id"),
        ("contact_access", "contact_id"),
        ("contacts", "company_id"),
    ] {
        total += count(
            db,
            &format!(
                "SELECT COUNT(*) AS n FROM {table} x WHERE x.{column} IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = x.{column})"
            ),
        )
        .await;
    }
    total
}
