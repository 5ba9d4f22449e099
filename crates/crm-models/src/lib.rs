//! Wire types of the CRM contacts API.
//!
//! These types are the single source of the API's schemas: the server derives the OpenAPI
//! document from them (through `utoipa`), and the generated client reuses the enums. Property
//! names follow ONLYOFFICE's CRM API exactly (PascalCase, `ID` beside `Id`), so the JSON on the
//! wire is interchangeable with ONLYOFFICE Workspace's.
//!
//! This crate depends on serde and utoipa only: no web framework, no database.

mod contact;
mod enums;
mod error;
mod requests;
mod trash;

pub use contact::{Address, Contact, ContactInfo, Currency, CustomField, Employee, ListItem};
pub use enums::{EntityType, FieldType, InfoType, MAX_CATEGORY, ShareType, UnknownVariant};
pub use error::{Error, Health};
pub use requests::{
    CustomFieldDefinition, CustomFieldValue, MAX_ITEMS, MAX_NAME, MAX_TEXT, NOT_BLANK_PATTERN,
    NewAddress, NewCompany, NewContactInfo, NewCustomField, NewListItem, NewPerson, NewTask,
    TEXT_PATTERN, Task, quoted,
};
pub use trash::{BatchDelete, MAX_BATCH, TrashEntry};
