//! What `crm-testkit` (the tests' and the benchmark's shared kit) may reach beyond the public
//! API: the database entities, to put rows in place and count them. Only with the `testkit`
//! feature, which nothing but `crm-testkit` enables: the entities never leave this crate
//! otherwise.

/// The sea-orm entities, one module per table (see `db::entities`).
pub mod entities {
    pub use crate::db::entities::{
        api_key, audit_event, contact, contact_access, contact_info, contact_tag, currency,
        custom_field, custom_field_value, list_item, setting, tag, task, user,
    };
}
