//! The initial schema. Every reference between rows is a foreign key whose `ON DELETE` rule makes
//! an orphan impossible: a contact's children cascade, a company's people keep living with the
//! link cleared, and every foreign key has an index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    DisplayName,
    Title,
    AvatarSmall,
    ProfileUrl,
    IsAdmin,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    Label,
    Prefix,
    KeyHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ListItems {
    Table,
    Id,
    Kind,
    Title,
    Description,
    Color,
    SortOrder,
}

#[derive(DeriveIden)]
enum Currencies {
    Table,
    Abbreviation,
    Title,
    Symbol,
    CultureName,
    IsConvertable,
    IsBasic,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    IsCompany,
    FirstName,
    LastName,
    CompanyName,
    JobTitle,
    CompanyId,
    About,
    Industry,
    StatusId,
    TypeId,
    Currency,
    ShareType,
    CreatedBy,
    CreatedAt,
    SmallPhotoUrl,
    MediumPhotoUrl,
}

#[derive(DeriveIden)]
enum ContactInfos {
    Table,
    Id,
    ContactId,
    InfoType,
    Category,
    Data,
    Street,
    City,
    State,
    Zip,
    Country,
    IsPrimary,
}

#[derive(DeriveIden)]
enum CustomFields {
    Table,
    Id,
    EntityType,
    Label,
    FieldType,
    Mask,
    Position,
}

#[derive(DeriveIden)]
enum CustomFieldValues {
    Table,
    ContactId,
    FieldId,
    Value,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    Title,
}

#[derive(DeriveIden)]
enum ContactTags {
    Table,
    ContactId,
    TagId,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    ContactId,
    Title,
    Deadline,
    IsClosed,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContactAccess {
    Table,
    ContactId,
    UserId,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    UserId,
    Action,
    ContactId,
    DisplayName,
}

/// A foreign key from `from_table.from_col` to `to_table.to_col` with an `ON DELETE` rule.
fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .take()
}

/// An index named `name` on `table(columns…)`.
fn index(name: &str, table: impl IntoIden, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string(Users::DisplayName))
                    .col(string(Users::Title).default(""))
                    .col(string(Users::AvatarSmall).default(""))
                    .col(string(Users::ProfileUrl).default(""))
                    .col(boolean(Users::IsAdmin).default(false))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_auto(ApiKeys::Id))
                    .col(uuid(ApiKeys::UserId))
                    .col(string(ApiKeys::Label).default(""))
                    .col(string(ApiKeys::Prefix))
                    .col(string(ApiKeys::KeyHash))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_keys_user",
                        (ApiKeys::Table, ApiKeys::UserId),
                        (Users::Table, Users::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ListItems::Table)
                    .col(pk_auto(ListItems::Id))
                    .col(small_integer(ListItems::Kind))
                    .col(string(ListItems::Title))
                    .col(string(ListItems::Description).default(""))
                    .col(string(ListItems::Color).default(""))
                    .col(integer(ListItems::SortOrder).default(0))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Currencies::Table)
                    .col(string_len(Currencies::Abbreviation, 3).primary_key())
                    .col(string(Currencies::Title))
                    .col(string(Currencies::Symbol))
                    .col(string(Currencies::CultureName))
                    .col(boolean(Currencies::IsConvertable))
                    .col(boolean(Currencies::IsBasic))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(pk_auto(Contacts::Id))
                    .col(boolean(Contacts::IsCompany))
                    .col(string(Contacts::FirstName).default(""))
                    .col(string(Contacts::LastName).default(""))
                    .col(string(Contacts::CompanyName).default(""))
                    .col(string(Contacts::JobTitle).default(""))
                    .col(integer_null(Contacts::CompanyId))
                    .col(text(Contacts::About).default(""))
                    .col(string(Contacts::Industry).default(""))
                    .col(integer_null(Contacts::StatusId))
                    .col(integer_null(Contacts::TypeId))
                    .col(string_len_null(Contacts::Currency, 3))
                    .col(small_integer(Contacts::ShareType))
                    .col(uuid(Contacts::CreatedBy))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .col(string_null(Contacts::SmallPhotoUrl))
                    .col(string_null(Contacts::MediumPhotoUrl))
                    .foreign_key(&mut fk(
                        "fk_contacts_company",
                        (Contacts::Table, Contacts::CompanyId),
                        (Contacts::Table, Contacts::Id),
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contacts_status",
                        (Contacts::Table, Contacts::StatusId),
                        (ListItems::Table, ListItems::Id),
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contacts_type",
                        (Contacts::Table, Contacts::TypeId),
                        (ListItems::Table, ListItems::Id),
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contacts_currency",
                        (Contacts::Table, Contacts::Currency),
                        (Currencies::Table, Currencies::Abbreviation),
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contacts_created_by",
                        (Contacts::Table, Contacts::CreatedBy),
                        (Users::Table, Users::Id),
                        Restrict,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactInfos::Table)
                    .col(pk_auto(ContactInfos::Id))
                    .col(integer(ContactInfos::ContactId))
                    .col(small_integer(ContactInfos::InfoType))
                    .col(small_integer(ContactInfos::Category))
                    .col(string(ContactInfos::Data).default(""))
                    .col(string(ContactInfos::Street).default(""))
                    .col(string(ContactInfos::City).default(""))
                    .col(string(ContactInfos::State).default(""))
                    .col(string(ContactInfos::Zip).default(""))
                    .col(string(ContactInfos::Country).default(""))
                    .col(boolean(ContactInfos::IsPrimary).default(false))
                    .foreign_key(&mut fk(
                        "fk_contact_infos_contact",
                        (ContactInfos::Table, ContactInfos::ContactId),
                        (Contacts::Table, Contacts::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomFields::Table)
                    .col(pk_auto(CustomFields::Id))
                    .col(small_integer(CustomFields::EntityType))
                    .col(string(CustomFields::Label))
                    .col(small_integer(CustomFields::FieldType))
                    .col(text(CustomFields::Mask).default(""))
                    .col(integer(CustomFields::Position).default(0))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomFieldValues::Table)
                    .col(integer(CustomFieldValues::ContactId))
                    .col(integer(CustomFieldValues::FieldId))
                    .col(text(CustomFieldValues::Value))
                    .primary_key(
                        Index::create()
                            .col(CustomFieldValues::ContactId)
                            .col(CustomFieldValues::FieldId),
                    )
                    .foreign_key(&mut fk(
                        "fk_custom_field_values_contact",
                        (CustomFieldValues::Table, CustomFieldValues::ContactId),
                        (Contacts::Table, Contacts::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_custom_field_values_field",
                        (CustomFieldValues::Table, CustomFieldValues::FieldId),
                        (CustomFields::Table, CustomFields::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(pk_auto(Tags::Id))
                    .col(string_uniq(Tags::Title))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactTags::Table)
                    .col(integer(ContactTags::ContactId))
                    .col(integer(ContactTags::TagId))
                    .primary_key(
                        Index::create()
                            .col(ContactTags::ContactId)
                            .col(ContactTags::TagId),
                    )
                    .foreign_key(&mut fk(
                        "fk_contact_tags_contact",
                        (ContactTags::Table, ContactTags::ContactId),
                        (Contacts::Table, Contacts::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contact_tags_tag",
                        (ContactTags::Table, ContactTags::TagId),
                        (Tags::Table, Tags::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(pk_auto(Tasks::Id))
                    .col(integer(Tasks::ContactId))
                    .col(string(Tasks::Title))
                    .col(timestamp_with_time_zone_null(Tasks::Deadline))
                    .col(boolean(Tasks::IsClosed).default(false))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_tasks_contact",
                        (Tasks::Table, Tasks::ContactId),
                        (Contacts::Table, Contacts::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactAccess::Table)
                    .col(integer(ContactAccess::ContactId))
                    .col(uuid(ContactAccess::UserId))
                    .primary_key(
                        Index::create()
                            .col(ContactAccess::ContactId)
                            .col(ContactAccess::UserId),
                    )
                    .foreign_key(&mut fk(
                        "fk_contact_access_contact",
                        (ContactAccess::Table, ContactAccess::ContactId),
                        (Contacts::Table, Contacts::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_contact_access_user",
                        (ContactAccess::Table, ContactAccess::UserId),
                        (Users::Table, Users::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_auto(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(uuid_null(AuditEvents::UserId))
                    .col(string(AuditEvents::Action))
                    .col(integer(AuditEvents::ContactId))
                    .col(string(AuditEvents::DisplayName))
                    .foreign_key(&mut fk(
                        "fk_audit_events_user",
                        (AuditEvents::Table, AuditEvents::UserId),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .take(),
            )
            .await?;

        // An index on every foreign key (the leading column of a composite primary key already
        // has one), plus the look-ups the service makes.
        for statement in [
            index("ix_api_keys_user", ApiKeys::Table, &["user_id"]),
            index("ix_api_keys_prefix", ApiKeys::Table, &["prefix"]),
            index(
                "ix_list_items_kind",
                ListItems::Table,
                &["kind", "sort_order"],
            ),
            index("ix_contacts_company", Contacts::Table, &["company_id"]),
            index("ix_contacts_status", Contacts::Table, &["status_id"]),
            index("ix_contacts_type", Contacts::Table, &["type_id"]),
            index("ix_contacts_currency", Contacts::Table, &["currency"]),
            index("ix_contacts_created_by", Contacts::Table, &["created_by"]),
            index(
                "ix_contact_infos_contact",
                ContactInfos::Table,
                &["contact_id"],
            ),
            index(
                "ix_custom_field_values_field",
                CustomFieldValues::Table,
                &["field_id"],
            ),
            index("ix_contact_tags_tag", ContactTags::Table, &["tag_id"]),
            index("ix_tasks_contact", Tasks::Table, &["contact_id"]),
            index("ix_contact_access_user", ContactAccess::Table, &["user_id"]),
            index("ix_audit_events_user", AuditEvents::Table, &["user_id"]),
            index(
                "ix_audit_events_contact",
                AuditEvents::Table,
                &["contact_id"],
            ),
        ] {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 13] = [
            AuditEvents::Table.into_iden(),
            ContactAccess::Table.into_iden(),
            Tasks::Table.into_iden(),
            ContactTags::Table.into_iden(),
            Tags::Table.into_iden(),
            CustomFieldValues::Table.into_iden(),
            CustomFields::Table.into_iden(),
            ContactInfos::Table.into_iden(),
            Contacts::Table.into_iden(),
            Currencies::Table.into_iden(),
            ListItems::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Users::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}
