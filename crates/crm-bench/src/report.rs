//! The results as Markdown, and `docs/benchmarks.md`: one section per backend between markers,
//! so a run replaces its backend's section and keeps the other's.

use std::{path::Path, time::Duration};

use anyhow::Context;

use crm_testkit::scratch::Backend;

use crate::load::Measurement;

/// The three measurements at one concurrency.
pub struct Level {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// `DELETE /api/2.0/crm/contact/{id}` through the server.
    pub http_delete: Measurement,
    /// `crm_server::contacts::delete` in-process.
    pub db_ceiling: Measurement,
    /// The route's database work in-process: the key lookup, then the delete (a diagnosis).
    pub route_work: Measurement,
    /// `GET /images/person_40.svg` through the server.
    pub http_ceiling: Measurement,
}

impl Level {
    /// HTTP delete throughput over the database ceiling's.
    pub fn over_database(&self) -> f64 {
        ratio(self.http_delete.throughput(), self.db_ceiling.throughput())
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
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// Statements one delete executes, by the contact's size.
pub struct Statements {
    /// A contact with no nested rows.
    pub bare: usize,
    /// A realistic contact (the benchmark's shape).
    pub realistic: usize,
    /// 50 infos, 20 tags, 20 custom-field values.
    pub huge: usize,
}

impl Statements {
    /// Whether the count is the same for every size.
    pub fn constant(&self) -> bool {
        self.bare == self.realistic && self.realistic == self.huge
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
    /// Requests per measurement.
    pub requests: usize,
    /// Requests of the warm-up before the measurements.
    pub warmup: usize,
    /// Extra `crm-server serve` arguments.
    pub server_args: Vec<String>,
    /// Batches each measurement is split into.
    pub rounds: usize,
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
pub const RATIO_TARGET: f64 = 0.8;
/// p99 must be at most this multiple of p50.
pub const TAIL_TARGET: f64 = 4.0;
/// p50 with 100,000 contacts must be at most this multiple of p50 with 1,000.
pub const SCALE_TARGET: f64 = 1.25;
/// Peak memory of the server must stay below this.
pub const MEMORY_TARGET: u64 = 100 * 1024 * 1024;
/// Statements per delete must be at most this.
pub const STATEMENTS_TARGET: usize = 6;

fn thousands(n: usize) -> String {
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
    line(
        &mut out,
        &format!(
            "- **Set-up:** {} contacts (3 contact infos, 1 address, 2 custom-field values, 3 \
             tags, 2 tasks, 1 access-list entry each) on a fresh {} database; release \
             `crm-server serve`, {server_args}; closed-loop load from the same machine; {} \
             requests per measurement, in {} batches run in the order database ceiling, key lookup \
             + delete, HTTP delete, HTTP ceiling, then backwards, and so on; a warm-up of {} requests of each kind \
             first. The whole run took {:.0} s.",
            thousands(c.contacts),
            c.backend.title(),
            thousands(c.requests),
            c.rounds,
            thousands(c.warmup),
            c.wall_time.as_secs_f64(),
        ),
    );
    line(&mut out, "");
    line(
        &mut out,
        "| measurement | concurrency | requests | per second | p50 ms | p99 ms | max ms | non-200 | CPU µs per request: server · crm-bench · PostgreSQL |",
    );
    line(&mut out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for level in &results.levels {
        for (name, m) in [
            ("HTTP delete", &level.http_delete),
            ("database ceiling (in-process delete)", &level.db_ceiling),
            (
                "in-process key lookup + delete (diagnosis)",
                &level.route_work,
            ),
            (
                "HTTP ceiling (`GET /images/person_40.svg`)",
                &level.http_ceiling,
            ),
        ] {
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
        "| concurrency | HTTP delete / database ceiling | HTTP delete / HTTP ceiling | HTTP delete p99 / p50 | HTTP delete / in-process key lookup + delete |",
    );
    line(&mut out, "|---:|---:|---:|---:|---:|");
    for level in &results.levels {
        line(
            &mut out,
            &format!(
                "| {} | {:.2} | {:.2} | {:.1} | {:.2} |",
                level.concurrency,
                level.over_database(),
                level.over_http(),
                level.tail(),
                level.over_route(),
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
    let at = ratio_target_concurrency(backend);
    match results.levels.iter().find(|l| l.concurrency == at) {
        Some(level) => rows.push((
            format!("HTTP delete ≥ {RATIO_TARGET} × database ceiling at concurrency {at}"),
            format!(
                "{:.2} ({:.0} vs {:.0} deletes/s)",
                level.over_database(),
                level.http_delete.throughput(),
                level.db_ceiling.throughput()
            ),
            Some(level.over_database() >= RATIO_TARGET),
        )),
        None => rows.push((
            format!("HTTP delete ≥ {RATIO_TARGET} × database ceiling at concurrency {at}"),
            "not measured".to_owned(),
            None,
        )),
    }
    let s = &results.statements;
    rows.push((
        format!("statements per delete: the same for every size, ≤ {STATEMENTS_TARGET}"),
        format!(
            "{} bare, {} realistic, {} with 50 infos + 20 tags + 20 custom fields",
            s.bare, s.realistic, s.huge
        ),
        Some(s.constant() && s.huge <= STATEMENTS_TARGET),
    ));
    match results
        .levels
        .iter()
        .find(|l| l.concurrency == TAIL_CONCURRENCY)
    {
        Some(level) => rows.push((
            format!("HTTP delete p99 ≤ {TAIL_TARGET} × p50 at concurrency {TAIL_CONCURRENCY}"),
            format!(
                "{:.1} ({:.2} ms vs {:.2} ms)",
                level.tail(),
                level.http_delete.quantile_ms(0.99),
                level.http_delete.quantile_ms(0.5)
            ),
            Some(level.tail() <= TAIL_TARGET),
        )),
        None => rows.push((
            format!("HTTP delete p99 ≤ {TAIL_TARGET} × p50 at concurrency {TAIL_CONCURRENCY}"),
            "not measured".to_owned(),
            None,
        )),
    }
    match &results.scale {
        Some(scale) => rows.push((
            format!(
                "HTTP delete p50 (concurrency 1) with {} contacts ≤ {SCALE_TARGET} × with {}",
                thousands(scale.large.0),
                thousands(scale.small.0)
            ),
            format!(
                "{:.2} ({:.2} ms vs {:.2} ms, {} deletes each)",
                scale.growth(),
                scale.large.1.quantile_ms(0.5),
                scale.small.1.quantile_ms(0.5),
                scale.small.1.done
            ),
            Some(scale.growth() <= SCALE_TARGET),
        )),
        None => rows.push((
            format!("HTTP delete p50 with 100,000 contacts ≤ {SCALE_TARGET} × with 1,000"),
            "skipped (`--skip-scale`)".to_owned(),
            None,
        )),
    }
    let peak = results.scale.as_ref().map_or(results.peak_memory, |scale| {
        scale.peak_memory.max(results.peak_memory)
    });
    rows.push((
        format!("server peak memory (`VmHWM`) < {}", mib(MEMORY_TARGET)),
        match &results.scale {
            Some(scale) => format!(
                "{} (main run), {} (scale servers)",
                mib(results.peak_memory),
                mib(scale.peak_memory)
            ),
            None => mib(results.peak_memory),
        },
        Some(peak < MEMORY_TARGET),
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
