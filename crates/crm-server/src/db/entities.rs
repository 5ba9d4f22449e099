//! sea-orm entities: one module per table. They never leave this crate; `crate::contacts`
//! converts them into the wire types of `crm-models`.
//!
//! The schema itself (foreign keys, `ON DELETE` rules, indexes) is defined by the migrations in
//! `crate::db::migration`; these entities mirror it.

/// Declares the empty `Relation` enum and the `ActiveModelBehavior` of an entity module: joins
/// are written explicitly in queries, so entities declare no relations.
macro_rules! plain_entity {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

/// Portal users: creators of contacts, members of access lists, owners of API keys.
pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub display_name: String,
        pub title: String,
        pub avatar_small: String,
        pub profile_url: String,
        pub is_admin: bool,
        pub created_at: DateTimeUtc,
    }

    plain_entity!();
}

/// API keys, stored as a SHA-256 hash with a short clear-text prefix to find candidates.
pub mod api_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub user_id: Uuid,
        pub label: String,
        pub prefix: String,
        pub key_hash: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    plain_entity!();
}

/// Contact statuses and contact types (`kind` tells which).
pub mod list_item {
    use sea_orm::entity::prelude::*;

    /// `kind` of a contact status.
    pub const KIND_STATUS: i16 = 1;
    /// `kind` of a contact type.
    pub const KIND_TYPE: i16 = 2;

    /// The unique index on `(kind, title_key)`: one title per list.
    pub const TITLE_INDEX: &str = "ux_list_items_title";

    /// What makes two titles the same: equal after trimming surrounding white space and
    /// lower-casing (Unicode's rules, not the database's collation, so both backends agree).
    pub fn title_key(title: &str) -> String {
        title.trim().to_lowercase()
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "list_items")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub kind: i16,
        pub title: String,
        pub description: String,
        pub color: String,
        pub sort_order: i32,
        /// [`title_key`] of `title`, unique per `kind` ([`TITLE_INDEX`]).
        pub title_key: String,
    }

    plain_entity!();

    impl From<Model> for crm_models::ListItem {
        fn from(model: Model) -> Self {
            Self {
                title: model.title,
                description: model.description,
                color: model.color,
                sort_order: model.sort_order,
                id: model.id,
            }
        }
    }
}

/// ISO 4217 currencies (reference data).
pub mod currency {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "currencies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub abbreviation: String,
        pub title: String,
        pub symbol: String,
        pub culture_name: String,
        pub is_convertable: bool,
        pub is_basic: bool,
    }

    plain_entity!();
}

/// Contacts: persons and companies.
pub mod contact {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub is_company: bool,
        pub first_name: String,
        pub last_name: String,
        pub company_name: String,
        pub job_title: String,
        /// For a person: the company it belongs to.
        pub company_id: Option<i32>,
        pub about: String,
        pub industry: String,
        pub status_id: Option<i32>,
        pub type_id: Option<i32>,
        pub currency: Option<String>,
        pub share_type: i16,
        pub created_by: Uuid,
        pub created_at: DateTimeUtc,
        pub small_photo_url: Option<String>,
        pub medium_photo_url: Option<String>,
    }

    plain_entity!();
}

/// Contact infos: phones, emails, … and addresses (structured columns).
pub mod contact_info {
    use sea_orm::{Set, entity::prelude::*};

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "contact_infos")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub contact_id: i32,
        pub info_type: i16,
        pub category: i16,
        pub data: String,
        pub street: String,
        pub city: String,
        pub state: String,
        pub zip: String,
        pub country: String,
        pub is_primary: bool,
    }

    plain_entity!();

    impl ActiveModel {
        /// An info of `contact_id` with every text empty: the caller sets the ones its kind uses
        /// (`data`, or the address fields).
        pub fn blank(
            contact_id: i32,
            info_type: crm_models::InfoType,
            category: i16,
            is_primary: bool,
        ) -> Self {
            Self {
                contact_id: Set(contact_id),
                info_type: Set(info_type.value() as i16),
                category: Set(category),
                is_primary: Set(is_primary),
                data: Set(String::new()),
                street: Set(String::new()),
                city: Set(String::new()),
                state: Set(String::new()),
                zip: Set(String::new()),
                country: Set(String::new()),
                ..Default::default()
            }
        }
    }
}

/// Custom-field definitions.
pub mod custom_field {
    use sea_orm::entity::prelude::*;

    /// `entity_type` of a field defined for every contact.
    pub const FOR_CONTACT: i16 = 0;
    /// `entity_type` of a field defined for persons.
    pub const FOR_PERSON: i16 = 1;
    /// `entity_type` of a field defined for companies.
    pub const FOR_COMPANY: i16 = 2;

    /// The stored `entity_type` of an entity type.
    pub fn stored(entity: crm_models::EntityType) -> i16 {
        match entity {
            crm_models::EntityType::Contact => FOR_CONTACT,
            crm_models::EntityType::Person => FOR_PERSON,
            crm_models::EntityType::Company => FOR_COMPANY,
        }
    }

    /// The entity type of a stored `entity_type`, or `None` for a value no migration writes.
    pub fn entity_type(stored: i16) -> Option<crm_models::EntityType> {
        crm_models::EntityType::ALL
            .iter()
            .copied()
            .find(|entity| self::stored(*entity) == stored)
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "custom_fields")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub entity_type: i16,
        pub label: String,
        pub field_type: i16,
        pub mask: String,
        pub position: i32,
    }

    plain_entity!();
}

/// A contact's value of a custom field.
pub mod custom_field_value {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "custom_field_values")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub field_id: i32,
        pub value: String,
    }

    plain_entity!();
}

/// Tags (shared by every contact).
pub mod tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tags")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub title: String,
    }

    plain_entity!();
}

/// Links between contacts and tags.
pub mod contact_tag {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "contact_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag_id: i32,
    }

    plain_entity!();
}

/// Tasks linked to contacts.
pub mod task {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "tasks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub contact_id: i32,
        pub title: String,
        pub deadline: Option<DateTimeUtc>,
        pub is_closed: bool,
        pub created_at: DateTimeUtc,
    }

    plain_entity!();
}

/// The users a contact was explicitly shared with.
pub mod contact_access {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "contact_access")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
    }

    plain_entity!();
}

/// Audit records of destructive actions.
pub mod audit_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub occurred_at: DateTimeUtc,
        pub user_id: Option<Uuid>,
        /// `PersonDeleted` or `CompanyDeleted`.
        pub action: String,
        /// The contact the action was about (no foreign key: the contact is gone).
        pub contact_id: i32,
        pub display_name: String,
    }

    plain_entity!();
}

/// Key-value facts about the database itself (e.g. `demo_data_loaded`, see `crate::demo`).
pub mod setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
    }

    plain_entity!();
}

/// Deleted contacts kept for a while so that they can be restored (`crate::contacts::trash`).
pub mod contact_trash {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_trash")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: i32,
        pub display_name: String,
        pub is_company: bool,
        pub deleted_by: Option<Uuid>,
        pub deleted_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// `crate::contacts::trash::Kept` as JSON.
        #[sea_orm(column_type = "Text")]
        pub payload: String,
    }

    plain_entity!();
}
