//! The second load generator: `wrk` (a C program, far cheaper per request than reqwest; Debian's
//! package `wrk`), driven by a Lua script, so that the figures do not depend on one client.
//!
//! Each run is one `wrk` process for a whole number of seconds, `connections` connections on
//! `min(connections, cores)` threads, each connection sending its next request when the previous
//! one is answered (a closed loop, like [`crate::load::closed_loop`]). The script's `done`
//! prints one line, `crm-bench-wrk {JSON}`: the duration, the answers, wrk's error counts (its
//! `status` count is every answer with a status of 400 or more), every recorded latency (wrk
//! keeps them by microsecond, so the histogram is exact and runs can be merged), and per thread
//! how many requests it made and how many found its contact IDs used up.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::load::Measurement;

/// What every script shares: numbering the threads, and the JSON line of `done`.
const COMMON: &str = r#"-- crm-bench's script for wrk, written to a temporary file for each run of the benchmark
-- (crates/crm-bench/src/wrk.rs).
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function done(summary, latency, requests)
   local e = summary.errors
   local out = {}
   out[#out + 1] = string.format(
      '{"duration_us":%d,"requests":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":[',
      summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout)
   for i = 1, #latency do
      local value, count = latency(i)
      out[#out + 1] = string.format(i == 1 and "[%d,%d]" or ",[%d,%d]", value, count)
   end
   out[#out + 1] = '],"threads":['
   for i, thread in ipairs(threads) do
      out[#out + 1] = string.format(i == 1 and '{"sent":%d,"ran_out":%d}' or ',{"sent":%d,"ran_out":%d}',
         thread:get("sent") or 0, thread:get("ran_out") or 0)
   end
   out[#out + 1] = "]}"
   io.write("crm-bench-wrk " .. table.concat(out) .. "\n")
end
"#;

/// `DELETE /api/2.0/crm/contact/<id>`: arguments after `--` are the number of threads and a file
/// of contact IDs, one a line; thread k of n deletes the k-th n-th of them, in order, each once.
/// Should a thread use up its IDs, it asks for contact 0 (which does not exist: a 404, counted by
/// wrk as an error and by the script as `ran_out`). The `Authorization` header comes from `-H`.
const DELETE: &str = r#"
function init(args)
   local count, file = tonumber(args[1]), args[2]
   local all = {}
   for line in io.lines(file) do
      all[#all + 1] = line
   end
   local first = math.floor((thread_number - 1) * #all / count) + 1
   local last = math.floor(thread_number * #all / count)
   ids = {}
   for i = first, last do
      ids[#ids + 1] = all[i]
   end
   sent, ran_out = 0, 0
end

function request()
   if ids == nil then
      -- wrk checks the script's request once before the threads start: any request will do.
      return wrk.format("DELETE", "/api/2.0/crm/contact/0")
   end
   sent = sent + 1
   local id = ids[sent]
   if id == nil then
      ran_out = ran_out + 1
      id = "0"
   end
   return wrk.format("DELETE", "/api/2.0/crm/contact/" .. id)
end
"#;

/// How long wrk waits for an answer before it counts a timeout.
const TIMEOUT: &str = "10s";

/// The first field of the line the scripts print.
const MARKER: &str = "crm-bench-wrk ";

/// A `wrk` binary and the scripts, written into a temporary folder.
pub struct Wrk {
    binary: PathBuf,
    /// `wrk --version`'s first line without the copyright, e.g. `wrk debian/4.1.0-3+b2 [epoll]`.
    pub version: String,
    dir: tempfile::TempDir,
}

/// What one `wrk` run gave.
pub struct Run {
    /// Answers, failures (wrk's error counts), latencies, the run's duration.
    pub measurement: Measurement,
    /// Requests the threads made, including those still unanswered when the time was up.
    pub sent: u64,
    /// The same, by thread.
    pub sent_by_thread: Vec<u64>,
    /// Requests made after a thread had used up its contact IDs (0 unless too few were given).
    pub ran_out: u64,
}

/// `wrk` on `PATH`, if it is there.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("wrk"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Wrk {
    /// Checks that `binary` runs and writes the scripts.
    pub fn new(binary: PathBuf) -> anyhow::Result<Self> {
        // `wrk --version` prints its banner and usage, and exits 1.
        let output = std::process::Command::new(&binary)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text
            .lines()
            .next()
            .filter(|line| line.starts_with("wrk "))
            .with_context(|| format!("{} does not look like wrk: {text:?}", binary.display()))?;
        let version = version
            .split(" Copyright")
            .next()
            .unwrap_or(version)
            .trim()
            .to_owned();
        let dir = tempfile::Builder::new()
            .prefix("crm-bench-wrk-")
            .tempdir()
            .context("cannot create a temporary folder for wrk's scripts")?;
        std::fs::write(dir.path().join("get.lua"), COMMON)?;
        std::fs::write(dir.path().join("delete.lua"), format!("{COMMON}{DELETE}"))?;
        Ok(Self {
            binary,
            version,
            dir,
        })
    }

    /// Deletes contacts `ids` through `address` with the key `key` for `seconds` seconds.
    pub async fn delete(
        &self,
        address: &str,
        key: &str,
        ids: &[i32],
        connections: usize,
        seconds: u64,
    ) -> anyhow::Result<Run> {
        let threads = threads(connections);
        let file = self.dir.path().join("ids.txt");
        let list: String = ids.iter().map(|id| format!("{id}\n")).collect();
        tokio::fs::write(&file, list)
            .await
            .context("cannot write the contact IDs for wrk")?;
        let url = format!("{address}/api/2.0/crm/contact");
        let script = self.dir.path().join("delete.lua");
        let run = self
            .run(
                &url,
                &script,
                connections,
                threads,
                seconds,
                &["-H", &format!("Authorization: {key}")],
                &[threads.to_string(), file.display().to_string()],
            )
            .await;
        tokio::fs::remove_file(&file).await.ok();
        run
    }

    /// `GET url` for `seconds` seconds.
    pub async fn get(&self, url: &str, connections: usize, seconds: u64) -> anyhow::Result<Run> {
        let script = self.dir.path().join("get.lua");
        self.run(
            url,
            &script,
            connections,
            threads(connections),
            seconds,
            &[],
            &[],
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        url: &str,
        script: &Path,
        connections: usize,
        threads: usize,
        seconds: u64,
        options: &[&str],
        script_args: &[String],
    ) -> anyhow::Result<Run> {
        let output = tokio::process::Command::new(&self.binary)
            .arg(format!("--threads={threads}"))
            .arg(format!("--connections={}", connections.max(threads)))
            .arg(format!("--duration={}s", seconds.max(1)))
            .arg(format!("--timeout={TIMEOUT}"))
            .arg(format!("--script={}", script.display()))
            .args(options)
            .arg(url)
            .arg("--")
            .args(script_args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!(
                "wrk failed ({}): {}{}",
                output.status,
                stderr.trim(),
                stdout.trim()
            );
        }
        let line = stdout
            .lines()
            .find_map(|line| line.strip_prefix(MARKER))
            .with_context(|| {
                format!("wrk printed no results: {}{}", stderr.trim(), stdout.trim())
            })?;
        parse(line)
    }
}

/// wrk's threads for `connections` connections on this machine's cores.
pub fn threads(connections: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    threads_for(connections, cores)
}

/// At most one thread per core, and a number that divides `connections` (wrk gives each thread
/// `connections / threads` connections, rounding down).
fn threads_for(connections: usize, cores: usize) -> usize {
    (1..=cores.min(connections))
        .rev()
        .find(|t| connections.is_multiple_of(*t))
        .unwrap_or(1)
}

/// Reads the JSON line of the scripts' `done`.
fn parse(line: &str) -> anyhow::Result<Run> {
    let value: Value = serde_json::from_str(line).context("wrk's results are not JSON")?;
    let number = |v: &Value, name: &str| {
        v.get(name)
            .and_then(Value::as_u64)
            .with_context(|| format!("wrk's results have no {name}"))
    };
    let errors = value
        .get("errors")
        .context("wrk's results have no errors")?;
    let status = number(errors, "status")?;
    let timeout = number(errors, "timeout")?;
    let transport = number(errors, "connect")? + number(errors, "read")? + number(errors, "write")?;
    let mut measurement = Measurement::empty();
    measurement.done = number(&value, "requests")?;
    measurement.planned = usize::try_from(measurement.done)?;
    measurement.elapsed = Duration::from_micros(number(&value, "duration_us")?);
    measurement.failures = status + timeout + transport;
    if measurement.failures > 0 {
        measurement.first_failure = Some(format!(
            "wrk: {status} answers with a status of 400 or more, {timeout} timeouts, \
             {transport} connection errors"
        ));
    }
    for bucket in value
        .get("latency_us")
        .and_then(Value::as_array)
        .context("wrk's results have no latencies")?
    {
        let pair = bucket.as_array().map(Vec::as_slice);
        let Some([micros, count]) = pair else {
            bail!("a latency of wrk's results is not [value, count]: {bucket}");
        };
        let (Some(micros), Some(count)) = (micros.as_u64(), count.as_u64()) else {
            bail!("a latency of wrk's results is not [value, count]: {bucket}");
        };
        measurement.record(micros.saturating_mul(1_000), count);
    }
    let (mut sent_by_thread, mut ran_out) = (Vec::new(), 0);
    for thread in value
        .get("threads")
        .and_then(Value::as_array)
        .context("wrk's results have no threads")?
    {
        sent_by_thread.push(number(thread, "sent")?);
        ran_out += number(thread, "ran_out")?;
    }
    Ok(Run {
        measurement,
        sent: sent_by_thread.iter().sum(),
        sent_by_thread,
        ran_out,
    })
}

/// The contact IDs of `ids` (as given to [`Wrk::delete`]) that no thread sent a request for,
/// given what each thread sent (the script's split: thread k of n takes the k-th n-th). Empty
/// when the threads do not match the split (nothing is known then).
pub fn unused(ids: &[i32], sent_by_thread: &[u64], threads: usize) -> Vec<i32> {
    if sent_by_thread.len() != threads || threads == 0 {
        return Vec::new();
    }
    let n = ids.len();
    let mut left = Vec::new();
    for (k, &sent) in sent_by_thread.iter().enumerate() {
        let (first, end) = (k * n / threads, (k + 1) * n / threads);
        let used = usize::try_from(sent).unwrap_or(usize::MAX).min(end - first);
        left.extend_from_slice(&ids[first + used..end]);
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_line_becomes_a_measurement() -> anyhow::Result<()> {
        let line = r#"{"duration_us":2000000,"requests":1000,"errors":{"connect":0,"read":1,"write":0,"status":3,"timeout":2},"latency_us":[[500,600],[1500,399],[40000,1]],"threads":[{"sent":600,"ran_out":0},{"sent":402,"ran_out":4}]}"#;
        let run = parse(line)?;
        let m = &run.measurement;
        assert_eq!(m.done, 1000);
        assert!(m.complete());
        assert_eq!(m.failures, 6);
        assert!(
            m.first_failure
                .as_deref()
                .is_some_and(|f| f.contains("3 answers"))
        );
        assert!((m.throughput() - 500.0).abs() < 1e-9);
        assert_eq!(m.latencies.len(), 1000);
        assert!((m.quantile_ms(0.5) - 0.5).abs() < 0.01);
        assert!((m.quantile_ms(0.99) - 1.5).abs() < 0.01);
        assert!((m.max_ms() - 40.0).abs() < 0.1);
        assert_eq!((run.sent, run.ran_out), (1002, 4));
        assert_eq!(run.sent_by_thread, vec![600, 402]);
        Ok(())
    }

    #[test]
    fn the_ids_no_thread_sent_are_given_back() {
        let ids: Vec<i32> = (1..=10).collect();
        // Two threads: 1–5 and 6–10; the first sent 2, the second 5 (all of its own).
        assert_eq!(unused(&ids, &[2, 5], 2), vec![3, 4, 5]);
        // Three threads: 1–3, 4–6, 7–10.
        assert_eq!(unused(&ids, &[0, 1, 9], 3), vec![1, 2, 3, 5, 6]);
        // Threads that do not match the split: nothing is given back.
        assert!(unused(&ids, &[0, 0], 3).is_empty());
        assert!(unused(&[], &[0], 1).is_empty());
    }

    #[test]
    fn broken_lines_are_errors() {
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"requests":1}"#).is_err());
        let bad_bucket = r#"{"duration_us":1,"requests":1,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"latency_us":[[1]],"threads":[]}"#;
        assert!(parse(bad_bucket).is_err());
    }

    #[test]
    fn threads_divide_the_connections_and_fit_the_cores() {
        assert_eq!(threads_for(1, 2), 1);
        assert_eq!(threads_for(8, 2), 2);
        assert_eq!(threads_for(32, 2), 2);
        assert_eq!(threads_for(5, 2), 1);
        assert_eq!(threads_for(12, 8), 6);
        assert_eq!(threads_for(0, 2), 1);
        assert!(threads(32) >= 1);
    }
}
