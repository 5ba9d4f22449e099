//! `/api/2.0/crm/task`

use actix_web::{HttpResponse, web};
use crm_models::{Error, NewTask, Task};

use crate::{auth::Caller, error::ApiError, json::JsonBody, startup::AppState, tasks};

use super::{AcceptsJson, BodyErrors, CommonErrors};

/// Create a task
///
/// Adds a task to a contact the caller may edit. Open tasks past their deadline make the
/// contact's `HaveLateTasks` true.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/task",
    operation_id = "createTask",
    tag = "Tasks",
    request_body = NewTask,
    responses(
        (status = 201, description = "The new task.", body = Task),
        (status = 400, description = "The body is malformed or a field is invalid (e.g. an unknown `ContactId`); the message names the field.", body = Error),
        (status = 403, description = "The caller may not edit the contact.", body = Error),
        CommonErrors,
        BodyErrors,
    ),
    security(("apiKey" = [])),
)]
pub async fn create_task(
    caller: Caller,
    _: AcceptsJson,
    state: web::Data<AppState>,
    JsonBody(new): JsonBody<NewTask>,
) -> Result<HttpResponse, ApiError> {
    let task = tasks::create(&state.db, &caller.0, new).await?;
    Ok(HttpResponse::Created().json(task))
}
