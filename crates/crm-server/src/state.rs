//! `AppState`: what every handler and extractor can reach. It sits below them all and imports
//! nothing of the crate but the leaves `limits`, `keycache` and `pools`, so extractors (`auth`, `json`)
//! and handlers depend on it without depending on the code that builds the server (`startup`).

use sea_orm::DatabaseConnection;

/// The default limit of a request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// What every handler can reach, registered once as `web::Data<AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool of this HTTP worker (`crate::pools`).
    pub db: DatabaseConnection,
    /// Every worker's pool (for the metrics).
    pub pools: crate::pools::WorkerPools,
    /// The lease of this worker's own pool: the pool stays in `pools` while the worker's state
    /// lives.
    pub _lease: Option<std::sync::Arc<crate::pools::Lease>>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long deleted contacts stay restorable (zero: a delete is final).
    pub trash_retention: std::time::Duration,
    /// The rate-limit budgets.
    pub limits: crate::limits::Limits,
    /// The resolved API keys (`auth::Caller` looks here before the database).
    pub keys: crate::keycache::KeyCache,
    /// How long a request waits for a pooled connection; also what `/healthz` waits for the
    /// database's answer.
    pub acquire_timeout: std::time::Duration,
}
