//! Demo data: three companies with their people, custom fields, tags, tasks and two portal
//! users, for trying the API (`crm-server --demo-data`, `crm-server demo-data`).
//!
//! The data is `demo/demo.json`, embedded in the binary. Its contacts are the API's own request
//! bodies (`NewCompany`, `NewPerson`: the same properties, the enums as integers) with names
//! where the API takes IDs:
//!
//! - `ContactStatus`, `ContactType`: the title of a contact status or type (any case);
//! - `CustomFields`: `{"Field": label, "Value": …}`, naming a field the file defines for the
//!   contact's kind or for every contact (the top-level `CustomFields`: `NewCustomField` bodies
//!   with their `EntityType`);
//! - `AccessList`: names of the file's `Users` (non-admin portal users);
//! - a company's `People` are its persons; the top-level `People` belong to no company;
//! - `Tasks`: `{"Title", "DueInDays", "IsClosed"}`, the deadline that many days after the load
//!   (negative: overdue; `null`: none).
//!
//! Contacts are created in the file's order, each company before its people (on an empty
//! database Northwind Traders is contact 1). An unknown property is an error naming its path
//! (`Companies[0].People[1]: unknown field …`), an unknown name one naming the contact; the IDs
//! the file names (`ContactStatusId`, `ContactTypeId`, `CompanyId`) may not be given as numbers.
//!
//! # Loaded once, in one transaction
//!
//! [`load`] is one write transaction (`db::write`): it takes the set-up lock
//! (`db::lock_for_setup`: on PostgreSQL, instances loading together run one after the other; on
//! SQLite the write transaction, `BEGIN IMMEDIATE`, does that by itself), does nothing when the
//! marker [`MARKER`] is in the `settings` table, else creates the users, the custom fields, the
//! contacts and their tasks through the functions the API's create endpoints use (the same
//! validation), as the first administrator, and writes the marker. A load that fails writes
//! nothing.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use crm_models::{CustomFieldValue, EntityType, NewCompany, NewCustomField, NewPerson, NewTask};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    actor::Actor,
    contacts::{self, Draft},
    db::{
        self,
        entities::{list_item, setting, user},
    },
    error::ApiError,
    reference, tasks,
    users::{self, NewUser},
};

/// The key in `settings` whose presence means the demo data is loaded. Its value is the time of
/// the load (RFC 3339).
pub const MARKER: &str = "demo_data_loaded";

/// The demo data (see the module documentation).
const DATA: &str = include_str!("../demo/demo.json");

/// What [`load`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoOutcome {
    /// The demo data was loaded now.
    Loaded {
        /// How many contacts (companies and persons) were created.
        contacts: usize,
        /// How many tasks were created.
        tasks: usize,
    },
    /// The demo data was loaded before; nothing was done.
    AlreadyLoaded,
}

/// Whether the demo data is loaded (the marker [`MARKER`] exists).
pub async fn is_loaded(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(setting::Entity::find_by_id(MARKER.to_owned())
        .one(db)
        .await?
        .is_some())
}

/// Loads the demo data unless it is loaded already, in one transaction (see the module
/// documentation). Fails, writing nothing, when no administrator exists to own the contacts.
pub async fn load(db: &DatabaseConnection) -> anyhow::Result<DemoOutcome> {
    let data = &parse(DATA)?;
    let now = Utc::now();
    db::write(db, |tx| async move {
        db::lock_for_setup(&tx)
            .await
            .context("cannot take the set-up lock for the demo data")?;
        if is_loaded(&*tx)
            .await
            .context("cannot read the demo-data marker")?
        {
            return Ok(DemoOutcome::AlreadyLoaded);
        }
        let admin = first_admin(&*tx).await?.context(
            "no administrator exists to own the demo data: add one with `crm-server users add \
             --admin`, or load the demo data into an empty database",
        )?;
        let mut loader = Loader {
            tx: &tx,
            admin,
            now,
            lists: Vec::new(),
            fields: Vec::new(),
            users: HashMap::new(),
            contacts: 0,
            tasks: 0,
        };
        loader.load(data).await?;
        setting::Entity::insert(setting::ActiveModel {
            key: Set(MARKER.to_owned()),
            value: Set(now.to_rfc3339()),
        })
        .exec_without_returning(&*tx)
        .await
        .context("cannot write the demo-data marker")?;
        Ok(DemoOutcome::Loaded {
            contacts: loader.contacts,
            tasks: loader.tasks,
        })
    })
    .await
}

/// The oldest administrator: the one `users::bootstrap` created, on a database it set up.
async fn first_admin(db: &impl ConnectionTrait) -> anyhow::Result<Option<Actor>> {
    Ok(user::Entity::find()
        .filter(user::Column::IsAdmin.eq(true))
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .one(db)
        .await
        .context("cannot look up the first administrator")?
        .map(|admin| users::User::from(admin).actor()))
}

/// The file, as `demo/demo.json` holds it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DemoData {
    users: Vec<DemoUser>,
    custom_fields: Vec<FieldDefinition>,
    companies: Vec<DemoContact<NewCompany>>,
    people: Vec<DemoContact<NewPerson>>,
}

/// A non-admin portal user.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DemoUser {
    name: String,
    title: String,
}

/// A custom-field definition: the API's body and the kind of contact it is for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct FieldDefinition {
    entity_type: EntityType,
    #[serde(flatten)]
    field: NewCustomField,
}

/// A contact: the API's body `B` (whose properties the file may not name are left empty), the
/// names that stand for its IDs, its tasks and, for a company, its people. With `flatten`, a
/// property that neither this struct nor `B` knows is left over, which `deny_unknown_fields`
/// refuses (a unit test proves it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DemoContact<B> {
    #[serde(flatten)]
    body: B,
    contact_status: Option<String>,
    contact_type: Option<String>,
    #[serde(default)]
    access_list: Vec<String>,
    #[serde(default)]
    custom_fields: Vec<NamedValue>,
    #[serde(default)]
    tasks: Vec<DemoTask>,
    #[serde(default)]
    people: Vec<DemoContact<NewPerson>>,
}

/// A custom-field value, naming its field by label.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct NamedValue {
    field: String,
    value: String,
}

/// A task of the contact it is listed under.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DemoTask {
    title: String,
    /// Days from the load to the deadline (negative: overdue); `None`: no deadline.
    due_in_days: Option<i64>,
    #[serde(default)]
    is_closed: bool,
}

/// Parses the file, naming the property at fault.
fn parse(json: &str) -> anyhow::Result<DemoData> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(json))
        .context("the demo data (demo/demo.json) is invalid")
}

/// The IDs a contact's names stand for.
#[derive(Debug, Default)]
struct Refs {
    status: Option<i32>,
    kind: Option<i32>,
    company: Option<i32>,
    access_list: Vec<Uuid>,
    values: Vec<CustomFieldValue>,
}

/// A request body of the file: `NewCompany` or `NewPerson`.
trait Body: Clone {
    /// The kind of contact (whose custom fields, besides those of every contact, it may have).
    const ENTITY: EntityType;
    /// The contact's name, for errors.
    fn name(&self) -> String;
    /// The draft with the IDs the names stand for; an error when the file gave IDs itself.
    fn draft(self, refs: Refs) -> anyhow::Result<Draft>;
}

const ID_GIVEN: &str = "ContactStatusId, ContactTypeId and CompanyId are given by name \
                        (ContactStatus, ContactType, a company's People)";

impl Body for NewCompany {
    const ENTITY: EntityType = EntityType::Company;

    fn name(&self) -> String {
        self.company_name.clone()
    }

    fn draft(self, refs: Refs) -> anyhow::Result<Draft> {
        anyhow::ensure!(
            self.contact_status_id.is_none() && self.contact_type_id.is_none(),
            ID_GIVEN
        );
        Ok(Draft::from(NewCompany {
            contact_status_id: refs.status,
            contact_type_id: refs.kind,
            access_list: refs.access_list,
            custom_fields: refs.values,
            ..self
        }))
    }
}

impl Body for NewPerson {
    const ENTITY: EntityType = EntityType::Person;

    fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    fn draft(self, refs: Refs) -> anyhow::Result<Draft> {
        anyhow::ensure!(
            self.contact_status_id.is_none()
                && self.contact_type_id.is_none()
                && self.company_id.is_none(),
            ID_GIVEN
        );
        Ok(Draft::from(NewPerson {
            contact_status_id: refs.status,
            contact_type_id: refs.kind,
            company_id: refs.company,
            access_list: refs.access_list,
            custom_fields: refs.values,
            ..self
        }))
    }
}

/// Creates the data in the transaction, resolving names as it goes, and counts what it created.
struct Loader<'a> {
    tx: &'a DatabaseTransaction,
    admin: Actor,
    now: DateTime<Utc>,
    /// The contact statuses and types.
    lists: Vec<list_item::Model>,
    /// The custom fields created: `(entity type, label, ID)`.
    fields: Vec<(EntityType, String, i32)>,
    /// The users created, by name.
    users: HashMap<String, Uuid>,
    contacts: usize,
    tasks: usize,
}

impl Loader<'_> {
    async fn load(&mut self, data: &DemoData) -> anyhow::Result<()> {
        self.lists = list_item::Entity::find()
            .all(self.tx)
            .await
            .context("cannot read the contact statuses and types")?;
        for demo in &data.users {
            let new = NewUser {
                name: demo.name.clone(),
                title: demo.title.clone(),
                ..NewUser::default()
            };
            let user = users::add_user(self.tx, new)
                .await
                .with_context(|| format!("cannot add the demo user {:?}", demo.name))?;
            self.users.insert(demo.name.clone(), user.id);
        }
        for definition in &data.custom_fields {
            let (entity, label) = (definition.entity_type, &definition.field.label);
            let what = format!("cannot define the demo custom field {entity} {label:?}");
            let field =
                reference::add_custom_field_in(self.tx, &self.admin, entity, &definition.field)
                    .await
                    .map_err(failed(what))?;
            self.fields.push((entity, field.label, field.id));
        }
        for company in &data.companies {
            let id = self.contact(company, None).await?;
            for person in &company.people {
                self.contact(person, Some(id)).await?;
            }
        }
        for person in &data.people {
            self.contact(person, None).await?;
        }
        Ok(())
    }

    /// Creates a contact (of `company`) and its tasks; returns its ID.
    async fn contact<B: Body>(
        &mut self,
        contact: &DemoContact<B>,
        company: Option<i32>,
    ) -> anyhow::Result<i32> {
        let name = contact.body.name();
        let failure = || format!("cannot create the demo contact {name:?}");
        let refs = self.refs(contact, company).with_context(failure)?;
        let draft = contact.body.clone().draft(refs).with_context(failure)?;
        let id = contacts::create_in(self.tx, &self.admin, draft)
            .await
            .map_err(failed(failure()))?
            .contact
            .id;
        self.contacts += 1;
        for task in &contact.tasks {
            let what = format!("cannot create the demo task {:?} of {name:?}", task.title);
            let deadline = task
                .due_in_days
                .map(|days| {
                    TimeDelta::try_days(days)
                        .and_then(|days| self.now.checked_add_signed(days))
                        .with_context(|| format!("{what}: DueInDays {days} is out of range"))
                })
                .transpose()?;
            let new = NewTask {
                title: task.title.clone(),
                contact_id: id,
                deadline,
                is_closed: task.is_closed,
            };
            tasks::create_in(self.tx, &self.admin, &new)
                .await
                .map_err(failed(what))?;
            self.tasks += 1;
        }
        Ok(id)
    }

    /// The IDs `contact`'s names stand for; `company`: the company it is listed under.
    fn refs<B: Body>(
        &self,
        contact: &DemoContact<B>,
        company: Option<i32>,
    ) -> anyhow::Result<Refs> {
        anyhow::ensure!(
            B::ENTITY == EntityType::Company || contact.people.is_empty(),
            "People: only a company has people"
        );
        let item = |kind, title: &Option<String>, what: &str| -> anyhow::Result<Option<i32>> {
            let Some(title) = title else { return Ok(None) };
            let key = list_item::title_key(title);
            let found = self
                .lists
                .iter()
                .find(|item| item.kind == kind && list_item::title_key(&item.title) == key);
            Ok(Some(
                found
                    .with_context(|| format!("{what} {title:?} exists"))?
                    .id,
            ))
        };
        let mut refs = Refs {
            status: item(
                list_item::KIND_STATUS,
                &contact.contact_status,
                "ContactStatus: no contact status",
            )?,
            kind: item(
                list_item::KIND_TYPE,
                &contact.contact_type,
                "ContactType: no contact type",
            )?,
            company,
            ..Refs::default()
        };
        for name in &contact.access_list {
            let user = self.users.get(name);
            refs.access_list.push(
                *user.with_context(|| format!("AccessList: {name:?} is none of the demo users"))?,
            );
        }
        for named in &contact.custom_fields {
            let field = self.fields.iter().find(|(entity, label, _)| {
                *label == named.field && [B::ENTITY, EntityType::Contact].contains(entity)
            });
            let (_, _, field_id) = field.with_context(|| {
                format!(
                    "CustomFields: no demo custom field {:?} for a {}",
                    named.field,
                    B::ENTITY
                )
            })?;
            refs.values.push(CustomFieldValue {
                field_id: *field_id,
                value: named.value.clone(),
            });
        }
        Ok(refs)
    }
}

/// An `ApiError` as an error saying `what` failed; a write conflict stays one that `db::write`
/// retries.
fn failed(what: String) -> impl FnOnce(ApiError) -> anyhow::Error {
    move |error| match error {
        ApiError::Contended(conflict) => anyhow::Error::new(conflict).context(what),
        error => anyhow::Error::new(error).context(what),
    }
}

/// Whether every name resolves is proved by loading the data (`tests/api/demo.rs`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_parses() {
        let data = parse(DATA).unwrap();
        assert_eq!(data.users.len(), 2);
        assert_eq!(data.custom_fields.len(), 4);
        assert_eq!(data.companies.len(), 3);
        let people: usize = data.companies.iter().map(|c| c.people.len()).sum();
        assert_eq!(people + data.people.len(), 8);
    }

    #[test]
    fn an_unknown_property_is_named_with_its_path() {
        let misspelt = DATA.replacen(r#""JobTitle""#, r#""Jobtitle""#, 1);
        let error = format!("{:#}", parse(&misspelt).unwrap_err());
        assert!(
            error.contains("Companies[0].People[0]: unknown field `Jobtitle`"),
            "{error}"
        );
    }

    #[test]
    fn ids_the_file_names_may_not_be_given() {
        let with_id = DATA.replacen(r#""ContactType": "Client","#, r#""ContactTypeId": 1,"#, 1);
        let company = parse(&with_id).unwrap().companies.remove(0).body;
        let error = company.draft(Refs::default()).unwrap_err().to_string();
        assert!(error.contains("given by name"), "{error}");
    }
}
