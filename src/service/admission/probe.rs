//! What the process can measure about itself: resident memory, CPU and event-loop lag.
//!
//! Everything here degrades to "unknown" (NaN) rather than failing: `/proc` may be missing (not
//! Linux), unreadable (sandbox) or in an unexpected format, and none of that may stop the server.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Resident memory of this process in MiB, NaN when unknown.
///
/// Read from `VmRSS` in `/proc/self/status` rather than `/proc/self/statm`, whose pages would need
/// the page size (`sysconf`, i.e. libc).
pub fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_vm_rss_kib(&status))
        .map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

/// The `VmRSS:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let kib = words.next()?.parse().ok()?;
    // The kernel has always printed kB; anything else means we misread the file.
    (words.next() == Some("kB")).then_some(kib)
}

/// CPU time used by this process so far (user + system), in clock ticks; `None` when unknown.
pub fn cpu_ticks() -> Option<u64> {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| parse_stat_ticks(&stat))
}

/// `utime + stime` (fields 14 and 15) of `/proc/<pid>/stat`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // Field 2 is the command name in parentheses and may itself contain spaces and ')', so
    // fields are counted from after its last ')'; the first one there is field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

/// Clock ticks per second of `/proc/<pid>/stat` times. `USER_HZ` is 100 on every mainstream
/// Linux architecture and reading the real value needs `sysconf` (libc); a wrong value would
/// only scale the percentage.
const TICKS_PER_SEC: f64 = 100.0;

/// Turns successive [`cpu_ticks`] readings into a percentage of the usable cores.
///
/// The percentage is averaged over about [`CpuMeter::WINDOW`]: at 100 Hz a 250 ms delta is a
/// handful of ticks, too coarse and too spiky to close creation on by itself.
#[derive(Debug)]
pub struct CpuMeter {
    cores: f64,
    readings: VecDeque<(std::time::Instant, u64)>,
}

impl CpuMeter {
    /// How far back the average reaches.
    pub const WINDOW: Duration = Duration::from_secs(1);
    /// Below this much wall time there are too few ticks to say anything.
    const MIN_SPAN: Duration = Duration::from_millis(100);
    /// Bound on kept readings, in case readings come faster than expected.
    const MAX_READINGS: usize = 16;

    /// A meter for a process that may use `cores` cores (at least 1).
    pub fn new(cores: usize) -> Self {
        Self {
            cores: cores.max(1) as f64,
            readings: VecDeque::with_capacity(Self::MAX_READINGS),
        }
    }

    /// A meter for the cores this process may use (affinity and cgroup quota included).
    pub fn for_this_process() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Records `ticks` (from [`cpu_ticks`]) read at `now` and returns the CPU percentage since
    /// the reading about [`Self::WINDOW`] ago; NaN when unknown or not enough time has passed.
    ///
    /// Wall time is `std`'s clock, not tokio's: CPU ticks are real, even when tokio's clock is
    /// paused.
    pub fn sample(&mut self, now: std::time::Instant, ticks: Option<u64>) -> f64 {
        let Some(ticks) = ticks else {
            return f64::NAN;
        };
        self.readings.push_back((now, ticks));
        // Keep the newest reading that is at least WINDOW old as the base, drop older ones.
        while self.readings.len() > Self::MAX_READINGS
            || self
                .readings
                .get(1)
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= Self::WINDOW)
        {
            self.readings.pop_front();
        }
        let Some(&(then, base)) = self.readings.front() else {
            return f64::NAN;
        };
        let span = now.saturating_duration_since(then);
        if span < Self::MIN_SPAN {
            return f64::NAN;
        }
        let cpu_secs = ticks.saturating_sub(base) as f64 / TICKS_PER_SEC;
        cpu_secs / span.as_secs_f64() / self.cores * 100.0
    }
}

/// Event-loop lag: how late a task sleeping a fixed period wakes up. A busy or blocked runtime
/// wakes it late, and the same runtime serves every connection.
#[derive(Debug)]
pub struct LagMeter {
    /// Origin of the microsecond timestamps below (atomics cannot hold an `Instant`).
    base: Instant,
    /// Worst lateness recorded since the last [`LagMeter::take`], µs.
    worst_us: AtomicU64,
    /// When the pending tick is due, µs after `base`; `u64::MAX` when none is pending.
    due_us: AtomicU64,
}

impl LagMeter {
    /// Period of the tick: short enough to catch stalls within a 250 ms sampling window.
    pub const PERIOD: Duration = Duration::from_millis(100);

    /// A meter with no tick recorded yet.
    pub fn new(now: Instant) -> Self {
        Self {
            base: now,
            worst_us: AtomicU64::new(0),
            due_us: AtomicU64::new(u64::MAX),
        }
    }

    /// Ticks until `shutdown`, recording how late each tick wakes.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let due = Instant::now() + Self::PERIOD;
            self.due_us.store(self.micros(due), Ordering::Relaxed);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(due) => {}
            }
            self.record(Instant::now().saturating_duration_since(due));
        }
    }

    /// Records a tick that woke `late` after it was due.
    fn record(&self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.worst_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The worst lag in ms since the previous call, counting a tick that is overdue right now:
    /// if the ticking task itself is stuck, its wake-up would come too late to be reported.
    pub fn take(&self, now: Instant) -> f64 {
        let worst = self.worst_us.swap(0, Ordering::Relaxed);
        let overdue = self
            .micros(now)
            .saturating_sub(self.due_us.load(Ordering::Relaxed));
        worst.max(overdue) as f64 / 1000.0
    }

    fn micros(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_micros()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tardoise\nVmPeak:\t  300000 kB\nVmRSS:\t   52428 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss_kib(status), Some(52428));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t12 pages\n"), None);
        assert_eq!(parse_vm_rss_kib(""), None);
    }

    #[test]
    fn parses_stat_with_a_hostile_command_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
        // stime ...
        let stat = "42 (a) b ) (c) S 1 42 42 0 -1 4194304 100 0 0 0 1234 567 0 0 20 0 4 0";
        assert_eq!(parse_stat_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_ticks("42 (x) S 1 2"), None, "truncated");
        assert_eq!(parse_stat_ticks("garbage"), None);
        let bad = "42 (x) S 1 42 42 0 -1 4194304 100 0 0 0 12x 567 0";
        assert_eq!(parse_stat_ticks(bad), None);
    }

    #[test]
    fn reads_this_process_on_linux() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let rss = rss_mib();
        assert!(rss > 0.0 && rss < 1024.0 * 1024.0, "{rss}");
        assert!(cpu_ticks().is_some());
    }

    #[test]
    fn cpu_percent_over_the_window() {
        let t0 = std::time::Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut m = CpuMeter::new(2);
        assert!(m.sample(ms(0), Some(1000)).is_nan(), "no baseline yet");
        assert!(m.sample(ms(50), Some(1005)).is_nan(), "too short a span");
        // One core of two fully busy: 25 ticks per 250 ms, 50 % of the usable CPU.
        assert!((m.sample(ms(250), Some(1025)) - 50.0).abs() < 1e-9);
        assert!((m.sample(ms(500), Some(1050)) - 50.0).abs() < 1e-9);
        assert!((m.sample(ms(750), Some(1075)) - 50.0).abs() < 1e-9);
        assert!((m.sample(ms(1000), Some(1100)) - 50.0).abs() < 1e-9);
        // Both cores busy from now on: the 1 s average climbs over four samples.
        assert!((m.sample(ms(1250), Some(1150)) - 62.5).abs() < 1e-9);
        assert!((m.sample(ms(1500), Some(1200)) - 75.0).abs() < 1e-9);
        assert!((m.sample(ms(1750), Some(1250)) - 87.5).abs() < 1e-9);
        assert!((m.sample(ms(2000), Some(1300)) - 100.0).abs() < 1e-9);
        assert!(m.sample(ms(2250), None).is_nan(), "unknown stays unknown");
        assert!(m.readings.len() <= 6, "old readings are dropped");
    }

    #[test]
    fn cpu_meter_stays_bounded_when_readings_come_too_fast() {
        let t0 = std::time::Instant::now();
        let mut m = CpuMeter::new(1);
        for i in 0..1000 {
            let v = m.sample(t0 + Duration::from_micros(i), Some(i));
            assert!(v.is_nan());
        }
        assert!(m.readings.len() <= CpuMeter::MAX_READINGS);
        // A counter going backwards (it should not) reads as idle, not as a huge number.
        let back = m.sample(t0 + Duration::from_secs(1), Some(0));
        assert_eq!(back, 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn lag_is_worst_since_last_take_and_counts_an_overdue_tick() {
        let start = Instant::now();
        let m = LagMeter::new(start);
        assert_eq!(m.take(start), 0.0, "no tick yet");
        m.record(Duration::from_millis(3));
        m.record(Duration::from_millis(40));
        m.record(Duration::from_millis(7));
        assert_eq!(m.take(start), 40.0);
        assert_eq!(m.take(start), 0.0, "taking resets");
        m.due_us.store(
            m.micros(start + Duration::from_millis(100)),
            Ordering::Relaxed,
        );
        assert_eq!(
            m.take(start + Duration::from_millis(90)),
            0.0,
            "not due yet"
        );
        assert_eq!(
            m.take(start + Duration::from_millis(350)),
            250.0,
            "stuck tick"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_runtime_has_no_lag() {
        let shutdown = CancellationToken::new();
        let m = Arc::new(LagMeter::new(Instant::now()));
        let task = tokio::spawn(m.clone().run(shutdown.clone()));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(m.take(Instant::now()), 0.0);
        shutdown.cancel();
        assert!(task.await.is_ok(), "stops on shutdown");
    }
}
