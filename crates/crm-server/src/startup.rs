//! Building and running the HTTP server.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use actix_web::{
    App, HttpMessage, HttpServer,
    body::MessageBody,
    dev::{Server, ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, HeaderName, HeaderValue},
    middleware::{Condition, Next, from_fn},
    web,
};
use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::{
    contacts::trash,
    db,
    error::{ApiError, WithFields},
    keycache::{self, KeyCache},
    limits::{Limits, Verdict, VerdictSlot},
    openapi,
    pools::WorkerPools,
    routes,
    routes::meta,
    state::AppState,
};

pub use crate::state::DEFAULT_BODY_LIMIT;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub bind: String,
    /// The database.
    pub database: db::DbConfig,
    /// HTTP worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long a request may take before it is abandoned with a 503.
    pub request_timeout: Duration,
    /// How long deleted contacts stay restorable in the trash (zero: a delete is final).
    pub trash_retention: Duration,
    /// The rate-limit budgets (`Limits::off()`: none).
    pub limits: Limits,
    /// How long a resolved API key is used without asking the database (zero: the key cache
    /// is off; `keycache::DEFAULT_TTL` by default).
    pub key_cache_ttl: Duration,
    /// Whether the server keeps metrics and serves them at `/metrics` (else a 404 there).
    pub metrics: bool,
    /// On PostgreSQL, whether each HTTP worker has a pool of its own, with its share of
    /// `database.max_connections` (`crate::pools`); else the workers share the pool the server
    /// is built with (what a caller that instruments that pool needs).
    pub pool_per_worker: bool,
}

/// The default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    port: u16,
    db: DatabaseConnection,
    pools: WorkerPools,
    /// Housekeeping while the server runs: purging expired trash entries, forgetting idle
    /// rate-limit budgets, listening for key revocations (PostgreSQL).
    housekeeping: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Connects to the database, runs the migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = db::connect_and_migrate(&config.database)
            .await
            .map_err(|error| cannot_open(&config.database.url, &error))?;
        Self::build_with_db(&config, db)
    }

    /// Binds the listener over an already migrated database.
    pub fn build_with_db(config: &Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        Self::build_on(config, db, listen(&config.bind)?)
    }

    /// Serves on `listener` (bound with [`listen`]) over an already migrated database.
    pub fn build_on(
        config: &Config,
        db: DatabaseConnection,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let keys = KeyCache::new(config.key_cache_ttl);
        let workers = config.workers.unwrap_or_else(|| {
            // actix-web's default: one per core, at most 512.
            std::thread::available_parallelism()
                .map_or(2, std::num::NonZeroUsize::get)
                .min(512)
        });
        let pools = WorkerPools::new(
            db.clone(),
            workers,
            config.database.max_connections,
            config.pool_per_worker,
        );
        let state = AppState {
            db: db.clone(),
            pools: pools.clone(),
            _lease: None,
            body_limit: config.body_limit,
            trash_retention: config.trash_retention,
            limits: config.limits.clone(),
            keys: keys.clone(),
            acquire_timeout: config.database.acquire_timeout,
        };
        let metrics = config.metrics;
        if metrics {
            // Installs the process's recorder, so that the first scrape lists every metric.
            crate::metrics::handle();
        }
        let timeout = config.request_timeout;
        // Built once; Swagger UI and `/api-docs/openapi.json` serve it.
        let document = openapi::document_json();
        let server = HttpServer::new(move || {
            // Called once per worker, on the worker's runtime.
            let (db, lease) = state.pools.for_this_worker();
            let state = web::Data::new(AppState {
                db,
                _lease: lease,
                ..state.clone()
            });
            App::new()
                .app_data(state)
                .wrap(from_fn(meta::head_as_get))
                .wrap(from_fn(meta::json_not_found))
                .wrap(from_fn(move |req, next| abandon_after(timeout, req, next)))
                .wrap(Condition::new(metrics, from_fn(crate::metrics::observe)))
                .wrap(from_fn(rate_limit_headers))
                .wrap(from_fn(log_request))
                .wrap(from_fn(meta::security_headers))
                .configure(|cfg| routes::configure(cfg, &document, metrics))
        })
        .workers(workers)
        .listen(listener)?;
        let mut housekeeping = vec![
            tokio::spawn(trash::purge_periodically(pools.for_housekeeping())),
            tokio::spawn(forget_idle_budgets(config.limits.clone())),
        ];
        housekeeping.extend(keycache::spawn_listener(&keys, &db));
        if metrics {
            housekeeping.push(tokio::spawn(crate::metrics::upkeep_periodically()));
        }
        Ok(Self {
            server: server.run(),
            port,
            housekeeping,
            db,
            pools,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database pool the server was built with (with a pool per HTTP worker, the one their
    /// pools copy their options from).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether each HTTP worker has a pool of its own (`crate::pools`): then the pool the server
    /// was built with serves no request.
    pub fn pool_per_worker(&self) -> bool {
        self.pools.per_worker()
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        for task in &self.housekeeping {
            task.abort();
        }
        stopped
    }
}

/// Binds the listener on `bind` (`HOST:PORT`): done first at start-up, so that an address in use
/// or not this machine's fails before the database is opened.
pub fn listen(bind: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))
}

/// Answers 503 when the request takes longer than `timeout`. The handler's future is dropped,
/// so an open transaction rolls back — unless a statement that commits on its own has been sent
/// meanwhile: then its answer is awaited ([`crate::deadline`]).
async fn abandon_after(
    timeout: Duration,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match crate::deadline::run(timeout, next.call(req)).await {
        Some(response) => response,
        None => Err(ApiError::Timeout(timeout).into()),
    }
}

/// Forgets the rate-limit budgets that are whole again, every minute, so that their memory stays
/// bounded by the callers of the last minute.
async fn forget_idle_budgets(limits: Limits) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        limits.forget_idle();
    }
}

/// The `RateLimit-Policy` and `RateLimit` fields of the budget the request was counted against
/// (`auth::Caller` leaves its verdict in the [`VerdictSlot`] this puts in the request), on the
/// response — also on an error raised around the handlers after the key was counted (the
/// request timeout), which has no response yet when it passes here.
async fn rate_limit_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let slot = VerdictSlot::default();
    req.extensions_mut().insert(slot.clone());
    let outcome = next.call(req).await;
    let Some(verdict) = slot.take() else {
        return outcome;
    };
    match outcome {
        Ok(mut response) => {
            write_fields(response.headers_mut(), &verdict);
            Ok(response)
        }
        Err(error) => {
            let mut fields = HeaderMap::new();
            write_fields(&mut fields, &verdict);
            Err(WithFields::new(error, fields).into())
        }
    }
}

/// Writes `verdict`'s `RateLimit-Policy` and `RateLimit` fields into `headers`.
fn write_fields(headers: &mut HeaderMap, verdict: &Verdict) {
    for (name, value) in verdict.fields() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// One log line per request: method, path, status, latency. Never headers (so never the key).
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let response = next.call(req).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    tracing::info!(
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    response
}

/// `url` with its secrets masked, for messages and logs: the password of its user
/// (`postgres://crm:***@db/crm`) and the values of its `password` and `sslpassword` query
/// parameters. Where a URL is ambiguous it masks more than the secret, never less: a password
/// with an unencoded `#`, `/` or `?` parses as a host and a port followed by a fragment, path
/// or query holding the rest of it and the `@`, so everything up to the last `@` after a `:`
/// is masked too ([`redact_text`]) — also an `@` in a query value, which shows less of the URL.
pub fn redact(url: &str) -> String {
    // The fragment last: the text mask needs the `@` a fragment may hold.
    redact_parsed(&redact_text(&redact_parsed(url, false)), true)
}

/// The password of `url`'s user and the values of its secret query parameters masked, as the
/// URL parses, and its fragment with `fragment`; `url` as it is when it does not parse.
fn redact_parsed(url: &str, fragment: bool) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let mut changed = false;
    // A database URL has no use for a fragment: after an unencoded `#` it is a secret's rest.
    if fragment && parsed.fragment().is_some_and(|fragment| fragment != "***") {
        parsed.set_fragment(Some("***"));
        changed = true;
    }
    if parsed.password().is_some_and(|password| password != "***") {
        let _ = parsed.set_password(Some("***"));
        changed = true;
    }
    let secret = |name: &str| {
        name.eq_ignore_ascii_case("password") || name.eq_ignore_ascii_case("sslpassword")
    };
    if parsed
        .query_pairs()
        .any(|(name, value)| secret(&name) && value != "***")
    {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret(&name) { "***".into() } else { value };
                (name.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
        changed = true;
    }
    if changed {
        parsed.to_string()
    } else {
        url.to_owned()
    }
}

/// [`redact`] for a URL that does not parse (a `#` or `/` left unencoded in the password, an
/// empty host, a bad port — exactly the URLs that fail to connect): everything between the
/// scheme's `://` and the last `@` after the user's `:`.
fn redact_text(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            match url[scheme_end + 3..at].split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The error of opening the database at `url`, for the one line the process exits with: the
/// driver's own message may repeat the URL, which is masked there too ([`redact`]).
pub fn cannot_open(url: &str, error: &sea_orm::DbErr) -> anyhow::Error {
    let redacted = redact(url);
    anyhow::anyhow!(
        "cannot open the database {redacted}: {}",
        error.to_string().replace(url, &redacted)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://crm:secret@db:5432/crm"),
            "postgres://crm:***@db:5432/crm"
        );
        assert_eq!(super::redact("sqlite:crm.db"), "sqlite:crm.db");
        assert_eq!(super::redact("postgres://db/crm"), "postgres://db/crm");
        assert_eq!(
            super::redact("postgres://crm@db/crm?password=S3cret&sslmode=disable"),
            "postgres://crm@db/crm?password=***&sslmode=disable"
        );
        assert_eq!(
            super::redact("postgres://crm:a@db/crm?SSLPASSWORD=x"),
            "postgres://crm:***@db/crm?SSLPASSWORD=***"
        );
        let error = sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "The connection string 'mysql://root:S3cret@h/x' has no supporting driver".into(),
        ));
        let message = super::cannot_open("mysql://root:S3cret@h/x", &error).to_string();
        assert!(!message.contains("S3cret"), "{message}");
        assert!(message.starts_with("cannot open the database mysql://root:***@h/x: "));
        // An `@` in the query: more is masked than the secret, never less.
        for (url, secret) in [
            (
                "postgres://127.0.0.1:1/crm?user=admin@srv&password=TopSecret",
                "TopSecret",
            ),
            (
                "postgres://127.0.0.1:1/crm?password=abc@TopSecret",
                "TopSecret",
            ),
            (
                "postgres://127.0.0.1:5432/crm?user=postgres&password=Top@Secret",
                "Secret",
            ),
            ("postgres://crm:12?MySecretTail@db:1/crm", "MySecretTail"),
            ("postgres://crm@db:5432/crm?password=PWa#PWb", "PWb"),
        ] {
            let masked = super::redact(url);
            assert!(!masked.contains(secret), "{url} → {masked}");
            assert!(masked.contains("***"), "{url} → {masked}");
        }
        for (broken, masked) in [
            ("postgres://crm:s3cr#t@db/crm", "postgres://crm:***@db/crm"),
            // Parsed as a host `crm` and a port, then a fragment, a path or a query.
            (
                "postgres://crm:1#ss@db:5432/crm",
                "postgres://crm:***@db:5432/crm",
            ),
            (
                "postgres://crm:123/45@db:5432/crm",
                "postgres://crm:***@db:5432/crm",
            ),
            (
                "postgres://crm:12?x@db/crm?password=y",
                "postgres://crm:***@db/crm?password=***",
            ),
            (
                "postgres://crm:secret@/crm?host=/run/postgresql",
                "postgres://crm:***@/crm?host=/run/postgresql",
            ),
            (
                "postgres://crm:secret@db:54x2/crm",
                "postgres://crm:***@db:54x2/crm",
            ),
        ] {
            assert_eq!(super::redact(broken), masked);
        }
    }
}
