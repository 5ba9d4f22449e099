//! Starting a server for one test.

use crm_server::{
    db::{DbConfig, entities::user},
    startup::{Application, Config},
    users::{self, NewUser},
};
use sea_orm::DatabaseConnection;

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
    /// The folder of the SQLite file; removed when the test ends.
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts a server.
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite:{}", dir.path().join("crm.db").display());
        let config = Config {
            bind: "127.0.0.1:0".to_owned(),
            database: DbConfig::new(url.clone()),
            workers: Some(2),
        };
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
            _dir: dir,
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
