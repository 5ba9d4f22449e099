//! Deleting many contacts at once, and the trash of deleted contacts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Employee;

/// The most contacts one batch delete may name.
pub const MAX_BATCH: usize = 500;

/// The contacts to delete (`PUT /api/2.0/crm/contact`), ONLYOFFICE's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDelete {
    /// The IDs of the contacts to delete: 1 to 500 entries, each from 1 to 2147483647; an ID
    /// given twice is deleted once (and answered once), but each entry counts toward the 500.
    #[schema(schema_with = contact_ids)]
    pub contactids: Vec<i64>,
}

/// The schema of `contactids`.
fn contact_ids() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(1))
                .maximum(Some(i32::MAX)),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_BATCH))
        .description(Some(
            "The IDs of the contacts to delete: 1 to 500 entries, each from 1 to 2147483647; \
             an ID given twice is deleted once (and answered once), but each entry counts \
             toward the 500.",
        ))
        .examples([vec![42, 43]])
        .build()
}

/// A deleted contact that can still be restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TrashEntry {
    /// The contact's ID, which a restore brings it back under.
    #[serde(rename = "ID")]
    #[schema(format = Int32, example = 42)]
    pub id: i32,
    /// The contact's name when it was deleted.
    #[schema(example = "Northwind Traders")]
    pub display_name: String,
    /// Whether it is a company.
    pub is_company: bool,
    /// Who deleted it (`null` when that user no longer exists).
    #[schema(required = true)]
    pub deleted_by: Option<Employee>,
    /// When it was deleted.
    #[schema(example = "2026-12-01T10:00:00Z")]
    pub deleted: DateTime<Utc>,
    /// When it leaves the trash for good.
    #[schema(example = "2026-12-31T10:00:00Z")]
    pub expires: DateTime<Utc>,
}
