//! Deleting contacts, one or a batch, in one transaction that returns them as they were just
//! before; what they held is kept in the trash ([`super::trash`]) while the retention allows.
//!
//! On SQLite the delete runs here, statement by statement, in a write transaction (a statement
//! costs no round trip in-process). On PostgreSQL, where each statement is a round trip to the
//! server, the same locks, reads and writes run as one statement — the function
//! `crm_delete_contacts` (migrations `m20261201_000006_delete_function`,
//! `m20261201_000007_delete_in_one_statement`, `m20261201_000008_delete_without_aggregates`)
//! — that commits on its own: one round trip per delete or batch. Once it is sent, the request
//! waits for its answer rather than being abandoned by the request timeout; the function waits
//! for locks only until the request's deadline ([`crate::deadline`]).

use std::{collections::HashSet, time::Duration};

use chrono::{DateTime, Utc};
use crm_models::{Contact, ShareType};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, Set,
};

use super::{
    Snapshot, load, load_many, not_found,
    snapshot::{ChildRow, ContactRow, HEADING, assemble, id_list, in_order, statement},
    trash,
};
use crate::{
    actor::Actor,
    db::entities::{audit_event, custom_field},
    deadline::LockWait,
    error::ApiError,
};

/// The audit action of a deleted person.
pub const PERSON_DELETED: &str = "PersonDeleted";
/// The audit action of a deleted company.
pub const COMPANY_DELETED: &str = "CompanyDeleted";

/// Deletes a contact in one transaction and returns it as it was just before.
///
/// Not found → 404; found but the caller may not delete it → 403. The contact's infos, custom
/// field values, tag links, tasks and access entries go with it (`ON DELETE CASCADE`); the people
/// of a deleted company stay, their company link cleared (`ON DELETE SET NULL`); an audit record
/// is written; with a `retention` above zero, all of it is kept in the trash that long. Of two
/// concurrent deletes of one contact, one succeeds and the other gets 404.
pub async fn delete(
    db: &DatabaseConnection,
    id: i32,
    caller: &Actor,
    retention: Duration,
) -> Result<Contact, ApiError> {
    if db.get_database_backend() == DbBackend::Postgres {
        let (mut found, deleted) = in_database(db, &[id], caller, retention).await?;
        let snapshot = found.pop().ok_or_else(|| not_found(id))?;
        if !snapshot.permissions.delete {
            return Err(forbidden(id));
        }
        return if deleted.contains(&id) {
            Ok(snapshot.contact)
        } else {
            Err(not_found(id))
        };
    }
    // SQLite's write transaction excludes every other writer: nothing to lock first.
    crate::db::write(db, |tx| async move {
        let snapshot = load(&*tx, id, caller).await?.ok_or_else(|| not_found(id))?;
        if !snapshot.permissions.delete {
            return Err(forbidden(id));
        }
        remove(&tx, vec![snapshot], caller, retention)
            .await?
            .pop()
            .ok_or_else(|| not_found(id))
    })
    .await
}

/// Deletes the contacts `ids` that exist and `caller` may delete, in one transaction, and returns
/// them as they were just before, in the order of `ids` (each ID once). The others are skipped.
/// The number of statements does not depend on how many there are.
pub async fn delete_many(
    db: &DatabaseConnection,
    ids: &[i32],
    caller: &Actor,
    retention: Duration,
) -> Result<Vec<Contact>, ApiError> {
    let mut unique = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    unique.extend(ids.iter().copied().filter(|id| seen.insert(*id)));
    let unique = &unique;
    if db.get_database_backend() == DbBackend::Postgres {
        let (mut found, deleted) = in_database(db, unique, caller, retention).await?;
        in_order(&mut found, unique);
        return Ok(found
            .into_iter()
            .map(|snapshot| snapshot.contact)
            .filter(|contact| deleted.contains(&contact.id))
            .collect());
    }
    crate::db::write(db, |tx| async move {
        let deletable = load_many(&*tx, unique, caller)
            .await?
            .into_iter()
            .filter(|snapshot| snapshot.permissions.delete)
            .collect();
        remove(&tx, deletable, caller, retention).await
    })
    .await
}

fn forbidden(id: i32) -> ApiError {
    ApiError::Forbidden(format!(
        "You may not delete contact {id}: it is not shared read-write, you are not on its \
         access list and you are not an administrator."
    ))
}

#[derive(Debug, FromQueryResult)]
struct Deleted {
    id: i32,
}

/// What `crm_delete_contacts` answers (migration `m20261201_000008_delete_without_aggregates`).
#[derive(Debug, serde::Deserialize)]
struct InDatabase {
    /// The contacts asked for that exist, as the caller saw them just before.
    contacts: Vec<ContactRow>,
    /// The children of those the caller may delete.
    children: Vec<ChildRow>,
    /// The IDs this call deleted.
    deleted: HashSet<i32>,
}

#[derive(Debug, FromQueryResult)]
struct Answer {
    answer: String,
}

/// On PostgreSQL: deletes the contacts `ids` that `caller` may delete with one statement, the
/// function `crm_delete_contacts` — the same locks, reads and writes as the in-process path
/// below — that commits on its own. It waits for locks at most until the request's deadline
/// (then: 503, nothing kept). Returns the contacts asked for that existed, as `caller` saw them
/// just before, and the IDs it deleted.
async fn in_database(
    db: &DatabaseConnection,
    ids: &[i32],
    caller: &Actor,
    retention: Duration,
) -> Result<(Vec<Snapshot>, HashSet<i32>), ApiError> {
    let array = format!(
        "{{{}}}",
        ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
    );
    let array = &array;
    crate::db::write_statement(db, || async move {
        // From here on the request waits for the statement's answer.
        let lock_wait = match crate::deadline::sending_final_statement() {
            Ok(LockWait::Unbounded) => None,
            Ok(LockWait::AtMost(left)) => Some(i32::try_from(left.as_millis()).unwrap_or(i32::MAX)),
            Err(timeout) => return Err(ApiError::Timeout(timeout)),
        };
        let now = crate::db::now();
        let expires: Option<DateTime<Utc>> =
            (!retention.is_zero()).then(|| trash::expiry(now, retention));
        let values = vec![
            array.as_str().into(),
            caller.id.into(),
            caller.is_admin.into(),
            now.into(),
            expires.into(),
            (ShareType::ReadWrite as i16).into(),
            custom_field::FOR_CONTACT.into(),
            custom_field::FOR_COMPANY.into(),
            custom_field::FOR_PERSON.into(),
            HEADING.into(),
            PERSON_DELETED.into(),
            COMPANY_DELETED.into(),
            lock_wait.into(),
        ];
        let answer = Answer::find_by_statement(statement(
            DbBackend::Postgres,
            "SELECT CAST(crm_delete_contacts(CAST($1 AS integer[]), $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13) AS text) AS answer",
            values,
        ))
        .one(db)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("crm_delete_contacts answered no row"))
        })?;
        let answer: InDatabase = serde_json::from_str(&answer.answer).map_err(|error| {
            ApiError::Internal(anyhow::anyhow!("crm_delete_contacts answered: {error}"))
        })?;
        Ok((
            assemble(answer.contacts, answer.children, caller)?,
            answer.deleted,
        ))
    })
    .await
}

/// Deletes the contacts of `snapshots` and returns those this transaction deleted (a concurrent
/// delete may have taken some first), each with its audit record and, when kept, its trash
/// entry.
async fn remove(
    tx: &DatabaseTransaction,
    snapshots: Vec<Snapshot>,
    caller: &Actor,
    retention: Duration,
) -> Result<Vec<Contact>, ApiError> {
    if snapshots.is_empty() {
        return Ok(Vec::new());
    }
    let backend = tx.get_database_backend();
    let ids: Vec<i32> = snapshots.iter().map(|s| s.contact.id).collect();
    let kept = if retention.is_zero() {
        None
    } else {
        Some(trash::collect(tx, &ids).await?)
    };
    let (placeholders, values) = id_list(&ids);
    let gone: HashSet<i32> = Deleted::find_by_statement(statement(
        backend,
        &format!("DELETE FROM contacts WHERE id IN ({placeholders}) RETURNING id"),
        values,
    ))
    .all(tx)
    .await?
    .into_iter()
    .map(|row| row.id)
    .collect();
    let contacts: Vec<Contact> = snapshots
        .into_iter()
        .map(|snapshot| snapshot.contact)
        .filter(|contact| gone.contains(&contact.id))
        .collect();
    if contacts.is_empty() {
        return Ok(contacts);
    }
    let now = crate::db::now();
    audit_event::Entity::insert_many(contacts.iter().map(|contact| {
        audit_event::ActiveModel {
            occurred_at: Set(now),
            user_id: Set(Some(caller.id)),
            action: Set(if contact.is_company {
                COMPANY_DELETED
            } else {
                PERSON_DELETED
            }
            .to_owned()),
            contact_id: Set(contact.id),
            display_name: Set(contact.display_name.clone()),
            ..Default::default()
        }
    }))
    .exec_without_returning(tx)
    .await?;
    if let Some(kept) = kept {
        trash::keep(tx, kept, &contacts, caller, now, retention).await?;
    }
    Ok(contacts)
}
