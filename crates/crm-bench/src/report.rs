//! The results as Markdown, and `docs/benchmarks.md`: one section per backend between markers,
//! so a run replaces its backend's section and keeps the other's.

use std::{path::Path, time::Duration};

use anyhow::Context;

use crm_testkit::scratch::Backend;

use crate::load::Measurement;

/// The names of the measurements, as the report's rows and the charts' legends show them.
pub mod names {
    /// `DELETE /api/2.0/crm/contact/{id}` through the server, reqwest's load.
    pub const HTTP_DELETE: &str = "HTTP delete";
    /// The same, wrk's load.
    pub const WRK_DELETE: &str = "HTTP delete (wrk)";
    /// `crm_server::contacts::delete` in-process.
    pub const DB_CEILING: &str = "database ceiling (in-process delete)";
    /// The one-statement write transaction.
    pub const WRITE_LIMIT: &str = "write limit (1-row `UPDATE`, autocommit)";
    /// The key lookup and the delete, in-process.
    pub const ROUTE_WORK: &str = "in-process key lookup + delete (diagnosis)";
    /// `GET /images/person_40.svg` through the server, reqwest's load.
    pub const HTTP_CEILING: &str = "HTTP ceiling (`GET /images/person_40.svg`)";
    /// The same, wrk's load.
    pub const WRK_CEILING: &str = "HTTP ceiling (wrk)";
}

/// The measurements at one concurrency.
pub struct Level {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// `DELETE /api/2.0/crm/contact/{id}` through the server.
    pub http_delete: Measurement,
    /// `crm_server::contacts::delete` in-process.
    pub db_ceiling: Measurement,
    /// A 1-row `UPDATE` by primary key, autocommit, in-process: the write limit.
    pub write_limit: Measurement,
    /// The route's database work in-process: the key lookup, then the delete (a diagnosis).
    pub route_work: Measurement,
    /// `GET /images/person_40.svg` through the server.
    pub http_ceiling: Measurement,
    /// The HTTP delete with wrk's load, when wrk ran.
    pub wrk_delete: Option<Measurement>,
    /// The HTTP ceiling with wrk's load, when wrk ran.
    pub wrk_ceiling: Option<Measurement>,
}

impl Level {
    /// HTTP delete throughput over the database ceiling's.
    pub fn over_database(&self) -> f64 {
        ratio(self.http_delete.throughput(), self.db_ceiling.throughput())
    }

    /// The database ceiling's throughput over the write limit's.
    pub fn ceiling_over_write_limit(&self) -> f64 {
        ratio(self.db_ceiling.throughput(), self.write_limit.throughput())
    }

    /// HTTP delete throughput with wrk's load over the database ceiling's.
    pub fn wrk_over_database(&self) -> Option<f64> {
        self.wrk_delete
            .as_ref()
            .map(|wrk| ratio(wrk.throughput(), self.db_ceiling.throughput()))
    }

    /// HTTP delete throughput over the HTTP ceiling's.
    pub fn over_http(&self) -> f64 {
        ratio(
            self.http_delete.throughput(),
            self.http_ceiling.throughput(),
        )
    }

    /// HTTP delete throughput over the route's in-process database work's.
    pub fn over_route(&self) -> f64 {
        ratio(self.http_delete.throughput(), self.route_work.throughput())
    }

    /// p99 over p50 of the HTTP delete.
    pub fn tail(&self) -> f64 {
        ratio(
            self.http_delete.quantile_ms(0.99),
            self.http_delete.quantile_ms(0.5),
        )
    }

    /// Every measurement of the level with its name, in the report's order (wrk's rows beside
    /// reqwest's, when wrk ran).
    pub fn rows(&self) -> Vec<(&'static str, &Measurement)> {
        let mut rows = vec![(names::HTTP_DELETE, &self.http_delete)];
        rows.extend(self.wrk_delete.as_ref().map(|m| (names::WRK_DELETE, m)));
        rows.push((names::DB_CEILING, &self.db_ceiling));
        rows.push((names::WRITE_LIMIT, &self.write_limit));
        rows.push((names::ROUTE_WORK, &self.route_work));
        rows.push((names::HTTP_CEILING, &self.http_ceiling));
        rows.extend(self.wrk_ceiling.as_ref().map(|m| (names::WRK_CEILING, m)));
        rows
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// Statements the deletes execute, by the contacts' size and by the batch's size.
pub struct Statements {
    /// A contact with no nested rows.
    pub bare: usize,
    /// A realistic contact (the benchmark's shape).
    pub realistic: usize,
    /// 50 infos, 20 tags, 20 custom-field values.
    pub huge: usize,
    /// A batch delete of one realistic contact.
    pub batch_of_one: usize,
    /// A batch delete of [`Statements::batch_size`] realistic contacts.
    pub batch_of_many: usize,
    /// The contacts of the larger batch.
    pub batch_size: usize,
}

impl Statements {
    /// Whether a single delete runs the same number for every size of contact.
    pub fn constant(&self) -> bool {
        self.bare == self.realistic && self.realistic == self.huge
    }

    /// Whether a batch delete runs the same number for one contact and for many.
    pub fn batch_constant(&self) -> bool {
        self.batch_of_one == self.batch_of_many
    }
}

/// Delete latency with few and with many contacts in the tables.
pub struct Scale {
    /// (contacts in the tables, HTTP deletes at concurrency 1)
    pub small: (usize, Measurement),
    /// (contacts in the tables, HTTP deletes at concurrency 1)
    pub large: (usize, Measurement),
    /// The larger peak memory of the two servers, in bytes.
    pub peak_memory: u64,
}

impl Scale {
    /// p50 with many contacts over p50 with few.
    pub fn growth(&self) -> f64 {
        ratio(self.large.1.quantile_ms(0.5), self.small.1.quantile_ms(0.5))
    }
}

/// Whether the second load generator ran.
#[derive(Debug, Clone)]
pub enum WrkUse {
    /// It ran this long per measurement and concurrency.
    Ran {
        /// `wrk --version`'s first line.
        version: String,
        /// Seconds per measurement and concurrency.
        seconds: u64,
    },
    /// It did not, for this reason.
    Skipped(String),
}

/// Where and how the run happened.
pub struct RunInfo {
    /// The backend.
    pub backend: Backend,
    /// e.g. `2026-11-29 14:02 UTC`
    pub date: String,
    /// e.g. `2 cores (AMD EPYC …), 23.4 GiB`
    pub machine: String,
    /// e.g. `PostgreSQL 17.2`
    pub database: String,
    /// The command, as typed.
    pub command: String,
    /// Contacts put in place for the main run.
    pub contacts: usize,
    /// Contacts put in place for wrk's deletes (before each concurrency's measurements).
    pub wrk_contacts: usize,
    /// Requests per measurement.
    pub requests: usize,
    /// Requests of the warm-up before the measurements.
    pub warmup: usize,
    /// Extra `crm-server serve` arguments.
    pub server_args: Vec<String>,
    /// Batches each measurement is split into.
    pub rounds: usize,
    /// The second load generator.
    pub wrk: WrkUse,
    /// How long the whole run took.
    pub wall_time: Duration,
}

/// Everything one run measured.
pub struct Results {
    /// Where and how.
    pub context: RunInfo,
    /// One entry per concurrency.
    pub levels: Vec<Level>,
    /// Batch deletes next to single ones.
    pub batch: Batch,
    /// Statements per delete.
    pub statements: Statements,
    /// The scale test, unless skipped.
    pub scale: Option<Scale>,
    /// The main server's peak resident memory, in bytes.
    pub peak_memory: u64,
}

/// Deleting contacts by batches (`PUT /api/2.0/crm/contact`) next to one by one, both through
/// HTTP at concurrency 1.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Contacts per batch.
    pub size: usize,
    /// `DELETE /api/2.0/crm/contact/{id}`, one contact a request.
    pub single: Measurement,
    /// `PUT /api/2.0/crm/contact`, `size` contacts a request.
    pub batched: Measurement,
}

impl Batch {
    /// Contacts deleted per second by the batches.
    pub fn contacts_per_second(&self) -> f64 {
        self.batched.throughput() * self.size as f64
    }
}

/// The concurrency at which the HTTP/database ratio target applies: 32 on PostgreSQL (a server
/// built for many connections), 8 on SQLite (one writer at a time).
pub fn ratio_target_concurrency(backend: &Backend) -> usize {
    match backend {
        Backend::Sqlite => 8,
        Backend::Postgres(_) => 32,
    }
}

/// The concurrency at which the tail target applies.
pub const TAIL_CONCURRENCY: usize = 8;
/// HTTP delete throughput must be at least this share of the database ceiling's.
pub const RATIO_TARGET: f64 = 0.9;
/// PostgreSQL: the database ceiling must be at least this share of the write limit…
pub const WRITE_LIMIT_TARGET: f64 = 0.3;
/// … at this concurrency.
pub const WRITE_LIMIT_CONCURRENCY: usize = 32;
/// p99 must be at most this multiple of p50.
pub const TAIL_TARGET: f64 = 3.0;
/// p50 with many contacts must be at most this multiple of p50 with 1,000.
pub const SCALE_TARGET: f64 = 1.25;
/// Peak memory of the server must stay below this during the main run.
pub const MEMORY_TARGET: u64 = 64 * 1024 * 1024;

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn yes(holds: Option<bool>) -> &'static str {
    match holds {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "—",
    }
}

/// A ratio for a table: two decimals, `—` when it could not be computed.
fn two(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "—".to_owned()
    }
}

/// The file names of a backend's charts (in the `bench/` folder beside the report):
/// (requests per second, latency).
pub fn chart_files(backend: &Backend) -> (String, String) {
    (
        format!("{}-throughput.svg", backend.key()),
        format!("{}-latency.svg", backend.key()),
    )
}

/// The backend's section of `docs/benchmarks.md` (also printed).
pub fn markdown(results: &Results) -> String {
    let c = &results.context;
    let mut out = String::new();
    let line = |out: &mut String, text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line(&mut out, &format!("## {}", c.backend.title()));
    line(&mut out, "");
    line(
        &mut out,
        &format!(
            "- **When, where:** {} on {}; {}.",
            c.date, c.machine, c.database
        ),
    );
    line(&mut out, &format!("- **Command:** `{}`", c.command));
    let server_args = if c.server_args.is_empty() {
        String::from("default options (2 HTTP workers on this machine, a pool of 8 connections)")
    } else {
        format!("`{}`", c.server_args.join(" "))
    };
    let order = match c.wrk {
        WrkUse::Ran { .. } => {
            "database ceiling, write limit, key lookup + delete, HTTP delete, HTTP delete \
             (wrk), HTTP ceiling, HTTP ceiling (wrk)"
        }
        WrkUse::Skipped(_) => {
            "database ceiling, write limit, key lookup + delete, HTTP delete, HTTP ceiling"
        }
    };
    line(
        &mut out,
        &format!(
            "- **Set-up:** {} contacts (3 contact infos, 1 address, 2 custom-field values, 3 \
             tags, 2 tasks, 1 access-list entry each) on a fresh {} database{}; release \
             `crm-server serve`, {server_args}; closed-loop load from the same machine; {} \
             requests per measurement, in {} batches run in the order {order}, then \
             backwards, and so on; a warm-up of {} requests of each kind first. The whole run \
             took {:.0} s.",
            thousands(c.contacts),
            c.backend.title(),
            if c.wrk_contacts > 0 {
                format!(
                    ", and {} more for wrk's deletes (before each concurrency's measurements)",
                    thousands(c.wrk_contacts)
                )
            } else {
                String::new()
            },
            thousands(c.requests),
            c.rounds,
            thousands(c.warmup),
            c.wall_time.as_secs_f64(),
        ),
    );
    line(
        &mut out,
        &match &c.wrk {
            WrkUse::Ran { version, seconds } => format!(
                "- **wrk:** {seconds} s per measurement and concurrency, in runs of whole \
                 seconds spread over the batches (`{version}`)."
            ),
            WrkUse::Skipped(reason) => format!("- **wrk:** not run: {reason}."),
        },
    );
    line(&mut out, "");
    let (throughput_file, latency_file) = chart_files(&c.backend);
    line(
        &mut out,
        &format!(
            "![{}: requests per second by concurrency](bench/{throughput_file})",
            c.backend.title()
        ),
    );
    line(
        &mut out,
        &format!(
            "![{}: p50 and p99 latency by concurrency](bench/{latency_file})",
            c.backend.title()
        ),
    );
    line(&mut out, "");
    line(
        &mut out,
        "| measurement | concurrency | requests | per second | p50 ms | p99 ms | max ms | non-2xx or error | CPU µs per request: server · load generator · PostgreSQL |",
    );
    line(&mut out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for level in &results.levels {
        for (name, m) in level.rows() {
            let (server, bench, postgres) = m.cpu_per_request_us();
            let cpu = match c.backend {
                Backend::Sqlite => format!("{server:.0} · {bench:.0} · —"),
                Backend::Postgres(_) => format!("{server:.0} · {bench:.0} · {postgres:.0}"),
            };
            line(
                &mut out,
                &format!(
                    "| {name} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {cpu} |",
                    level.concurrency,
                    thousands(m.done as usize),
                    m.throughput(),
                    m.quantile_ms(0.5),
                    m.quantile_ms(0.99),
                    m.max_ms(),
                    m.failures,
                ),
            );
        }
    }
    line(&mut out, "");
    line(
        &mut out,
        "| concurrency | HTTP delete / database ceiling | HTTP delete (wrk) / database ceiling | database ceiling / write limit | HTTP delete / HTTP ceiling | HTTP delete p99 / p50 | HTTP delete / in-process key lookup + delete |",
    );
    line(&mut out, "|---:|---:|---:|---:|---:|---:|---:|");
    for level in &results.levels {
        line(
            &mut out,
            &format!(
                "| {} | {} | {} | {} | {} | {:.1} | {} |",
                level.concurrency,
                two(level.over_database()),
                level.wrk_over_database().map_or("—".to_owned(), two),
                two(level.ceiling_over_write_limit()),
                two(level.over_http()),
                level.tail(),
                two(level.over_route()),
            ),
        );
    }
    line(&mut out, "");
    let b = &results.batch;
    line(
        &mut out,
        "| deleting contacts through HTTP, one request at a time | requests | contacts/s | \
         request p50 ms |",
    );
    line(&mut out, "|---|---:|---:|---:|");
    line(
        &mut out,
        &format!(
            "| one by one (`DELETE /api/2.0/crm/contact/{{id}}`) | {} | {:.0} | {:.2} |",
            b.single.done,
            b.single.throughput(),
            b.single.quantile_ms(0.5)
        ),
    );
    line(
        &mut out,
        &format!(
            "| by batches of {} (`PUT /api/2.0/crm/contact`) | {} | {:.0} | {:.2} |",
            b.size,
            b.batched.done,
            b.contacts_per_second(),
            b.batched.quantile_ms(0.5)
        ),
    );
    if let Some(scale) = &results.scale {
        line(&mut out, "");
        line(
            &mut out,
            "| contacts in the tables | HTTP deletes (concurrency 1) | p50 ms | p99 ms | CPU µs per request: server · load generator · PostgreSQL |",
        );
        line(&mut out, "|---:|---:|---:|---:|---:|");
        for (size, m) in [&scale.small, &scale.large] {
            let (server, bench, postgres) = m.cpu_per_request_us();
            let postgres = match c.backend {
                Backend::Sqlite => "—".to_owned(),
                Backend::Postgres(_) => format!("{postgres:.0}"),
            };
            line(
                &mut out,
                &format!(
                    "| {} | {} | {:.2} | {:.2} | {server:.0} · {bench:.0} · {postgres} |",
                    thousands(*size),
                    m.done,
                    m.quantile_ms(0.5),
                    m.quantile_ms(0.99),
                ),
            );
        }
    }
    line(&mut out, "");
    line(&mut out, "| target | measured | holds |");
    line(&mut out, "|---|---|---|");
    for (target, measured, holds) in targets(results) {
        line(
            &mut out,
            &format!("| {target} | {measured} | {} |", yes(holds)),
        );
    }
    out
}

/// Each target: (what it says, what was measured, whether it holds; `None`: not measured).
pub fn targets(results: &Results) -> Vec<(String, String, Option<bool>)> {
    let mut rows = Vec::new();
    let backend = &results.context.backend;
    let at_level =
        |concurrency: usize| results.levels.iter().find(|l| l.concurrency == concurrency);
    let not_measured = || ("not measured".to_owned(), None);

    let at = ratio_target_concurrency(backend);
    let (measured, holds) = at_level(at).map_or_else(not_measured, |level| {
        (
            format!(
                "{} ({:.0} vs {:.0} deletes/s)",
                two(level.over_database()),
                level.http_delete.throughput(),
                level.db_ceiling.throughput()
            ),
            Some(level.over_database() >= RATIO_TARGET),
        )
    });
    rows.push((
        format!("HTTP delete ≥ {RATIO_TARGET} × database ceiling at concurrency {at}"),
        measured,
        holds,
    ));

    if matches!(backend, Backend::Postgres(_)) {
        let at = WRITE_LIMIT_CONCURRENCY;
        let (measured, holds) = at_level(at).map_or_else(not_measured, |level| {
            (
                format!(
                    "{} ({:.0} deletes/s vs {:.0} updates/s)",
                    two(level.ceiling_over_write_limit()),
                    level.db_ceiling.throughput(),
                    level.write_limit.throughput()
                ),
                Some(level.ceiling_over_write_limit() >= WRITE_LIMIT_TARGET),
            )
        });
        rows.push((
            format!("database ceiling ≥ {WRITE_LIMIT_TARGET} × write limit at concurrency {at}"),
            measured,
            holds,
        ));
    }

    let (measured, holds) = at_level(TAIL_CONCURRENCY).map_or_else(not_measured, |level| {
        (
            format!(
                "{:.1} ({:.2} ms vs {:.2} ms)",
                level.tail(),
                level.http_delete.quantile_ms(0.99),
                level.http_delete.quantile_ms(0.5)
            ),
            Some(level.tail() <= TAIL_TARGET),
        )
    });
    rows.push((
        format!("HTTP delete p99 ≤ {TAIL_TARGET} × p50 at concurrency {TAIL_CONCURRENCY}"),
        measured,
        holds,
    ));

    let s = &results.statements;
    rows.push((
        "statements per delete: the same for every size of contact".to_owned(),
        format!(
            "{} bare, {} realistic, {} with 50 infos + 20 tags + 20 custom fields",
            s.bare, s.realistic, s.huge
        ),
        Some(s.constant()),
    ));
    rows.push((
        "statements per batch delete: the same for every size of batch".to_owned(),
        format!(
            "{} for 1 contact, {} for {}",
            s.batch_of_one, s.batch_of_many, s.batch_size
        ),
        Some(s.batch_constant()),
    ));

    match &results.scale {
        Some(scale) => rows.push((
            format!(
                "HTTP delete p50 (concurrency 1) with {} contacts ≤ {SCALE_TARGET} × with {}",
                thousands(scale.large.0),
                thousands(scale.small.0)
            ),
            format!(
                "{} ({:.2} ms vs {:.2} ms, {} deletes each)",
                two(scale.growth()),
                scale.large.1.quantile_ms(0.5),
                scale.small.1.quantile_ms(0.5),
                scale.small.1.done
            ),
            Some(scale.growth() <= SCALE_TARGET),
        )),
        None => rows.push((
            format!(
                "HTTP delete p50 (concurrency 1) with 1,000,000 contacts ≤ {SCALE_TARGET} × with \
                 1,000"
            ),
            "skipped (`--skip-scale`)".to_owned(),
            None,
        )),
    }

    rows.push((
        format!(
            "server peak memory (`VmHWM`) < {} during the main run",
            mib(MEMORY_TARGET)
        ),
        match &results.scale {
            Some(scale) => format!(
                "{} (the scale test's servers: {})",
                mib(results.peak_memory),
                mib(scale.peak_memory)
            ),
            None => mib(results.peak_memory),
        },
        Some(results.peak_memory < MEMORY_TARGET),
    ));
    rows
}

fn begin_marker(key: &str) -> String {
    format!("<!-- crm-bench:{key}:begin -->")
}

fn end_marker(key: &str) -> String {
    format!("<!-- crm-bench:{key}:end -->")
}

const TEMPLATE: &str = "# Benchmarks\n\n\
`cargo xtask bench` measures `DELETE /api/2.0/crm/contact/{contactid}` through the real server \
and compares it, in the same run, with its two ceilings (see `crates/crm-bench`). Each run \
rewrites its backend's section below and keeps the other's.\n";

/// Replaces the backend's section of the file at `path` with `section` (creating the file or
/// the section when missing) and keeps everything else.
pub fn write_section(path: &Path, backend: &Backend, section: &str) -> anyhow::Result<()> {
    let current = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => TEMPLATE.to_owned(),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let (begin, end) = (begin_marker(backend.key()), end_marker(backend.key()));
    let block = format!("{begin}\n{}{end}", section);
    let updated = match (current.find(&begin), current.find(&end)) {
        (Some(start), Some(stop)) if stop > start => {
            format!(
                "{}{block}{}",
                &current[..start],
                &current[stop + end.len()..]
            )
        }
        _ => format!("{}\n\n{block}\n", current.trim_end()),
    };
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 answers at `rate` per second: 98 taking `p50` ms, 2 taking `p99` ms.
    fn measured(rate: f64, p50: f64, p99: f64) -> Measurement {
        let mut m = Measurement::empty();
        m.record((p50 * 1e6) as u64, 98);
        m.record((p99 * 1e6) as u64, 2);
        m.done = 100;
        m.planned = 100;
        m.elapsed = Duration::from_secs_f64(100.0 / rate);
        m
    }

    /// A level where the HTTP delete does `http` per second with p50 1 ms and p99 `p99` ms,
    /// the database ceiling 1,000/s and the write limit `write` per second.
    fn level(concurrency: usize, http: f64, p99: f64, write: f64, wrk: bool) -> Level {
        Level {
            concurrency,
            http_delete: measured(http, 1.0, p99),
            db_ceiling: measured(1_000.0, 1.0, 2.0),
            write_limit: measured(write, 0.1, 0.2),
            route_work: measured(950.0, 1.0, 2.0),
            http_ceiling: measured(40_000.0, 0.1, 0.2),
            wrk_delete: wrk.then(|| measured(http * 1.02, 1.0, p99)),
            wrk_ceiling: wrk.then(|| measured(80_000.0, 0.05, 0.1)),
        }
    }

    fn results(backend: Backend, levels: Vec<Level>, peak_memory: u64, wrk: WrkUse) -> Results {
        Results {
            context: RunInfo {
                backend,
                date: "2026-12-01 10:00 UTC".into(),
                machine: "2 cores".into(),
                database: "PostgreSQL 15".into(),
                command: "cargo xtask bench".into(),
                contacts: 20_000,
                wrk_contacts: 5_000,
                requests: 100,
                warmup: 25,
                server_args: Vec::new(),
                rounds: 4,
                wrk,
                wall_time: Duration::from_secs(60),
            },
            levels,
            batch: Batch {
                size: 100,
                single: measured(1_000.0, 1.0, 2.0),
                batched: measured(40.0, 20.0, 30.0),
            },
            statements: Statements {
                bare: 4,
                realistic: 4,
                huge: 4,
                batch_of_one: 5,
                batch_of_many: 6,
                batch_size: 100,
            },
            scale: Some(Scale {
                small: (1_000, measured(1_000.0, 1.0, 2.0)),
                large: (1_000_000, measured(900.0, 1.2, 2.0)),
                peak_memory: 30 << 20,
            }),
            peak_memory,
        }
    }

    fn holds(rows: &[(String, String, Option<bool>)], starts: &str) -> Option<bool> {
        rows.iter()
            .find(|(target, ..)| target.starts_with(starts))
            .unwrap_or_else(|| panic!("no target starting with {starts:?} in {rows:?}"))
            .2
    }

    #[test]
    fn the_targets_are_judged_by_their_ratios() {
        let wrk = WrkUse::Ran {
            version: "wrk 4.1.0".into(),
            seconds: 2,
        };
        // PostgreSQL: 950 vs 1,000 at 32 (0.95), ceiling 1,000 vs write limit 3,000 (0.33),
        // p99 2.5 × p50 at 8, 100 MiB of memory, a batch count that grows.
        let good = results(
            Backend::Postgres("x".into()),
            vec![
                level(8, 900.0, 2.5, 3_000.0, true),
                level(32, 950.0, 4.0, 3_000.0, true),
            ],
            100 << 20,
            wrk.clone(),
        );
        let rows = targets(&good);
        assert_eq!(holds(&rows, "HTTP delete ≥ 0.9"), Some(true));
        assert_eq!(holds(&rows, "database ceiling ≥ 0.3"), Some(true));
        assert_eq!(holds(&rows, "HTTP delete p99 ≤ 3"), Some(true));
        assert_eq!(holds(&rows, "statements per delete"), Some(true));
        assert_eq!(holds(&rows, "statements per batch"), Some(false));
        assert_eq!(holds(&rows, "HTTP delete p50 (concurrency 1)"), Some(true));
        assert_eq!(holds(&rows, "server peak memory"), Some(false));

        // 850 vs 1,000 at 32, a write limit 4 × the ceiling, p99 3.5 × p50 at 8.
        let bad = results(
            Backend::Postgres("x".into()),
            vec![
                level(8, 900.0, 3.5, 4_000.0, false),
                level(32, 850.0, 2.0, 4_000.0, false),
            ],
            20 << 20,
            WrkUse::Skipped("`wrk` is not on PATH".into()),
        );
        let rows = targets(&bad);
        assert_eq!(holds(&rows, "HTTP delete ≥ 0.9"), Some(false));
        assert_eq!(holds(&rows, "database ceiling ≥ 0.3"), Some(false));
        assert_eq!(holds(&rows, "HTTP delete p99 ≤ 3"), Some(false));
        assert_eq!(holds(&rows, "server peak memory"), Some(true));

        // SQLite: the ratio target is at 8, and there is no write-limit target.
        let sqlite = results(
            Backend::Sqlite,
            vec![level(8, 950.0, 2.0, 20_000.0, true)],
            20 << 20,
            wrk,
        );
        let rows = targets(&sqlite);
        assert_eq!(
            holds(
                &rows,
                "HTTP delete ≥ 0.9 × database ceiling at concurrency 8"
            ),
            Some(true)
        );
        assert!(
            rows.iter()
                .all(|(target, ..)| !target.contains("write limit"))
        );
        // A level that was not measured is not judged.
        let missing = results(
            Backend::Postgres("x".into()),
            vec![],
            0,
            WrkUse::Skipped("x".into()),
        );
        assert_eq!(holds(&targets(&missing), "HTTP delete ≥ 0.9"), None);
    }

    #[test]
    fn the_section_shows_every_row_the_charts_and_wrk() {
        let wrk = WrkUse::Ran {
            version: "wrk 4.1.0".into(),
            seconds: 2,
        };
        let ran = markdown(&results(
            Backend::Postgres("x".into()),
            vec![level(32, 950.0, 2.0, 3_000.0, true)],
            20 << 20,
            wrk,
        ));
        for text in [
            "## PostgreSQL",
            "![PostgreSQL: requests per second by concurrency](bench/postgres-throughput.svg)",
            "![PostgreSQL: p50 and p99 latency by concurrency](bench/postgres-latency.svg)",
            "| HTTP delete (wrk) | 32 |",
            "| HTTP ceiling (wrk) | 32 |",
            "| write limit (1-row `UPDATE`, autocommit) | 32 | 100 | 3000 |",
            "and 5,000 more for wrk's deletes",
            "2 s per measurement and concurrency",
            "| 1,000,000 | 100 | 1.20 |",
            "| 32 | 0.95 | 0.97 | 0.33 |",
        ] {
            assert!(ran.contains(text), "{text:?} is missing from:\n{ran}");
        }
        let skipped = markdown(&results(
            Backend::Sqlite,
            vec![level(8, 950.0, 2.0, 20_000.0, false)],
            20 << 20,
            WrkUse::Skipped("`wrk` is not on PATH".into()),
        ));
        assert!(skipped.contains("- **wrk:** not run: `wrk` is not on PATH."));
        assert!(skipped.contains("HTTP delete, HTTP ceiling, then backwards"));
        assert!(ran.contains("HTTP ceiling, HTTP ceiling (wrk), then backwards"));
        assert!(!skipped.contains("(wrk) | 8"));
        assert!(skipped.contains("bench/sqlite-latency.svg"));
        // The ratios table shows a dash where wrk did not run.
        assert!(skipped.contains("| 8 | 0.95 | — | 0.05 |"), "{skipped}");
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_section_is_replaced_and_the_rest_kept() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("benchmarks.md");
        write_section(&path, &Backend::Sqlite, "## SQLite\n\nfirst\n")?;
        write_section(
            &path,
            &Backend::Postgres("x".into()),
            "## PostgreSQL\n\npg\n",
        )?;
        let mut text = std::fs::read_to_string(&path)?;
        text = text.replace("# Benchmarks", "# Benchmarks\n\nHand-written notes.");
        std::fs::write(&path, &text)?;
        write_section(&path, &Backend::Sqlite, "## SQLite\n\nsecond\n")?;
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains("Hand-written notes."));
        assert!(text.contains("second") && !text.contains("first"));
        assert!(text.contains("pg"));
        assert_eq!(text.matches("crm-bench:sqlite:begin").count(), 1);
        Ok(())
    }
}
