//! `crm-bench` (run it as `cargo xtask bench -- [OPTIONS]`): measures
//! `DELETE /api/2.0/crm/contact/{contactid}` through the real server, as users run it, and
//! compares it in the same run with the two ceilings it cannot beat:
//!
//! - the **database ceiling**: the same delete (`crm_server::contacts::delete`: snapshot,
//!   cascade, audit record, one transaction) called in-process through the server's own data
//!   layer, on a pool configured like the server's;
//! - the **HTTP ceiling**: `GET /images/person_40.svg`, a route that touches no database,
//!   through the same load generator.
//!
//! A fourth measurement, the route's database work in-process (the API-key lookup, then the
//! delete), tells the key lookup's share of the gap from the HTTP layer's.
//!
//! It also counts the statements one delete executes (a bare contact and a huge one must take
//! the same number), measures delete latency with 1,000 and with 100,000 contacts in the
//! tables, and reads the server's peak memory. It prints a Markdown report and writes it to
//! `docs/benchmarks.md` (the backend's section only; `--no-write` to skip).
//!
//! Exit status: 0 when the harness ran and every request succeeded; 1 on a correctness
//! failure (a non-200 answer, a failed delete, statement counts that differ by size, a
//! measurement cut short by its time limit); 2 when the run could not be carried out. Timings
//! never decide the exit status: the targets are reported, not asserted.

mod cpu;
mod load;
mod report;

use std::{
    future::Future,
    path::PathBuf,
    pin::Pin,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use crm_server::{actor::Actor, db::DbConfig};
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use reqwest::header;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crm_testkit::{
    process::{Launch, ServerProcess},
    scratch::{Backend, Scratch},
    seed::{self, Shape},
};

use crate::{
    cpu::Cpu,
    load::{Measurement, closed_loop},
    report::{Level, Results, RunInfo, Scale, Statements},
};

/// The administrator's key on every benchmark database.
const KEY: &str = "BE7C4000-0000-4000-8000-00000000BE7C";
/// The route of the HTTP ceiling: static, no database.
const STATIC_ROUTE: &str = "/images/person_40.svg";
/// Contacts in the tables for the scale test.
const SCALE_SIZES: (usize, usize) = (1_000, 100_000);
/// Deletes per table size in the scale test (at most).
const SCALE_DELETES: usize = 300;
/// The scale test alternates between the two sizes in batches of this many deletes.
const SCALE_BATCH: usize = 25;

/// Benchmark of the delete route against its database and HTTP ceilings.
#[derive(Debug, Parser)]
#[command(name = "crm-bench", version)]
struct Args {
    /// Run on PostgreSQL: the server's URL without a database (e.g.
    /// `postgres://postgres@127.0.0.1:5432`); a database `crm_bench_<random>` is created and
    /// dropped afterwards. Without it: SQLite in a temporary file.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Contacts put in place before the run (raised when the phases need more).
    #[arg(long, default_value_t = 20_000)]
    contacts: usize,
    /// Requests per measurement (each of HTTP delete, database ceiling, in-process key lookup +
    /// delete and HTTP ceiling, at each concurrency).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(2..))]
    requests: u64,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Skip the scale test (1,000 vs 100,000 contacts).
    #[arg(long)]
    skip_scale: bool,
    /// Print the report only; leave docs/benchmarks.md alone.
    #[arg(long)]
    no_write: bool,
    /// The report file.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// The server binary (default: `crm-server` beside this binary, i.e. target/release).
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// An extra argument for `crm-server serve` (repeatable), e.g. `--server-arg=--workers=4`.
    /// It does not reach the in-process pool: for the pool size use `--db-max-connections`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Each measurement is split into this many batches, run in the order database ceiling, key
    /// lookup + delete, HTTP delete, HTTP ceiling, then backwards, and so on (rounded up to an
    /// even number).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..))]
    rounds: u64,
    /// The server's pool size (`crm-server --db-max-connections`), also used for the
    /// in-process pool of the database ceiling. Default: the server's default (8).
    #[arg(long, value_name = "N")]
    db_max_connections: Option<u32>,
    /// The longest one measurement may take; a measurement cut short fails the run.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    time_limit: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(args) => outcome,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Everything a load operation returns: `Err` describes a failed request.
type OpFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// `DELETE /api/2.0/crm/contact/{id}` as the administrator; only a 200 with its body counts.
fn http_delete(
    client: &reqwest::Client,
    address: &str,
) -> impl Fn(i32) -> OpFuture + Clone + Send + Sync + 'static {
    let (client, address) = (client.clone(), Arc::<str>::from(address));
    move |id| {
        let request = client
            .delete(format!("{address}/api/2.0/crm/contact/{id}"))
            .header(header::AUTHORIZATION, KEY);
        Box::pin(async move { expect_200(request, &format!("DELETE contact {id}")).await })
    }
}

/// How many contacts one batch delete names in the batch row.
const BATCH_SIZE: usize = 100;

/// `PUT /api/2.0/crm/contact` with the contacts of `batches[i]`: the batch row.
fn http_batch_delete(
    client: &reqwest::Client,
    address: &str,
    batches: Vec<Vec<i32>>,
) -> impl Fn(i32) -> OpFuture + Clone + Send + Sync + 'static {
    let (client, url) = (
        client.clone(),
        Arc::<str>::from(format!("{address}/api/2.0/crm/contact")),
    );
    let batches = Arc::new(batches);
    move |i| {
        let ids = usize::try_from(i)
            .ok()
            .and_then(|i| batches.get(i))
            .cloned()
            .unwrap_or_default();
        let request =
            client
                .put(&*url)
                .header(header::AUTHORIZATION, KEY)
                .json(&crm_models::BatchDelete {
                    contactids: ids.iter().map(|&id| i64::from(id)).collect(),
                });
        Box::pin(async move { expect_200(request, "PUT a batch of contacts").await })
    }
}

/// `GET /images/person_40.svg`: the HTTP ceiling.
fn http_static(
    client: &reqwest::Client,
    address: &str,
) -> impl Fn(i32) -> OpFuture + Clone + Send + Sync + 'static {
    let (client, url) = (
        client.clone(),
        Arc::<str>::from(format!("{address}{STATIC_ROUTE}")),
    );
    move |_| {
        let request = client.get(&*url);
        Box::pin(async move { expect_200(request, &format!("GET {STATIC_ROUTE}")).await })
    }
}

async fn expect_200(request: reqwest::RequestBuilder, what: &str) -> Result<(), String> {
    let response = request
        .send()
        .await
        .map_err(|error| format!("{what}: {error}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|error| format!("{what}: reading the body: {error}"))?;
    if status == reqwest::StatusCode::OK && !body.is_empty() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        Err(format!("{what}: {status} {text}"))
    }
}

/// `crm_server::contacts::delete` in-process: the database ceiling.
fn db_delete(
    db: &DatabaseConnection,
    admin: Actor,
) -> impl Fn(i32) -> OpFuture + Clone + Send + Sync + 'static {
    let db = db.clone();
    move |id| {
        let db = db.clone();
        Box::pin(async move {
            crm_server::contacts::delete(
                &db,
                id,
                &admin,
                crm_server::contacts::trash::DEFAULT_RETENTION,
            )
            .await
            .map(|_| ())
            .map_err(|error| format!("in-process delete of contact {id}: {error}"))
        })
    }
}

/// The database work of the HTTP route, in-process: the API-key lookup (`Caller`), then the
/// delete. Not a ceiling; it tells the key lookup's share from the HTTP layer's.
fn db_route(db: &DatabaseConnection) -> impl Fn(i32) -> OpFuture + Clone + Send + Sync + 'static {
    let db = db.clone();
    move |id| {
        let db = db.clone();
        Box::pin(async move {
            let caller = crm_server::auth::user_for_key(&db, KEY)
                .await
                .map_err(|error| format!("key lookup: {error}"))?
                .ok_or_else(|| "key lookup: the key is unknown".to_owned())?;
            crm_server::contacts::delete(
                &db,
                id,
                &caller,
                crm_server::contacts::trash::DEFAULT_RETENTION,
            )
            .await
            .map(|_| ())
            .map_err(|error| format!("in-process delete of contact {id}: {error}"))
        })
    }
}

/// Hands out contact IDs, each once, in a fixed random order.
struct Ids(std::vec::IntoIter<i32>);

impl Ids {
    fn shuffled(count: usize, seed: u64) -> anyhow::Result<Self> {
        let last = i32::try_from(count).context("too many contacts")?;
        let mut ids: Vec<i32> = (1..=last).collect();
        ids.shuffle(&mut StdRng::seed_from_u64(seed));
        Ok(Self(ids.into_iter()))
    }

    fn take(&mut self, count: usize) -> anyhow::Result<Vec<i32>> {
        let ids: Vec<i32> = self.0.by_ref().take(count).collect();
        if ids.len() < count {
            bail!("ran out of contacts: the plan needs more than were put in place");
        }
        Ok(ids)
    }
}

/// Failures seen so far, over every measurement.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, what: &str, m: &Measurement) {
        if m.failures > 0 {
            self.0.push(format!(
                "{what}: {} of {} requests failed; first: {}",
                m.failures,
                m.done,
                m.first_failure.as_deref().unwrap_or("?")
            ));
        }
        if !m.complete() {
            self.0.push(format!(
                "{what}: only {} of {} requests were sent within the time limit",
                m.done, m.planned
            ));
        }
    }
}

fn describe(m: &Measurement) -> String {
    let (server, bench, postgres) = m.cpu_per_request_us();
    format!(
        "{:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.1} ms  failed {}  \
         CPU µs/req: server {server:.0}, bench {bench:.0}, postgres {postgres:.0}",
        m.throughput(),
        m.quantile_ms(0.5),
        m.quantile_ms(0.99),
        m.max_ms(),
        m.failures
    )
}

/// Runs a measurement and records the CPU time the server, this process and PostgreSQL used
/// meanwhile.
async fn with_cpu(server: u32, run: impl Future<Output = Measurement>) -> Measurement {
    let before = Cpu::now(server);
    let mut measurement = run.await;
    measurement.cpu = Cpu::now(server).since(before);
    measurement
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let started = Instant::now();
    if cfg!(debug_assertions) && !args.no_write {
        bail!("this is a debug build: run it as `cargo xtask bench` (a release build)");
    }
    let backend = Backend::from_option(args.postgres.as_deref());
    let binary = match &args.server_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this binary has no folder")?
            .join("crm-server"),
    };
    if !binary.is_file() {
        bail!(
            "no server binary at {}: build it with `cargo build --release -p crm-server` \
             (`cargo xtask bench` does)",
            binary.display()
        );
    }
    let mut levels = args.concurrency.clone();
    if levels.is_empty() || levels.contains(&0) {
        bail!("--concurrency takes positive numbers, e.g. 1,8,32");
    }
    levels.dedup();
    let requests = usize::try_from(args.requests)?;
    let rounds = usize::try_from(args.rounds)?
        .next_multiple_of(2)
        .min(requests);
    let mut server_args = args.server_args.clone();
    let pool_config = |url: &str| {
        let mut config = DbConfig::new(url.to_owned());
        if let Some(n) = args.db_max_connections {
            config.max_connections = n;
        }
        config
    };
    if let Some(n) = args.db_max_connections {
        server_args.push(format!("--db-max-connections={n}"));
    }
    let warmup = (requests / 4).clamp(10, 200);
    // Three of the four measurements delete contacts.
    // The batch row deletes `requests` contacts one by one and as many in batches.
    let batch_contacts = requests.div_ceil(BATCH_SIZE) * BATCH_SIZE;
    let needed = levels.len() * 3 * requests + 3 * warmup + requests + batch_contacts;
    let contacts = if args.contacts < needed {
        println!(
            "note: {} contacts cannot cover {} deletes; putting {needed} in place",
            args.contacts, needed
        );
        needed
    } else {
        args.contacts
    };
    let top = levels.iter().copied().max().unwrap_or(1);
    let limit = args.time_limit;
    println!(
        "crm-bench on {}: {contacts} contacts, {requests} requests per measurement, \
         concurrency {levels:?}",
        backend.title()
    );

    // Set-up (not timed): a fresh database, the first-start state, the contacts.
    let scratch = Scratch::create(&backend).await?;
    let url = scratch.url().to_owned();
    let clock = Instant::now();
    let db = crm_server::db::connect_and_migrate(&DbConfig::new(url.clone()))
        .await
        .context("cannot open the benchmark database")?;
    let fixture = seed::fixture(&db, KEY).await?;
    let last = i32::try_from(contacts).context("too many contacts")?;
    seed::contacts(&db, &fixture, 1..=last, Shape::REALISTIC).await?;
    let (bare, realistic, huge) = (last + 1, last + 2, last + 3);
    seed::contacts(&db, &fixture, bare..=bare, Shape::BARE).await?;
    seed::contacts(&db, &fixture, realistic..=realistic, Shape::REALISTIC).await?;
    seed::contacts(&db, &fixture, huge..=huge, Shape::HUGE).await?;
    seed::settle(&db).await?;
    let database = database_version(&db).await?;
    db.close().await?;
    println!(
        "set-up: {contacts} contacts in {:.1} s ({database})",
        clock.elapsed().as_secs_f64()
    );

    let mut failures = Failures::default();
    let statements = count_statements(&url, fixture.admin.actor(), [bare, realistic, huge]).await?;
    println!(
        "statements per delete: {} bare, {} realistic, {} huge",
        statements.bare, statements.realistic, statements.huge
    );
    if !statements.constant() {
        failures.0.push(format!(
            "a delete runs a different number of statements by the contact's size: {} bare, \
             {} realistic, {} huge",
            statements.bare, statements.realistic, statements.huge
        ));
    }

    let server = ServerProcess::start(Launch {
        args: &server_args,
        show_stderr: true,
        ..Launch::new(&binary, &url, KEY)
    })
    .await?;
    let pool = crm_server::db::connect(&pool_config(&url))
        .await
        .context("cannot open the in-process pool")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let delete_op = http_delete(&client, &server.address);
    let static_op = http_static(&client, &server.address);
    let db_op = db_delete(&pool, fixture.admin.actor());
    let route_op = db_route(&pool);
    let mut ids = Ids::shuffled(contacts, 0x00C0_FFEE)?;

    // Warm-up: connections of every pool and of the client opened, caches filled.
    let m = closed_loop(top, ids.take(warmup)?, limit, delete_op.clone()).await;
    failures.check("warm-up, HTTP delete", &m);
    let m = closed_loop(top, ids.take(warmup)?, limit, db_op.clone()).await;
    failures.check("warm-up, database ceiling", &m);
    let m = closed_loop(top, ids.take(warmup)?, limit, route_op.clone()).await;
    failures.check("warm-up, key lookup + delete", &m);
    let m = closed_loop(top, vec![0; warmup], limit, static_op.clone()).await;
    failures.check("warm-up, HTTP ceiling", &m);

    let mut measured = Vec::new();
    for &concurrency in &levels {
        // Batches in the order A B C D, D C B A, …, so that a drift (the tables shrinking,
        // another process taking the CPU for a while) weighs on all four alike.
        let batches: Vec<usize> = (0..rounds)
            .map(|r| requests / rounds + usize::from(r < requests % rounds))
            .collect();
        let mut db_runs = Vec::new();
        let mut route_runs = Vec::new();
        let mut http_runs = Vec::new();
        let mut static_runs = Vec::new();
        let pid = server.pid();
        for (round, &count) in batches.iter().enumerate() {
            let db_ids = ids.take(count)?;
            let route_ids = ids.take(count)?;
            let http_ids = ids.take(count)?;
            let db = with_cpu(pid, closed_loop(concurrency, db_ids, limit, db_op.clone()));
            let route = with_cpu(
                pid,
                closed_loop(concurrency, route_ids, limit, route_op.clone()),
            );
            let http = with_cpu(
                pid,
                closed_loop(concurrency, http_ids, limit, delete_op.clone()),
            );
            let ceiling = with_cpu(
                pid,
                closed_loop(concurrency, vec![0; count], limit, static_op.clone()),
            );
            if round.is_multiple_of(2) {
                db_runs.push(db.await);
                route_runs.push(route.await);
                http_runs.push(http.await);
                static_runs.push(ceiling.await);
            } else {
                static_runs.push(ceiling.await);
                http_runs.push(http.await);
                route_runs.push(route.await);
                db_runs.push(db.await);
            }
        }
        let level = Level {
            concurrency,
            http_delete: Measurement::merged(&http_runs),
            db_ceiling: Measurement::merged(&db_runs),
            route_work: Measurement::merged(&route_runs),
            http_ceiling: Measurement::merged(&static_runs),
        };
        failures.check(
            &format!("concurrency {concurrency}, HTTP delete"),
            &level.http_delete,
        );
        failures.check(
            &format!("concurrency {concurrency}, database ceiling"),
            &level.db_ceiling,
        );
        failures.check(
            &format!("concurrency {concurrency}, key lookup + delete"),
            &level.route_work,
        );
        failures.check(
            &format!("concurrency {concurrency}, HTTP ceiling"),
            &level.http_ceiling,
        );
        println!("concurrency {concurrency}:");
        println!("  HTTP delete       {}", describe(&level.http_delete));
        println!("  database ceiling  {}", describe(&level.db_ceiling));
        println!("  key lookup+delete {}", describe(&level.route_work));
        println!("  HTTP ceiling      {}", describe(&level.http_ceiling));
        println!(
            "  HTTP delete / database ceiling {:.2}, / HTTP ceiling {:.2}",
            level.over_database(),
            level.over_http()
        );
        measured.push(level);
    }
    // The batch row: contacts deleted per second by batches of BATCH_SIZE next to single
    // deletes, both through HTTP one request at a time, single first then batched, then again.
    let single_ids = ids.take(requests)?;
    let batched_ids = ids.take(batch_contacts)?;
    let halves = |v: Vec<i32>| {
        let half = (v.len() / 2).div_ceil(BATCH_SIZE) * BATCH_SIZE;
        let (a, b) = v.split_at(half.min(v.len()));
        (a.to_vec(), b.to_vec())
    };
    let (single_a, single_b) = {
        let half = single_ids.len() / 2;
        let (a, b) = single_ids.split_at(half);
        (a.to_vec(), b.to_vec())
    };
    let (batched_a, batched_b) = halves(batched_ids);
    let mut single_runs = Vec::new();
    let mut batch_runs = Vec::new();
    for (single, batched) in [(single_a, batched_a), (single_b, batched_b)] {
        single_runs.push(closed_loop(1, single, limit, delete_op.clone()).await);
        let chunks: Vec<Vec<i32>> = batched.chunks(BATCH_SIZE).map(<[i32]>::to_vec).collect();
        let items = (0..chunks.len()).map(|i| i as i32).collect();
        let op = http_batch_delete(&client, &server.address, chunks);
        batch_runs.push(closed_loop(1, items, limit, op).await);
    }
    let batch = report::Batch {
        size: BATCH_SIZE,
        single: Measurement::merged(&single_runs),
        batched: Measurement::merged(&batch_runs),
    };
    failures.check("batch row, single deletes", &batch.single);
    failures.check("batch row, batches", &batch.batched);
    println!(
        "batch row: {:.0} contacts/s by batches of {BATCH_SIZE}, {:.0} contacts/s one by one",
        batch.contacts_per_second(),
        batch.single.throughput()
    );

    let peak_memory = server.peak_memory()?;
    println!(
        "server peak memory (VmHWM): {:.1} MiB",
        peak_memory as f64 / 1048576.0
    );
    drop(server);
    pool.close().await?;
    scratch.remove().await?;

    let scale = if args.skip_scale {
        None
    } else {
        let scale = scale_test(&backend, &binary, &server_args, requests, limit).await?;
        failures.check("scale test, fewer contacts", &scale.small.1);
        failures.check("scale test, more contacts", &scale.large.1);
        Some(scale)
    };

    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(Some("--".to_owned()).filter(|_| std::env::args().len() > 1))
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let results = Results {
        context: RunInfo {
            backend: backend.clone(),
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine: machine(),
            database,
            command,
            contacts,
            requests,
            warmup,
            server_args,
            rounds,
            wall_time: started.elapsed(),
        },
        levels: measured,
        batch,
        statements,
        scale,
        peak_memory,
    };
    let section = report::markdown(&results);
    println!("\n{section}");

    if !failures.0.is_empty() {
        eprintln!("FAILED: the harness found requests that did not succeed:");
        for failure in &failures.0 {
            eprintln!("  - {failure}");
        }
        eprintln!("(docs/benchmarks.md was not written)");
        return Ok(false);
    }
    if !args.no_write {
        let path = args.output.clone().unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/benchmarks.md"
            ))
        });
        report::write_section(&path, &backend, &section)?;
        println!(
            "wrote the {} section of {}",
            backend.title(),
            path.canonicalize().unwrap_or(path.clone()).display()
        );
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(true)
}

/// Deletes `ids` in-process on a pool that counts statements, and returns the counts. The huge
/// contact must come back whole (its size is what the check is about).
async fn count_statements(
    url: &str,
    admin: Actor,
    [bare, realistic, huge]: [i32; 3],
) -> anyhow::Result<Statements> {
    let mut db = crm_server::db::connect(&DbConfig::new(url.to_owned())).await?;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut counts = Vec::new();
    for id in [bare, realistic, huge] {
        statements.store(0, Ordering::SeqCst);
        let contact = crm_server::contacts::delete(
            &db,
            id,
            &admin,
            crm_server::contacts::trash::DEFAULT_RETENTION,
        )
        .await
        .map_err(|error| anyhow!("the in-process delete of contact {id} failed: {error}"))?;
        counts.push(statements.load(Ordering::SeqCst));
        if id == huge
            && (contact.common_data.len() != 50
                || contact.tags.len() != 20
                || contact.custom_fields.len() != 20)
        {
            bail!(
                "the huge contact came back with {} infos, {} tags, {} custom fields \
                 (expected 50, 20, 20)",
                contact.common_data.len(),
                contact.tags.len(),
                contact.custom_fields.len()
            );
        }
    }
    db.close().await?;
    Ok(Statements {
        bare: counts[0],
        realistic: counts[1],
        huge: counts[2],
    })
}

/// HTTP delete latency at concurrency 1 with 1,000 and with 100,000 contacts in the tables:
/// two databases, two servers, deletes alternating between them in small batches so that
/// anything else on the machine weighs on both alike.
async fn scale_test(
    backend: &Backend,
    binary: &std::path::Path,
    server_args: &[String],
    requests: usize,
    limit: Duration,
) -> anyhow::Result<Scale> {
    let deletes = requests.min(SCALE_DELETES);
    let warmup = 10;
    let mut places = Vec::new();
    for size in [SCALE_SIZES.0, SCALE_SIZES.1] {
        let clock = Instant::now();
        let scratch = Scratch::create(backend).await?;
        let db =
            crm_server::db::connect_and_migrate(&DbConfig::new(scratch.url().to_owned())).await?;
        let fixture = seed::fixture(&db, KEY).await?;
        let last = i32::try_from(size)?;
        seed::contacts(&db, &fixture, 1..=last, Shape::REALISTIC).await?;
        seed::settle(&db).await?;
        db.close().await?;
        println!(
            "scale test: {size} contacts in place in {:.1} s",
            clock.elapsed().as_secs_f64()
        );
        places.push((size, scratch));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut sides = Vec::new();
    for (i, (size, scratch)) in places.iter().enumerate() {
        let server = ServerProcess::start(Launch {
            args: server_args,
            show_stderr: true,
            ..Launch::new(binary, scratch.url(), KEY)
        })
        .await?;
        let op = http_delete(&client, &server.address);
        let mut ids = Ids::shuffled(*size, 7 + i as u64)?;
        let warm = closed_loop(1, ids.take(warmup)?, limit, op.clone()).await;
        if warm.failures > 0 {
            bail!(
                "scale test warm-up failed: {}",
                warm.first_failure.unwrap_or_default()
            );
        }
        sides.push((*size, server, op, ids, Vec::new()));
    }
    let rounds = deletes.div_ceil(SCALE_BATCH);
    for round in 0..rounds {
        let count = SCALE_BATCH.min(deletes - round * SCALE_BATCH);
        let order: [usize; 2] = if round.is_multiple_of(2) {
            [0, 1]
        } else {
            [1, 0]
        };
        for side in order {
            let (_, server, op, ids, runs) = &mut sides[side];
            let pid = server.pid();
            let batch = with_cpu(pid, closed_loop(1, ids.take(count)?, limit, op.clone())).await;
            runs.push(batch);
        }
    }
    let mut peak_memory = 0;
    let mut results = Vec::new();
    for (size, server, _, _, runs) in sides {
        peak_memory = peak_memory.max(server.peak_memory()?);
        drop(server);
        let merged = Measurement::merged(&runs);
        println!(
            "scale test, {size} contacts: HTTP delete at concurrency 1: {}",
            describe(&merged)
        );
        results.push((size, merged));
    }
    for (_, scratch) in places {
        scratch.remove().await?;
    }
    let large = results.pop().context("no scale result")?;
    let small = results.pop().context("no scale result")?;
    Ok(Scale {
        small,
        large,
        peak_memory,
    })
}

async fn database_version(db: &DatabaseConnection) -> anyhow::Result<String> {
    let backend = db.get_database_backend();
    let (sql, name) = match backend {
        DbBackend::Postgres => (
            "SELECT current_setting('server_version') AS v",
            "PostgreSQL",
        ),
        _ => ("SELECT sqlite_version() AS v", "SQLite"),
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .context("the version query returned nothing")?;
    let version: String = row.try_get("", "v")?;
    Ok(format!("{name} {version}"))
}

/// Cores, processor, memory and kernel of this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown processor", |(_, model)| model.trim())
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {:.1} GiB memory, Linux {}",
        memory_kib as f64 / 1048576.0,
        kernel.trim()
    )
}
