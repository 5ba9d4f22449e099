//! The trash: what a delete keeps so that the contact can be restored (`crate::contacts::trash`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContactTrash {
    Table,
    ContactId,
    DisplayName,
    IsCompany,
    DeletedBy,
    DeletedAt,
    ExpiresAt,
    Payload,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContactTrash::Table)
                    // The deleted contact's ID: no foreign key, the contact is gone.
                    .col(integer(ContactTrash::ContactId).primary_key())
                    .col(string(ContactTrash::DisplayName))
                    .col(boolean(ContactTrash::IsCompany))
                    .col(uuid_null(ContactTrash::DeletedBy))
                    .col(timestamp_with_time_zone(ContactTrash::DeletedAt))
                    .col(timestamp_with_time_zone(ContactTrash::ExpiresAt))
                    // The contact row and every child row, as JSON.
                    .col(text(ContactTrash::Payload))
                    .take(),
            )
            .await?;
        for (name, column) in [
            ("ix_contact_trash_expires", ContactTrash::ExpiresAt),
            ("ix_contact_trash_deleted", ContactTrash::DeletedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ContactTrash::Table)
                        .col(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContactTrash::Table).take())
            .await
    }
}
