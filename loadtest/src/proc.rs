//! The server process seen from `/proc`: CPU time and resident memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

/// The number of CPUs in a list such as `0-3,6,8-9`.
fn count_cpu_list(list: &str) -> usize {
    list.split(',')
        .filter_map(|part| match part.split_once('-') {
            Some((a, b)) => Some(b.parse::<usize>().ok()? + 1 - a.parse::<usize>().ok()?),
            None => part.parse::<usize>().ok().map(|_| 1),
        })
        .sum()
}

/// How often the resident set is sampled for its peak.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// A process to watch.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pid: u32,
}

/// Resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Current resident set (`VmRSS`).
    pub rss: u64,
    /// Peak resident set since the process started (`VmHWM`).
    pub hwm: u64,
}

impl Process {
    /// Watches process `pid`, which must exist.
    pub fn new(pid: u32) -> Result<Self> {
        let process = Self { pid };
        process.cpu_seconds()?;
        Ok(process)
    }

    /// This process (the load generator itself).
    pub fn current() -> Result<Self> {
        Self::new(std::process::id())
    }

    /// How many CPUs the process may run on (`Cpus_allowed_list`: a pinned process has one), so
    /// that a CPU share can be read against what the process could have had.
    pub fn allowed_cpus(&self) -> Result<usize> {
        let path = format!("/proc/{}/status", self.pid);
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .with_context(|| format!("no Cpus_allowed_list in {path}"))?;
        Ok(count_cpu_list(list.trim()).max(1))
    }

    /// User plus system CPU time consumed so far, in seconds.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let path = format!("/proc/{}/stat", self.pid);
        let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_cpu_ticks(&stat)
            .map(|ticks| ticks as f64 / clock_ticks_per_second())
            .with_context(|| format!("unexpected format of {path}"))
    }

    /// Time the process's threads spent runnable but waiting for a CPU, in seconds (the sum of
    /// `/proc/PID/task/*/schedstat` field 2; threads that already exited are not counted).
    pub fn wait_seconds(&self) -> Result<f64> {
        let dir = format!("/proc/{}/task", self.pid);
        let mut total_ns = 0u64;
        for task in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
            let path = task?.path().join("schedstat");
            // A thread may exit between the listing and the read.
            if let Ok(text) = std::fs::read_to_string(&path) {
                total_ns += text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        Ok(total_ns as f64 / 1e9)
    }

    /// Current and peak resident memory.
    pub fn memory(&self) -> Result<Memory> {
        let path = format!("/proc/{}/status", self.pid);
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_memory(&status).with_context(|| format!("unexpected format of {path}"))
    }

    /// Samples the resident set in the background; the peak seen is in the returned cell.
    /// The task ends with the runtime or once the process is gone.
    pub fn sample_peak(self) -> Arc<AtomicU64> {
        let peak = Arc::new(AtomicU64::new(0));
        let cell = peak.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            while let Ok(mem) = {
                tick.tick().await;
                self.memory()
            } {
                cell.fetch_max(mem.rss.max(mem.hwm), Ordering::Relaxed);
            }
        });
        peak
    }
}

/// CPU time all processes of the machine consumed so far (user, nice, system, irq, softirq,
/// steal), in seconds.
pub fn machine_busy_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    parse_machine_busy(&stat)
        .map(|ticks| ticks as f64 / clock_ticks_per_second())
        .context("unexpected format of /proc/stat")
}

fn parse_machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(get(0) + get(1) + get(2) + get(5) + get(6) + get(7))
}

/// utime + stime, in clock ticks, from the text of `/proc/PID/stat`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // Fields 3.. follow; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` and `VmHWM` from the text of `/proc/PID/status`.
fn parse_memory(status: &str) -> Option<Memory> {
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Memory {
        rss: kib("VmRSS:")? * 1024,
        hwm: kib("VmHWM:")? * 1024,
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cpu_lists() {
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(count_cpu_list("0-3,6,8-9"), 7);
        assert_eq!(count_cpu_list(""), 0);
    }

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat = "42 (my server) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1 2 3";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn parses_status() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        let mem = parse_memory(status).expect("parsed");
        assert_eq!((mem.rss, mem.hwm), (1024 * 1024, 2048 * 1024));
    }

    #[test]
    fn parses_machine_busy_time() {
        let stat = "cpu  100 5 20 9999 7 1 2 3 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(parse_machine_busy(stat), Some(131));
    }

    #[test]
    fn reads_this_process() {
        let me = Process::new(std::process::id()).expect("own process");
        assert!(me.cpu_seconds().expect("cpu") >= 0.0);
        assert!(me.memory().expect("memory").rss > 0);
        assert!(me.wait_seconds().expect("schedstat") >= 0.0);
        assert!(machine_busy_seconds().expect("/proc/stat") > 0.0);
    }
}
