//! The delete: one transaction that returns the contact as it was just before.

use chrono::Utc;
use crm_models::Contact;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, Set};

use super::{load, not_found, snapshot::statement};
use crate::{actor::Actor, db::entities::audit_event, error::ApiError};

/// The audit action of a deleted person.
pub const PERSON_DELETED: &str = "PersonDeleted";
/// The audit action of a deleted company.
pub const COMPANY_DELETED: &str = "CompanyDeleted";

/// Deletes a contact in one transaction and returns it as it was just before.
///
/// Not found → 404; found but the caller may not delete it → 403. The contact's infos, custom
/// field values, tag links, tasks and access entries go with it (`ON DELETE CASCADE`); the people
/// of a deleted company stay, their company link cleared (`ON DELETE SET NULL`); an audit record
/// is written. Of two concurrent deletes of one contact, one succeeds and the other gets 404.
pub async fn delete(db: &DatabaseConnection, id: i32, caller: &Actor) -> Result<Contact, ApiError> {
    crate::db::write(db, |tx| async move { delete_in(&tx, id, caller).await }).await
}

async fn delete_in(tx: &DatabaseTransaction, id: i32, caller: &Actor) -> Result<Contact, ApiError> {
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
