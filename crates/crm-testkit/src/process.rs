//! The real server: a `crm-server` binary as a child process.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// A running `crm-server serve` on a free loopback port, killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub address: String,
}

/// How to start a server.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// The `crm-server` binary.
    pub binary: &'a Path,
    /// `--database-url`.
    pub database_url: &'a str,
    /// `CRM_BOOTSTRAP_API_KEY`: the first administrator's key on an empty database.
    pub key: &'a str,
    /// More arguments of `serve`.
    pub args: &'a [String],
    /// Whether the server's stderr goes to this process's stderr (else nowhere, or to `log`).
    pub show_stderr: bool,
    /// A file the server's stderr (its log) goes to, if any.
    pub log: Option<&'a Path>,
    /// `RUST_LOG`; empty: not set (the server's default filter).
    pub rust_log: &'a str,
}

impl<'a> Launch<'a> {
    /// `binary serve` on `database_url` with `key`, no more arguments, the log (at `warn`)
    /// discarded.
    pub fn new(binary: &'a Path, database_url: &'a str, key: &'a str) -> Self {
        Self {
            binary,
            database_url,
            key,
            args: &[],
            show_stderr: false,
            log: None,
            rust_log: "warn",
        }
    }
}

impl ServerProcess {
    /// Starts the server (`RUST_LOG` as `launch` says) without waiting for it: several can start at the
    /// same moment. See [`Self::wait_healthy`].
    pub fn spawn(launch: Launch<'_>) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("no free port on 127.0.0.1")?
            .port();
        let stderr = match (launch.log, launch.show_stderr) {
            (Some(path), _) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ),
            (None, true) => Stdio::inherit(),
            (None, false) => Stdio::null(),
        };
        let mut command = Command::new(launch.binary);
        if launch.rust_log.is_empty() {
            command.env_remove("RUST_LOG");
        } else {
            command.env("RUST_LOG", launch.rust_log);
        }
        let child = command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", launch.database_url])
            .args(launch.args)
            // Whatever the caller's environment says, only what the launch names.
            .env_remove("DATABASE_URL")
            .env_remove("CRM_DEMO_DATA")
            .env_remove("CRM_WORKERS")
            .env("NO_COLOR", "1")
            .env("CRM_BOOTSTRAP_API_KEY", launch.key)
            // Tests and the benchmark send thousands of requests with one key: no rate limits,
            // unless `args` set them (flags win over the environment).
            .env("CRM_RATE_LIMIT", "0")
            .env("CRM_BAD_KEY_LIMIT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", launch.binary.display()))?;
        Ok(Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Starts the server and waits until `/healthz` answers 200.
    pub async fn start(launch: Launch<'_>) -> anyhow::Result<Self> {
        let mut server = Self::spawn(launch)?;
        server.wait_healthy().await?;
        Ok(server)
    }

    /// Waits (at most 30 s) until `/healthz` answers 200; fails when the server exits first.
    pub async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        wait_healthy(&self.address, &mut self.child).await
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

    /// Asks the server to stop (SIGTERM) and waits (at most 30 s) for it to exit.
    pub async fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("cannot run kill")?;
        if !sent.success() {
            bail!("kill -TERM failed: {sent}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("the server did not stop within 30 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits (at most 30 s) until the server `child` at `address` answers `/healthz` with 200; fails
/// when it exits first.
pub async fn wait_healthy(address: &str, child: &mut Child) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited during start-up: {status}");
        }
        let health = client.get(format!("{address}/healthz")).send().await;
        if health.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server at {address} did not become healthy in 30 s")
}
