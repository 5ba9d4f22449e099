//! Database migrations: append-only, timestamped, each with `up` and `down`. They run at
//! start-up (`crate::db::connect_and_migrate`).

use sea_orm_migration::prelude::*;

mod m20261128_000001_schema;
mod m20261128_000002_reference_data;
mod m20261128_000003_settings;
mod m20261201_000004_unique_titles;
mod m20261201_000005_trash;
mod m20261201_000006_delete_function;
mod m20261201_000007_delete_in_one_statement;
mod m20261201_000008_delete_without_aggregates;

/// Every migration of the schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_schema::Migration),
            Box::new(m20261128_000002_reference_data::Migration),
            Box::new(m20261128_000003_settings::Migration),
            Box::new(m20261201_000004_unique_titles::Migration),
            Box::new(m20261201_000005_trash::Migration),
            Box::new(m20261201_000006_delete_function::Migration),
            Box::new(m20261201_000007_delete_in_one_statement::Migration),
            Box::new(m20261201_000008_delete_without_aggregates::Migration),
        ]
    }
}
