//! CPU time of the server, of this process and of PostgreSQL, from `/proc`.

use std::time::Duration;

/// User + system CPU time of a process from its `/proc/…/stat` (Linux clock ticks are 1/100 s).
pub fn process_cpu_time(stat_path: &str) -> Option<Duration> {
    cpu_times(stat_path).map(|(own, _)| own)
}

/// From a `/proc/…/stat` file: (the process's own user + system CPU time, that of its children
/// that have ended and been waited for).
fn cpu_times(stat_path: &str) -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    parse_stat(&stat)
}

fn parse_stat(stat: &str) -> Option<(Duration, Duration)> {
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of stat(5), so utime (14), stime (15), cutime (16) and
    // cstime (17) are at 11, 12, 13 and 14.
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let own = ticks(11)? + ticks(12)?;
    let children = ticks(13)? + ticks(14)?;
    Some((
        Duration::from_millis(own * 10),
        Duration::from_millis(children * 10),
    ))
}

/// CPU time used so far by the server, by this process (the load generator and the in-process
/// pool) and by every PostgreSQL process on the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// The server process.
    pub server: Duration,
    /// This process, and the load generators it ran that have ended (`wrk`).
    pub bench: Duration,
    /// All `postgres` processes (the backends serving both pools, and PostgreSQL's own).
    pub postgres: Duration,
}

impl Cpu {
    /// Now, for the server with process ID `server`; `bench` includes the CPU time of this
    /// process's children that have ended and been waited for.
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
            // The children that have ended are the `wrk` runs (the servers end only after the
            // measurements).
            bench: cpu_times("/proc/self/stat")
                .map_or(Duration::ZERO, |(own, children)| own + children),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_own_and_children_time() {
        // pid (comm with ") spaces") state ppid … utime stime cutime cstime …
        let stat = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 5 0 0";
        assert_eq!(
            parse_stat(stat),
            Some((Duration::from_millis(3_000), Duration::from_millis(100)))
        );
        assert_eq!(parse_stat("42 (truncated"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(process_cpu_time("/proc/self/stat").is_some());
        assert!(process_cpu_time("/proc/no-such-process/stat").is_none());
    }
}
