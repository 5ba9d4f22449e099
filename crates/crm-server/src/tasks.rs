//! Tasks linked to contacts.

use crm_models::{MAX_NAME, NewTask, Task};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DatabaseTransaction, Set};

use crate::{
    actor::Actor,
    contacts::permissions,
    db::{self, entities::task},
    error::ApiError,
    validate,
};

/// Adds a task to a contact the caller may edit.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Actor,
    new: NewTask,
) -> Result<Task, ApiError> {
    check(&new)?;
    let new = &new;
    db::write(db, |tx| async move { insert(&tx, caller, new).await }).await
}

/// [`create`] inside a write transaction the caller holds.
pub async fn create_in(
    tx: &DatabaseTransaction,
    caller: &Actor,
    new: &NewTask,
) -> Result<Task, ApiError> {
    check(new)?;
    insert(tx, caller, new).await
}

/// What a new task's fields must be, whatever the database.
fn check(new: &NewTask) -> Result<(), ApiError> {
    validate::required("Title", &new.title, MAX_NAME)?;
    validate::rfc3339_time("Deadline", new.deadline.map(db::stored_time))
}

/// Checks the caller may edit the contact (reading it `FOR KEY SHARE`, see
/// [`permissions`]) and inserts the task.
async fn insert(tx: &DatabaseTransaction, caller: &Actor, new: &NewTask) -> Result<Task, ApiError> {
    let allowed = permissions(tx, new.contact_id, caller)
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable_field(
                "ContactId",
                format!("no contact with ID {} exists", new.contact_id),
            )
        })?;
    if !allowed.edit {
        return Err(ApiError::Forbidden(format!(
            "You may not add tasks to contact {}: you may not edit it.",
            new.contact_id
        )));
    }
    let row = task::ActiveModel {
        contact_id: Set(new.contact_id),
        title: Set(new.title.trim().to_owned()),
        deadline: Set(new.deadline.map(db::stored_time)),
        is_closed: Set(new.is_closed),
        created_at: Set(db::now()),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(Task {
        id: row.id,
        title: row.title,
        contact_id: row.contact_id,
        deadline: row.deadline,
        is_closed: row.is_closed,
    })
}
