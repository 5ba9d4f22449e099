//! CPU time of the server, of this process and of PostgreSQL, from `/proc`.

use std::time::Duration;

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
