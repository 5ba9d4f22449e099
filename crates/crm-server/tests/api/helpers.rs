//! Starting a server for one test.

use crm_server::{
    actor::Actor,
    db::DbConfig,
    startup::{Application, Config},
    users::{self, NewUser},
};
use sea_orm::DatabaseConnection;
use std::sync::{Arc, Mutex};

pub use crm_testkit::{
    count, orphans,
    scratch::{Backend, Scratch},
};

/// The PostgreSQL backend of the tests, or `None` (said once on stderr) when
/// `CRM_TEST_POSTGRES_URL` is not set.
pub fn postgres() -> Option<Backend> {
    let backend = Backend::postgres_from_env();
    if backend.is_none() {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            // Straight to stderr: the test harness would capture `eprintln!`.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL tests were not run: set {} to run them.",
                crm_testkit::scratch::POSTGRES_ENV
            );
        });
    }
    backend
}

/// Declares each listed `async fn name(backend: Backend)` as a test on SQLite (`sqlite::name`)
/// and on PostgreSQL (`postgres::name`, which passes without running when
/// `CRM_TEST_POSTGRES_URL` is not set).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(backend) = $crate::helpers::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

/// A fresh database of `backend` (removed when the returned `Scratch` is dropped) and its URL.
pub async fn scratch(backend: &Backend) -> (Scratch, String) {
    let scratch = Scratch::create(backend)
        .await
        .unwrap_or_else(|e| panic!("a scratch database: {e:#}"));
    let url = scratch.url().to_owned();
    (scratch, url)
}

/// The tests' configuration of a server over the database at `url`: a free port, two workers,
/// the defaults otherwise.
pub fn config(url: String) -> Config {
    Config {
        bind: "127.0.0.1:0".to_owned(),
        database: DbConfig::new(url),
        workers: Some(2),
        body_limit: crm_server::startup::DEFAULT_BODY_LIMIT,
        request_timeout: crm_server::startup::DEFAULT_REQUEST_TIMEOUT,
        trash_retention: crm_server::contacts::trash::DEFAULT_RETENTION,
        // The black-box tests send many requests with one key, and bad keys on purpose:
        // no rate limits unless a test configures them (`tests/api/rate.rs`).
        limits: crm_server::limits::Limits::off(),
        key_cache_ttl: crm_server::keycache::DEFAULT_TTL,
        metrics: true,
        pool_per_worker: true,
    }
}

/// A running server over a fresh database (no users) whose pool records the SQL of every
/// statement the server runs.
pub struct Recording {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The server's pool, which every HTTP worker shares.
    pub db: DatabaseConnection,
    statements: Arc<Mutex<Vec<String>>>,
    _scratch: Scratch,
}

impl Recording {
    /// Starts a server over a fresh database of `backend`, with `configure` applied to
    /// [`config`].
    pub async fn spawn(backend: &Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let (scratch, url) = scratch(backend).await;
        let mut config = config(url);
        configure(&mut config);
        // The statements are recorded on the pool passed in, which every worker must use.
        config.pool_per_worker = false;
        let mut db = crm_server::db::connect_and_migrate(&config.database)
            .await
            .expect("a migrated database");
        let statements = Arc::new(Mutex::new(Vec::new()));
        let recorded = statements.clone();
        db.set_metric_callback(move |info| {
            recorded.lock().unwrap().push(info.statement.sql.clone());
        });
        let app = Application::build_with_db(&config, db.clone()).expect("server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            db,
            statements,
            _scratch: scratch,
        }
    }

    /// How many statements the server has run.
    pub fn count(&self) -> usize {
        self.statements.lock().unwrap().len()
    }

    /// The statements run from the `start`th on.
    pub fn since(&self, start: usize) -> Vec<String> {
        self.statements.lock().unwrap()[start..].to_vec()
    }
}

/// A running server with a fresh database and an administrator.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The database's URL.
    pub database_url: String,
    /// The pool the server was built with (for set-up and inspection; on PostgreSQL the HTTP
    /// workers have pools of their own).
    pub db: DatabaseConnection,
    /// The administrator.
    pub admin: Actor,
    /// The administrator's key.
    pub admin_key: String,
    /// The database, removed when the test ends.
    _scratch: Scratch,
}

impl TestApp {
    /// Starts a server over a fresh database of `backend`.
    pub async fn spawn_on(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server over a fresh database of `backend`, with `configure` applied to the
    /// configuration.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let (scratch, url) = scratch(&backend).await;
        let mut config = config(url.clone());
        configure(&mut config);
        let app = Application::build(config).await.expect("server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        tokio::spawn(app.run_until_stopped());
        let (admin, admin_key) = Self::user_with_key(&db, "Ada Admin", true).await;
        Self {
            address,
            database_url: url,
            db,
            admin,
            admin_key,
            _scratch: scratch,
        }
    }

    /// Adds a user with a key.
    pub async fn user_with_key(
        db: &DatabaseConnection,
        name: &str,
        admin: bool,
    ) -> (Actor, String) {
        let user = users::add_user(
            db,
            NewUser {
                name: name.to_owned(),
                title: format!("{name}'s title"),
                admin,
                profile_url: format!("https://people.example.com/{name}"),
            },
        )
        .await
        .expect("user");
        let (_, key) = users::create_key(db, user.id, "test", None)
            .await
            .expect("key");
        (user.actor(), key)
    }

    /// Adds a non-admin user with a key.
    pub async fn member(&self, name: &str) -> (Actor, String) {
        Self::user_with_key(&self.db, name, false).await
    }

    /// A client that authenticates with `key`.
    pub fn client(&self, key: &str) -> crm_client::Client {
        crm_client::connect(&self.address, key).expect("client")
    }

    /// A client that authenticates as the administrator.
    pub fn admin_client(&self) -> crm_client::Client {
        self.client(&self.admin_key)
    }

    /// The OpenAPI document the server serves (`/api-docs/openapi.json`).
    pub async fn served_document(&self) -> serde_json::Value {
        reqwest::get(self.url("/api-docs/openapi.json"))
            .await
            .expect("the document")
            .json()
            .await
            .expect("JSON")
    }

    /// The URL of a path on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

/// The status of a client error (panics on a success or a transport error).
pub fn error_status<T: std::fmt::Debug>(
    result: Result<T, crm_client::Error<crm_client::types::Error>>,
) -> (u16, crm_client::types::Error) {
    match result {
        Err(crm_client::Error::ErrorResponse(response)) => {
            let status = response.status().as_u16();
            (status, response.into_inner())
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// A contact ID as the client takes it.
pub fn cid(id: i32) -> std::num::NonZeroU32 {
    u32::try_from(id)
        .ok()
        .and_then(std::num::NonZeroU32::new)
        .expect("a positive contact ID")
}

/// A second pool on the database at `url` that counts the statements it runs.
pub async fn counting_pool(
    url: &str,
) -> (
    DatabaseConnection,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let mut pool = sea_orm::Database::connect(sea_orm::ConnectOptions::new(url.to_owned()))
        .await
        .expect("a counting pool");
    let statements = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = statements.clone();
    pool.set_metric_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    (pool, statements)
}
