//! Creating a contact with every nested collection, in one transaction: a request that fails
//! validation writes nothing.

use std::collections::{BTreeSet, HashMap, HashSet};

use crm_models::{
    FieldType, InfoType, MAX_CATEGORY, MAX_ITEMS, MAX_NAME, MAX_TEXT, NewAddress, NewCompany,
    NewContactInfo, NewPerson, ShareType,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect, Set, sea_query::LockType,
};
use uuid::Uuid;

use super::{Snapshot, load};
use crate::{
    actor::Actor,
    db::{
        self,
        entities::{
            contact, contact_access, contact_info, contact_tag, currency, custom_field,
            custom_field_value, list_item, tag, user,
        },
    },
    error::ApiError,
    validate,
};

/// A new contact, person or company, in one shape.
#[derive(Debug, Clone)]
pub struct Draft {
    is_company: bool,
    first_name: String,
    last_name: String,
    company_name: String,
    job_title: String,
    company_id: Option<i32>,
    about: String,
    industry: String,
    status_id: Option<i32>,
    type_id: Option<i32>,
    currency: Option<String>,
    share_type: ShareType,
    access_list: Vec<Uuid>,
    common_data: Vec<NewContactInfo>,
    addresses: Vec<NewAddress>,
    custom_fields: Vec<crm_models::CustomFieldValue>,
    tags: Vec<String>,
}

/// Builds a [`Draft`] from a request: the given fields, then the shared ones.
macro_rules! draft {
    ($new:ident, $($field:ident: $value:expr),* $(,)?) => {
        Draft {
            $($field: $value,)*
            about: $new.about,
            industry: $new.industry,
            status_id: $new.contact_status_id,
            type_id: $new.contact_type_id,
            currency: $new.currency,
            share_type: $new.share_type,
            access_list: $new.access_list,
            common_data: $new.common_data,
            addresses: $new.addresses,
            custom_fields: $new.custom_fields,
            tags: $new.tags,
        }
    };
}

impl From<NewPerson> for Draft {
    fn from(new: NewPerson) -> Self {
        draft!(new,
            is_company: false,
            first_name: new.first_name,
            last_name: new.last_name,
            company_name: String::new(),
            job_title: new.job_title,
            company_id: new.company_id,
        )
    }
}

impl From<NewCompany> for Draft {
    fn from(new: NewCompany) -> Self {
        draft!(new,
            is_company: true,
            first_name: String::new(),
            last_name: String::new(),
            company_name: new.company_name,
            job_title: String::new(),
            company_id: None,
        )
    }
}

impl Draft {
    /// Checks everything that needs no database.
    fn check_shape(&mut self) -> Result<(), ApiError> {
        if self.is_company {
            validate::required("CompanyName", &self.company_name, MAX_NAME)?;
        } else {
            validate::required("FirstName", &self.first_name, MAX_NAME)?;
            validate::optional("LastName", &self.last_name, MAX_NAME)?;
            validate::optional("JobTitle", &self.job_title, MAX_NAME)?;
        }
        validate::optional("About", &self.about, MAX_TEXT)?;
        validate::optional("Industry", &self.industry, MAX_NAME)?;
        validate::items("AccessList", self.access_list.len(), MAX_ITEMS)?;
        validate::items("CommonData", self.common_data.len(), MAX_ITEMS)?;
        validate::items("Addresses", self.addresses.len(), MAX_ITEMS)?;
        validate::items("CustomFields", self.custom_fields.len(), MAX_ITEMS)?;
        validate::items("Tags", self.tags.len(), MAX_ITEMS)?;
        if let Some(code) = &self.currency
            && code.chars().count() != 3
        {
            return Err(ApiError::invalid_field(
                "Currency",
                "must be an ISO 4217 code of 3 characters",
            ));
        }

        // What the schema says (400) before the rules across fields (422), so that a body that
        // breaks its schema is always a 400.
        for (i, info) in self.common_data.iter().enumerate() {
            category_in_range(&format!("CommonData[{i}].Category"), info.category)?;
            validate::required(&format!("CommonData[{i}].Data"), &info.data, MAX_NAME)?;
        }
        for (i, address) in self.addresses.iter().enumerate() {
            category_in_range(&format!("Addresses[{i}].Category"), address.category)?;
            for (name, value) in [
                ("Street", &address.street),
                ("City", &address.city),
                ("State", &address.state),
                ("Zip", &address.zip),
                ("Country", &address.country),
            ] {
                validate::optional(&format!("Addresses[{i}].{name}"), value, MAX_NAME)?;
            }
        }
        for (i, value) in self.custom_fields.iter().enumerate() {
            validate::optional(&format!("CustomFields[{i}].Value"), &value.value, MAX_TEXT)?;
        }
        for (i, title) in self.tags.iter().enumerate() {
            validate::required(&format!("Tags[{i}]"), title, MAX_NAME)?;
        }

        for (i, info) in self.common_data.iter().enumerate() {
            if info.info_type == InfoType::Address {
                return Err(ApiError::unprocessable_field(
                    format!("CommonData[{i}].InfoType"),
                    "addresses go in Addresses",
                ));
            }
            category(
                &format!("CommonData[{i}].Category"),
                info.info_type,
                info.category,
            )?;
        }
        for (i, address) in self.addresses.iter().enumerate() {
            category(
                &format!("Addresses[{i}].Category"),
                InfoType::Address,
                address.category,
            )?;
        }
        let mut seen = HashSet::new();
        for (i, value) in self.custom_fields.iter().enumerate() {
            if !seen.insert(value.field_id) {
                return Err(ApiError::unprocessable_field(
                    format!("CustomFields[{i}].FieldId"),
                    format!("custom field {} is given twice", value.field_id),
                ));
            }
        }
        // Tags and users given twice count once.
        let tags: BTreeSet<String> = self.tags.iter().map(|t| t.trim().to_owned()).collect();
        self.tags = tags.into_iter().collect();
        let users: BTreeSet<Uuid> = self.access_list.iter().copied().collect();
        self.access_list = users.into_iter().collect();
        // Upper case only: the code's length was checked as sent, and trimming a code of 3
        // characters can only make it shorter (`"   "` is an unknown currency as sent).
        if let Some(code) = &mut self.currency {
            *code = code.to_ascii_uppercase();
        }
        Ok(())
    }
}

/// Checks that `category` is one the schema allows (0 to 5); a 400 otherwise.
fn category_in_range(field: &str, category: i32) -> Result<(), ApiError> {
    if (0..=MAX_CATEGORY).contains(&category) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("{category} is not a category (0 to {MAX_CATEGORY})"),
        ))
    }
}

/// Checks that `category` exists for `info_type` (a 422 otherwise: phones and addresses have six
/// categories, every other kind three).
fn category(field: &str, info_type: InfoType, category: i32) -> Result<(), ApiError> {
    if info_type.category_name(category).is_some() {
        return Ok(());
    }
    let names = info_type
        .category_names()
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{i} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::unprocessable_field(
        field,
        format!("{category} is not a category of {info_type} ({names})"),
    ))
}

/// Checks that every ID the draft refers to exists and fits, and that `caller` may add a person
/// to its company (as a task to a contact: only to one the caller may edit).
async fn check_references(
    tx: &DatabaseTransaction,
    caller: &Actor,
    draft: &Draft,
) -> Result<(), ApiError> {
    if let Some(id) = draft.company_id {
        // The company's row stays locked against a delete until this transaction ends
        // (PostgreSQL; on SQLite the write lock already excludes every other writer): a
        // concurrent delete of the company either comes first (this is a 422) or waits.
        match contact::Entity::find_by_id(id)
            .lock(LockType::KeyShare)
            .one(tx)
            .await?
        {
            None => {
                return Err(ApiError::unprocessable_field(
                    "CompanyId",
                    format!("no contact with ID {id} exists"),
                ));
            }
            Some(company) => {
                // The permission first: what kind of contact it is is for those who may edit it.
                if !super::permissions(tx, id, caller)
                    .await?
                    .is_some_and(|allowed| allowed.edit)
                {
                    return Err(ApiError::Forbidden(format!(
                        "You may not add people to company {id}: you may not edit it."
                    )));
                }
                if !company.is_company {
                    return Err(ApiError::unprocessable_field(
                        "CompanyId",
                        format!("contact {id} is a person, not a company"),
                    ));
                }
            }
        }
    }
    for (field, id, kind, what) in [
        (
            "ContactStatusId",
            draft.status_id,
            list_item::KIND_STATUS,
            "contact status",
        ),
        (
            "ContactTypeId",
            draft.type_id,
            list_item::KIND_TYPE,
            "contact type",
        ),
    ] {
        let Some(id) = id else { continue };
        let found = list_item::Entity::find_by_id(id).one(tx).await?;
        if found.is_none_or(|item| item.kind != kind) {
            return Err(ApiError::unprocessable_field(
                field,
                format!("no {what} with ID {id} exists"),
            ));
        }
    }
    if let Some(code) = &draft.currency
        && currency::Entity::find_by_id(code.clone())
            .one(tx)
            .await?
            .is_none()
    {
        return Err(ApiError::unprocessable_field(
            "Currency",
            format!(
                "{} is not a known currency (see GET /api/2.0/crm/settings/currency)",
                crm_models::quoted(code)
            ),
        ));
    }
    if !draft.custom_fields.is_empty() {
        let ids: Vec<i32> = draft.custom_fields.iter().map(|v| v.field_id).collect();
        let fields: HashMap<i32, custom_field::Model> = custom_field::Entity::find()
            .filter(custom_field::Column::Id.is_in(ids))
            .all(tx)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        let kind = if draft.is_company {
            custom_field::FOR_COMPANY
        } else {
            custom_field::FOR_PERSON
        };
        for (i, value) in draft.custom_fields.iter().enumerate() {
            let field = format!("CustomFields[{i}].FieldId");
            let Some(definition) = fields.get(&value.field_id) else {
                return Err(ApiError::unprocessable_field(
                    field,
                    format!("no custom field with ID {} exists", value.field_id),
                ));
            };
            if definition.entity_type != custom_field::FOR_CONTACT && definition.entity_type != kind
            {
                return Err(ApiError::unprocessable_field(
                    field,
                    format!(
                        "custom field {} is not defined for {}",
                        value.field_id,
                        if draft.is_company {
                            "companies"
                        } else {
                            "persons"
                        }
                    ),
                ));
            }
            if definition.field_type == FieldType::Heading.value() as i16 {
                return Err(ApiError::unprocessable_field(
                    field,
                    format!(
                        "custom field {} is a heading and takes no value",
                        value.field_id
                    ),
                ));
            }
        }
    }
    if !draft.access_list.is_empty() {
        let found: HashSet<Uuid> = user::Entity::find()
            .filter(user::Column::Id.is_in(draft.access_list.clone()))
            .all(tx)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        if let Some(missing) = draft.access_list.iter().find(|id| !found.contains(id)) {
            return Err(ApiError::unprocessable_field(
                "AccessList",
                format!("no user with ID {missing} exists"),
            ));
        }
    }
    Ok(())
}

/// Links contact `id` to the tags titled `titles`, creating the tags that do not exist yet.
pub(super) async fn link_tags(
    tx: &DatabaseTransaction,
    id: i32,
    titles: &[String],
) -> Result<(), ApiError> {
    if titles.is_empty() {
        return Ok(());
    }
    // The tags that exist are read `FOR KEY SHARE` first, so that an erasure removing unused
    // tags (`trash::erase`) either sees this link or has removed the tag before, which is then
    // created again below (PostgreSQL; SQLite's write transaction excludes every other writer).
    tag::Entity::find()
        .filter(tag::Column::Title.is_in(titles.to_vec()))
        .lock(LockType::KeyShare)
        .all(tx)
        .await?;
    tag::Entity::insert_many(titles.iter().map(|title| tag::ActiveModel {
        title: Set(title.clone()),
        ..Default::default()
    }))
    .on_conflict_do_nothing_on([tag::Column::Title])
    .exec_without_returning(tx)
    .await?;
    let tags = tag::Entity::find()
        .filter(tag::Column::Title.is_in(titles.to_vec()))
        .all(tx)
        .await?;
    contact_tag::Entity::insert_many(tags.into_iter().map(|tag| contact_tag::ActiveModel {
        contact_id: Set(id),
        tag_id: Set(tag.id),
    }))
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// Creates a contact and returns it as `caller` sees it.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Actor,
    mut draft: Draft,
) -> Result<Snapshot, ApiError> {
    draft.check_shape()?;
    let draft = &draft;
    db::write(db, |tx| async move { insert(&tx, caller, draft).await }).await
}

/// [`create`] inside a write transaction the caller holds (the demo data loads many contacts
/// in one).
pub async fn create_in(
    tx: &DatabaseTransaction,
    caller: &Actor,
    mut draft: Draft,
) -> Result<Snapshot, ApiError> {
    draft.check_shape()?;
    insert(tx, caller, &draft).await
}

/// Checks the draft's references and inserts the contact with its children.
async fn insert(
    tx: &DatabaseTransaction,
    caller: &Actor,
    draft: &Draft,
) -> Result<Snapshot, ApiError> {
    check_references(tx, caller, draft).await?;

    let id = contact::ActiveModel {
        is_company: Set(draft.is_company),
        first_name: Set(draft.first_name.clone()),
        last_name: Set(draft.last_name.clone()),
        company_name: Set(draft.company_name.clone()),
        job_title: Set(draft.job_title.clone()),
        company_id: Set(draft.company_id),
        about: Set(draft.about.clone()),
        industry: Set(draft.industry.clone()),
        status_id: Set(draft.status_id),
        type_id: Set(draft.type_id),
        currency: Set(draft.currency.clone()),
        share_type: Set(draft.share_type.value() as i16),
        created_by: Set(caller.id),
        created_at: Set(crate::db::now()),
        small_photo_url: Set(None),
        medium_photo_url: Set(None),
        ..Default::default()
    }
    .insert(tx)
    .await?
    .id;

    // `check_shape` bounded the category to a name's index.
    let info = |info_type: InfoType, category: i32, primary: bool| {
        contact_info::ActiveModel::blank(id, info_type, category as i16, primary)
    };
    let mut infos = Vec::with_capacity(draft.common_data.len() + draft.addresses.len());
    for new in &draft.common_data {
        let mut row = info(new.info_type, new.category, new.is_primary);
        row.data = Set(new.data.clone());
        infos.push(row);
    }
    for new in &draft.addresses {
        let mut row = info(InfoType::Address, new.category, new.is_primary);
        row.street = Set(new.street.clone());
        row.city = Set(new.city.clone());
        row.state = Set(new.state.clone());
        row.zip = Set(new.zip.clone());
        row.country = Set(new.country.clone());
        infos.push(row);
    }
    contact_info::Entity::insert_many(infos)
        .exec_without_returning(tx)
        .await?;

    custom_field_value::Entity::insert_many(draft.custom_fields.iter().map(|value| {
        custom_field_value::ActiveModel {
            contact_id: Set(id),
            field_id: Set(value.field_id),
            value: Set(value.value.clone()),
        }
    }))
    .exec_without_returning(tx)
    .await?;

    contact_access::Entity::insert_many(draft.access_list.iter().map(|&user_id| {
        contact_access::ActiveModel {
            contact_id: Set(id),
            user_id: Set(user_id),
        }
    }))
    .exec_without_returning(tx)
    .await?;

    link_tags(tx, id, &draft.tags).await?;

    load(tx, id, caller).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "contact {id} vanished inside its own transaction"
        ))
    })
}
