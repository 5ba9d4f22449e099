//! One title per list of contact statuses and of contact types, enforced by the database.
//!
//! Adds `list_items.title_key` (the title trimmed and lower-cased, `list_item::title_key`) and a
//! unique index on `(kind, title_key)`. Titles stored twice before this migration (concurrent
//! creates could store them) are merged first: the oldest item (lowest ID) of each title stays,
//! the contacts that pointed at the others are re-pointed at it, and the others are deleted.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::db::entities::list_item::{TITLE_INDEX, title_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ListItems {
    Table,
    Kind,
    TitleKey,
}

#[derive(Debug, FromQueryResult)]
struct Item {
    id: i32,
    kind: i16,
    title: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ListItems::Table)
                    .add_column(string(ListItems::TitleKey).default(""))
                    .take(),
            )
            .await?;

        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let items = Item::find_by_statement(Statement::from_string(
            backend,
            "SELECT id, kind, title FROM list_items ORDER BY id",
        ))
        .all(db)
        .await?;
        let mut kept: HashMap<(i16, String), i32> = HashMap::new();
        for item in items {
            let key = title_key(&item.title);
            let Some(&keeper) = kept.get(&(item.kind, key.clone())) else {
                kept.insert((item.kind, key.clone()), item.id);
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    "UPDATE list_items SET title_key = $1 WHERE id = $2",
                    [key.into(), item.id.into()],
                ))
                .await?;
                continue;
            };
            // A duplicate: its contacts go to the item that stays, then it goes.
            for column in ["status_id", "type_id"] {
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!("UPDATE contacts SET {column} = $1 WHERE {column} = $2"),
                    [keeper.into(), item.id.into()],
                ))
                .await?;
            }
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "DELETE FROM list_items WHERE id = $1",
                [item.id.into()],
            ))
            .await?;
        }

        manager
            .create_index(
                Index::create()
                    .name(TITLE_INDEX)
                    .table(ListItems::Table)
                    .col(ListItems::Kind)
                    .col(ListItems::TitleKey)
                    .unique()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(TITLE_INDEX)
                    .table(ListItems::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ListItems::Table)
                    .drop_column(ListItems::TitleKey)
                    .take(),
            )
            .await
    }
}
