//! Contacts: the permission rule, the snapshot (`crm_models::Contact`) and the delete.
//!
//! A snapshot takes two queries whatever the contact holds: one for the contact with its
//! creator, status, type, currency, task counts and the caller's access, and one for all its
//! children (infos, custom fields, tags, access list). A delete adds the `DELETE` and the audit
//! `INSERT`: four statements.

use chrono::{DateTime, Utc};
use crm_models::{
    Address, Contact, ContactInfo, Currency, CustomField, Employee, FieldType, InfoType, ListItem,
    ShareType,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, Set, Statement, Value,
};
use uuid::Uuid;

use crate::{
    db::entities::{audit_event, custom_field, user},
    error::ApiError,
    pictures,
};

mod create;

pub use create::{Draft, create};

/// The audit action of a deleted person.
pub const PERSON_DELETED: &str = "PersonDeleted";
/// The audit action of a deleted company.
pub const COMPANY_DELETED: &str = "CompanyDeleted";

/// The contact row with everything that is one value per contact.
#[derive(Debug, FromQueryResult)]
struct ContactRow {
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

const CONTACT_SQL: &str = "\
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
WHERE c.id = $1";

/// One row of a contact's children: an info (`part` 1), a custom field (2), a tag (3) or a
/// user of the access list (4). The columns mean what the part says (see `CHILDREN_SQL`).
#[derive(Debug, FromQueryResult)]
struct ChildRow {
    part: i32,
    id: Option<i32>,
    kind: Option<i16>,
    category: Option<i16>,
    t1: Option<String>,
    t2: Option<String>,
    t3: Option<String>,
    t4: Option<String>,
    t5: Option<String>,
    t6: Option<String>,
    flag: Option<bool>,
    position: Option<i32>,
    user_id: Option<Uuid>,
}

/// Every child of contact `$1` in one query, so loading a contact takes two queries however
/// much it holds. Custom fields: those defined for all contacts (`$2`) or for the contact's kind
/// (`$3` for companies, `$4` for persons) that have a value on it, and the headings (`$5`).
const CHILDREN_SQL: &str = "\
SELECT 1 AS part, i.id AS id, i.info_type AS kind, i.category AS category, i.data AS t1, \
       i.street AS t2, i.city AS t3, i.state AS t4, i.zip AS t5, i.country AS t6, \
       i.is_primary AS flag, CAST(NULL AS INTEGER) AS position, CAST(NULL AS UUID) AS user_id \
FROM contact_infos i WHERE i.contact_id = $1 \
UNION ALL \
SELECT 2, f.id, f.field_type, NULL, f.label, f.mask, v.value, NULL, NULL, NULL, NULL, \
       f.position, NULL \
FROM custom_fields f \
LEFT JOIN custom_field_values v ON v.field_id = f.id AND v.contact_id = $1 \
WHERE f.entity_type IN ($2, (SELECT CASE WHEN c.is_company THEN $3 ELSE $4 END \
                             FROM contacts c WHERE c.id = $1)) \
  AND (v.contact_id IS NOT NULL OR f.field_type = $5) \
UNION ALL \
SELECT 3, g.id, NULL, NULL, g.title, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
FROM contact_tags ct JOIN tags g ON g.id = ct.tag_id WHERE ct.contact_id = $1 \
UNION ALL \
SELECT 4, NULL, NULL, NULL, u.display_name, u.title, u.avatar_small, u.profile_url, NULL, \
       NULL, NULL, NULL, u.id \
FROM contact_access a JOIN users u ON u.id = a.user_id WHERE a.contact_id = $1";

/// What the caller may do with a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// May read the contact.
    pub read: bool,
    /// May edit the contact.
    pub edit: bool,
    /// May delete the contact.
    pub delete: bool,
}

impl Permissions {
    /// The rule: admins may do everything; a contact shared read-write may be edited and deleted
    /// by anyone, one shared read-only may be read by anyone; a user on the contact's access list
    /// may do everything. Being the creator does not count.
    pub fn of(is_admin: bool, share_type: ShareType, on_access_list: bool) -> Self {
        let full = is_admin || on_access_list;
        Self {
            read: full || share_type != ShareType::None,
            edit: full || share_type == ShareType::ReadWrite,
            delete: full || share_type == ShareType::ReadWrite,
        }
    }
}

/// A contact as the caller sees it, with the caller's permissions.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The wire form, `CanEdit`/`CanDelete` evaluated for the caller.
    pub contact: Contact,
    /// The caller's permissions.
    pub permissions: Permissions,
}

fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
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

fn stored_enum<T: TryFrom<i64, Error = crm_models::UnknownVariant>>(
    value: i16,
) -> Result<T, ApiError> {
    T::try_from(i64::from(value))
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("corrupt row: {error}")))
}

/// The contact as it is now, seen by `caller`, or `None` when it does not exist.
pub async fn load(
    db: &impl ConnectionTrait,
    id: i32,
    caller: &user::Model,
) -> Result<Option<Snapshot>, ApiError> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let Some(row) = ContactRow::find_by_statement(statement(
        backend,
        CONTACT_SQL,
        vec![id.into(), false.into(), now.into(), caller.id.into()],
    ))
    .one(db)
    .await?
    else {
        return Ok(None);
    };

    let children = ChildRow::find_by_statement(statement(
        backend,
        CHILDREN_SQL,
        vec![
            id.into(),
            custom_field::FOR_CONTACT.into(),
            custom_field::FOR_COMPANY.into(),
            custom_field::FOR_PERSON.into(),
            (FieldType::Heading.value() as i16).into(),
        ],
    ))
    .all(db)
    .await?;
    let mut infos = Vec::new();
    let mut fields = Vec::new();
    let mut tags = Vec::new();
    let mut access = Vec::new();
    for child in children {
        match child.part {
            1 => infos.push(child),
            2 => fields.push(child),
            3 => tags.push(child.t1.unwrap_or_default()),
            _ => access.push(Employee {
                id: child.user_id.unwrap_or_default(),
                display_name: child.t1.unwrap_or_default(),
                title: child.t2.unwrap_or_default(),
                avatar_small: child.t3.unwrap_or_default(),
                profile_url: child.t4.unwrap_or_default(),
            }),
        }
    }
    infos.sort_by_key(|info| (info.kind, info.id));
    fields.sort_by_key(|field| (field.position, field.id));
    tags.sort();
    access.sort_by(|a, b| (&a.display_name, a.id).cmp(&(&b.display_name, b.id)));

    let share_type: ShareType = stored_enum(row.share_type)?;
    let permissions = Permissions::of(caller.is_admin, share_type, row.caller_listed > 0);

    let mut addresses = Vec::new();
    let mut common_data = Vec::new();
    for info in infos {
        let info_type: InfoType = stored_enum(info.kind.unwrap_or_default())?;
        let category = i32::from(info.category.unwrap_or_default());
        let category_name = info_type
            .category_name(category)
            .unwrap_or_default()
            .to_owned();
        if info_type == InfoType::Address {
            addresses.push(Address {
                street: info.t2.unwrap_or_default(),
                city: info.t3.unwrap_or_default(),
                state: info.t4.unwrap_or_default(),
                zip: info.t5.unwrap_or_default(),
                country: info.t6.unwrap_or_default(),
                category,
                category_name,
                is_primary: info.flag.unwrap_or_default(),
            });
        } else {
            common_data.push(ContactInfo {
                info_type,
                category,
                data: info.t1.unwrap_or_default(),
                category_name,
                is_primary: info.flag.unwrap_or_default(),
                id: info.id.unwrap_or_default(),
            });
        }
    }

    let custom_fields = fields
        .into_iter()
        .map(|field| {
            Ok(CustomField {
                entity_id: id,
                label: field.t1.unwrap_or_default(),
                field_value: field.t3.unwrap_or_default(),
                field_type: stored_enum(field.kind.unwrap_or_default())?,
                position: field.position.unwrap_or_default(),
                mask: field.t2.unwrap_or_default(),
                id: field.id.unwrap_or_default(),
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
    Ok(Some(Snapshot {
        contact,
        permissions,
    }))
}

#[derive(Debug, FromQueryResult)]
struct AccessRow {
    share_type: i16,
    caller_listed: i64,
}

/// What `caller` may do with contact `id`, or `None` when it does not exist.
///
/// Inside a transaction that is about to add a row referring to the contact: on PostgreSQL the
/// contact's row stays locked against a delete (`FOR KEY SHARE`) until the transaction ends, so
/// a concurrent delete either came first (`None`) or waits for this transaction. On SQLite the
/// write transaction already excludes every other writer.
pub async fn permissions(
    tx: &DatabaseTransaction,
    id: i32,
    caller: &user::Model,
) -> Result<Option<Permissions>, ApiError> {
    let backend = tx.get_database_backend();
    let sql = "SELECT c.share_type, (SELECT COUNT(*) FROM contact_access a \
               WHERE a.contact_id = c.id AND a.user_id = $2) AS caller_listed \
               FROM contacts c WHERE c.id = $1";
    let sql = match backend {
        DbBackend::Postgres => format!("{sql} FOR KEY SHARE OF c"),
        _ => sql.to_owned(),
    };
    let row =
        AccessRow::find_by_statement(statement(backend, &sql, vec![id.into(), caller.id.into()]))
            .one(tx)
            .await?;
    row.map(|row| {
        let share: ShareType = stored_enum(row.share_type)?;
        Ok(Permissions::of(
            caller.is_admin,
            share,
            row.caller_listed > 0,
        ))
    })
    .transpose()
}

/// The contact as `caller` sees it: 404 when it does not exist, 403 when `caller` may not read it.
pub async fn get(
    db: &DatabaseConnection,
    id: i32,
    caller: &user::Model,
) -> Result<Contact, ApiError> {
    let snapshot = load(db, id, caller).await?.ok_or_else(|| not_found(id))?;
    if !snapshot.permissions.read {
        return Err(ApiError::Forbidden(format!(
            "You may not read contact {id}: it is private, you are not on its access list and \
             you are not an administrator."
        )));
    }
    Ok(snapshot.contact)
}

fn not_found(id: i32) -> ApiError {
    ApiError::not_found(
        "contact_not_found",
        format!("No contact with ID {id} exists."),
    )
}

/// Deletes a contact in one transaction and returns it as it was just before.
///
/// Not found → 404; found but the caller may not delete it → 403. The contact's infos, custom
/// field values, tag links, tasks and access entries go with it (`ON DELETE CASCADE`); the people
/// of a deleted company stay, their company link cleared (`ON DELETE SET NULL`); an audit record
/// is written. Of two concurrent deletes of one contact, one succeeds and the other gets 404.
pub async fn delete(
    db: &DatabaseConnection,
    id: i32,
    caller: &user::Model,
) -> Result<Contact, ApiError> {
    crate::db::write(db, |tx| async move { delete_in(&tx, id, caller).await }).await
}

async fn delete_in(
    tx: &DatabaseTransaction,
    id: i32,
    caller: &user::Model,
) -> Result<Contact, ApiError> {
    let snapshot = load(tx, id, caller).await?.ok_or_else(|| not_found(id))?;
    if !snapshot.permissions.delete {
        return Err(ApiError::Forbidden(format!(
            "You may not delete contact {id}: it is not shared read-write, you are not on its \
             access list and you are not an administrator."
        )));
    }
    let backend = tx.get_database_backend();
    let deleted = tx
        .execute_raw(statement(
            backend,
            "DELETE FROM contacts WHERE id = $1",
            vec![id.into()],
        ))
        .await?;
    if deleted.rows_affected() != 1 {
        return Err(not_found(id));
    }
    let contact = snapshot.contact;
    audit_event::Entity::insert(audit_event::ActiveModel {
        occurred_at: Set(Utc::now()),
        user_id: Set(Some(caller.id)),
        action: Set(if contact.is_company {
            COMPANY_DELETED
        } else {
            PERSON_DELETED
        }
        .to_owned()),
        contact_id: Set(id),
        display_name: Set(contact.display_name.clone()),
        ..Default::default()
    })
    .exec_without_returning(tx)
    .await?;
    Ok(contact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_rule() {
        use ShareType::*;
        for share in [None, ReadWrite, Read] {
            assert!(Permissions::of(true, share, false).delete, "admin");
            assert!(Permissions::of(false, share, true).delete, "listed");
        }
        assert!(Permissions::of(false, ReadWrite, false).delete);
        assert!(!Permissions::of(false, Read, false).delete);
        assert!(Permissions::of(false, Read, false).read);
        assert!(!Permissions::of(false, None, false).read);
        assert!(!Permissions::of(false, None, false).edit);
    }
}
