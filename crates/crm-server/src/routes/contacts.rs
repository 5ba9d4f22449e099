//! `/api/2.0/crm/contact/…`

use actix_web::{HttpRequest, web};
use crm_models::{Contact, Error};

use crate::{auth::Caller, error::ApiError, startup::AppState};

use super::{AcceptsJson, parse_contact_id};

/// Delete a contact
///
/// Deletes a contact with the ID specified in the request from the portal.
///
/// The contact's contact infos, addresses, custom-field values, tag links, tasks and access-list
/// entries are deleted with it, in one transaction; the people of a deleted company stay, with
/// their company link cleared. The response is the contact as it was just before the delete.
///
/// Only an administrator, a user on the contact's access list, or anyone when the contact is
/// shared read-write (`ShareType` 1) may delete it.
#[utoipa::path(
    delete,
    path = "/api/2.0/crm/contact/{contactid}",
    operation_id = "deleteContact",
    tag = "Contacts",
    params(
        ("contactid" = i32, Path, description = "Contact ID", minimum = 1, maximum = 2147483647, example = 42),
    ),
    responses(
        (status = 200, description = "The deleted contact, as it was just before the delete.", body = Contact),
        (status = 400, description = "The contact ID is not an integer from 1 to 2147483647.", body = Error),
        (status = 401, description = "Unauthorized: the API key is missing, unknown or revoked.", body = Error),
        (status = 403, description = "The caller may not delete this contact.", body = Error),
        (status = 404, description = "No contact with this ID exists.", body = Error),
        (status = 406, description = "The Accept header excludes application/json.", body = Error),
        (status = 500, description = "An unexpected error.", body = Error),
        (status = 503, description = "The database is unavailable; try again later.", body = Error),
    ),
    security(("apiKey" = [])),
)]
pub async fn delete_contact(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Contact>, ApiError> {
    let id = parse_contact_id(req.match_info().get("contactid").unwrap_or_default())?;
    let contact = crate::contacts::delete(&state.db, id, &caller.0).await?;
    Ok(web::Json(contact))
}
