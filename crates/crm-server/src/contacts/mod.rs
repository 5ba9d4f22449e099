//! Contacts: the permission rule ([`permissions`]), the snapshot a caller sees ([`snapshot`]),
//! reading, the delete ([`delete`]) and the create ([`create`]).
//!
//! A snapshot takes two queries whatever the contact holds; a delete adds the `DELETE` and the
//! audit `INSERT`: four statements.

use crm_models::Contact;
use sea_orm::{AccessMode, DatabaseConnection, DbBackend, IsolationLevel, TransactionOptions};

use crate::{actor::Actor, error::ApiError};

mod create;
mod delete;
mod permissions;
mod snapshot;
pub mod trash;

pub use create::{Draft, create, create_in};
pub use delete::{COMPANY_DELETED, PERSON_DELETED, delete, delete_many};
pub use permissions::{Permissions, permissions};
pub use snapshot::{Snapshot, load, load_many};

/// The contact as `caller` sees it: 404 when it does not exist, 403 when `caller` may not read it.
///
/// Its statements read one snapshot of the database (a read-only transaction: `REPEATABLE
/// READ` on PostgreSQL; on SQLite a transaction sees the write-ahead log as of its first read),
/// so a delete that commits between them cannot leave the contact without its children.
pub async fn get(db: &DatabaseConnection, id: i32, caller: &Actor) -> Result<Contact, ApiError> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let tx = crate::db::begin(
        db,
        TransactionOptions {
            isolation_level: postgres.then_some(IsolationLevel::RepeatableRead),
            access_mode: postgres.then_some(AccessMode::ReadOnly),
            sqlite_transaction_mode: None,
        },
    )
    .await?;
    let snapshot = load(&tx, id, caller).await?;
    crate::db::commit(tx).await?;
    let snapshot = snapshot.ok_or_else(|| not_found(id))?;
    if !snapshot.permissions.read {
        return Err(ApiError::Forbidden(format!(
            "You may not read contact {id}: it is private, you are not on its access list and \
             you are not an administrator."
        )));
    }
    Ok(snapshot.contact)
}

pub(crate) fn not_found(id: i32) -> ApiError {
    ApiError::not_found(
        "contact_not_found",
        format!("No contact with ID {id} exists."),
    )
}
