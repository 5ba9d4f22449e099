//! Everything around the API: Swagger UI and the OpenAPI document, redirects to them, the
//! built-in default pictures, `/healthz` and `/metrics`, the JSON 404/405 for requests that
//! match no route, and the headers every response carries.

use actix_web::{
    HttpRequest, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    guard,
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crm_models::{Error, Health};

use crate::{
    db,
    error::{ApiError, WithFields},
    pictures,
    state::AppState,
};

/// Where the OpenAPI document is served.
pub const OPENAPI_JSON_PATH: &str = "/api-docs/openapi.json";

/// Where Swagger UI is served.
pub const SWAGGER_UI_PATH: &str = "/swagger-ui/";

/// The pattern of Swagger UI's files.
const SWAGGER_UI_FILES: &str = "/swagger-ui/{_:.*}";

/// The pattern of the default pictures.
const PICTURES: &str = "/images/{name}";

/// The routes [`configure`] registers, in its order, each with the `route` label of its requests
/// in the metrics (`crate::metrics`): (pattern, label).
pub const ROUTES: [(&str, &str); 5] = [
    (OPENAPI_JSON_PATH, OPENAPI_JSON_PATH),
    (SWAGGER_UI_FILES, "/swagger-ui/{file}"),
    ("/", "/"),
    ("/swagger-ui", "/swagger-ui"),
    (PICTURES, PICTURES),
];

/// Registers Swagger UI serving `document`, the redirects, the pictures and the JSON 404.
pub fn configure(cfg: &mut web::ServiceConfig, document: serde_json::Value) {
    // No outside validator: Swagger UI would send the document's URL to validator.swagger.io
    // whenever the page is not opened as localhost.
    let config = Config::new([OPENAPI_JSON_PATH]).validator_url("none");
    cfg.service(
        SwaggerUi::new(SWAGGER_UI_FILES)
            .external_url_unchecked(OPENAPI_JSON_PATH, document)
            .config(config),
    )
    .route("/", web::get().to(to_swagger_ui))
    .route("/swagger-ui", web::get().to(to_swagger_ui))
    .service(
        // GET only: other methods fall through to the JSON 404, as for any unknown path.
        web::resource(PICTURES)
            .guard(guard::Get())
            .app_data(super::RouteLabel(PICTURES))
            .route(web::get().to(picture)),
    )
    .default_service(web::to(not_found));
}

async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, SWAGGER_UI_PATH))
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
/// of the service's tables succeeds now, 503 when it fails or gets no answer within the
/// database acquire timeout. Needs no API key; meant for load balancers and orchestrators.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "Service",
    responses(
        (status = 200, description = "The service and its database are up.", body = Health),
        (status = 503, description = "The database cannot be reached, does not answer within the acquire timeout, or lacks the service's tables.", body = Health),
    ),
    security(),
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    if db::ping(&state.db, state.acquire_timeout).await {
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

/// Get the service's metrics
///
/// The service's metrics in Prometheus' text exposition format (version 0.0.4): requests by
/// route pattern, method and status; a histogram of their durations by route pattern and method;
/// contacts deleted, restored and erased; the API-key cache's hits and misses; the database
/// pools' connections in use and idle, and their maximum. Needs no API key; meant for Prometheus
/// scrapers. A server started with `--metrics false` answers 404, as for any unknown route.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "Service",
    responses(
        (status = 200, description = "The metrics, in Prometheus' text format (`Content-Type: text/plain; version=0.0.4`).",
            content_type = "text/plain", body = String,
            example = "# TYPE crm_contacts_deleted_total counter\ncrm_contacts_deleted_total 42\n"),
        (status = 404, description = "The server's metrics are turned off (`--metrics false`).", body = Error),
    ),
    security(),
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(crate::metrics::render(&state.pools.all()))
}

/// The JSON 404 of a request that matches no route.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found(
        "route_not_found",
        format!(
            "No route matches {} {}.",
            crm_models::quoted(req.method().as_str()),
            crm_models::quoted(req.path())
        ),
    ))
}

/// The JSON 405 of a request whose path exists without its method; `allow` lists the methods
/// the path has (`GET, DELETE`).
pub fn method_not_allowed(allow: String) -> actix_web::Route {
    let allow = header::HeaderValue::from_str(&allow).ok();
    web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move {
            let mut response = actix_web::ResponseError::error_response(
                &ApiError::MethodNotAllowed(crm_models::quoted(req.method().as_str())),
            );
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
    })
}

/// The content security policy of Swagger UI's pages: its own scripts, styles, fonts and
/// pictures (and the `data:` pictures of its style sheet), requests to this server only, and
/// never inside a frame. The one inline style allowed, by its hash, is the `<style>` of the logo
/// in Swagger UI's top bar (an inline SVG; Swagger UI 5.32.6, which `utoipa-swagger-ui`
/// vendors): `.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}`.
pub const SWAGGER_UI_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The content security policy of every other response: data, never a page, so nothing may
/// load and nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware: the headers every response carries — `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY` and a `Content-Security-Policy`
/// ([`SWAGGER_UI_CSP`] under Swagger UI, [`API_CSP`] elsewhere). It is the outermost layer; an
/// error raised by a layer inside it (a timeout) is answered with the headers too.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let csp = if req.path().starts_with(SWAGGER_UI_PATH) {
        SWAGGER_UI_CSP
    } else {
        API_CSP
    };
    match next.call(req).await {
        Ok(mut response) => {
            secure(response.headers_mut(), csp);
            Ok(response.map_into_boxed_body())
        }
        Err(error) => {
            let mut fields = header::HeaderMap::new();
            secure(&mut fields, csp);
            Err(WithFields::new(error, fields).into())
        }
    }
}

fn secure(headers: &mut header::HeaderMap, csp: &'static str) {
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, csp),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
}

/// Middleware: `HEAD` of what is served around the API — Swagger UI and its files, the
/// document, the redirects, the pictures — is answered by its `GET` route: the same head,
/// without the body (RFC 9110 §9.3.2; actix-web leaves out the body of any answer to a `HEAD`).
/// The API's paths have `HEAD` routes of their own (`routes::Endpoint`).
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD && around_the_api(req.match_info().unprocessed()) {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Whether `path` (percent-decoded, as actix routes it) matches one of [`configure`]'s routes
/// ([`ROUTES`]).
fn around_the_api(path: &str) -> bool {
    static PATTERNS: std::sync::OnceLock<Vec<actix_web::dev::ResourceDef>> =
        std::sync::OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            ROUTES
                .iter()
                .map(|(pattern, _)| actix_web::dev::ResourceDef::new(*pattern))
                .collect()
        })
        .iter()
        .any(|pattern| pattern.is_match(path))
}

/// Middleware: a 404 without a body (Swagger UI's, for a file it does not have) gets the JSON
/// `Error` body every other 404 has.
pub async fn json_not_found(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?;
    if response.status() != StatusCode::NOT_FOUND
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return Ok(response.map_into_boxed_body());
    }
    let (request, _) = response.into_parts();
    let body = not_found(request.clone()).await;
    Ok(ServiceResponse::new(request, body))
}
