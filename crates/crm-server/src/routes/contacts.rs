//! `/api/2.0/crm/contact/…`: create, read and delete contacts.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use crm_models::{Contact, Error, NewCompany, NewPerson};

use crate::{
    auth::Caller,
    contacts::{self, Draft},
    error::ApiError,
    json::JsonBody,
    state::AppState,
};

use super::shared::{AcceptsJson, BodyErrors, CommonErrors, contact_id};

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
        (status = 400, description = "The contact ID, written in digits, is 0 or larger than 2147483647.", body = Error),
        (status = 403, description = "The caller may not delete this contact.", body = Error),
        (status = 404, description = "No contact with this ID exists; also the answer to an ID not written in digits (`-1`, `+5`, `1e3`), which matches no route.", body = Error),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn delete_contact(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Contact>, ApiError> {
    let id = contact_id(&req)?;
    let deleted = contacts::delete(&state.db, id, &caller.0, state.trash_retention).await?;
    crate::metrics::contacts_deleted(1);
    Ok(web::Json(deleted))
}

/// Get a contact
///
/// Returns the contact with the ID specified in the request, with every nested collection, in
/// the same form the delete returns. A private contact (`ShareType` 0) is readable only by
/// administrators and the users on its access list.
#[utoipa::path(
    get,
    path = "/api/2.0/crm/contact/{contactid}",
    operation_id = "getContact",
    tag = "Contacts",
    params(
        ("contactid" = i32, Path, description = "Contact ID", minimum = 1, maximum = 2147483647, example = 42),
    ),
    responses(
        (status = 200, description = "The contact.", body = Contact),
        (status = 400, description = "The contact ID, written in digits, is 0 or larger than 2147483647.", body = Error),
        (status = 403, description = "The contact is private and the caller may not read it.", body = Error),
        (status = 404, description = "No contact with this ID exists; also the answer to an ID not written in digits (`-1`, `+5`, `1e3`), which matches no route.", body = Error),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn get_contact(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Contact>, ApiError> {
    let id = contact_id(&req)?;
    Ok(web::Json(contacts::get(&state.db, id, &caller.0).await?))
}

async fn create(state: &AppState, caller: &Caller, draft: Draft) -> Result<HttpResponse, ApiError> {
    let created = contacts::create(&state.db, &caller.0, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/2.0/crm/contact/{}", created.contact.id),
        ))
        .json(created.contact))
}

/// Create a person
///
/// Creates a person with its contact infos, addresses, custom-field values, tags and access
/// list, in one transaction: a request that fails validation creates nothing. Tags are created
/// on first use.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/contact/person",
    operation_id = "createPerson",
    tag = "Contacts",
    // Every ID in the example exists on a fresh database (2 Warm, 4 Client, EUR), so Swagger UI's
    // "Try it out" works as filled in.
    request_body(content = NewPerson, example = json!({
        "FirstName": "Jane",
        "LastName": "Doe",
        "JobTitle": "Head of purchasing",
        "About": "Met at the Berlin trade fair.",
        "Industry": "Logistics",
        "ContactStatusId": 2,
        "ContactTypeId": 4,
        "Currency": "EUR",
        "ShareType": 1,
        "CommonData": [
            {"InfoType": 1, "Category": 1, "Data": "jane.doe@example.com", "IsPrimary": true},
            {"InfoType": 0, "Category": 2, "Data": "+371 2000 0000"}
        ],
        "Addresses": [
            {"Street": "12 Harbour Road", "City": "Riga", "Zip": "LV-1010", "Country": "Latvia", "Category": 2, "IsPrimary": true}
        ],
        "Tags": ["vip", "partner"]
    })),
    responses(
        (status = 201, description = "The new person.", body = Contact,
            headers(("Location" = String, description = "The path of the new contact.")),
            links(
                ("GetContact" = (
                    operation_id = "getContact",
                    parameters(("contactid" = "$response.body#/ID")),
                    description = "Read the new contact: its `ID` is the `contactid` of `GET /api/2.0/crm/contact/{contactid}`."
                )),
                ("DeleteContact" = (
                    operation_id = "deleteContact",
                    parameters(("contactid" = "$response.body#/ID")),
                    description = "Delete the new contact: its `ID` is the `contactid` of `DELETE /api/2.0/crm/contact/{contactid}`."
                )),
            )),
        (status = 400, description = "The body is malformed or breaks its schema (a wrong type, an unknown property, a missing or blank required text, a text or list over its limit, a category outside 0 to 5, a text containing the character U+0000, anything after the JSON value); the message names the field.", body = Error),
        (status = 422, description = "The body matches its schema, but refers to something that does not exist (a company, contact status or type, currency, custom field or user) or breaks a rule across fields (a category the kind of info does not have, an address in `CommonData`, a custom field given twice, defined for the other kind of contact, or a heading); the message names the field. A company deleted while the request runs is a 422 too, never a person linked to a missing company. Nothing is created.", body = Error),
        (status = 403, description = "`CompanyId` names a company the caller may not edit (as a task needs a contact the caller may edit). Nothing is created.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn create_person(
    caller: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
    JsonBody(new): JsonBody<NewPerson>,
) -> Result<HttpResponse, ApiError> {
    create(&state, &caller, new.into()).await
}

/// Create a company
///
/// Creates a company with its contact infos, addresses, custom-field values, tags and access
/// list, in one transaction: a request that fails validation creates nothing.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/contact/company",
    operation_id = "createCompany",
    tag = "Contacts",
    request_body(content = NewCompany, example = json!({
        "CompanyName": "Northwind Traders",
        "About": "Met at the Berlin trade fair.",
        "Industry": "Logistics",
        "ContactStatusId": 2,
        "ContactTypeId": 4,
        "Currency": "EUR",
        "ShareType": 1,
        "CommonData": [
            {"InfoType": 1, "Category": 1, "Data": "info@northwind.example.com", "IsPrimary": true},
            {"InfoType": 0, "Category": 2, "Data": "+371 2000 0000"}
        ],
        "Addresses": [
            {"Street": "12 Harbour Road", "City": "Riga", "Zip": "LV-1010", "Country": "Latvia", "Category": 2, "IsPrimary": true}
        ],
        "Tags": ["vip", "partner"]
    })),
    responses(
        (status = 201, description = "The new company.", body = Contact,
            headers(("Location" = String, description = "The path of the new contact.")),
            links(
                ("GetContact" = (
                    operation_id = "getContact",
                    parameters(("contactid" = "$response.body#/ID")),
                    description = "Read the new contact: its `ID` is the `contactid` of `GET /api/2.0/crm/contact/{contactid}`."
                )),
                ("DeleteContact" = (
                    operation_id = "deleteContact",
                    parameters(("contactid" = "$response.body#/ID")),
                    description = "Delete the new contact: its `ID` is the `contactid` of `DELETE /api/2.0/crm/contact/{contactid}`."
                )),
            )),
        (status = 400, description = "The body is malformed or breaks its schema (a wrong type, an unknown property, a missing or blank required text, a text or list over its limit, a category outside 0 to 5, a text containing the character U+0000, anything after the JSON value); the message names the field.", body = Error),
        (status = 422, description = "The body matches its schema, but refers to something that does not exist (a company, contact status or type, currency, custom field or user) or breaks a rule across fields (a category the kind of info does not have, an address in `CommonData`, a custom field given twice, defined for the other kind of contact, or a heading); the message names the field. A company deleted while the request runs is a 422 too, never a person linked to a missing company. Nothing is created.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn create_company(
    caller: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
    JsonBody(new): JsonBody<NewCompany>,
) -> Result<HttpResponse, ApiError> {
    create(&state, &caller, new.into()).await
}
