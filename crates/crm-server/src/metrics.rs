//! Metrics in Prometheus' text exposition format, served at `GET /metrics`
//! (`routes::meta::metrics`).
//!
//! The counters and the histogram go through the `metrics` facade into one
//! `metrics-exporter-prometheus` recorder, installed once per process ([`handle`]) — however many
//! servers a process builds (the tests build many), they share it. The pool gauges are read from
//! the server's pools at scrape time, every HTTP worker's summed ([`render`]).
//!
//! On the request path ([`observe`]) every label value is a `&'static str` chosen from a fixed
//! set: the route is the pattern of the route that matched (`/api/2.0/crm/contact/{contactid}`,
//! never the path sent) — which the API's resources and the pictures' leave in the request
//! (`routes::RouteLabel`), and which is matched again only for the others — or
//! [`UNMATCHED`]; the method is one of the standard methods or `other`;
//! the status is a three-digit code. So the number of series stays bounded whatever clients send.
//!
//! Every metric, its labels and its meaning are listed in `docs/operations.md` ("Metrics").

use std::{
    fmt::Write as _,
    sync::OnceLock,
    time::{Duration, Instant},
};

use actix_web::{
    body::MessageBody,
    dev::{ResourceDef, ServiceRequest, ServiceResponse},
    http::{Method, StatusCode},
    middleware::Next,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DatabaseConnectionType};

use crate::routes;

/// Requests answered, by `route`, `method` and `status` (counter).
pub const HTTP_REQUESTS: &str = "crm_http_requests_total";
/// How long requests took, from the first middleware to the response, by `route` and `method`
/// (histogram, seconds).
pub const HTTP_REQUEST_DURATION: &str = "crm_http_request_duration_seconds";
/// Contacts deleted through the API, one per contact (a batch counts each contact it deleted).
pub const CONTACTS_DELETED: &str = "crm_contacts_deleted_total";
/// Contacts restored from the trash.
pub const CONTACTS_RESTORED: &str = "crm_contacts_restored_total";
/// Contacts erased from the trash for good (through the API; not the purge of expired entries).
pub const CONTACTS_ERASED: &str = "crm_contacts_erased_total";
/// Keyed requests whose API key was found in the in-process key cache.
pub const API_KEY_CACHE_HITS: &str = "crm_api_key_cache_hits_total";
/// Keyed requests whose API key was looked up in the database (not cached, or the cache was
/// not trusted at that moment).
pub const API_KEY_CACHE_MISSES: &str = "crm_api_key_cache_misses_total";
/// The database pools' connections, every HTTP worker's together, by `state`: `in_use` or
/// `idle` (gauge).
pub const DB_POOL_CONNECTIONS: &str = "crm_db_pool_connections";
/// The most connections the database pools open, together (gauge).
pub const DB_POOL_MAX_CONNECTIONS: &str = "crm_db_pool_max_connections";

/// The upper bounds of the request-duration histogram's buckets, in seconds: 0.5 ms to 10 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `route` label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The `Content-Type` of the exposition: Prometheus' text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the recorder's upkeep runs (it folds the recorded durations into the histogram's
/// buckets, so that their memory stays bounded between scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed (and every metric described, the key cache's counters
/// registered at zero) on the first call.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(HTTP_REQUEST_DURATION.to_owned()),
            &DURATION_BUCKETS,
        )
        // Only an empty list of buckets is refused.
        .unwrap_or_else(|_| PrometheusBuilder::new());
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!(
            "another metrics recorder is installed in this process: /metrics shows only the \
             database pool"
        );
    }
    describe();
    handle
}

/// Describes every metric (their `# HELP` lines) and registers the counters that have no labels
/// at zero, so that they are present from the first scrape on.
fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "HTTP requests answered, by route pattern, method and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "How long HTTP requests took to answer, by route pattern and method."
    );
    describe_counter!(
        CONTACTS_DELETED,
        Unit::Count,
        "Contacts deleted through the API (a batch counts each contact it deleted)."
    );
    describe_counter!(
        CONTACTS_RESTORED,
        Unit::Count,
        "Contacts restored from the trash."
    );
    describe_counter!(
        CONTACTS_ERASED,
        Unit::Count,
        "Contacts erased from the trash for good through the API."
    );
    describe_counter!(
        API_KEY_CACHE_HITS,
        Unit::Count,
        "Keyed requests whose API key was found in the in-process key cache."
    );
    describe_counter!(
        API_KEY_CACHE_MISSES,
        Unit::Count,
        "Keyed requests whose API key was looked up in the database."
    );
    for name in [
        CONTACTS_DELETED,
        CONTACTS_RESTORED,
        CONTACTS_ERASED,
        API_KEY_CACHE_HITS,
        API_KEY_CACHE_MISSES,
    ] {
        // `absolute` keeps the larger value: a count already there stays.
        metrics::counter!(name).absolute(0);
    }
}

/// Counts `count` contacts deleted.
pub fn contacts_deleted(count: usize) {
    metrics::counter!(CONTACTS_DELETED).increment(u64::try_from(count).unwrap_or(u64::MAX));
}

/// Counts a contact restored from the trash.
pub fn contact_restored() {
    metrics::counter!(CONTACTS_RESTORED).increment(1);
}

/// Counts a contact erased from the trash.
pub fn contact_erased() {
    metrics::counter!(CONTACTS_ERASED).increment(1);
}

/// Runs the recorder's upkeep every few seconds, for as long as the server runs.
pub async fn upkeep_periodically() {
    loop {
        tokio::time::sleep(UPKEEP_EVERY).await;
        handle().run_upkeep();
    }
}

/// The exposition: everything recorded in this process, then the gauges of the pools, summed,
/// read now.
pub fn render(pools: &[DatabaseConnection]) -> String {
    let mut text = handle().render();
    let states = pools.iter().filter_map(PoolState::of);
    if let Some(total) = states.reduce(PoolState::plus) {
        total.write(&mut text);
    }
    text
}

/// The pool's connections at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PoolState {
    in_use: u32,
    idle: u32,
    max: u32,
}

impl PoolState {
    /// The state of the sqlx pool behind `db`; `None` for a connection without one.
    fn of(db: &DatabaseConnection) -> Option<Self> {
        let (size, idle, max) = match &db.inner {
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
                let pool = db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                let pool = db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => return None,
        };
        // `size` and `num_idle` are read one after the other: a connection may change state
        // between them.
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        Some(Self {
            in_use: size - idle,
            idle,
            max,
        })
    }

    /// Two pools' connections together.
    fn plus(self, other: Self) -> Self {
        Self {
            in_use: self.in_use.saturating_add(other.in_use),
            idle: self.idle.saturating_add(other.idle),
            max: self.max.saturating_add(other.max),
        }
    }

    /// Appends the two gauges, with their `# HELP` and `# TYPE` lines.
    fn write(self, text: &mut String) {
        let _ = write!(
            text,
            "# HELP {DB_POOL_CONNECTIONS} Open connections of the requests' database pools \
             (every HTTP worker's together), by state: in_use (lent to a request, or, in a \
             pool the workers share, to the housekeeping) or idle.\n\
             # TYPE {DB_POOL_CONNECTIONS} gauge\n\
             {DB_POOL_CONNECTIONS}{{state=\"in_use\"}} {}\n\
             {DB_POOL_CONNECTIONS}{{state=\"idle\"}} {}\n\n\
             # HELP {DB_POOL_MAX_CONNECTIONS} The most connections the requests' database \
             pools open together.\n\
             # TYPE {DB_POOL_MAX_CONNECTIONS} gauge\n\
             {DB_POOL_MAX_CONNECTIONS} {}\n",
            self.in_use, self.idle, self.max
        );
    }
}

/// A route pattern as actix matches it, and the `route` label of the requests it matches.
struct Route {
    pattern: ResourceDef,
    label: &'static str,
}

/// Every route the server registers, in the order actix tries them: the documented endpoints
/// (labelled as the OpenAPI document writes their path, [`routes::RouteLabel::of_endpoints`]),
/// then Swagger UI, the redirects and the pictures ([`routes::meta::ROUTES`]).
fn known_routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        routes::RouteLabel::of_endpoints()
            .map(|(pattern, label)| (pattern, label.0))
            .chain(routes::meta::ROUTES)
            .map(|(pattern, label)| Route {
                pattern: ResourceDef::new(pattern),
                label,
            })
            .collect()
    })
}

/// The `route` label of a request for `path` (percent-decoded, as actix routes it): the label of
/// the first route whose pattern matches, or [`UNMATCHED`].
pub fn route_label(path: &str) -> &'static str {
    known_routes()
        .iter()
        .find(|route| route.pattern.is_match(path))
        .map_or(UNMATCHED, |route| route.label)
}

/// The `method` label: the standard method's name, or `other` (a client may send any token as a
/// method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The `status` label: the three digits of `status` (100 to 999, all a `StatusCode` holds).
pub fn status_label(status: StatusCode) -> &'static str {
    static DIGITS: OnceLock<String> = OnceLock::new();
    let digits = DIGITS.get_or_init(|| (100..1000).map(|code: u16| code.to_string()).collect());
    let start = usize::from(status.as_u16().saturating_sub(100)) * 3;
    digits.get(start..start + 3).unwrap_or("000")
}

/// Middleware: counts each request by route, method and status, and records how long it took.
/// It sits outside the request timeout, so an abandoned request counts too (a 503, after the
/// timeout).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    // For a request that comes back as an error (abandoned at the timeout): its path.
    let path: Box<str> = req.match_info().unprocessed().into();
    let method = method_label(req.method());
    let response = next.call(req).await;
    // The label the matched resource left (routes::RouteLabel); else the patterns are tried.
    let route = response
        .as_ref()
        .ok()
        .and_then(|response| response.request().app_data::<routes::RouteLabel>().copied())
        .map_or_else(|| route_label(&path), |label| label.0);
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    metrics::counter!(
        HTTP_REQUESTS,
        "route" => route,
        "method" => method,
        "status" => status_label(status),
    )
    .increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_by_their_pattern() {
        for (path, label) in [
            (
                "/api/2.0/crm/contact/42",
                "/api/2.0/crm/contact/{contactid}",
            ),
            (
                "/api/2.0/crm/contact/42/restore",
                "/api/2.0/crm/contact/{contactid}/restore",
            ),
            (
                "/api/2.0/crm/contact/trash/42",
                "/api/2.0/crm/contact/trash/{contactid}",
            ),
            ("/api/2.0/crm/contact/trash", "/api/2.0/crm/contact/trash"),
            ("/api/2.0/crm/contact", "/api/2.0/crm/contact"),
            (
                "/api/2.0/crm/person/customfield/definitions",
                "/api/2.0/crm/{entityType}/customfield/definitions",
            ),
            ("/healthz", "/healthz"),
            ("/metrics", "/metrics"),
            ("/swagger-ui/index.css", "/swagger-ui/{file}"),
            ("/swagger-ui/", "/swagger-ui/{file}"),
            ("/swagger-ui", "/swagger-ui"),
            ("/", "/"),
            ("/api-docs/openapi.json", "/api-docs/openapi.json"),
            ("/images/person_40.svg", "/images/{name}"),
            ("/api/2.0/crm/contact/x", UNMATCHED),
            ("/api/2.0/crm/contact/42/", UNMATCHED),
            ("/nope/123", UNMATCHED),
            ("", UNMATCHED),
        ] {
            assert_eq!(route_label(path), label, "{path}");
        }
    }

    #[test]
    fn every_endpoint_has_a_label_of_its_own() {
        let labels: std::collections::BTreeSet<&str> =
            known_routes().iter().map(|route| route.label).collect();
        assert_eq!(labels.len(), known_routes().len());
        assert!(!labels.contains(UNMATCHED));
    }

    #[test]
    fn status_and_method_labels_are_bounded() {
        assert_eq!(status_label(StatusCode::OK), "200");
        assert_eq!(status_label(StatusCode::CONTINUE), "100");
        assert_eq!(status_label(StatusCode::SERVICE_UNAVAILABLE), "503");
        let highest = StatusCode::from_u16(999).unwrap_or(StatusCode::OK);
        assert_eq!(status_label(highest), "999");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let custom = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(method_label(&custom), "other");
    }

    #[test]
    fn the_pool_gauges_are_written_in_the_text_format() {
        let mut text = String::new();
        PoolState {
            in_use: 2,
            idle: 3,
            max: 8,
        }
        .write(&mut text);
        assert!(text.contains("\ncrm_db_pool_connections{state=\"in_use\"} 2\n"));
        assert!(text.contains("\ncrm_db_pool_connections{state=\"idle\"} 3\n"));
        assert!(text.contains("\ncrm_db_pool_max_connections 8\n"));
        assert!(text.contains("# TYPE crm_db_pool_connections gauge\n"));
    }
}
