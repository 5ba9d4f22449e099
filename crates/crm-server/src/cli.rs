//! The command line: `serve` (the default), `demo-data`, `users add|list`,
//! `keys create|list|revoke`.

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use anyhow::Context;
use chrono::SecondsFormat;
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::{
    db::{self, DbConfig},
    demo::{self, DemoOutcome},
    startup::{Application, Config, redact},
    users,
};

/// The CRM contacts service (ONLYOFFICE-compatible contacts API) and its administration.
#[derive(Debug, Parser)]
#[command(
    name = "crm-server",
    version,
    override_usage = "crm-server [serve] [OPTIONS]\n       crm-server <COMMAND>"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Parses `args` (the program's name first) as `serve`'s when they name no command, so
    /// that the server's options and environment variables belong to `serve` alone: an
    /// administration command neither reads nor checks them.
    fn parse_with_default<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        let mut args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let names_a_command = args.get(1).and_then(|a| a.to_str()).is_some_and(|first| {
            matches!(first, "help" | "-h" | "--help" | "-V" | "--version")
                || <Self as clap::CommandFactory>::command()
                    .get_subcommands()
                    .any(|c| c.get_name() == first)
        });
        if !names_a_command {
            args.insert(1.min(args.len()), "serve".into());
        }
        Self::try_parse_from(args)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default when no command is given).
    Serve(ServeArgs),
    /// Load the demo data (three companies with their people, tasks, two users) once; loading
    /// it again adds nothing. On a database without users, first creates the administrator.
    DemoData {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage portal users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Args)]
struct DbArgs {
    /// Database URL: `sqlite:PATH` (created when missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Most database connections the pool opens, 1 to 10000.
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    db_max_connections: u32,
    /// How long opening a database connection may take (e.g. `5s`, `500ms`).
    #[arg(long, env = "CRM_DB_CONNECT_TIMEOUT", default_value = "5s", value_parser = above_zero)]
    db_connect_timeout: Duration,
    /// How long a request waits for a free database connection before it gets a 503.
    #[arg(long, env = "CRM_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = above_zero)]
    db_acquire_timeout: Duration,
}

impl DbArgs {
    fn config(&self) -> DbConfig {
        DbConfig {
            url: self.database_url.clone(),
            max_connections: self.db_max_connections,
            connect_timeout: self.db_connect_timeout,
            acquire_timeout: self.db_acquire_timeout,
        }
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on: `HOST:PORT` (`0.0.0.0:8080`, `[::1]:8080`, `localhost:8080`).
    #[arg(long, env = "CRM_BIND", default_value = "127.0.0.1:8080", value_parser = socket_address)]
    bind: String,
    /// How long a request may take before it is abandoned with a 503 (its transaction rolls
    /// back). A write whose commit was sent is not abandoned: its answer is sent. Nor is a
    /// PostgreSQL delete already sent: it waits for locks at most until then, and its answer is
    /// sent.
    #[arg(long, env = "CRM_REQUEST_TIMEOUT", default_value = "30s", value_parser = above_zero)]
    request_timeout: Duration,
    /// How long deleted contacts stay restorable in the trash (e.g. `30days`, `12h`; at most 100
    /// years, longer is taken as 100 years); `0` turns the trash off: a delete is final. Expired
    /// entries are erased.
    #[arg(long, env = "CRM_TRASH_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    trash_retention: Duration,
    /// Requests each API key may send per 10 seconds (a bucket that refills steadily and lets
    /// a burst of its size through); `0`: no limit. Past it: 429 with `Retry-After`.
    #[arg(long, env = "CRM_RATE_LIMIT", default_value_t = crate::limits::DEFAULT_PER_KEY)]
    rate_limit: u32,
    /// Requests with a missing, unknown or revoked key one client address may send per minute;
    /// past it, 429 before any key is looked up. `0`: no limit.
    #[arg(long, env = "CRM_BAD_KEY_LIMIT", default_value_t = crate::limits::DEFAULT_BAD_KEYS)]
    bad_key_limit: u32,
    /// Proxies whose `X-Forwarded-For` names the client (comma-separated addresses); without
    /// them the client is the socket's peer.
    #[arg(long, env = "CRM_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// How long a resolved API key is used without asking the database again (e.g. `5s`,
    /// `500ms`; at most a day); `0` turns the key cache off. A revocation reaches the other
    /// instances on PostgreSQL within milliseconds (`NOTIFY`), on a shared SQLite file within
    /// this time.
    #[arg(long, env = "CRM_KEY_CACHE_TTL", default_value = "5s", value_parser = at_most_a_day)]
    key_cache_ttl: Duration,
    /// Serve metrics in Prometheus' text format at `/metrics`, without an API key (`false`: no
    /// metrics are kept, and `/metrics` is a 404).
    #[arg(long, env = "CRM_METRICS", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    metrics: bool,
    /// Largest request body accepted, in bytes (larger ones get a 413).
    #[arg(long, env = "CRM_BODY_LIMIT", default_value_t = crate::startup::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// HTTP worker threads, 1 to 512 (default: one per core).
    #[arg(long, env = "CRM_WORKERS", value_parser = clap::value_parser!(u16).range(1..=512))]
    workers: Option<u16>,
    /// Load the demo data before serving, unless it is loaded already (see `demo-data`).
    #[arg(long, env = "CRM_DEMO_DATA", value_parser = clap::builder::BoolishValueParser::new())]
    demo_data: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user and print its ID alone on stdout.
    Add {
        /// Display name (one line, at most 255 characters).
        #[arg(long, value_parser = one_line)]
        name: String,
        /// Job title (one line, at most 255 characters).
        #[arg(long, default_value = "", value_parser = one_line)]
        title: String,
        /// Make the user a portal administrator (may delete any contact).
        #[arg(long)]
        admin: bool,
        /// URL of the user's profile page (`http` or `https`).
        #[arg(long, default_value = "", value_parser = web_address)]
        profile_url: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the users: ID, name, whether each is an administrator, and how many API keys each
    /// has that are not revoked.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create an API key for a user and print the key alone on stdout (shown only now).
    Create {
        /// The user's ID.
        #[arg(long)]
        user: Uuid,
        /// A label to recognise the key by (one line, at most 255 characters).
        #[arg(long, default_value = "", value_parser = one_line)]
        label: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the API keys (never the keys themselves).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke an API key by its ID (see `keys list`).
    Revoke {
        /// The key's ID.
        key_id: i32,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Exits as clap does on a usage error (or after `--help`, `--version`), except that a usage
/// error's message, which quotes the value given, shows its control characters (but line
/// breaks) escaped: a value refused for them must not restyle the terminal anyway.
fn usage(error: &clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    eprint!("{}", usage_text(error));
    std::process::exit(error.exit_code());
}

/// A usage error's message as [`usage`] prints it: without terminal styling (clap's own
/// colours, or a value's escape sequences), with what is left [`unprintable`] escaped.
fn usage_text(error: &clap::Error) -> String {
    escaped(&error.render().to_string())
}

/// `text` with every character [`unprintable`] but its line breaks escaped (`\u{1b}`).
fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c != '\n' && unprintable(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Parses the command line, runs the command, and reports an error as one line on stderr.
pub fn run() -> ExitCode {
    let cli = Cli::parse_with_default(std::env::args_os()).unwrap_or_else(|error| usage(&error));
    // The server logs a line per request; an administration command only what went wrong
    // (not the migrations it runs on the way).
    let serving = matches!(cli.command, Command::Serve(_));
    init_tracing(if serving { "info" } else { "warn" });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The log filter's directives added to the default level when `RUST_LOG` is not set.
const QUIET_BY_DEFAULT: &str = "actix_http::h1::dispatcher=off";

/// Logs to stderr at `RUST_LOG`'s level, or `default_level`; in colour only on a terminal.
/// Whatever the level, not the PostgreSQL driver's warning about a connect parameter it does
/// not know, which prints the parameter's value (a password under a name it does not know):
/// `db::connect` warns of those by name; nor the trace span that prints the URL.
///
/// Without `RUST_LOG`, not actix-web's HTTP/1 dispatcher either: it reports each request its
/// parser refuses (a bad header, a request line it cannot read…) as an `ERROR`, which any client
/// can cause at will, with no key; [`QUIET_BY_DEFAULT`] keeps them out unless asked for.
fn init_tracing(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{default_level},{QUIET_BY_DEFAULT}"))
        })
        .add_directive(
            "sqlx_postgres::options::parse=error"
                .parse()
                .expect("a valid directive"),
        )
        // Nor sea-orm's trace span of opening a PostgreSQL pool, which prints its URL whole.
        .add_directive(
            "sea_orm::driver::sqlx_postgres=debug"
                .parse()
                .expect("a valid directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// A duration of at most a day (`5s`; `0` allowed): longer is no cache of a key but a second
/// copy of it.
fn at_most_a_day(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration > std::time::Duration::from_secs(86_400) => {
            Err("must be at most 1day".to_owned())
        }
        Ok(duration) => Ok(duration),
        Err(error) => Err(error.to_string()),
    }
}

/// A duration above zero (`500ms`, `5s`): a zero timeout would fail every connection (or
/// request).
fn above_zero(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be above zero".to_owned()),
        Ok(duration) => Ok(duration),
        Err(error) => Err(error.to_string()),
    }
}

/// An address to listen on, `HOST:PORT`, checked (and its host looked up) before anything else
/// happens: a bad one is a usage error, not a failure after the database was opened.
fn socket_address(text: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    match text.to_socket_addrs().map(|mut addresses| addresses.next()) {
        Ok(Some(_)) => Ok(text.to_owned()),
        Ok(None) => Err("names no address".to_owned()),
        Err(error) => Err(format!("is not HOST:PORT ({error})")),
    }
}

/// A text shown in one line of a table or the API: no control characters (a line break or a
/// terminal escape would forge rows or restyle the operator's terminal), at most
/// `crm_models::MAX_NAME` characters.
fn one_line(text: &str) -> Result<String, String> {
    use crm_models::MAX_NAME;
    if text.chars().any(unprintable) {
        return Err(
            "must be one line without control characters (nor line separators or \
             bidirectional controls)"
                .to_owned(),
        );
    }
    let length = text.chars().count();
    if length > MAX_NAME {
        return Err(format!(
            "is {length} characters long; the limit is {MAX_NAME}"
        ));
    }
    Ok(text.to_owned())
}

/// Characters that would break or disguise a line of a table: control characters, the line and
/// paragraph separators, and the bidirectional controls (which reorder what follows).
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// An `http` or `https` URL of at most 2,048 characters, or nothing. The URL parser would drop
/// line breaks and tabs silently, so the text is checked as a line first.
fn web_address(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    if text.chars().any(unprintable) || text.trim() != text {
        return Err("must be one URL without spaces around it or control characters".to_owned());
    }
    if text.len() > 2048 {
        return Err("is longer than 2048 bytes".to_owned());
    }
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(text.to_owned()),
        Ok(url) => Err(format!(
            "must be an http or https URL, not {}:",
            url.scheme()
        )),
        Err(error) => Err(format!("is not a URL: {error}")),
    }
}

/// `cell` with its control characters escaped (`\n`, `\u{1b}`), for rows stored before they
/// were refused.
fn printable(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if unprintable(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Prints `rows` under `headers`, each column as wide as its widest cell, two spaces apart; the
/// columns whose index is in `right` are aligned right (numbers).
fn print_table(headers: &[&str], rows: &[Vec<String>], right: &[usize]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let rows = &rows;
    let width = |cell: &str| cell.chars().count();
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| width(cell))
                .chain([width(headers[column])])
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (column, cell) in cells.into_iter().enumerate() {
            let pad = " ".repeat(widths[column].saturating_sub(width(cell)));
            if right.contains(&column) {
                out.push_str(&pad);
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if column < last {
                    out.push_str(&pad);
                }
            }
            if column < last {
                out.push_str("  ");
            }
        }
        println!("{out}");
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

async fn open(db: &DbArgs) -> anyhow::Result<sea_orm::DatabaseConnection> {
    db::connect_and_migrate(&db.config())
        .await
        .map_err(|error| crate::startup::cannot_open(&db.database_url, &error))
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::DemoData { db } => {
            let key = bootstrap_key()?;
            let db = open(&db).await?;
            bootstrap(&db, key).await?;
            match demo::load(&db).await? {
                DemoOutcome::Loaded { contacts, .. } => {
                    eprintln!("Loaded the demo data: {contacts} contacts.");
                }
                DemoOutcome::AlreadyLoaded => eprintln!("The demo data is already loaded."),
            }
            Ok(())
        }
        Command::Users(UsersCommand::Add {
            name,
            title,
            admin,
            profile_url,
            db,
        }) => {
            if name.trim().is_empty() {
                anyhow::bail!("--name must not be blank: give the user's display name");
            }
            let db = open(&db).await?;
            let new = users::NewUser {
                name,
                title,
                admin,
                profile_url,
            };
            let new = &new;
            let user = db::write(
                &db,
                |tx| async move { users::add_user(&*tx, new.clone()).await },
            )
            .await?;
            println!("{}", user.id);
            Ok(())
        }
        Command::Keys(KeysCommand::Create { user, label, db }) => {
            let db = open(&db).await?;
            let label = label.as_str();
            let (_, key) = db::write(&db, |tx| async move {
                users::create_key(&*tx, user, label, None).await
            })
            .await?;
            println!("{key}");
            Ok(())
        }
        Command::Users(UsersCommand::List { db }) => {
            let db = open(&db).await?;
            let rows: Vec<Vec<String>> = users::list_users(&db)
                .await?
                .into_iter()
                .map(|user| {
                    vec![
                        user.id.to_string(),
                        user.name,
                        if user.is_admin { "yes" } else { "no" }.to_owned(),
                        user.active_keys.to_string(),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "ADMIN", "KEYS"], &rows, &[3]);
            Ok(())
        }
        Command::Keys(KeysCommand::List { db }) => {
            let db = open(&db).await?;
            let rows: Vec<Vec<String>> = users::list_keys(&db)
                .await?
                .into_iter()
                .map(|key| {
                    vec![
                        key.id.to_string(),
                        key.prefix,
                        key.user_id.to_string(),
                        key.user_name,
                        key.label,
                        key.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        key.revoked_at
                            .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
                            .unwrap_or_else(|| "-".to_owned()),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "PREFIX",
                    "USER",
                    "USER NAME",
                    "LABEL",
                    "CREATED",
                    "REVOKED",
                ],
                &rows,
                &[0],
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Revoke { key_id, db }) => {
            let db = open(&db).await?;
            users::revoke_key(&db, key_id).await?;
            eprintln!("API key {key_id} is revoked.");
            Ok(())
        }
    }
}

/// `CRM_BOOTSTRAP_API_KEY` when set and not empty; an error when it breaks the rule of keys
/// given by hand (`users::check_given_key`).
fn bootstrap_key() -> anyhow::Result<Option<String>> {
    let Some(key) = std::env::var_os("CRM_BOOTSTRAP_API_KEY") else {
        return Ok(None);
    };
    if key.is_empty() {
        return Ok(None);
    }
    let key = key
        .into_string()
        .map_err(|_| users::KeyError::InvalidKey)
        .and_then(|key| users::check_given_key(&key).map(|()| key))
        .context("CRM_BOOTSTRAP_API_KEY is not a usable API key")?;
    Ok(Some(key))
}

/// On a database without users, creates the administrator with `given_key` (from
/// `CRM_BOOTSTRAP_API_KEY`, [`bootstrap_key`]), or with a generated key printed once on stdout.
async fn bootstrap(
    db: &sea_orm::DatabaseConnection,
    given_key: Option<String>,
) -> anyhow::Result<()> {
    let given = given_key.is_some();
    let Some(first) = users::bootstrap(db, given_key).await? else {
        if given {
            tracing::info!(
                "CRM_BOOTSTRAP_API_KEY is set but ignored: the database has users already (it \
                 only sets the first administrator's key on an empty database)"
            );
        }
        return Ok(());
    };
    if first.key_was_given {
        tracing::info!(
            "created the administrator \"{}\" with the key from CRM_BOOTSTRAP_API_KEY",
            first.user.display_name
        );
    } else {
        println!(
            "Created the administrator \"{}\". Its API key is {} — it is shown only this \
             once. Send it as the Authorization header (`Authorization: {}`), or open Swagger \
             UI, click Authorize and paste it.",
            first.user.display_name, first.key, first.key
        );
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let key = bootstrap_key()?;
    // The address first: one in use, or not this machine's, fails before the database is
    // opened (and before a first administrator's key is printed for a server that never ran).
    let listener = crate::startup::listen(&args.bind)?;
    let db = open(&args.db).await?;
    bootstrap(&db, key).await?;
    if args.demo_data {
        match demo::load(&db).await? {
            DemoOutcome::Loaded { contacts, tasks } => {
                tracing::info!("loaded the demo data: {contacts} contacts, {tasks} tasks");
            }
            DemoOutcome::AlreadyLoaded => tracing::info!("the demo data is already loaded"),
        }
    }
    let config = Config {
        bind: args.bind,
        database: args.db.config(),
        workers: args.workers.map(usize::from),
        body_limit: args.body_limit,
        request_timeout: args.request_timeout,
        trash_retention: args.trash_retention,
        limits: crate::limits::Limits::new(args.rate_limit, args.bad_key_limit, args.trusted_proxy),
        key_cache_ttl: args.key_cache_ttl,
        metrics: args.metrics,
        pool_per_worker: true,
    };
    let app = Application::build_on(&config, db.clone(), listener)?;
    if app.pool_per_worker() {
        // The start-up's connections: the workers open their own.
        db.close().await?;
    }
    tracing::info!(
        "listening on http://{}:{} — Swagger UI at /swagger-ui/, database {}",
        config
            .bind
            .rsplit_once(':')
            .map_or("127.0.0.1", |(host, _)| host),
        app.port(),
        redact(&config.database.url)
    );
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve`'s options, given with or without its name.
    fn serve_args(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        match Cli::parse_with_default(args.iter().copied())?.command {
            Command::Serve(args) => Ok(args),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn the_key_cache_ttl_defaults_to_the_caches_default_and_zero_turns_it_off() {
        let args = serve_args(&["crm-server"]).expect("no arguments");
        assert_eq!(args.key_cache_ttl, crate::keycache::DEFAULT_TTL);
        let args = serve_args(&["crm-server", "serve", "--key-cache-ttl", "0"]).expect("zero");
        assert_eq!(args.key_cache_ttl, Duration::ZERO);
        let args = serve_args(&["crm-server", "--key-cache-ttl", "250ms"]).expect("250ms");
        assert_eq!(args.key_cache_ttl, Duration::from_millis(250));
        assert!(serve_args(&["crm-server", "--key-cache-ttl", "soon"]).is_err());
    }

    #[test]
    fn a_refused_value_is_quoted_without_what_would_restyle_a_terminal() {
        for (label, shown) in [
            ("x\u{1b}[31m", "'x'"),
            ("Bob\u{202E}nimda", "'Bob\\u{202e}nimda'"),
            ("a\u{2028}b", "'a\\u{2028}b'"),
        ] {
            let error = Cli::parse_with_default([
                "crm-server",
                "keys",
                "create",
                "--user",
                "1F0C0000-0000-0000-0000-000000000000",
                "--label",
                label,
            ])
            .expect_err("refused");
            let text = usage_text(&error);
            assert!(
                !text.chars().any(|c| c != '\n' && unprintable(c)),
                "{text:?}"
            );
            assert!(text.contains(shown), "{text:?}");
        }
    }

    #[test]
    fn an_administration_command_takes_no_server_option() {
        let cli = Cli::parse_with_default(["crm-server", "keys", "list"]).expect("keys list");
        assert!(matches!(
            cli.command,
            Command::Keys(KeysCommand::List { .. })
        ));
        let error = Cli::parse_with_default(["crm-server", "keys", "list", "--workers", "2"])
            .expect_err("--workers is serve's");
        assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument);
        let error = Cli::parse_with_default(["crm-server", "--workers", "0"]).expect_err("0");
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        let error = Cli::parse_with_default(["crm-server", "--help"]).expect_err("help");
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
