//! Deleting many contacts at once, and the trash: listing, restoring and erasing deleted
//! contacts.

use actix_web::{HttpRequest, web};
use crm_models::{BatchDelete, Contact, Error, MAX_BATCH, TrashEntry};
use std::collections::HashMap;

use crate::{
    auth::Caller,
    contacts::{self, trash},
    error::ApiError,
    json::JsonBody,
    state::AppState,
};

use super::shared::{AcceptsJson, BodyErrors, CommonErrors, contact_id};

/// Delete contacts
///
/// Deletes the contacts whose IDs are listed, in one transaction, and returns the deleted ones,
/// each exactly as the single delete returns it (as it was just before). As in ONLYOFFICE, the
/// contacts the caller may not delete and the IDs that name no contact are skipped, not refused:
/// a client learns what was skipped by comparing the `ID`s of the response with the IDs it sent.
/// Each deleted contact goes to the trash like a single delete's. Of two batches sent at once,
/// each contact is deleted by one of them.
#[utoipa::path(
    put,
    path = "/api/2.0/crm/contact",
    operation_id = "deleteContacts",
    tag = "Contacts",
    request_body(content = BatchDelete, example = json!({"contactids": [42, 43]})),
    responses(
        (status = 200, description = "The deleted contacts, each as it was just before the delete, in the order their IDs were sent (each once). Missing IDs were skipped: they named no contact, or one the caller may not delete.", body = Vec<Contact>),
        (status = 400, description = "The body is malformed, `contactids` is empty or has more than 500 IDs, or an ID is not an integer from 1 to 2147483647; the message names the property.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn delete_contacts(
    caller: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
    JsonBody(batch): JsonBody<BatchDelete>,
) -> Result<web::Json<Vec<Contact>>, ApiError> {
    if batch.contactids.is_empty() {
        return Err(ApiError::invalid_field(
            "contactids",
            "name at least one contact",
        ));
    }
    if batch.contactids.len() > MAX_BATCH {
        return Err(ApiError::invalid_field(
            "contactids",
            format!(
                "has {} entries; the limit is {MAX_BATCH}",
                batch.contactids.len()
            ),
        ));
    }
    let mut ids = Vec::with_capacity(batch.contactids.len());
    for (i, id) in batch.contactids.iter().enumerate() {
        match i32::try_from(*id) {
            Ok(id) if id >= 1 => ids.push(id),
            _ => {
                return Err(ApiError::invalid_field(
                    format!("contactids[{i}]"),
                    format!("{id} is not a contact ID (1 to 2147483647)"),
                ));
            }
        }
    }
    let deleted = contacts::delete_many(&state.db, &ids, &caller.0, state.trash_retention).await?;
    crate::metrics::contacts_deleted(deleted.len());
    Ok(web::Json(deleted))
}

/// The integer query parameter `name`, or `None` when absent; a 400 naming it when it is not an
/// integer.
fn integer_param(query: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    query
        .get(name)
        .map(|raw| {
            raw.parse().map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("{name} must be an integer; got {}", crm_models::quoted(raw)),
                )
            })
        })
        .transpose()
}

/// The page size of the trash when `count` is not given.
const DEFAULT_COUNT: i64 = 50;
/// The largest page of the trash.
const MAX_COUNT: i64 = 500;

/// List deleted contacts
///
/// Returns the deleted contacts the caller may restore — every one for an administrator, the
/// ones they deleted for anyone else — newest first, that have not expired. Paginated as
/// ONLYOFFICE's lists are: `count` entries from `startIndex`.
#[utoipa::path(
    get,
    path = "/api/2.0/crm/contact/trash",
    operation_id = "listTrash",
    tag = "Trash",
    params(
        ("count" = Option<i32>, Query, description = "How many entries (1 to 500; 50 when absent).", minimum = 1, maximum = 500, example = 50),
        ("startIndex" = Option<i32>, Query, description = "How many entries to skip (0 when absent).", minimum = 0, maximum = 2147483647, example = 0),
    ),
    responses(
        (status = 200, description = "The deleted contacts, newest first.", body = Vec<TrashEntry>),
        (status = 400, description = "`count` or `startIndex` is not a number in its range; the message names it.", body = Error),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn list_trash(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<TrashEntry>>, ApiError> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map_err(|error| ApiError::bad_request("invalid_query", error.to_string()))?
        .into_inner();
    let count = integer_param(&query, "count")?.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("count must be from 1 to {MAX_COUNT}; got {count}"),
        ));
    }
    let start_index = integer_param(&query, "startIndex")?.unwrap_or(0);
    if !(0..=i64::from(i32::MAX)).contains(&start_index) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("startIndex must be from 0 to 2147483647; got {start_index}"),
        ));
    }
    Ok(web::Json(
        trash::list(&state.db, &caller.0, count, start_index).await?,
    ))
}

/// Restore a deleted contact
///
/// Brings a deleted contact back from the trash under the same ID, with every contact info,
/// address, custom-field value, tag, task and access-list entry it had. A company's people that
/// its delete unlinked are linked again if they still exist and have no other company (those in
/// the trash themselves, when they are restored); a person's company link comes back if the
/// company exists, or when the company is restored later from the trash. What the contact referred to and is gone meanwhile is dropped: a custom
/// field's value, a user on the access list, a status, type or currency. Only an administrator
/// or the user who deleted the contact may restore it.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/contact/{contactid}/restore",
    operation_id = "restoreContact",
    tag = "Trash",
    params(
        ("contactid" = i32, Path, description = "Contact ID", minimum = 1, maximum = 2147483647, example = 42),
    ),
    responses(
        (status = 200, description = "The restored contact, as `GET /api/2.0/crm/contact/{contactid}` returns it.", body = Contact),
        (status = 400, description = "The contact ID, written in digits, is 0 or larger than 2147483647.", body = Error),
        (status = 403, description = "The caller is neither an administrator nor the user who deleted the contact.", body = Error),
        (status = 404, description = "The contact is not in the trash: never deleted, expired, restored, or erased; also the answer to an ID not written in digits, which matches no route.", body = Error),
        (status = 409, description = "The contact cannot come back: a contact with this ID exists, or the user who created it is gone (neither happens through the API: contact IDs are never reused, users never deleted). It stays in the trash.", body = Error),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn restore_contact(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Contact>, ApiError> {
    let id = contact_id(&req)?;
    let restored = trash::restore(&state.db, id, &caller.0).await?;
    crate::metrics::contact_restored();
    Ok(web::Json(restored))
}

/// Erase a deleted contact
///
/// Removes a deleted contact from the trash for good (administrators only): afterwards nothing
/// personal of it is left — its audit records keep the ID, the action, who and when, and lose
/// the name; the tags no other contact uses go too. An entry that has expired may be erased
/// until the server's periodic purge has erased it the same way.
#[utoipa::path(
    delete,
    path = "/api/2.0/crm/contact/trash/{contactid}",
    operation_id = "eraseContact",
    tag = "Trash",
    params(
        ("contactid" = i32, Path, description = "Contact ID", minimum = 1, maximum = 2147483647, example = 42),
    ),
    responses(
        (status = 204, description = "The contact is erased."),
        (status = 400, description = "The contact ID, written in digits, is 0 or larger than 2147483647.", body = Error),
        (status = 403, description = "The caller is not an administrator.", body = Error),
        (status = 404, description = "The contact is not in the trash; also the answer to an ID not written in digits, which matches no route.", body = Error),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn erase_contact(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let id = contact_id(&req)?;
    trash::erase(&state.db, id, &caller.0).await?;
    crate::metrics::contact_erased();
    Ok(actix_web::HttpResponse::NoContent().finish())
}
