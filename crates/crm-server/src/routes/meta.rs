//! Everything around the API: Swagger UI and the OpenAPI document, redirects to them, the
//! built-in default pictures, and the JSON 404/405 for requests that match no route.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use utoipa_swagger_ui::SwaggerUi;

use crm_models::Health;

use crate::{db, error::ApiError, openapi, pictures, startup::AppState};

/// Where the OpenAPI document is served.
pub const OPENAPI_JSON_PATH: &str = "/api-docs/openapi.json";

/// Registers Swagger UI, the document, the redirects, the pictures and the JSON 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        SwaggerUi::new("/swagger-ui/{_:.*}")
            .external_url_unchecked(OPENAPI_JSON_PATH, openapi::document_json()),
    )
    .route("/", web::get().to(to_swagger_ui))
    .route("/swagger-ui", web::get().to(to_swagger_ui))
    .route("/images/{name}", web::get().to(picture))
    .service(
        web::resource("/healthz")
            .route(web::get().to(health))
            .default_service(method_not_allowed("GET")),
    )
    .default_service(web::to(not_found));
}

async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/swagger-ui/"))
        .finish()
}

async fn picture(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(body) = pictures::svg_at(req.path()) else {
        return Ok(not_found(req).await);
    };
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body))
}

/// Check the service's health
///
/// Reports whether the service can serve requests, which needs its database: 200 when a query
/// to the database succeeds now, 503 when it does not. Needs no API key; meant for load
/// balancers and orchestrators.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "Service",
    responses(
        (status = 200, description = "The service and its database are up.", body = Health),
        (status = 503, description = "The database cannot be reached.", body = Health),
    ),
    security(),
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    if db::ping(&state.db).await {
        HttpResponse::Ok().json(Health {
            status: "ok".to_owned(),
            database: "up".to_owned(),
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable".to_owned(),
            database: "down".to_owned(),
        })
    }
}

/// The JSON 404 of a request that matches no route.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found(
        "route_not_found",
        format!("No route matches {} {}.", req.method(), req.path()),
    ))
}

/// The JSON 405 of a request whose path exists without its method; `allow` lists the methods
/// the path has.
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed(
            req.method().to_string(),
        ));
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        response
    })
}
