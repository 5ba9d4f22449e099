//! Databases made for one test or benchmark run and removed after it: a SQLite file in a
//! temporary folder, or `crm_scratch_<random>` on a PostgreSQL server.

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database};

/// Which kind of database to make.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL (without a database name).
    Postgres(String),
}

/// The environment variable that names the PostgreSQL server of the tests, e.g.
/// `postgres://postgres@127.0.0.1:5432`.
pub const POSTGRES_ENV: &str = "CRM_TEST_POSTGRES_URL";

impl Backend {
    /// PostgreSQL at the server [`POSTGRES_ENV`] names, or `None` when it is not set.
    pub fn postgres_from_env() -> Option<Self> {
        std::env::var(POSTGRES_ENV)
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| Self::from_option(Some(&url)))
    }

    /// From a `--postgres` option: its URL without any database name or trailing slash.
    pub fn from_option(postgres: Option<&str>) -> Self {
        match postgres {
            None => Self::Sqlite,
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                // `postgres://user@host:port/db?…` → `postgres://user@host:port`
                let server = match url.find("://") {
                    Some(scheme) => match url[scheme + 3..].find(['/', '?']) {
                        Some(end) => &url[..scheme + 3 + end],
                        None => url,
                    },
                    None => url,
                };
                Self::Postgres(server.to_owned())
            }
        }
    }

    /// `sqlite` or `postgres` (e.g. the key of the backend's section in `docs/benchmarks.md`).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// `SQLite` or `PostgreSQL`.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, name: String },
    Removed,
}

/// An empty database, removed by [`Scratch::remove`] (or, failing that, when dropped).
pub struct Scratch {
    url: String,
    place: Place,
}

impl Scratch {
    /// Creates an empty database.
    pub async fn create(backend: &Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("crm-scratch-")
                    .tempdir()
                    .context("cannot create a temporary folder")?;
                let url = format!("sqlite:{}", dir.path().join("crm.db").display());
                Ok(Self {
                    url,
                    place: Place::Sqlite(dir),
                })
            }
            Backend::Postgres(server) => {
                let name = format!("crm_scratch_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .with_context(|| format!("PostgreSQL at {server} is unreachable"))?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("cannot create the database {name}"))?;
                admin.close().await.ok();
                Ok(Self {
                    url: format!("{server}/{name}"),
                    place: Place::Postgres {
                        server: server.clone(),
                        name,
                    },
                })
            }
        }
    }

    /// The database's URL, as the server takes it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Removes the database now.
    pub async fn remove(mut self) -> anyhow::Result<()> {
        match std::mem::replace(&mut self.place, Place::Removed) {
            Place::Sqlite(dir) => dir.close().context("cannot remove the temporary folder"),
            Place::Postgres { server, name } => drop_database(&server, &name).await,
            Place::Removed => Ok(()),
        }
    }
}

async fn drop_database(server: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(format!("{server}/postgres")).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .with_context(|| format!("cannot drop the database {name}"))?;
    admin.close().await.ok();
    Ok(())
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Place::Postgres { server, name } = std::mem::replace(&mut self.place, Place::Removed)
        else {
            return; // a temporary folder removes itself
        };
        // Drop may run inside the runtime: drop the database from a thread with a runtime of
        // its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drop_database(&server, &name))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop a scratch database: {dropped:?}");
        }
    }
}
