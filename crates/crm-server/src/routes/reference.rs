//! Reference data: contact statuses and types, custom fields, currencies.

use actix_web::{HttpRequest, HttpResponse, web};
use crm_models::{
    Currency, CustomFieldDefinition, EntityType, Error, ListItem, NewCustomField, NewListItem,
};

use crate::{
    auth::Caller,
    error::ApiError,
    json::JsonBody,
    reference::{self, ListKind},
    state::AppState,
};

use super::shared::{AcceptsJson, BodyErrors, CommonErrors};

/// List contact statuses
///
/// Returns the contact statuses (Cold, Warm, Hot, …), by sort order.
#[utoipa::path(
    get,
    path = "/api/2.0/crm/contact/status",
    operation_id = "listContactStatuses",
    tag = "Reference data",
    responses(
        (status = 200, description = "The contact statuses.", body = Vec<ListItem>),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn list_statuses(
    _: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ListItem>>, ApiError> {
    Ok(web::Json(
        reference::list_items(&state.db, ListKind::Status).await?,
    ))
}

/// Create a contact status
///
/// Adds a contact status (administrators only). Without `SortOrder` it goes last.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/contact/status",
    operation_id = "createContactStatus",
    tag = "Reference data",
    request_body = NewListItem,
    responses(
        (status = 201, description = "The new contact status.", body = ListItem),
        (status = 400, description = "The body is malformed (or has anything after the JSON value) or a field is invalid (blank, over its limit, or containing the character U+0000); the message names the field.", body = Error),
        (status = 403, description = "The caller is not an administrator.", body = Error),
        (status = 409, description = "A contact status with this title exists: titles are unique among statuses, compared after trimming surrounding white space and lower-casing (Unicode rules). Of concurrent creates of one title, exactly one succeeds. The message names `Title`.", body = Error),
        (status = 422, description = "No `SortOrder` is given and the list's last item is at 2147483647, so none can go after it; the message names `SortOrder`.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn create_status(
    caller: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
    JsonBody(new): JsonBody<NewListItem>,
) -> Result<HttpResponse, ApiError> {
    let item = reference::add_list_item(&state.db, &caller.0, ListKind::Status, new).await?;
    Ok(HttpResponse::Created().json(item))
}

/// List contact types
///
/// Returns the contact types (Client, Supplier, Partner, Competitor, …), by sort order.
#[utoipa::path(
    get,
    path = "/api/2.0/crm/contact/type",
    operation_id = "listContactTypes",
    tag = "Reference data",
    responses(
        (status = 200, description = "The contact types.", body = Vec<ListItem>),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn list_types(
    _: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ListItem>>, ApiError> {
    Ok(web::Json(
        reference::list_items(&state.db, ListKind::Type).await?,
    ))
}

/// Create a contact type
///
/// Adds a contact type (administrators only). Without `SortOrder` it goes last.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/contact/type",
    operation_id = "createContactType",
    tag = "Reference data",
    request_body = NewListItem,
    responses(
        (status = 201, description = "The new contact type.", body = ListItem),
        (status = 400, description = "The body is malformed (or has anything after the JSON value) or a field is invalid (blank, over its limit, or containing the character U+0000); the message names the field.", body = Error),
        (status = 403, description = "The caller is not an administrator.", body = Error),
        (status = 409, description = "A contact type with this title exists: titles are unique among types, compared after trimming surrounding white space and lower-casing (Unicode rules). Of concurrent creates of one title, exactly one succeeds. The message names `Title`.", body = Error),
        (status = 422, description = "No `SortOrder` is given and the list's last item is at 2147483647, so none can go after it; the message names `SortOrder`.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn create_type(
    caller: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
    JsonBody(new): JsonBody<NewListItem>,
) -> Result<HttpResponse, ApiError> {
    let item = reference::add_list_item(&state.db, &caller.0, ListKind::Type, new).await?;
    Ok(HttpResponse::Created().json(item))
}

fn entity_type(req: &HttpRequest) -> Result<EntityType, ApiError> {
    req.match_info()
        .get("entityType")
        .unwrap_or_default()
        .parse()
        .map_err(|problem| ApiError::invalid_field("entityType", problem))
}

/// List custom fields
///
/// Returns the custom fields defined for exactly this kind of contact (`contact` fields apply
/// to persons and companies alike), by position.
#[utoipa::path(
    get,
    path = "/api/2.0/crm/{entityType}/customfield/definitions",
    operation_id = "listCustomFields",
    tag = "Reference data",
    params(
        ("entityType" = crm_models::EntityType, Path, description = "`contact` (all contacts), `person` or `company`", example = "person"),
    ),
    responses(
        (status = 200, description = "The custom-field definitions.", body = Vec<CustomFieldDefinition>),
        (status = 400, description = "`entityType` is not contact, person or company.", body = Error),
        (status = 404, description = "`entityType` is empty (`/api/2.0/crm//customfield/definitions`), which matches no route.", body = Error),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn list_custom_fields(
    _: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<CustomFieldDefinition>>, ApiError> {
    let entity = entity_type(&req)?;
    Ok(web::Json(
        reference::custom_fields(&state.db, entity).await?,
    ))
}

/// Create a custom field
///
/// Defines a custom field for a kind of contact (administrators only). Without `Position` it
/// goes last.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/{entityType}/customfield",
    operation_id = "createCustomField",
    tag = "Reference data",
    params(
        ("entityType" = crm_models::EntityType, Path, description = "`contact` (all contacts), `person` or `company`", example = "person"),
    ),
    request_body = NewCustomField,
    responses(
        (status = 201, description = "The new custom-field definition.", body = CustomFieldDefinition),
        (status = 400, description = "The body is malformed (or has anything after the JSON value), a field is invalid (blank, over its limit, or containing the character U+0000), or `entityType` is not contact, person or company; the message names the field.", body = Error),
        (status = 404, description = "`entityType` is empty (`/api/2.0/crm//customfield`), which matches no route.", body = Error),
        (status = 422, description = "No `Position` is given and the last custom field of the kind is at 2147483647, so none can go after it; the message names `Position`.", body = Error),
        (status = 403, description = "The caller is not an administrator.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn create_custom_field(
    caller: Caller,
    _: AcceptsJson,
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(new): JsonBody<NewCustomField>,
) -> Result<HttpResponse, ApiError> {
    let entity = entity_type(&req)?;
    let field = reference::add_custom_field(&state.db, &caller.0, entity, new).await?;
    Ok(HttpResponse::Created().json(field))
}

/// List currencies
///
/// Returns every currency a contact may have (ISO 4217), by code.
#[utoipa::path(
    get,
    path = "/api/2.0/crm/settings/currency",
    operation_id = "listCurrencies",
    tag = "Reference data",
    responses(
        (status = 200, description = "The currencies.", body = Vec<Currency>),
        CommonErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn list_currencies(
    _: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Currency>>, ApiError> {
    Ok(web::Json(reference::currencies(&state.db).await?))
}
