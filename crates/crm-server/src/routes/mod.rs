//! HTTP routes: the API, Swagger UI and the document, default pictures, and JSON errors for
//! everything that matches no route.

pub mod contacts;
pub mod meta;
pub mod reference;
pub mod shared;
pub mod tasks;
pub mod trash;

use actix_web::{FromRequest, Handler, Responder, Route, http::Method, web};

/// The `route` label of the metrics (`crate::metrics::observe`) of a request its resource
/// matched: each resource puts it in the request's data, so the label is read, not matched again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLabel(pub &'static str);

impl RouteLabel {
    /// Every documented endpoint's pattern and label — its path as the OpenAPI document writes
    /// it ([`Endpoint::path`]) — in the order they are registered; built once.
    pub fn of_endpoints() -> impl Iterator<Item = (&'static str, RouteLabel)> {
        static LABELS: std::sync::OnceLock<Vec<(&'static str, String)>> =
            std::sync::OnceLock::new();
        LABELS
            .get_or_init(|| {
                endpoints()
                    .iter()
                    .map(|endpoint| (endpoint.pattern(), endpoint.path()))
                    .collect()
            })
            .iter()
            .map(|(pattern, label)| (*pattern, Self(label.as_str())))
    }

    /// The label of the documented endpoint whose pattern is `pattern`; `None` for any other.
    fn of_endpoint(pattern: &str) -> Option<Self> {
        Self::of_endpoints()
            .find(|(known, _)| *known == pattern)
            .map(|(_, label)| label)
    }
}

/// Where the metrics are served (when they are on).
const METRICS_PATH: &str = "/metrics";

/// One documented path: the pattern actix matches and the handler of each method.
pub struct Endpoint {
    pattern: &'static str,
    routes: Vec<(Method, Route)>,
    /// `HEAD`, answered by the `GET` handler (actix-web sends the head of its answer without
    /// the body), as every `GET` route has it (RFC 9110 §9.3.2); not in the document.
    head: Option<Route>,
}

impl Endpoint {
    fn new(pattern: &'static str) -> Self {
        Self {
            pattern,
            routes: Vec::new(),
            head: None,
        }
    }

    /// Adds the handler of `method` (for `GET`, of `HEAD` too).
    fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        if method == Method::GET {
            self.head = Some(web::method(Method::HEAD).to(handler.clone()));
        }
        self.routes
            .push((method.clone(), web::method(method).to(handler)));
        self
    }

    /// The pattern actix matches (`/contact/{contactid:[0-9]+}`).
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// The path as the OpenAPI document writes it: the pattern without its segments' regular
    /// expressions (`/contact/{contactid:[0-9]+}` → `/contact/{contactid}`). For the test that
    /// holds the routes equal to the document, and the metrics' `route` label.
    pub fn path(&self) -> String {
        self.pattern
            .split('/')
            .map(|segment| match segment.split_once(':') {
                Some((name, _)) if segment.starts_with('{') && segment.ends_with('}') => {
                    format!("{name}}}")
                }
                _ => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The documented methods of the path, in the order they were listed.
    pub fn methods(&self) -> Vec<Method> {
        self.routes
            .iter()
            .map(|(method, _)| method.clone())
            .collect()
    }

    /// What its 405s' `Allow` says: the documented methods, and `HEAD` where there is `GET`.
    pub fn allow(&self) -> String {
        let head = self.head.as_ref().map(|_| Method::HEAD);
        self.methods()
            .iter()
            .chain(head.as_ref())
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn register(self, cfg: &mut web::ServiceConfig) {
        let allow = self.allow();
        let mut resource = web::resource(self.pattern);
        if let Some(label) = RouteLabel::of_endpoint(self.pattern) {
            resource = resource.app_data(label);
        }
        for route in self
            .routes
            .into_iter()
            .map(|(_, route)| route)
            .chain(self.head)
        {
            resource = resource.route(route);
        }
        cfg.service(resource.default_service(meta::method_not_allowed(allow)));
    }
}

/// Every documented path and its methods: the one list of the API's routes. The server
/// registers exactly these (each 405's `Allow` comes from here), and a test holds them equal
/// to the OpenAPI document's paths and methods.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/2.0/crm/contact/{contactid:[0-9]+}")
            .on(Method::GET, contacts::get_contact)
            .on(Method::DELETE, contacts::delete_contact),
        Endpoint::new("/api/2.0/crm/contact").on(Method::PUT, trash::delete_contacts),
        Endpoint::new("/api/2.0/crm/contact/trash").on(Method::GET, trash::list_trash),
        Endpoint::new("/api/2.0/crm/contact/{contactid:[0-9]+}/restore")
            .on(Method::POST, trash::restore_contact),
        Endpoint::new("/api/2.0/crm/contact/trash/{contactid:[0-9]+}")
            .on(Method::DELETE, trash::erase_contact),
        Endpoint::new("/api/2.0/crm/contact/person").on(Method::POST, contacts::create_person),
        Endpoint::new("/api/2.0/crm/contact/company").on(Method::POST, contacts::create_company),
        Endpoint::new("/api/2.0/crm/contact/status")
            .on(Method::GET, reference::list_statuses)
            .on(Method::POST, reference::create_status),
        Endpoint::new("/api/2.0/crm/contact/type")
            .on(Method::GET, reference::list_types)
            .on(Method::POST, reference::create_type),
        Endpoint::new("/api/2.0/crm/{entityType}/customfield/definitions")
            .on(Method::GET, reference::list_custom_fields),
        Endpoint::new("/api/2.0/crm/{entityType}/customfield")
            .on(Method::POST, reference::create_custom_field),
        Endpoint::new("/api/2.0/crm/settings/currency").on(Method::GET, reference::list_currencies),
        Endpoint::new("/api/2.0/crm/task").on(Method::POST, tasks::create_task),
        Endpoint::new("/healthz").on(Method::GET, meta::health),
        Endpoint::new(METRICS_PATH).on(Method::GET, meta::metrics),
    ]
}

/// Registers every route: the documented [`endpoints`] (without `/metrics` when `metrics` is
/// off: then it is an unknown route for every method), then what surrounds them
/// ([`meta::configure`]: Swagger UI serving `document`, redirects, pictures, the JSON 404).
pub fn configure(cfg: &mut web::ServiceConfig, document: &serde_json::Value, metrics: bool) {
    for endpoint in endpoints() {
        if metrics || endpoint.pattern() != METRICS_PATH {
            endpoint.register(cfg);
        }
    }
    meta::configure(cfg, document.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_leaves_its_documented_path_as_its_route_label() {
        for endpoint in endpoints() {
            let label = RouteLabel::of_endpoint(endpoint.pattern());
            assert_eq!(
                label.map(|label| label.0),
                Some(endpoint.path().as_str()),
                "{}",
                endpoint.pattern()
            );
        }
        assert_eq!(RouteLabel::of_endpoint("/images/{name}"), None);
    }
}
