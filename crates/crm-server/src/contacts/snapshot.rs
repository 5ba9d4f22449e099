//! A contact as a caller sees it (`crm_models::Contact` with `CanEdit`/`CanDelete`), loaded in
//! two queries whatever the contact holds: one for the contact with its creator, status, type,
//! currency, task counts and the caller's access ([`contact_sql`]), one for all its children
//! (infos, custom fields, tags, access list: [`children_sql`]); for any number of contacts
//! ([`load_many`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crm_models::{
    Address, Contact, ContactInfo, Currency, CustomField, Employee, FieldType, InfoType, ListItem,
    ShareType,
};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::Permissions;
use crate::{actor::Actor, db::entities::custom_field, error::ApiError, pictures};

/// A contact as the caller sees it, with the caller's permissions.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The wire form, `CanEdit`/`CanDelete` evaluated for the caller.
    pub contact: Contact,
    /// The caller's permissions.
    pub permissions: Permissions,
}

/// The contact row with everything that is one value per contact.
#[derive(Debug, FromQueryResult, serde::Deserialize)]
pub(super) struct ContactRow {
    id: i32,
    is_company: bool,
    first_name: String,
    last_name: String,
    company_name: String,
    about: String,
    industry: String,
    share_type: i16,
    created_at: DateTime<Utc>,
    small_photo_url: Option<String>,
    medium_photo_url: Option<String>,
    creator_id: Uuid,
    creator_name: String,
    creator_title: String,
    creator_avatar: String,
    creator_profile: String,
    status_id: Option<i32>,
    status_title: Option<String>,
    status_description: Option<String>,
    status_color: Option<String>,
    status_sort_order: Option<i32>,
    type_id: Option<i32>,
    type_title: Option<String>,
    type_description: Option<String>,
    type_color: Option<String>,
    type_sort_order: Option<i32>,
    currency_code: Option<String>,
    currency_title: Option<String>,
    currency_symbol: Option<String>,
    currency_culture: Option<String>,
    currency_convertable: Option<bool>,
    currency_basic: Option<bool>,
    task_count: i64,
    late_task_count: i64,
    caller_listed: i64,
}

/// The contacts `c.id {which}` (see [`which`]) with everything that is one value per contact.
fn contact_sql(which: &str) -> String {
    format!(
        "\
SELECT c.id, c.is_company, c.first_name, c.last_name, c.company_name, c.about, c.industry, \
       c.share_type, c.created_at, c.small_photo_url, c.medium_photo_url, \
       u.id AS creator_id, u.display_name AS creator_name, u.title AS creator_title, \
       u.avatar_small AS creator_avatar, u.profile_url AS creator_profile, \
       s.id AS status_id, s.title AS status_title, s.description AS status_description, \
       s.color AS status_color, s.sort_order AS status_sort_order, \
       t.id AS type_id, t.title AS type_title, t.description AS type_description, \
       t.color AS type_color, t.sort_order AS type_sort_order, \
       cur.abbreviation AS currency_code, cur.title AS currency_title, \
       cur.symbol AS currency_symbol, cur.culture_name AS currency_culture, \
       cur.is_convertable AS currency_convertable, cur.is_basic AS currency_basic, \
       (SELECT COUNT(*) FROM tasks k WHERE k.contact_id = c.id) AS task_count, \
       (SELECT COUNT(*) FROM tasks k WHERE k.contact_id = c.id AND k.is_closed = $2 \
          AND k.deadline IS NOT NULL AND k.deadline < $3) AS late_task_count, \
       (SELECT COUNT(*) FROM contact_access a WHERE a.contact_id = c.id AND a.user_id = $4) \
          AS caller_listed \
FROM contacts c \
JOIN users u ON u.id = c.created_by \
LEFT JOIN list_items s ON s.id = c.status_id \
LEFT JOIN list_items t ON t.id = c.type_id \
LEFT JOIN currencies cur ON cur.abbreviation = c.currency \
WHERE c.id {which}"
    )
}

/// How a query names its contacts: one, `= $1`; or several, the IDs in a JSON array in `$1`,
/// so that loading any number of contacts takes the same two statements.
fn which(backend: DbBackend, many: bool) -> &'static str {
    match (many, backend) {
        (false, _) => "= $1",
        (true, DbBackend::Postgres) => {
            "IN (SELECT CAST(value AS INTEGER) FROM json_array_elements_text(CAST($1 AS json)))"
        }
        (true, _) => "IN (SELECT value FROM json_each($1))",
    }
}

/// The kinds of child rows [`children_sql`] returns, told apart by its `part` column.
mod part {
    /// A contact info or an address (`contact_infos`).
    pub const INFO: i32 = 1;
    /// A custom field with the contact's value.
    pub const FIELD: i32 = 2;
    /// A tag.
    pub const TAG: i32 = 3;
    /// A user on the access list.
    pub const ACCESS: i32 = 4;
}

/// One row of [`children_sql`]: generic columns whose meaning depends on `part`
/// ([`Child::try_from`] names them).
#[derive(Debug, FromQueryResult, serde::Deserialize)]
pub(super) struct ChildRow {
    part: i32,
    contact_id: i32,
    id: Option<i32>,
    kind: Option<i16>,
    category: Option<i16>,
    text1: Option<String>,
    text2: Option<String>,
    text3: Option<String>,
    text4: Option<String>,
    text5: Option<String>,
    text6: Option<String>,
    flag: Option<bool>,
    position: Option<i32>,
    user_id: Option<Uuid>,
}

/// A child of a contact.
#[derive(Debug)]
enum Child {
    /// A contact info or an address.
    Info(InfoRow),
    /// A custom field: its definition and the contact's value.
    Field(FieldRow),
    /// A tag's title.
    Tag(String),
    /// A user on the access list.
    Access(Employee),
}

#[derive(Debug)]
struct InfoRow {
    id: i32,
    info_type: i16,
    category: i16,
    data: String,
    street: String,
    city: String,
    state: String,
    zip: String,
    country: String,
    is_primary: bool,
}

#[derive(Debug)]
struct FieldRow {
    id: i32,
    field_type: i16,
    label: String,
    mask: String,
    value: String,
    position: i32,
}

impl TryFrom<ChildRow> for Child {
    type Error = ApiError;

    fn try_from(row: ChildRow) -> Result<Self, ApiError> {
        let text = |column: Option<String>| column.unwrap_or_default();
        Ok(match row.part {
            part::INFO => Self::Info(InfoRow {
                id: row.id.unwrap_or_default(),
                info_type: row.kind.unwrap_or_default(),
                category: row.category.unwrap_or_default(),
                data: text(row.text1),
                street: text(row.text2),
                city: text(row.text3),
                state: text(row.text4),
                zip: text(row.text5),
                country: text(row.text6),
                is_primary: row.flag.unwrap_or_default(),
            }),
            part::FIELD => Self::Field(FieldRow {
                id: row.id.unwrap_or_default(),
                field_type: row.kind.unwrap_or_default(),
                label: text(row.text1),
                mask: text(row.text2),
                value: text(row.text3),
                position: row.position.unwrap_or_default(),
            }),
            part::TAG => Self::Tag(text(row.text1)),
            part::ACCESS => Self::Access(Employee {
                id: row.user_id.unwrap_or_default(),
                display_name: text(row.text1),
                title: text(row.text2),
                avatar_small: text(row.text3),
                profile_url: text(row.text4),
            }),
            other => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "a child row of unknown part {other}"
                )));
            }
        })
    }
}

/// Every child of the contacts `{which}` in one query, so loading contacts takes two queries
/// however much they hold. Custom fields: those defined for all contacts (`$2`) or for the
/// contact's kind (`$3` for companies, `$4` for persons) that have a value on it, and the
/// headings (`$5`).
fn children_sql(which: &str) -> String {
    format!(
        "\
SELECT {info} AS part, i.contact_id AS contact_id, i.id AS id, i.info_type AS kind, \
       i.category AS category, i.data AS text1, i.street AS text2, i.city AS text3, \
       i.state AS text4, i.zip AS text5, i.country AS text6, i.is_primary AS flag, \
       CAST(NULL AS INTEGER) AS position, CAST(NULL AS UUID) AS user_id \
FROM contact_infos i WHERE i.contact_id {which} \
UNION ALL \
SELECT {field}, c.id, f.id, f.field_type, NULL, f.label, f.mask, v.value, NULL, NULL, NULL, \
       NULL, f.position, NULL \
FROM contacts c \
JOIN custom_fields f ON f.entity_type IN ($2, CASE WHEN c.is_company THEN $3 ELSE $4 END) \
LEFT JOIN custom_field_values v ON v.field_id = f.id AND v.contact_id = c.id \
WHERE c.id {which} AND (v.contact_id IS NOT NULL OR f.field_type = $5) \
UNION ALL \
SELECT {tag}, ct.contact_id, g.id, NULL, NULL, g.title, NULL, NULL, NULL, NULL, NULL, NULL, \
       NULL, NULL \
FROM contact_tags ct JOIN tags g ON g.id = ct.tag_id WHERE ct.contact_id {which} \
UNION ALL \
SELECT {access}, a.contact_id, NULL, NULL, NULL, u.display_name, u.title, u.avatar_small, \
       u.profile_url, NULL, NULL, NULL, NULL, u.id \
FROM contact_access a JOIN users u ON u.id = a.user_id WHERE a.contact_id {which}",
        info = part::INFO,
        field = part::FIELD,
        tag = part::TAG,
        access = part::ACCESS,
    )
}

/// The placeholders (`$1, $2, …`) and the values of an `IN (…)` list of contact IDs.
pub(super) fn id_list(ids: &[i32]) -> (String, Vec<Value>) {
    let placeholders = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    (placeholders, ids.iter().map(|&id| id.into()).collect())
}

pub(super) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

fn list_item(
    id: Option<i32>,
    title: Option<String>,
    description: Option<String>,
    color: Option<String>,
    sort_order: Option<i32>,
) -> Option<ListItem> {
    Some(ListItem {
        id: id?,
        title: title.unwrap_or_default(),
        description: description.unwrap_or_default(),
        color: color.unwrap_or_default(),
        sort_order: sort_order.unwrap_or_default(),
    })
}

pub(super) fn stored_enum<T: TryFrom<i64, Error = crm_models::UnknownVariant>>(
    value: i16,
) -> Result<T, ApiError> {
    T::try_from(i64::from(value))
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("corrupt row: {error}")))
}

/// The contact as it is now, seen by `caller`, or `None` when it does not exist.
pub async fn load(
    db: &impl ConnectionTrait,
    id: i32,
    caller: &Actor,
) -> Result<Option<Snapshot>, ApiError> {
    Ok(fetch(db, Ids::One(id), caller).await?.pop())
}

/// The contacts `ids` that exist, as they are now, seen by `caller`, in the order of `ids`:
/// two statements however many they are.
pub async fn load_many(
    db: &impl ConnectionTrait,
    ids: &[i32],
    caller: &Actor,
) -> Result<Vec<Snapshot>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = fetch(db, Ids::Many(ids), caller).await?;
    in_order(&mut found, ids);
    Ok(found)
}

/// Puts `snapshots` in the order of their IDs in `ids`.
pub(super) fn in_order(snapshots: &mut [Snapshot], ids: &[i32]) {
    let order: HashMap<i32, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    snapshots.sort_by_key(|snapshot| order.get(&snapshot.contact.id).copied());
}

/// Which contacts to load.
#[derive(Clone, Copy)]
enum Ids<'a> {
    One(i32),
    Many(&'a [i32]),
}

async fn fetch(
    db: &impl ConnectionTrait,
    ids: Ids<'_>,
    caller: &Actor,
) -> Result<Vec<Snapshot>, ApiError> {
    let backend = db.get_database_backend();
    let (which, param): (_, Value) = match ids {
        Ids::One(id) => (which(backend, false), id.into()),
        Ids::Many(ids) => (
            which(backend, true),
            serde_json::to_string(ids)
                .map_err(|error| ApiError::Internal(error.into()))?
                .into(),
        ),
    };
    let rows = ContactRow::find_by_statement(statement(
        backend,
        &contact_sql(which),
        vec![
            param.clone(),
            false.into(),
            Utc::now().into(),
            caller.id.into(),
        ],
    ))
    .all(db)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let children = ChildRow::find_by_statement(statement(
        backend,
        &children_sql(which),
        vec![
            param,
            custom_field::FOR_CONTACT.into(),
            custom_field::FOR_COMPANY.into(),
            custom_field::FOR_PERSON.into(),
            HEADING.into(),
        ],
    ))
    .all(db)
    .await?;
    assemble(rows, children, caller)
}

/// The stored value of a heading's field type (custom fields that are shown without a value).
pub(super) const HEADING: i16 = FieldType::Heading as i16;

/// The snapshots of the contact `rows` with their `children` (of any of them, in any order),
/// in the order of `rows`.
pub(super) fn assemble(
    rows: Vec<ContactRow>,
    children: Vec<ChildRow>,
    caller: &Actor,
) -> Result<Vec<Snapshot>, ApiError> {
    let mut by_contact: HashMap<i32, Vec<ChildRow>> = HashMap::new();
    for child in children {
        by_contact.entry(child.contact_id).or_default().push(child);
    }
    rows.into_iter()
        .map(|row| {
            let mine = by_contact.remove(&row.id).unwrap_or_default();
            build(row, mine, caller)
        })
        .collect()
}

/// A snapshot from the contact's row and its child rows.
fn build(row: ContactRow, children: Vec<ChildRow>, caller: &Actor) -> Result<Snapshot, ApiError> {
    let id = row.id;
    let mut infos = Vec::new();
    let mut fields = Vec::new();
    let mut tags = Vec::new();
    let mut access = Vec::new();
    for row in children {
        match Child::try_from(row)? {
            Child::Info(info) => infos.push(info),
            Child::Field(field) => fields.push(field),
            Child::Tag(title) => tags.push(title),
            Child::Access(user) => access.push(user),
        }
    }
    infos.sort_by_key(|info| (info.info_type, info.id));
    fields.sort_by_key(|field| (field.position, field.id));
    tags.sort();
    access.sort_by(|a, b| (&a.display_name, a.id).cmp(&(&b.display_name, b.id)));

    let share_type: ShareType = stored_enum(row.share_type)?;
    let permissions = Permissions::of(caller.is_admin, share_type, row.caller_listed > 0);

    let mut addresses = Vec::new();
    let mut common_data = Vec::new();
    for info in infos {
        let info_type: InfoType = stored_enum(info.info_type)?;
        let category = i32::from(info.category);
        let category_name = info_type
            .category_name(category)
            .unwrap_or_default()
            .to_owned();
        if info_type == InfoType::Address {
            addresses.push(Address {
                street: info.street,
                city: info.city,
                state: info.state,
                zip: info.zip,
                country: info.country,
                category,
                category_name,
                is_primary: info.is_primary,
            });
        } else {
            common_data.push(ContactInfo {
                info_type,
                category,
                data: info.data,
                category_name,
                is_primary: info.is_primary,
                id: info.id,
            });
        }
    }

    let custom_fields = fields
        .into_iter()
        .map(|field| {
            Ok(CustomField {
                entity_id: id,
                label: field.label,
                field_value: field.value,
                field_type: stored_enum(field.field_type)?,
                position: field.position,
                mask: field.mask,
                id: field.id,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;

    let (small_default, medium_default) = pictures::contact_defaults(row.is_company);
    let display_name = if row.is_company {
        row.company_name.trim().to_owned()
    } else {
        format!("{} {}", row.first_name.trim(), row.last_name.trim())
            .trim()
            .to_owned()
    };
    let currency = match row.currency_code {
        Some(abbreviation) => Some(Currency {
            abbreviation,
            title: row.currency_title.unwrap_or_default(),
            symbol: row.currency_symbol.unwrap_or_default(),
            culture_name: row.currency_culture.unwrap_or_default(),
            is_convertable: row.currency_convertable.unwrap_or_default(),
            is_basic: row.currency_basic.unwrap_or_default(),
        }),
        None => None,
    };

    let contact = Contact {
        addresses,
        create_by: Employee {
            id: row.creator_id,
            display_name: row.creator_name,
            title: row.creator_title,
            avatar_small: row.creator_avatar,
            profile_url: row.creator_profile,
        },
        created: row.created_at,
        about: row.about,
        industry: row.industry,
        contact_status: list_item(
            row.status_id,
            row.status_title,
            row.status_description,
            row.status_color,
            row.status_sort_order,
        ),
        contact_type: list_item(
            row.type_id,
            row.type_title,
            row.type_description,
            row.type_color,
            row.type_sort_order,
        ),
        common_data,
        custom_fields,
        tags,
        task_count: i32::try_from(row.task_count).unwrap_or(i32::MAX),
        have_late_tasks: row.late_task_count > 0,
        small_foto_url: row
            .small_photo_url
            .unwrap_or_else(|| small_default.to_owned()),
        medium_foto_url: row
            .medium_photo_url
            .unwrap_or_else(|| medium_default.to_owned()),
        display_name,
        is_company: row.is_company,
        access_list: access,
        is_private: share_type == ShareType::None,
        is_shared: share_type != ShareType::None,
        share_type,
        currency,
        can_edit: permissions.edit,
        can_delete: permissions.delete,
        id: row.id,
    };
    Ok(Snapshot {
        contact,
        permissions,
    })
}
