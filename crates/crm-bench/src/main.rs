//! `crm-bench` (run it as `cargo xtask bench -- [OPTIONS]`): measures
//! `DELETE /api/2.0/crm/contact/{contactid}` through the real server, as users run it, and
//! compares it in the same run with the ceilings it cannot beat:
//!
//! - the **database ceiling**: the same delete (`crm_server::contacts::delete`: snapshot,
//!   cascade, audit record, trash, one transaction) called in-process through the server's own
//!   data layer, on a pool configured like the server's;
//! - the **write limit**: the cheapest write transaction there is — a 1-row `UPDATE` by primary
//!   key, prepared, autocommit — on a pool configured like the database ceiling's, so that the
//!   ceiling can be read against the machine's own limit;
//! - the **HTTP ceiling**: `GET /images/person_40.svg`, a route that touches no database,
//!   through the same load generator.
//!
//! A further measurement, the route's database work in-process (the API-key lookup, then the
//! delete), tells the key lookup's share of the gap from the HTTP layer's. The HTTP rows are
//! measured with two load generators: reqwest (in this process) and, when it is on `PATH`,
//! `wrk` (a separate C program, driven by a Lua script).
//!
//! It also counts the statements of a delete (a bare contact and a huge one must take the same
//! number) and of a batch delete (one contact and a hundred must take the same number), measures
//! delete latency with 1,000 and with 1,000,000 contacts in the tables (`--scale-contacts`),
//! and reads the server's peak memory. It prints a Markdown report, writes it to
//! `docs/benchmarks.md` (the backend's section only) and draws SVG charts into `docs/bench/`
//! (`--no-write` skips both).
//!
//! Exit status: 0 when the harness ran and every request succeeded; 1 on a correctness
//! failure (a non-2xx answer, a failed delete, statement counts that differ by size, a
//! measurement cut short by its time limit, wrk running out of contacts); 2 when the run could
//! not be carried out. Timings never decide the exit status: the targets are reported, not
//! asserted.

mod chart;
mod cpu;
mod load;
mod progress;
mod report;
mod write_limit;
mod wrk;

use std::{
    future::Future,
    path::{Path, PathBuf},
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
use indicatif::ProgressBar;
use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use reqwest::header;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crm_testkit::{
    process::{Launch, ServerProcess},
    scratch::{Backend, Scratch},
    seed::{self, Fixture, Shape},
};

use crate::{
    cpu::Cpu,
    load::{Measurement, closed_loop},
    report::{Level, Results, RunInfo, Scale, Statements, WrkUse, names},
    wrk::Wrk,
};

/// The administrator's key on every benchmark database.
const KEY: &str = "BE7C4000-0000-4000-8000-00000000BE7C";
/// The route of the HTTP ceiling: static, no database.
const STATIC_ROUTE: &str = "/images/person_40.svg";
/// Contacts in the tables of the scale test's smaller database.
const SCALE_SMALL: usize = 1_000;
/// Deletes per table size in the scale test (at most).
const SCALE_DELETES: usize = 300;
/// The scale test alternates between the two sizes in batches of this many deletes.
const SCALE_BATCH: usize = 25;
/// How many contacts one batch delete names in the batch row and in the statement count.
const BATCH_SIZE: usize = 100;
/// wrk's contacts for a run: this many times what the fastest delete rate seen so far would
/// use (the machine is shared and noisy, and wrk costs less per request than reqwest).
const WRK_HEADROOM: f64 = 4.0;
/// How many times a wrk delete run is made when it uses up its contacts.
const WRK_ATTEMPTS: u32 = 3;

/// Benchmark of the delete route against its database, write and HTTP ceilings.
#[derive(Debug, Parser)]
#[command(name = "crm-bench", version)]
struct Args {
    /// Run on PostgreSQL: the server's URL without a database (e.g.
    /// `postgres://postgres@127.0.0.1:5432`); a database `crm_scratch_<random>` is created and
    /// dropped afterwards. Without it: SQLite in a temporary file.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Contacts put in place before the run (raised when the phases need more; wrk's are added
    /// before each concurrency's measurements).
    #[arg(long, default_value_t = 20_000)]
    contacts: usize,
    /// Requests per measurement (each of HTTP delete, database ceiling, write limit, in-process
    /// key lookup + delete and HTTP ceiling, at each concurrency).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(2..))]
    requests: u64,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Seconds of wrk per measurement (HTTP delete, HTTP ceiling) and concurrency, in runs of
    /// whole seconds spread over the rounds; 0 leaves wrk out. Without `wrk` on PATH its rows
    /// are skipped with a note.
    #[arg(long, default_value_t = 2)]
    wrk_seconds: u64,
    /// Contacts in the larger database of the scale test (the smaller has 1,000).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000_000))]
    scale_contacts: u64,
    /// Skip the scale test (1,000 vs `--scale-contacts` contacts).
    #[arg(long)]
    skip_scale: bool,
    /// Print the report only; write neither docs/benchmarks.md nor the charts (unless
    /// `--charts` names a folder).
    #[arg(long)]
    no_write: bool,
    /// The report file (default: docs/benchmarks.md).
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// The folder of the SVG charts (default: `bench/` beside the report file, i.e.
    /// docs/bench); written even with `--no-write` when given.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// The server binary (default: `crm-server` beside this binary, i.e. target/release).
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// An extra argument for `crm-server serve` (repeatable), e.g. `--server-arg=--workers=4`.
    /// It does not reach the in-process pools: for the pool size use `--db-max-connections`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Each measurement is split into this many batches, run in the order database ceiling,
    /// write limit, key lookup + delete, HTTP delete, HTTP delete (wrk), HTTP ceiling, HTTP
    /// ceiling (wrk), then backwards, and so on (rounded up to an even number).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..))]
    rounds: u64,
    /// The server's pool size (`crm-server --db-max-connections`), also used for the
    /// in-process pools of the database ceiling and the write limit. Default: the server's
    /// default (8).
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
    /// The IDs `first..=last`, shuffled by `seed`.
    fn shuffled(first: i32, last: i32, seed: u64) -> Self {
        let mut ids: Vec<i32> = (first..=last).collect();
        ids.shuffle(&mut StdRng::seed_from_u64(seed));
        Self(ids.into_iter())
    }

    /// How many are left.
    fn left(&self) -> usize {
        self.0.len()
    }

    /// Adds `first..=last`, shuffled by `seed`, after those left.
    fn extend(&mut self, first: i32, last: i32, seed: u64) {
        let mut ids: Vec<i32> = std::mem::take(&mut self.0).collect();
        let mut more: Vec<i32> = (first..=last).collect();
        more.shuffle(&mut StdRng::seed_from_u64(seed));
        ids.extend(more);
        self.0 = ids.into_iter();
    }

    /// Puts back IDs that were taken but not used.
    fn give_back(&mut self, unused: Vec<i32>) {
        let mut ids: Vec<i32> = std::mem::take(&mut self.0).collect();
        ids.extend(unused);
        self.0 = ids.into_iter();
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
         CPU µs/req: server {server:.0}, load generator {bench:.0}, postgres {postgres:.0}",
        m.throughput(),
        m.quantile_ms(0.5),
        m.quantile_ms(0.99),
        m.max_ms(),
        m.failures
    )
}

/// Runs a measurement and records the CPU time the server, this process (with the `wrk` runs
/// that ended meanwhile) and PostgreSQL used meanwhile.
async fn with_cpu(server: u32, run: impl Future<Output = Measurement>) -> Measurement {
    let before = Cpu::now(server);
    let mut measurement = run.await;
    measurement.cpu = Cpu::now(server).since(before);
    measurement
}

/// The measurements of a round, in the order of the even rounds (the odd ones run it
/// backwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    DbCeiling,
    WriteLimit,
    RouteWork,
    HttpDelete,
    WrkDelete,
    HttpCeiling,
    WrkCeiling,
}

impl Kind {
    const ORDER: [Kind; 7] = [
        Kind::DbCeiling,
        Kind::WriteLimit,
        Kind::RouteWork,
        Kind::HttpDelete,
        Kind::WrkDelete,
        Kind::HttpCeiling,
        Kind::WrkCeiling,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::DbCeiling => names::DB_CEILING,
            Kind::WriteLimit => names::WRITE_LIMIT,
            Kind::RouteWork => names::ROUTE_WORK,
            Kind::HttpDelete => names::HTTP_DELETE,
            Kind::WrkDelete => names::WRK_DELETE,
            Kind::HttpCeiling => names::HTTP_CEILING,
            Kind::WrkCeiling => names::WRK_CEILING,
        }
    }

    fn index(self) -> usize {
        Kind::ORDER.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// Seconds of wrk in each of `rounds` rounds: `seconds` split into runs of whole seconds (wrk
/// counts in seconds), at most one run per round, the runs spread from the first round to the
/// last (so that forward and backward rounds both have some).
fn wrk_schedule(seconds: u64, rounds: usize) -> Vec<u64> {
    let mut plan = vec![0; rounds];
    if seconds == 0 || rounds == 0 {
        return plan;
    }
    let runs = usize::try_from(seconds).unwrap_or(usize::MAX).min(rounds);
    for i in 0..runs {
        let round = if runs == 1 {
            0
        } else {
            (2 * i * (rounds - 1) + runs - 1) / (2 * (runs - 1))
        };
        let share = seconds / runs as u64 + u64::from((i as u64) < seconds % runs as u64);
        plan[round] += share;
    }
    plan
}

/// wrk, when it runs, with the contacts set aside for its deletes.
struct WrkLoad {
    wrk: Wrk,
    /// Contacts only wrk deletes.
    ids: Ids,
    /// The fastest HTTP delete rate seen so far (either load generator; to begin with, the
    /// warm-up's HTTP delete or database ceiling, the faster), per second.
    best_rate: f64,
}

/// What the measurements share.
struct Bench<'a> {
    server: &'a ServerProcess,
    /// The in-process pool of the database ceiling and the key lookup.
    pool: DatabaseConnection,
    fixture: &'a Fixture,
    /// The next contact ID free for seeding.
    next_id: i32,
    /// Contacts deleted by the reqwest and in-process measurements.
    ids: Ids,
    /// Rows of the write limit's table.
    write_rows: usize,
    wrk: Option<WrkLoad>,
    failures: Failures,
}

impl Bench<'_> {
    /// Puts `count` more realistic contacts in place through the in-process pool (not timed),
    /// calling `progress` with the number in place so far, and returns the first and last of
    /// their IDs.
    async fn seed_more(
        &mut self,
        count: usize,
        progress: impl FnMut(usize) + Send,
    ) -> anyhow::Result<(i32, i32)> {
        let first = self.next_id;
        let last = first + i32::try_from(count)? - 1;
        seed::contacts_reporting(
            &self.pool,
            self.fixture,
            first..=last,
            Shape::REALISTIC,
            progress,
        )
        .await?;
        seed::settle(&self.pool).await?;
        self.next_id = last + 1;
        Ok((first, last))
    }

    /// One wrk run deleting contacts for `seconds` at `concurrency`; `bar` is the level's
    /// progress bar. wrk gets [`WRK_HEADROOM`] times the contacts the fastest delete rate seen
    /// so far would use (those it does not reach go back to the pool). Should it still use
    /// them up — its threads then ask for a contact that does not exist — the run is
    /// discarded, with a note, and made again with more, [`WRK_ATTEMPTS`] times in all; after
    /// that the 404s stand in the row and fail the run.
    async fn wrk_delete(
        &mut self,
        concurrency: usize,
        seconds: u64,
        what: &str,
        bar: &ProgressBar,
    ) -> anyhow::Result<Option<Measurement>> {
        let pid = self.server.pid();
        let mut attempt = 1;
        loop {
            let Some(load) = &self.wrk else {
                return Ok(None);
            };
            let wanted = (load.best_rate * seconds as f64 * WRK_HEADROOM).ceil() as usize
                + 100 * concurrency;
            if load.ids.left() < wanted {
                let more = 2 * wanted - load.ids.left();
                bar.set_message(format!("putting {more} more contacts in place for wrk"));
                let (first, last) = self.seed_more(more, |_| {}).await?;
                if let Some(load) = &mut self.wrk {
                    load.ids.extend(first, last, u64::try_from(first)?);
                }
                bar.suspend(|| {
                    println!("note: {more} more contacts put in place for wrk's deletes")
                });
                bar.set_message(Kind::WrkDelete.name());
            }
            let Some(load) = &mut self.wrk else {
                return Ok(None);
            };
            let ids = load.ids.take(wanted)?;
            let before = Cpu::now(pid);
            let run = load
                .wrk
                .delete(&self.server.address, KEY, &ids, concurrency, seconds)
                .await?;
            let mut m = run.measurement;
            m.cpu = Cpu::now(pid).since(before);
            // The contacts no request was sent for are still there: later runs may use them.
            let threads = wrk::threads(concurrency);
            load.ids
                .give_back(wrk::unused(&ids, &run.sent_by_thread, threads));
            // Requests still in flight when wrk stopped are answered meanwhile.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if run.ran_out == 0 {
                load.best_rate = load.best_rate.max(m.throughput());
                return Ok(Some(m));
            }
            // Its rate counts the quick 404s: it says only that the contacts were too few.
            load.best_rate *= WRK_HEADROOM;
            let used_up = format!(
                "{what}: wrk made {} deletes with the {} contacts it was given ({} found none \
                 left)",
                run.sent,
                ids.len(),
                run.ran_out
            );
            if attempt == WRK_ATTEMPTS {
                self.failures
                    .0
                    .push(format!("{used_up}; those are among the non-2xx answers"));
                return Ok(Some(m));
            }
            bar.suspend(|| println!("note: {used_up}; the run is made again with more"));
            attempt += 1;
        }
    }

    /// Before a concurrency's measurements: puts in place (not timed) the contacts wrk's delete
    /// runs will take, `seconds` of them, at the fastest delete rate seen so far, with the
    /// headroom of two runs; returns how many were added.
    async fn prepare_wrk(
        &mut self,
        concurrency: usize,
        seconds: u64,
    ) -> anyhow::Result<Option<usize>> {
        let Some(load) = &self.wrk else {
            return Ok(None);
        };
        let need = (load.best_rate * (2.0 * WRK_HEADROOM + seconds as f64)).ceil() as usize
            + 100 * concurrency;
        let left = load.ids.left();
        if left >= need {
            return Ok(None);
        }
        let more = need - left;
        let bar = progress::bar(more as u64, "contacts for wrk", "contacts");
        let (first, last) = self.seed_more(more, |n| bar.set_position(n as u64)).await?;
        bar.finish_and_clear();
        if let Some(load) = &mut self.wrk {
            load.ids.extend(first, last, u64::try_from(first)?);
        }
        Ok(Some(more))
    }

    /// Notes an HTTP delete rate measured meanwhile: wrk's next run gets contacts for it.
    fn saw_delete_rate(&mut self, rate: f64) {
        if let Some(load) = &mut self.wrk {
            load.best_rate = load.best_rate.max(rate);
        }
    }

    /// One wrk run of the HTTP ceiling for `seconds` at `concurrency`.
    async fn wrk_ceiling(
        &mut self,
        concurrency: usize,
        seconds: u64,
    ) -> anyhow::Result<Option<Measurement>> {
        let Some(load) = &self.wrk else {
            return Ok(None);
        };
        let pid = self.server.pid();
        let before = Cpu::now(pid);
        let url = format!("{}{STATIC_ROUTE}", self.server.address);
        let run = load.wrk.get(&url, concurrency, seconds).await?;
        let mut m = run.measurement;
        m.cpu = Cpu::now(pid).since(before);
        Ok(Some(m))
    }
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
    let wrk_use = if args.wrk_seconds == 0 {
        Err("`--wrk-seconds 0`".to_owned())
    } else {
        match wrk::find() {
            Some(path) => Wrk::new(path).map_err(|error| format!("{error:#}")),
            None => Err("`wrk` is not on PATH (Debian: `apt-get install wrk`)".to_owned()),
        }
    };
    let wrk_plan = wrk_schedule(args.wrk_seconds, rounds);
    let warmup = (requests / 4).clamp(10, 200);
    // Three of the five reqwest and in-process measurements delete contacts (the write limit
    // updates rows of its own table). The batch row deletes `requests` contacts one by one and
    // as many in batches. wrk's contacts are added before each concurrency's measurements.
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
    if let Err(reason) = &wrk_use {
        println!("note: no wrk rows: {reason}");
    }

    // Set-up (not timed): a fresh database, the first-start state, the contacts, the write
    // limit's table.
    let scratch = Scratch::create(&backend).await?;
    let url = scratch.url().to_owned();
    let clock = Instant::now();
    let db = crm_server::db::connect_and_migrate(&DbConfig::new(url.clone()))
        .await
        .context("cannot open the benchmark database")?;
    let fixture = seed::fixture(&db, KEY).await?;
    let last = i32::try_from(contacts).context("too many contacts")?;
    let bar = progress::bar(contacts as u64, "putting contacts in place", "contacts");
    seed::contacts_reporting(&db, &fixture, 1..=last, Shape::REALISTIC, |n| {
        bar.set_position(n as u64)
    })
    .await?;
    bar.set_message("the statement count's contacts, the write limit's table, settling");
    let (bare, realistic, huge) = (last + 1, last + 2, last + 3);
    seed::contacts(&db, &fixture, bare..=bare, Shape::BARE).await?;
    seed::contacts(&db, &fixture, realistic..=realistic, Shape::REALISTIC).await?;
    seed::contacts(&db, &fixture, huge..=huge, Shape::HUGE).await?;
    // The batch deletes of the statement count: one contact, then BATCH_SIZE.
    let batch_first = last + 4;
    let batch_last = batch_first + i32::try_from(BATCH_SIZE)?;
    seed::contacts(&db, &fixture, batch_first..=batch_last, Shape::REALISTIC).await?;
    write_limit::create(&db, contacts).await?;
    seed::settle(&db).await?;
    bar.finish_and_clear();
    let database = database_version(&db).await?;
    db.close().await?;
    println!(
        "set-up: {contacts} contacts in {:.1} s ({database})",
        clock.elapsed().as_secs_f64()
    );

    let mut failures = Failures::default();
    let statements = count_statements(
        &url,
        fixture.admin.actor(),
        [bare, realistic, huge],
        (batch_first, batch_first + 1..=batch_last),
    )
    .await?;
    println!(
        "statements per delete: {} bare, {} realistic, {} huge; per batch delete: {} for 1 \
         contact, {} for {}",
        statements.bare,
        statements.realistic,
        statements.huge,
        statements.batch_of_one,
        statements.batch_of_many,
        statements.batch_size
    );
    if !statements.constant() {
        failures.0.push(format!(
            "a delete runs a different number of statements by the contact's size: {} bare, \
             {} realistic, {} huge",
            statements.bare, statements.realistic, statements.huge
        ));
    }
    if !statements.batch_constant() {
        failures.0.push(format!(
            "a batch delete runs a different number of statements by the batch's size: {} for \
             1 contact, {} for {}",
            statements.batch_of_one, statements.batch_of_many, statements.batch_size
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
    let write_pool = crm_server::db::connect(&pool_config(&url))
        .await
        .context("cannot open the write limit's pool")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let delete_op = http_delete(&client, &server.address);
    let static_op = http_static(&client, &server.address);
    let db_op = db_delete(&pool, fixture.admin.actor());
    let route_op = db_route(&pool);
    let write_op = write_limit::update(&write_pool);
    let mut bench = Bench {
        server: &server,
        pool: pool.clone(),
        fixture: &fixture,
        next_id: batch_last + 1,
        ids: Ids::shuffled(1, last, 0x00C0_FFEE),
        write_rows: contacts,
        wrk: None,
        failures,
    };
    let hidden = ProgressBar::hidden();

    // Warm-up: connections of every pool and of the client opened, caches filled.
    let m = closed_loop(
        top,
        bench.ids.take(warmup)?,
        limit,
        delete_op.clone(),
        &hidden,
    )
    .await;
    bench.failures.check("warm-up, HTTP delete", &m);
    let mut warm_rate = m.throughput();
    let m = closed_loop(top, bench.ids.take(warmup)?, limit, db_op.clone(), &hidden).await;
    bench.failures.check("warm-up, database ceiling", &m);
    // The HTTP delete's rate is bounded by the ceiling's: the larger of the two estimates it.
    warm_rate = warm_rate.max(m.throughput());
    let rows = write_limit::row_ids(bench.write_rows, warmup, 1);
    let m = closed_loop(top, rows, limit, write_op.clone(), &hidden).await;
    bench.failures.check("warm-up, write limit", &m);
    let m = closed_loop(
        top,
        bench.ids.take(warmup)?,
        limit,
        route_op.clone(),
        &hidden,
    )
    .await;
    bench.failures.check("warm-up, key lookup + delete", &m);
    let m = closed_loop(top, vec![0; warmup], limit, static_op.clone(), &hidden).await;
    bench.failures.check("warm-up, HTTP ceiling", &m);

    // wrk's contacts are put in place before each concurrency's measurements, from the delete
    // rates seen so far (the warm-up's to begin with).
    let wrk_use = match wrk_use {
        Ok(wrk) => {
            let use_ = WrkUse::Ran {
                version: wrk.version.clone(),
                seconds: args.wrk_seconds,
            };
            bench.wrk = Some(WrkLoad {
                wrk,
                ids: Ids(Vec::new().into_iter()),
                best_rate: warm_rate,
            });
            use_
        }
        Err(reason) => WrkUse::Skipped(reason),
    };

    let mut measured = Vec::new();
    for &concurrency in &levels {
        if let Some(more) = bench.prepare_wrk(concurrency, args.wrk_seconds).await? {
            println!("set-up: {more} more contacts for wrk's deletes at concurrency {concurrency}");
        }
        // Batches in the order A B C …, … C B A, …, so that a drift (the tables shrinking,
        // another process taking the CPU for a while) weighs on all alike.
        let batches: Vec<usize> = (0..rounds)
            .map(|r| requests / rounds + usize::from(r < requests % rounds))
            .collect();
        let mut runs: Vec<Vec<Measurement>> = vec![Vec::new(); Kind::ORDER.len()];
        let pid = server.pid();
        let bar = progress::bar(
            (requests * 5) as u64,
            &format!("concurrency {concurrency}"),
            "requests",
        );
        for (round, &count) in batches.iter().enumerate() {
            let mut order = Kind::ORDER.to_vec();
            if !round.is_multiple_of(2) {
                order.reverse();
            }
            for kind in order {
                bar.set_message(kind.name());
                let m = match kind {
                    Kind::DbCeiling => {
                        let ids = bench.ids.take(count)?;
                        with_cpu(
                            pid,
                            closed_loop(concurrency, ids, limit, db_op.clone(), &bar),
                        )
                        .await
                    }
                    Kind::WriteLimit => {
                        let seed = (concurrency * 1_000 + round) as u64;
                        let rows = write_limit::row_ids(bench.write_rows, count, seed);
                        with_cpu(
                            pid,
                            closed_loop(concurrency, rows, limit, write_op.clone(), &bar),
                        )
                        .await
                    }
                    Kind::RouteWork => {
                        let ids = bench.ids.take(count)?;
                        with_cpu(
                            pid,
                            closed_loop(concurrency, ids, limit, route_op.clone(), &bar),
                        )
                        .await
                    }
                    Kind::HttpDelete => {
                        let ids = bench.ids.take(count)?;
                        let m = with_cpu(
                            pid,
                            closed_loop(concurrency, ids, limit, delete_op.clone(), &bar),
                        )
                        .await;
                        bench.saw_delete_rate(m.throughput());
                        m
                    }
                    Kind::HttpCeiling => {
                        with_cpu(
                            pid,
                            closed_loop(
                                concurrency,
                                vec![0; count],
                                limit,
                                static_op.clone(),
                                &bar,
                            ),
                        )
                        .await
                    }
                    Kind::WrkDelete | Kind::WrkCeiling => {
                        let seconds = wrk_plan[round];
                        if seconds == 0 {
                            continue;
                        }
                        let what = format!("concurrency {concurrency}, {}", kind.name());
                        let m = if kind == Kind::WrkDelete {
                            bench.wrk_delete(concurrency, seconds, &what, &bar).await?
                        } else {
                            bench.wrk_ceiling(concurrency, seconds).await?
                        };
                        let Some(m) = m else { continue };
                        bar.inc_length(m.done);
                        bar.inc(m.done);
                        m
                    }
                };
                runs[kind.index()].push(m);
            }
        }
        bar.finish_and_clear();
        let merged = |kind: Kind| Measurement::merged(&runs[kind.index()]);
        let wrk_merged = |kind: Kind| {
            let kind_runs = &runs[kind.index()];
            (!kind_runs.is_empty()).then(|| Measurement::merged(kind_runs))
        };
        let level = Level {
            concurrency,
            http_delete: merged(Kind::HttpDelete),
            db_ceiling: merged(Kind::DbCeiling),
            write_limit: merged(Kind::WriteLimit),
            route_work: merged(Kind::RouteWork),
            http_ceiling: merged(Kind::HttpCeiling),
            wrk_delete: wrk_merged(Kind::WrkDelete),
            wrk_ceiling: wrk_merged(Kind::WrkCeiling),
        };
        println!("concurrency {concurrency}:");
        for (name, m) in level.rows() {
            bench
                .failures
                .check(&format!("concurrency {concurrency}, {name}"), m);
            let short: String = name.split(" (`").next().unwrap_or(name).to_owned();
            println!("  {short:<44} {}", describe(m));
        }
        println!(
            "  HTTP delete / database ceiling {:.2}, database ceiling / write limit {:.2}, \
             HTTP delete / HTTP ceiling {:.2}",
            level.over_database(),
            level.ceiling_over_write_limit(),
            level.over_http()
        );
        measured.push(level);
    }

    // The batch row: contacts deleted per second by batches of BATCH_SIZE next to single
    // deletes, both through HTTP one request at a time, single first then batched, then again.
    let single_ids = bench.ids.take(requests)?;
    let batched_ids = bench.ids.take(batch_contacts)?;
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
    let bar = progress::bar(
        (requests + batch_contacts / BATCH_SIZE) as u64,
        "batch row",
        "requests",
    );
    for (single, batched) in [(single_a, batched_a), (single_b, batched_b)] {
        single_runs.push(closed_loop(1, single, limit, delete_op.clone(), &bar).await);
        let chunks: Vec<Vec<i32>> = batched.chunks(BATCH_SIZE).map(<[i32]>::to_vec).collect();
        let items = (0..chunks.len()).map(|i| i as i32).collect();
        let op = http_batch_delete(&client, &server.address, chunks);
        batch_runs.push(closed_loop(1, items, limit, op, &bar).await);
    }
    bar.finish_and_clear();
    let batch = report::Batch {
        size: BATCH_SIZE,
        single: Measurement::merged(&single_runs),
        batched: Measurement::merged(&batch_runs),
    };
    bench
        .failures
        .check("batch row, single deletes", &batch.single);
    bench.failures.check("batch row, batches", &batch.batched);
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
    let mut failures = std::mem::take(&mut bench.failures);
    let wrk_contacts = usize::try_from(bench.next_id - 1 - batch_last)?;
    drop(bench);
    drop(server);
    pool.close().await?;
    write_pool.close().await?;
    scratch.remove().await?;

    let scale = if args.skip_scale {
        None
    } else {
        let large = usize::try_from(args.scale_contacts)?;
        let scale = scale_test(&backend, &binary, &server_args, requests, large, limit).await?;
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
            wrk_contacts,
            requests,
            warmup,
            server_args,
            rounds,
            wrk: wrk_use,
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
        eprintln!("(docs/benchmarks.md and the charts were not written)");
        return Ok(false);
    }
    let output = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/benchmarks.md"
        ))
    });
    let charts = match &args.charts {
        Some(dir) => Some(dir.clone()),
        None if args.no_write => None,
        None => Some(output.parent().unwrap_or(Path::new(".")).join("bench")),
    };
    if let Some(dir) = charts {
        for path in chart::write_charts(&results, &dir)? {
            println!(
                "wrote {}",
                path.canonicalize().unwrap_or(path.clone()).display()
            );
        }
    }
    if !args.no_write {
        report::write_section(&output, &backend, &section)?;
        println!(
            "wrote the {} section of {}",
            backend.title(),
            output.canonicalize().unwrap_or(output.clone()).display()
        );
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(true)
}

/// Deletes contacts in-process on a pool that counts statements, and returns the counts: the
/// single deletes of `[bare, realistic, huge]`, then a batch delete of `batches.0` alone and
/// one of the contacts `batches.1`. The huge contact must come back whole (its size is what the
/// check is about), and each batch must delete all it names.
async fn count_statements(
    url: &str,
    admin: Actor,
    [bare, realistic, huge]: [i32; 3],
    batches: (i32, std::ops::RangeInclusive<i32>),
) -> anyhow::Result<Statements> {
    let mut db = crm_server::db::connect(&DbConfig::new(url.to_owned())).await?;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let retention = crm_server::contacts::trash::DEFAULT_RETENTION;
    let mut counts = Vec::new();
    for id in [bare, realistic, huge] {
        statements.store(0, Ordering::SeqCst);
        let contact = crm_server::contacts::delete(&db, id, &admin, retention)
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
    let (one, many) = batches;
    let many: Vec<i32> = many.collect();
    let mut batch_counts = Vec::new();
    for ids in [vec![one], many.clone()] {
        statements.store(0, Ordering::SeqCst);
        let deleted = crm_server::contacts::delete_many(&db, &ids, &admin, retention)
            .await
            .map_err(|error| anyhow!("the in-process batch delete failed: {error}"))?;
        batch_counts.push(statements.load(Ordering::SeqCst));
        if deleted.len() != ids.len() {
            bail!(
                "a batch delete of {} contacts deleted {}",
                ids.len(),
                deleted.len()
            );
        }
    }
    db.close().await?;
    Ok(Statements {
        bare: counts[0],
        realistic: counts[1],
        huge: counts[2],
        batch_of_one: batch_counts[0],
        batch_of_many: batch_counts[1],
        batch_size: many.len(),
    })
}

/// HTTP delete latency at concurrency 1 with 1,000 and with `large` contacts in the tables:
/// two databases, two servers, deletes alternating between them in small batches so that
/// anything else on the machine weighs on both alike.
async fn scale_test(
    backend: &Backend,
    binary: &std::path::Path,
    server_args: &[String],
    requests: usize,
    large: usize,
    limit: Duration,
) -> anyhow::Result<Scale> {
    let deletes = requests.min(SCALE_DELETES);
    let warmup = 10;
    let mut places = Vec::new();
    for size in [SCALE_SMALL, large] {
        let clock = Instant::now();
        let scratch = Scratch::create(backend).await?;
        let db =
            crm_server::db::connect_and_migrate(&DbConfig::new(scratch.url().to_owned())).await?;
        let fixture = seed::fixture(&db, KEY).await?;
        let last = i32::try_from(size)?;
        let bar = progress::bar(
            size as u64,
            &format!("scale test: {} contacts", report::thousands(size)),
            "contacts",
        );
        seed::contacts_reporting(&db, &fixture, 1..=last, Shape::REALISTIC, |n| {
            bar.set_position(n as u64)
        })
        .await?;
        bar.set_message("settling (statistics, checkpoint)");
        seed::settle(&db).await?;
        bar.finish_and_clear();
        db.close().await?;
        println!(
            "scale test: {} contacts in place in {:.1} s",
            report::thousands(size),
            clock.elapsed().as_secs_f64()
        );
        places.push((size, scratch));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let hidden = ProgressBar::hidden();
    let mut sides = Vec::new();
    for (i, (size, scratch)) in places.iter().enumerate() {
        let server = ServerProcess::start(Launch {
            args: server_args,
            show_stderr: true,
            ..Launch::new(binary, scratch.url(), KEY)
        })
        .await?;
        let op = http_delete(&client, &server.address);
        let mut ids = Ids::shuffled(1, i32::try_from(*size)?, 7 + i as u64);
        let warm = closed_loop(1, ids.take(warmup)?, limit, op.clone(), &hidden).await;
        if warm.failures > 0 {
            bail!(
                "scale test warm-up failed: {}",
                warm.first_failure.unwrap_or_default()
            );
        }
        sides.push((*size, server, op, ids, Vec::new()));
    }
    let rounds = deletes.div_ceil(SCALE_BATCH);
    let bar = progress::bar((2 * deletes) as u64, "scale test: deletes", "requests");
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
            let batch = with_cpu(
                pid,
                closed_loop(1, ids.take(count)?, limit, op.clone(), &bar),
            )
            .await;
            runs.push(batch);
        }
    }
    bar.finish_and_clear();
    let mut peak_memory = 0;
    let mut results = Vec::new();
    for (size, server, _, _, runs) in sides {
        peak_memory = peak_memory.max(server.peak_memory()?);
        drop(server);
        let merged = Measurement::merged(&runs);
        println!(
            "scale test, {} contacts: HTTP delete at concurrency 1: {}",
            report::thousands(size),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_runs_are_whole_seconds_spread_over_the_rounds() {
        assert_eq!(wrk_schedule(0, 4), vec![0, 0, 0, 0]);
        assert_eq!(wrk_schedule(1, 4), vec![1, 0, 0, 0]);
        assert_eq!(wrk_schedule(2, 4), vec![1, 0, 0, 1]);
        assert_eq!(wrk_schedule(3, 4), vec![1, 0, 1, 1]);
        assert_eq!(wrk_schedule(4, 4), vec![1, 1, 1, 1]);
        assert_eq!(wrk_schedule(9, 4), vec![3, 2, 2, 2]);
        assert_eq!(wrk_schedule(5, 2), vec![3, 2]);
        for (seconds, rounds) in [(7, 6), (2, 2), (11, 8), (1, 2)] {
            let plan = wrk_schedule(seconds, rounds);
            assert_eq!(plan.len(), rounds);
            assert_eq!(plan.iter().sum::<u64>(), seconds);
            // A forward and a backward round both get wrk once there are two runs.
            if seconds >= 2 {
                assert!(plan.iter().step_by(2).any(|s| *s > 0));
                assert!(plan.iter().skip(1).step_by(2).any(|s| *s > 0));
            }
        }
    }

    #[test]
    fn ids_are_handed_out_once() -> anyhow::Result<()> {
        let mut ids = Ids::shuffled(1, 10, 1);
        let first = ids.take(4)?;
        assert_eq!(ids.left(), 6);
        ids.extend(11, 15, 2);
        let rest = ids.take(11)?;
        let mut all: Vec<i32> = first.into_iter().chain(rest).collect();
        all.sort_unstable();
        assert_eq!(all, (1..=15).collect::<Vec<_>>());
        assert!(ids.take(1).is_err());
        Ok(())
    }

    #[test]
    fn kinds_have_their_report_names() {
        assert_eq!(Kind::ORDER.len(), 7);
        for (i, kind) in Kind::ORDER.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
        assert_eq!(Kind::WrkDelete.name(), "HTTP delete (wrk)");
    }
}
