//! The trash: what a delete keeps so that the contact can come back under the same ID, for the
//! retention period (`--trash-retention`).
//!
//! An entry (`contact_trash`) holds the contact's row and every child row — infos and addresses,
//! custom-field values, tag titles, tasks, access list — and, for a company, the people its
//! delete unlinked, as JSON ([`Kept`]). A restore puts the rows back with their IDs. What the
//! rows referred to and is gone meanwhile is dropped, never refused: a custom field's value, a
//! user on the access list, a status, type or currency (left empty), the company of a person
//! (unlinked; when the company is in the trash, its entry gets the person among its people, and
//! the person is linked again when the company comes back), a person of a company (not linked
//! again when it is gone or has another company; one in the trash itself gets the link in its
//! entry, and comes back linked when restored).
//! A tag is referred to by its title and created again when it is gone.

use std::{
    collections::{BTreeSet, HashSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use crm_models::{Contact, Employee, TrashEntry};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
    sea_query::{Expr, LockType},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    create::link_tags,
    load,
    snapshot::{id_list, statement},
};
use crate::{
    actor::Actor,
    db::{
        self,
        entities::{
            audit_event, contact, contact_access, contact_info, contact_tag, contact_trash,
            currency, custom_field, custom_field_value, list_item, tag, task, user,
        },
    },
    error::ApiError,
};

/// How long deleted contacts stay in the trash unless configured otherwise: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The audit action of a restored person.
pub const PERSON_RESTORED: &str = "PersonRestored";
/// The audit action of a restored company.
pub const COMPANY_RESTORED: &str = "CompanyRestored";

/// The PostgreSQL advisory-lock key that makes restores and erasures take turns: a company and
/// its people restored at the same moment must each see the other's rows to link them again.
const TRASH_LOCK: i64 = 0x0C12_7A54;

/// Inside a transaction: waits until no other restore or erasure runs (PostgreSQL; on SQLite the
/// write transaction already excludes every other writer).
async fn take_turn(tx: &DatabaseTransaction) -> Result<(), ApiError> {
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(statement(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            vec![TRASH_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The most entries one purge run removes.
pub const PURGE_BATCH: u64 = 1000;

/// What the trash keeps of one contact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Kept {
    contact: contact::Model,
    infos: Vec<contact_info::Model>,
    values: Vec<custom_field_value::Model>,
    tags: Vec<String>,
    tasks: Vec<task::Model>,
    access: Vec<Uuid>,
    /// For a company: its people, whose company link the delete cleared.
    people: Vec<i32>,
}

#[derive(Debug, FromQueryResult)]
struct TagRow {
    contact_id: i32,
    title: String,
}

/// What the contacts `ids` hold, read before they are deleted: six statements however many.
pub(super) async fn collect(tx: &DatabaseTransaction, ids: &[i32]) -> Result<Vec<Kept>, ApiError> {
    let ids = ids.to_vec();
    let rows = contact::Entity::find()
        .filter(
            Condition::any()
                .add(contact::Column::Id.is_in(ids.clone()))
                .add(contact::Column::CompanyId.is_in(ids.clone())),
        )
        .all(tx)
        .await?;
    let infos = contact_info::Entity::find()
        .filter(contact_info::Column::ContactId.is_in(ids.clone()))
        .all(tx)
        .await?;
    let values = custom_field_value::Entity::find()
        .filter(custom_field_value::Column::ContactId.is_in(ids.clone()))
        .all(tx)
        .await?;
    let (placeholders, id_values) = id_list(&ids);
    let tags = TagRow::find_by_statement(statement(
        tx.get_database_backend(),
        &format!(
            "SELECT ct.contact_id, g.title FROM contact_tags ct JOIN tags g ON g.id = ct.tag_id \
             WHERE ct.contact_id IN ({placeholders})"
        ),
        id_values,
    ))
    .all(tx)
    .await?;
    let tasks = task::Entity::find()
        .filter(task::Column::ContactId.is_in(ids.clone()))
        .all(tx)
        .await?;
    let access = contact_access::Entity::find()
        .filter(contact_access::Column::ContactId.is_in(ids.clone()))
        .all(tx)
        .await?;
    Ok(rows
        .iter()
        .filter(|row| ids.contains(&row.id))
        .map(|row| Kept {
            contact: row.clone(),
            infos: infos
                .iter()
                .filter(|i| i.contact_id == row.id)
                .cloned()
                .collect(),
            values: values
                .iter()
                .filter(|v| v.contact_id == row.id)
                .cloned()
                .collect(),
            tags: tags
                .iter()
                .filter(|tag| tag.contact_id == row.id)
                .map(|tag| tag.title.clone())
                .collect(),
            tasks: tasks
                .iter()
                .filter(|t| t.contact_id == row.id)
                .cloned()
                .collect(),
            access: access
                .iter()
                .filter(|a| a.contact_id == row.id)
                .map(|a| a.user_id)
                .collect(),
            people: rows
                .iter()
                .filter(|p| row.is_company && p.company_id == Some(row.id))
                .map(|p| p.id)
                .collect(),
        })
        .collect())
}

/// When an entry put in the trash at `now` expires: `now + retention`, at most 100 years on, as
/// the databases keep it (`crate::db::stored_time`).
pub(super) fn expiry(now: DateTime<Utc>, retention: Duration) -> DateTime<Utc> {
    crate::db::stored_time(
        now + chrono::Duration::from_std(retention)
            .unwrap_or(chrono::Duration::MAX)
            .min(chrono::Duration::days(100 * 365)),
    )
}

/// Puts what was kept of the deleted `contacts` in the trash until `now + retention`.
pub(super) async fn keep(
    tx: &DatabaseTransaction,
    kept: Vec<Kept>,
    contacts: &[Contact],
    caller: &Actor,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<(), ApiError> {
    let expires = expiry(now, retention);
    let mut entries = Vec::with_capacity(contacts.len());
    for contact in contacts {
        let Some(kept) = kept.iter().find(|k| k.contact.id == contact.id) else {
            continue;
        };
        entries.push(contact_trash::ActiveModel {
            contact_id: Set(contact.id),
            display_name: Set(contact.display_name.clone()),
            is_company: Set(contact.is_company),
            deleted_by: Set(Some(caller.id)),
            deleted_at: Set(now),
            expires_at: Set(expires),
            payload: Set(serde_json::to_string(kept).map_err(|e| ApiError::Internal(e.into()))?),
        });
    }
    if !entries.is_empty() {
        // An entry left by an earlier delete of the same ID (restored since, then deleted
        // again) cannot exist: a restore removes its entry.
        contact_trash::Entity::insert_many(entries)
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

fn not_in_trash(id: i32) -> ApiError {
    ApiError::not_found(
        "not_in_trash",
        format!("Contact {id} is not in the trash (never deleted, expired, restored, or erased)."),
    )
}

/// Whether `caller` may restore an entry: an administrator, or the user who deleted it.
fn may_restore(caller: &Actor, entry: &contact_trash::Model) -> bool {
    caller.is_admin || entry.deleted_by == Some(caller.id)
}

#[derive(Debug, FromQueryResult)]
struct EntryRow {
    contact_id: i32,
    display_name: String,
    is_company: bool,
    deleted_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    user_id: Option<Uuid>,
    user_name: Option<String>,
    user_title: Option<String>,
    user_avatar: Option<String>,
    user_profile: Option<String>,
}

/// The entries `caller` may restore, newest first: `count` of them from `start_index`.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Actor,
    count: i64,
    start_index: i64,
) -> Result<Vec<TrashEntry>, ApiError> {
    let rows = EntryRow::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT t.contact_id, t.display_name, t.is_company, t.deleted_at, t.expires_at, \
                u.id AS user_id, u.display_name AS user_name, u.title AS user_title, \
                u.avatar_small AS user_avatar, u.profile_url AS user_profile \
         FROM contact_trash t LEFT JOIN users u ON u.id = t.deleted_by \
         WHERE t.expires_at > $1 AND ($2 OR t.deleted_by = $3) \
         ORDER BY t.deleted_at DESC, t.contact_id DESC LIMIT $4 OFFSET $5",
        vec![
            Utc::now().into(),
            caller.is_admin.into(),
            caller.id.into(),
            count.into(),
            start_index.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| TrashEntry {
            id: row.contact_id,
            display_name: row.display_name,
            is_company: row.is_company,
            deleted_by: row.user_id.map(|id| Employee {
                id,
                display_name: row.user_name.unwrap_or_default(),
                title: row.user_title.unwrap_or_default(),
                avatar_small: row.user_avatar.unwrap_or_default(),
                profile_url: row.user_profile.unwrap_or_default(),
            }),
            deleted: row.deleted_at,
            expires: row.expires_at,
        })
        .collect())
}

/// The trash entry of `id` that has not expired, locked against a concurrent restore or erasure
/// (PostgreSQL; on SQLite the write transaction excludes every other writer).
async fn entry(tx: &DatabaseTransaction, id: i32) -> Result<contact_trash::Model, ApiError> {
    contact_trash::Entity::find_by_id(id)
        .lock(LockType::Update)
        .one(tx)
        .await?
        .filter(|entry| entry.expires_at > Utc::now())
        .ok_or_else(|| not_in_trash(id))
}

/// Brings contact `id` back from the trash with every child row, under the same ID, and returns
/// it as `caller` now sees it. 404 when it is not in the trash; 403 unless `caller` is an
/// administrator or deleted it.
pub async fn restore(
    db: &DatabaseConnection,
    id: i32,
    caller: &Actor,
) -> Result<Contact, ApiError> {
    db::write(db, |tx| async move {
        take_turn(&tx).await?;
        let entry = entry(&tx, id).await?;
        if !may_restore(caller, &entry) {
            return Err(ApiError::Forbidden(format!(
                "You may not restore contact {id}: only an administrator or the user who \
                 deleted it may."
            )));
        }
        let kept: Kept = serde_json::from_str(&entry.payload).map_err(|error| {
            ApiError::Internal(anyhow::anyhow!("corrupt trash entry {id}: {error}"))
        })?;
        if contact::Entity::find_by_id(id).one(&*tx).await?.is_some() {
            return Err(ApiError::Conflict(format!(
                "contactid: a contact with ID {id} exists"
            )));
        }
        put_back(&tx, kept).await?;
        contact_trash::Entity::delete_by_id(id).exec(&*tx).await?;
        let snapshot = load(&*tx, id, caller).await?.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("contact {id} vanished inside its restore"))
        })?;
        audit_event::Entity::insert(audit_event::ActiveModel {
            occurred_at: Set(crate::db::now()),
            user_id: Set(Some(caller.id)),
            action: Set(if entry.is_company {
                COMPANY_RESTORED
            } else {
                PERSON_RESTORED
            }
            .to_owned()),
            contact_id: Set(id),
            display_name: Set(snapshot.contact.display_name.clone()),
            ..Default::default()
        })
        .exec_without_returning(&*tx)
        .await?;
        Ok(snapshot.contact)
    })
    .await
}

/// The IDs among `ids` that exist in `E`'s `column`, read `FOR KEY SHARE` on PostgreSQL: a
/// row being deleted meanwhile is waited for and then not found (so what refers to it is
/// dropped, never a foreign-key failure), and one found stays until the restore commits.
async fn existing<E: EntityTrait, V>(
    tx: &DatabaseTransaction,
    column: E::Column,
    ids: Vec<V>,
) -> Result<HashSet<V>, ApiError>
where
    V: Into<sea_orm::Value> + sea_orm::TryGetable + std::hash::Hash + Eq + Clone,
{
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(E::find()
        .select_only()
        .column(column)
        .filter(column.is_in(ids))
        .lock(LockType::KeyShare)
        .into_tuple::<V>()
        .all(tx)
        .await?
        .into_iter()
        .collect())
}

/// Inserts the kept rows again, dropping what refers to rows that are gone.
async fn put_back(tx: &DatabaseTransaction, kept: Kept) -> Result<(), ApiError> {
    let mut row = kept.contact;
    let lists = existing::<list_item::Entity, i32>(
        tx,
        list_item::Column::Id,
        row.status_id.into_iter().chain(row.type_id).collect(),
    )
    .await?;
    row.status_id = row.status_id.filter(|id| lists.contains(id));
    row.type_id = row.type_id.filter(|id| lists.contains(id));
    if let Some(code) = row.currency.clone() {
        let known =
            existing::<currency::Entity, String>(tx, currency::Column::Abbreviation, vec![code])
                .await?;
        row.currency = row.currency.filter(|code| known.contains(code));
    }
    if let Some(company) = row.company_id {
        let found = contact::Entity::find_by_id(company)
            .lock(LockType::KeyShare)
            .one(tx)
            .await?;
        if !found.as_ref().is_some_and(|c| c.is_company) {
            row.company_id = None;
            if found.is_none() {
                link_when_company_returns(tx, company, row.id).await?;
            }
        }
    }
    if !existing::<user::Entity, Uuid>(tx, user::Column::Id, vec![row.created_by])
        .await?
        .contains(&row.created_by)
    {
        return Err(ApiError::Conflict(format!(
            "contactid: contact {} cannot come back: the user who created it no longer exists",
            row.id
        )));
    }
    let id = row.id;
    let is_company = row.is_company;
    let mut active = row.into_active_model();
    active.id = Set(id);
    contact::Entity::insert(active.reset_all())
        .exec_without_returning(tx)
        .await?;

    if !kept.infos.is_empty() {
        contact_info::Entity::insert_many(
            kept.infos
                .into_iter()
                .map(|info| info.into_active_model().reset_all()),
        )
        .exec_without_returning(tx)
        .await?;
    }
    let fields = existing::<custom_field::Entity, i32>(
        tx,
        custom_field::Column::Id,
        kept.values.iter().map(|v| v.field_id).collect(),
    )
    .await?;
    let values: Vec<_> = kept
        .values
        .into_iter()
        .filter(|v| fields.contains(&v.field_id))
        .map(|v| v.into_active_model().reset_all())
        .collect();
    if !values.is_empty() {
        custom_field_value::Entity::insert_many(values)
            .exec_without_returning(tx)
            .await?;
    }
    link_tags(tx, id, &kept.tags).await?;
    if !kept.tasks.is_empty() {
        task::Entity::insert_many(
            kept.tasks
                .into_iter()
                .map(|task| task.into_active_model().reset_all()),
        )
        .exec_without_returning(tx)
        .await?;
    }
    let users = existing::<user::Entity, Uuid>(tx, user::Column::Id, kept.access.clone()).await?;
    let access: Vec<_> = kept
        .access
        .into_iter()
        .filter(|user| users.contains(user))
        .map(|user_id| contact_access::ActiveModel {
            contact_id: Set(id),
            user_id: Set(user_id),
        })
        .collect();
    if !access.is_empty() {
        contact_access::Entity::insert_many(access)
            .exec_without_returning(tx)
            .await?;
    }
    if is_company && !kept.people.is_empty() {
        contact::Entity::update_many()
            .col_expr(contact::Column::CompanyId, Expr::value(id))
            .filter(contact::Column::Id.is_in(kept.people.clone()))
            .filter(contact::Column::CompanyId.is_null())
            .filter(contact::Column::IsCompany.eq(false))
            .exec(tx)
            .await?;
        link_again_in_trash(tx, id, kept.people).await?;
    }
    Ok(())
}

/// The people of company `company` that are in the trash themselves, deleted after the
/// company's delete cleared their link: their trash entries get the link back, so that they
/// come back to the company when they are restored — as they do when restored first, or when
/// deleted in one batch with it. One that had moved to another company keeps it.
async fn link_again_in_trash(
    tx: &DatabaseTransaction,
    company: i32,
    people: Vec<i32>,
) -> Result<(), ApiError> {
    let entries = contact_trash::Entity::find()
        .filter(contact_trash::Column::ContactId.is_in(people))
        .all(tx)
        .await?;
    for entry in entries {
        edit_payload(tx, entry, |payload| {
            let Some(contact) = payload
                .get_mut("contact")
                .and_then(serde_json::Value::as_object_mut)
            else {
                return false;
            };
            let person = contact.get("is_company") == Some(&serde_json::Value::Bool(false));
            let unlinked = contact
                .get("company_id")
                .is_none_or(serde_json::Value::is_null);
            if !(person && unlinked) {
                return false;
            }
            contact.insert("company_id".to_owned(), company.into());
            true
        })
        .await?;
    }
    Ok(())
}

/// A person restored while its company `company` is in the trash comes back unlinked; the
/// company's entry gets the person among its people, so that the person is linked again when
/// the company comes back — as when the company is restored first.
async fn link_when_company_returns(
    tx: &DatabaseTransaction,
    company: i32,
    person: i32,
) -> Result<(), ApiError> {
    let Some(entry) = contact_trash::Entity::find_by_id(company).one(tx).await? else {
        return Ok(());
    };
    edit_payload(tx, entry, |payload| {
        let is_company = payload.pointer("/contact/is_company") == Some(&true.into());
        let Some(people) = payload
            .get_mut("people")
            .and_then(serde_json::Value::as_array_mut)
        else {
            return false;
        };
        if !is_company || people.contains(&person.into()) {
            return false;
        }
        people.push(person.into());
        true
    })
    .await
}

/// Rewrites the payload of trash entry `entry` with `edit`, which says whether it changed
/// anything. The payload is edited as it is (a field this version does not know stays); one
/// that does not parse is left alone: its own restore reports it.
async fn edit_payload(
    tx: &DatabaseTransaction,
    entry: contact_trash::Model,
    edit: impl FnOnce(&mut serde_json::Value) -> bool,
) -> Result<(), ApiError> {
    let Ok(mut payload) = serde_json::from_str::<serde_json::Value>(&entry.payload) else {
        return Ok(());
    };
    if !edit(&mut payload) {
        return Ok(());
    }
    contact_trash::Entity::update_many()
        .col_expr(
            contact_trash::Column::Payload,
            Expr::value(payload.to_string()),
        )
        .filter(contact_trash::Column::ContactId.eq(entry.contact_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// Erases the trash entry of contact `id` for good (administrators only): afterwards nothing
/// personal of the contact is left — its audit records keep the ID, the action, who and when,
/// and lose the display name; its tags that no contact uses any more go too.
pub async fn erase(db: &DatabaseConnection, id: i32, caller: &Actor) -> Result<(), ApiError> {
    if !caller.is_admin {
        return Err(ApiError::Forbidden(
            "only administrators may erase contacts from the trash".to_owned(),
        ));
    }
    db::write(db, |tx| async move {
        take_turn(&tx).await?;
        // Expired but not purged yet: erased all the same (the purge would do the same).
        if forget(&tx, vec![id]).await? == 0 {
            return Err(not_in_trash(id));
        }
        Ok(())
    })
    .await?;
    db::wipe_log_soon(db);
    Ok(())
}

/// How many trash entries [`forget`] reads at a time for their tags.
const FORGET_CHUNK: usize = 50;

/// Erases the trash entries of `ids` for good: the entries, the display names of their audit
/// records, and their tags that no contact uses any more. What an erasure and the purge of
/// expired entries both do; statements per [`FORGET_CHUNK`] entries, not per entry. Returns how
/// many of `ids` had an entry; with none, nothing is written.
async fn forget(tx: &DatabaseTransaction, ids: Vec<i32>) -> Result<u64, ApiError> {
    let mut titles = BTreeSet::new();
    let mut found = 0;
    for chunk in ids.chunks(FORGET_CHUNK) {
        let payloads: Vec<String> = contact_trash::Entity::find()
            .select_only()
            .column(contact_trash::Column::Payload)
            .filter(contact_trash::Column::ContactId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(tx)
            .await?;
        found += payloads.len() as u64;
        // An entry that does not parse keeps its tags; the entry goes all the same.
        titles.extend(
            payloads
                .iter()
                .filter_map(|payload| serde_json::from_str::<Kept>(payload).ok())
                .flat_map(|kept| kept.tags),
        );
    }
    if found == 0 {
        return Ok(0);
    }
    contact_trash::Entity::delete_many()
        .filter(contact_trash::Column::ContactId.is_in(ids.clone()))
        .exec(tx)
        .await?;
    audit_event::Entity::update_many()
        .col_expr(audit_event::Column::DisplayName, Expr::value(""))
        .filter(audit_event::Column::ContactId.is_in(ids))
        .exec(tx)
        .await?;
    if !titles.is_empty() {
        let titles: Vec<String> = titles.into_iter().collect();
        // Locked first: a create linking one of them either has committed (the tag is in use
        // and stays) or waits and then creates the tag again (`create::link_tags`).
        tag::Entity::find()
            .filter(tag::Column::Title.is_in(titles.clone()))
            .lock(LockType::Update)
            .all(tx)
            .await?;
        let used = contact_tag::Entity::find()
            .select_only()
            .column(contact_tag::Column::TagId);
        tag::Entity::delete_many()
            .filter(tag::Column::Title.is_in(titles))
            .filter(tag::Column::Id.not_in_subquery(sea_orm::QueryTrait::into_query(used)))
            .exec(tx)
            .await?;
    }
    Ok(found)
}

/// Erases up to [`PURGE_BATCH`] entries that expired before `now`, as an administrator's
/// erasure would ([`forget`]: nothing personal of them is left); returns how many.
pub async fn purge(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let purged = db::write(db, |tx| async move {
        take_turn(&tx).await?;
        let expired: Vec<i32> = contact_trash::Entity::find()
            .select_only()
            .column(contact_trash::Column::ContactId)
            .filter(contact_trash::Column::ExpiresAt.lte(now))
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(&*tx)
            .await?;
        forget(&tx, expired).await
    })
    .await?;
    if purged > 0 {
        db::wipe_log_soon(db);
    }
    Ok(purged)
}

/// How often the server purges expired entries while it runs.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Purges expired entries now and every [`PURGE_EVERY`] until the task is aborted, each run
/// at most [`PURGE_BATCH`] entries at a time until none is left.
pub async fn purge_periodically(db: DatabaseConnection) {
    loop {
        loop {
            match purge(&db, Utc::now()).await {
                Ok(n) if n == PURGE_BATCH => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!("purged {n} expired contacts from the trash");
                    }
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "purging the trash failed");
                    break;
                }
            }
        }
        tokio::time::sleep(PURGE_EVERY).await;
    }
}
