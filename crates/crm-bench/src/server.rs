//! The real server: the release `crm-server` binary as a child process.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// A running `crm-server serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub address: String,
}

impl Server {
    /// Starts `binary serve` on a free loopback port over `database_url` with `key` as the
    /// bootstrap key and `RUST_LOG=warn`, and waits until `/healthz` answers 200.
    pub async fn start(
        binary: &Path,
        database_url: &str,
        key: &str,
        extra_args: &[String],
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("no free port on 127.0.0.1")?
            .port();
        let child = Command::new(binary)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .args(extra_args)
            .env("CRM_BOOTSTRAP_API_KEY", key)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start-up: {status}");
            }
            let health = client.get(format!("{}/healthz", self.address)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the server at {} did not become healthy in 30 s",
            self.address
        )
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_memory(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .context("cannot read the server's /proc status")?;
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .context("no VmHWM in the server's /proc status")?;
        let kib: u64 = line
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .context("VmHWM is not a number of kB")?;
        Ok(kib * 1024)
    }

    /// Stops the server (SIGKILL: nothing of it is measured any more).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// User + system CPU time of a process from its `/proc/…/stat` (Linux clock ticks are 1/100 s).
pub fn process_cpu_time(stat_path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time used so far by the server, by this process (the load generator and the in-process
/// pool) and by every PostgreSQL process on the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// The server process.
    pub server: Duration,
    /// This process.
    pub bench: Duration,
    /// All `postgres` processes (the backends serving both pools, and PostgreSQL's own).
    pub postgres: Duration,
}

impl Cpu {
    /// Now, for the server with process ID `server`.
    pub fn now(server: u32) -> Self {
        let mut postgres = Duration::ZERO;
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = name
                    .to_str()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                else {
                    continue;
                };
                let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "postgres");
                if is_postgres {
                    postgres += process_cpu_time(&format!("/proc/{pid}/stat")).unwrap_or_default();
                }
            }
        }
        Self {
            server: process_cpu_time(&format!("/proc/{server}/stat")).unwrap_or_default(),
            bench: process_cpu_time("/proc/self/stat").unwrap_or_default(),
            postgres,
        }
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            server: self.server.saturating_sub(earlier.server),
            bench: self.bench.saturating_sub(earlier.bench),
            postgres: self.postgres.saturating_sub(earlier.postgres),
        }
    }

    /// The sum of two uses.
    pub fn plus(self, other: Cpu) -> Cpu {
        Cpu {
            server: self.server + other.server,
            bench: self.bench + other.bench,
            postgres: self.postgres + other.postgres,
        }
    }
}
