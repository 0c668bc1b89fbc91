//! The server seen from `/proc`: CPU time and resident memory of its process or processes.

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

/// The server to watch: one process, or several that serve together (nodes, HAProxy,
/// PostgreSQL), each counted with its children (PostgreSQL's backends).
#[derive(Debug, Clone, Copy)]
pub struct Process {
    /// The watched processes; leaked once at start so that the watcher stays `Copy` (a
    /// handful of ids for the generator's whole life).
    pids: &'static [u32],
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
        Self::group(&[pid])
    }

    /// Watches the processes `pids` (at least one, all existing) and their children as one
    /// server: CPU times and resident sets are summed.
    pub fn group(pids: &[u32]) -> Result<Self> {
        anyhow::ensure!(!pids.is_empty(), "no process to watch");
        let process = Self {
            pids: Box::leak(pids.to_vec().into_boxed_slice()),
        };
        for &pid in process.pids {
            read_stat(pid)?;
        }
        Ok(process)
    }

    /// This process (the load generator itself).
    pub fn current() -> Result<Self> {
        Self::new(std::process::id())
    }

    /// How many CPUs the first process may run on (`Cpus_allowed_list`: a pinned process has
    /// one), so that a CPU share can be read against what the process could have had.
    pub fn allowed_cpus(&self) -> Result<usize> {
        let path = format!("/proc/{}/status", self.pids[0]);
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .with_context(|| format!("no Cpus_allowed_list in {path}"))?;
        Ok(count_cpu_list(list.trim()).max(1))
    }

    /// The watched processes with their live children (one level: PostgreSQL's backends).
    fn members(&self) -> Vec<u32> {
        let mut out = self.pids.to_vec();
        if self.pids.len() == 1 {
            // One server process: its own threads are the whole of it (and no /proc scan).
            return out;
        }
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return out;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // A process may exit between the listing and the read.
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                let child = parse_ppid(&stat).is_some_and(|ppid| self.pids.contains(&ppid));
                if child && !self.pids.contains(&pid) {
                    out.push(pid);
                }
            }
        }
        out
    }

    /// User plus system CPU time consumed so far, in seconds: by the watched processes, their
    /// live children, and (in a group) the children they already reaped.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let mut ticks = 0;
        for &pid in self.pids {
            let (own, reaped) = read_stat(pid)?;
            ticks += own + if self.pids.len() > 1 { reaped } else { 0 };
        }
        for pid in self.members().into_iter().skip(self.pids.len()) {
            ticks += read_stat(pid).map_or(0, |(own, _)| own);
        }
        Ok(ticks as f64 / clock_ticks_per_second())
    }

    /// Time the threads spent runnable but waiting for a CPU, in seconds (the sum of
    /// `/proc/PID/task/*/schedstat` field 2; threads that already exited are not counted).
    pub fn wait_seconds(&self) -> Result<f64> {
        let mut total_ns = 0u64;
        for (i, pid) in self.members().into_iter().enumerate() {
            let dir = format!("/proc/{pid}/task");
            let tasks = match std::fs::read_dir(&dir) {
                Ok(tasks) => tasks,
                // A child may have exited; a watched process must be there.
                Err(_) if i >= self.pids.len() => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {dir}")),
            };
            for task in tasks.flatten() {
                let path = task.path().join("schedstat");
                // A thread may exit between the listing and the read.
                if let Ok(text) = std::fs::read_to_string(&path) {
                    total_ns += text
                        .split_whitespace()
                        .nth(1)
                        .and_then(|f| f.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        }
        Ok(total_ns as f64 / 1e9)
    }

    /// Current and peak resident memory. In a group, the sum of the members' proportional
    /// sets (`Pss`: PostgreSQL's shared buffers counted once, not once per backend), and the
    /// peak is what sampling saw.
    pub fn memory(&self) -> Result<Memory> {
        if self.pids.len() == 1 {
            let path = format!("/proc/{}/status", self.pids[0]);
            let status =
                std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            return parse_memory(&status).with_context(|| format!("unexpected format of {path}"));
        }
        let mut total = 0;
        for (i, pid) in self.members().into_iter().enumerate() {
            let path = format!("/proc/{pid}/smaps_rollup");
            match std::fs::read_to_string(&path) {
                Ok(text) => total += parse_kib(&text, "Pss:").unwrap_or(0) * 1024,
                Err(_) if i >= self.pids.len() => {}
                Err(e) => return Err(e).with_context(|| format!("reading {path}")),
            }
        }
        Ok(Memory {
            rss: total,
            hwm: total,
        })
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

/// (utime + stime, cutime + cstime) of process `pid`, in clock ticks.
fn read_stat(pid: u32) -> Result<(u64, u64)> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_cpu_ticks(&stat).with_context(|| format!("unexpected format of {path}"))
}

/// The fields after the command name (field 2, in parentheses, may hold spaces), from field 3.
fn stat_fields(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat[stat.rfind(')')? + 1..].split_whitespace())
}

/// (utime + stime, cutime + cstime), in clock ticks, from the text of `/proc/PID/stat`.
fn parse_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    let mut fields = stat_fields(stat)?;
    // Fields 3.. follow; utime, stime, cutime and cstime are fields 14 to 17.
    let mut next = |skip: usize| -> Option<u64> { fields.nth(skip)?.parse().ok() };
    let utime = next(11)?;
    let stime = next(0)?;
    let cutime = next(0)?;
    let cstime = next(0)?;
    Some((utime + stime, cutime + cstime))
}

/// The parent's id (field 4) from the text of `/proc/PID/stat`.
fn parse_ppid(stat: &str) -> Option<u32> {
    stat_fields(stat)?.nth(1)?.parse().ok()
}

/// The value in KiB of `key` (e.g. `VmRSS:`) in a `/proc` key-value text.
fn parse_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// `VmRSS` and `VmHWM` from the text of `/proc/PID/status`.
fn parse_memory(status: &str) -> Option<Memory> {
    Some(Memory {
        rss: parse_kib(status, "VmRSS:")? * 1024,
        hwm: parse_kib(status, "VmHWM:")? * 1024,
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
        let stat = "42 (my server) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 4 0 1 2 3";
        assert_eq!(parse_cpu_ticks(stat), Some((300, 10)));
        assert_eq!(parse_ppid(stat), Some(1));
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

    #[test]
    fn reads_a_group_with_its_children() {
        let spawn = || {
            std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .expect("sleep starts")
        };
        let (mut watched, mut child) = (spawn(), spawn());
        let group = Process::group(&[std::process::id(), watched.id()]).expect("group");
        let members = group.members();
        assert!(members.contains(&child.id()), "children are members");
        assert_eq!(
            members.iter().filter(|&&p| p == watched.id()).count(),
            1,
            "a watched child is counted once"
        );
        // Burn a few ticks so that this process's share is not zero.
        let me = Process::current().expect("own process");
        while me.cpu_seconds().expect("cpu") < 0.05 {
            std::hint::black_box((0..10_000u64).sum::<u64>());
        }
        assert!(group.cpu_seconds().expect("cpu") >= me.cpu_seconds().expect("cpu") - 0.01);
        assert!(group.memory().expect("memory").rss > 0);
        for c in [&mut watched, &mut child] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
