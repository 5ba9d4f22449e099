//! Starting a server for one test.

use crm_server::{
    db::{DbConfig, entities::user},
    startup::{Application, Config},
    users::{self, NewUser},
};
use sea_orm::{DatabaseConnection, FromQueryResult, Statement};

/// The database a test runs against.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL (without a database name).
    Postgres(String),
}

/// The environment variable that names the PostgreSQL server of the tests, e.g.
/// `postgres://postgres@127.0.0.1:5432`.
pub const POSTGRES_ENV: &str = "CRM_TEST_POSTGRES_URL";

impl Backend {
    /// The PostgreSQL backend, or `None` (said once on stderr) when `CRM_TEST_POSTGRES_URL` is
    /// not set.
    pub fn postgres() -> Option<Self> {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => {
                Some(Self::Postgres(url.trim_end_matches('/').to_owned()))
            }
            _ => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    // Straight to stderr: the test harness would capture `eprintln!`.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "PostgreSQL tests were not run: set {POSTGRES_ENV} to run them."
                    );
                });
                None
            }
        }
    }
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
                    if let Some(backend) = $crate::helpers::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

/// A database created for one test and dropped after it.
pub enum Scratch {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl Scratch {
    /// Creates an empty database and returns it with its URL.
    pub async fn create(backend: &Backend) -> (Self, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite:{}", dir.path().join("crm.db").display());
                (Self::Sqlite(dir), url)
            }
            Backend::Postgres(server) => {
                let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(format!("{server}/postgres"))
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {server} is unreachable: {e}"));
                sea_orm::ConnectionTrait::execute_unprepared(
                    &admin,
                    &format!("CREATE DATABASE {name}"),
                )
                .await
                .expect("create the test database");
                admin.close().await.ok();
                let url = format!("{server}/{name}");
                (
                    Self::Postgres {
                        server: server.clone(),
                        name,
                    },
                    url,
                )
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Self::Postgres { server, name } = self else {
            return;
        };
        let (server, name) = (server.clone(), name.clone());
        // Drop runs outside async code's reach: use a runtime of its own on a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let admin = sea_orm::Database::connect(format!("{server}/postgres")).await?;
                sea_orm::ConnectionTrait::execute_unprepared(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

/// A running server with a fresh database and an administrator.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The database's URL.
    pub database_url: String,
    /// The server's pool (for set-up and inspection).
    pub db: DatabaseConnection,
    /// The administrator.
    pub admin: user::Model,
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
        let (scratch, url) = Scratch::create(&backend).await;
        let mut config = Config {
            bind: "127.0.0.1:0".to_owned(),
            database: DbConfig::new(url.clone()),
            workers: Some(2),
            body_limit: crm_server::startup::DEFAULT_BODY_LIMIT,
            request_timeout: crm_server::startup::DEFAULT_REQUEST_TIMEOUT,
        };
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
    ) -> (user::Model, String) {
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
        (user, key)
    }

    /// Adds a non-admin user with a key.
    pub async fn member(&self, name: &str) -> (user::Model, String) {
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

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

/// The `n` of a `SELECT COUNT(*) AS n …`.
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    Count::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row")
        .n
}

/// Rows that point at a contact (or company) that does not exist, over every child table.
pub async fn orphans(db: &DatabaseConnection) -> i64 {
    let mut total = 0;
    for (table, column) in [
        ("contact_infos", "contact_id"),
        ("custom_field_values", "contact_id"),
        ("contact_tags", "contact_id"),
        ("tasks", "contact_id"),
        ("contact_access", "contact_id"),
        ("contacts", "company_id"),
    ] {
        total += count(
            db,
            &format!(
                "SELECT COUNT(*) AS n FROM {table} x WHERE x.{column} IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = x.{column})"
            ),
        )
        .await;
    }
    total
}
