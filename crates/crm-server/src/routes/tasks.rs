//! `/api/2.0/crm/task`

use actix_web::{HttpResponse, web};
use crm_models::{Error, NewTask, Task};

use crate::{auth::Caller, error::ApiError, json::JsonBody, state::AppState, tasks};

use super::shared::{AcceptsJson, BodyErrors, CommonErrors};

/// Create a task
///
/// Adds a task to a contact the caller may edit. Open tasks past their deadline make the
/// contact's `HaveLateTasks` true.
#[utoipa::path(
    post,
    path = "/api/2.0/crm/task",
    operation_id = "createTask",
    tag = "Tasks",
    // Contact 1 is the first contact created (or a demo contact).
    request_body(content = NewTask, example = json!({
        "Title": "Call back about the offer",
        "ContactId": 1,
        "Deadline": "2026-12-01T09:00:00Z",
        "IsClosed": false
    })),
    responses(
        (status = 201, description = "The new task.", body = Task),
        (status = 400, description = "The body is malformed or breaks its schema (a wrong type, an unknown property, a missing or blank `Title`, a `Deadline` in a year outside 0000 through 9999, a text over its limit, a text containing the character U+0000, anything after the JSON value); the message names the field.", body = Error),
        (status = 422, description = "The body matches its schema, but `ContactId` names no contact (also when a delete of the contact won a race with this request); the message names the field.", body = Error),
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
