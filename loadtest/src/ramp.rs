//! `ramp`: one pad gains authors and lurkers step by step until the server misses the SLO; the
//! answer is the largest number of authors it sustained.
//!
//! Authors and lurkers count frames instead of decoding them (one core could not decode what a
//! thousand authors produce for every client); a few decoding observers measure the
//! propagation latency of every edit and check convergence at the end.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use yrs::Doc;

use crate::client::{self, Counters, Outcome, Phase, Spec};
use crate::proc::Process;
use crate::report::MIB;
use crate::scenario::MAX_CLIENTS;
use crate::stats::{p99_ms, summarize, Summary};
use crate::target::Target;
use crate::track::Writers;

/// How often, within a step, the edits in flight are sampled.
const UNSEEN_POLL: Duration = Duration::from_millis(100);

/// The ramp's shape and its stop conditions.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct Settings {
    /// Authors added at each step.
    #[arg(long, default_value_t = 1)]
    pub authors_per_step: usize,
    /// Lurkers added at each step.
    #[arg(long, default_value_t = 3)]
    pub lurkers_per_step: usize,
    /// Length of a step, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub step_secs: f64,
    /// The p99 propagation latency (ms) above which a step fails.
    #[arg(long, default_value_t = 250.0)]
    pub slo: f64,
    /// A step fails when more edits than this stayed sent but unseen by the observers
    /// throughout it.
    #[arg(long, default_value_t = 100)]
    pub max_unseen: u64,
    /// Decoding clients that measure latency and convergence.
    #[arg(long, default_value_t = 2)]
    pub observers: usize,
    /// Stop (successfully) at this many authors.
    #[arg(long, default_value_t = 2000)]
    pub max_authors: usize,
    /// Stop (successfully) after this many seconds.
    #[arg(long, default_value_t = 300.0)]
    pub max_secs: f64,
    /// Pause between an author's edits, in milliseconds.
    #[arg(long, default_value_t = 400.0)]
    pub type_every_ms: f64,
    /// Characters each edit inserts.
    #[arg(long, default_value_t = 4)]
    pub chars: usize,
}

impl Settings {
    /// Fails unless the ramp stays within the generator's bounds.
    pub fn validate(&self) -> Result<()> {
        ensure!(self.authors_per_step >= 1, "--authors-per-step must be ≥ 1");
        ensure!(
            (1..=100).contains(&self.observers),
            "--observers must be within 1..=100"
        );
        let steps = self.max_authors.div_ceil(self.authors_per_step);
        let clients = self.max_authors + steps * self.lurkers_per_step + self.observers;
        ensure!(
            clients <= MAX_CLIENTS,
            "up to {clients} connections, at most {MAX_CLIENTS} allowed: lower --max-authors"
        );
        ensure!(
            self.step_secs.is_finite() && (0.1..=60.0).contains(&self.step_secs),
            "--step-secs must be within 0.1..=60"
        );
        ensure!(
            self.max_secs.is_finite() && (1.0..=3600.0).contains(&self.max_secs),
            "--max-secs must be within 1..=3600"
        );
        ensure!(
            self.type_every_ms.is_finite() && self.type_every_ms >= 1.0,
            "--type-every-ms must be ≥ 1"
        );
        ensure!(
            (1..=1000).contains(&self.chars),
            "--chars must be within 1..=1000"
        );
        ensure!(
            self.slo.is_finite() && self.slo > 0.0,
            "--slo must be positive"
        );
        Ok(())
    }
}

/// What to ramp, against what.
pub struct Options {
    /// The server's WebSocket endpoint.
    pub target: Target,
    /// The ramp.
    pub settings: Settings,
    /// The server process, to read its CPU and memory.
    pub server: Option<Process>,
    /// Name of the server in the report.
    pub label: String,
    /// Whether to print a line per step on stderr.
    pub progress: bool,
}

/// One step of the ramp, as measured at its end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Seconds since the ramp started.
    pub at_secs: f64,
    /// Authors connected (synced or not).
    pub authors: usize,
    /// Lurkers connected.
    pub lurkers: usize,
    /// p99 propagation latency to the observers during the step, ms.
    pub p99_ms: f64,
    /// Fewest edits sent but not yet seen by the observers, sampled through the step.
    pub unseen: u64,
    /// Edits sent during the step, per second.
    pub edits_per_sec: f64,
    /// Frames received by the counting clients during the step, per second.
    pub frames_per_sec: f64,
    /// The server's CPU time during the step over the CPUs it may use (1.0 = all of them busy),
    /// if `--pid` was given.
    pub server_cpu: Option<f64>,
    /// The same for the load generator itself.
    pub generator_cpu: f64,
    /// Server CPU microseconds per frame the counting clients received, if `--pid` was given.
    pub server_us_per_frame: Option<f64>,
}

/// A CPU share at or past this means that side had no CPU left to give.
const SATURATED: f64 = 0.9;

impl Step {
    /// Which side ran out of CPU during this step, in words.
    pub fn limited_by(&self) -> String {
        let server = self.server_cpu.is_some_and(|c| c >= SATURATED);
        let generator = self.generator_cpu >= SATURATED;
        let pct = |c: f64| format!("{:.0} %", c * 100.0);
        let server_share = self.server_cpu.map_or("?".into(), pct);
        match (server, generator) {
            (true, true) => format!(
                "both (server {server_share}, generator {})",
                pct(self.generator_cpu)
            ),
            (true, false) => format!(
                "server CPU ({server_share}; generator {})",
                pct(self.generator_cpu)
            ),
            (false, true) => format!(
                "generator CPU ({}; server {server_share}): the figure is the generator's",
                pct(self.generator_cpu)
            ),
            (false, false) => format!(
                "neither CPU (server {server_share}, generator {})",
                pct(self.generator_cpu)
            ),
        }
    }
}

/// The result of a ramp.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RampReport {
    /// Name of the server measured.
    pub label: String,
    /// The ramp as run.
    pub settings: Settings,
    /// The largest number of authors of a step that met the SLO.
    pub sustained_authors: usize,
    /// Why the ramp stopped.
    pub stop: String,
    /// Every step.
    pub steps: Vec<Step>,
    /// Clients that could not connect or sync.
    pub connect_failures: usize,
    /// Connections lost after sync.
    pub lost: usize,
    /// Connect → synced of every client.
    pub sync: Option<Summary>,
    /// Propagation latency to the observers over the whole ramp.
    pub latency: Option<Summary>,
    /// Edits sent.
    pub edits_sent: u64,
    /// Whether the observers and a fresh client agree at the end.
    pub converged: bool,
    /// Peak RSS of the server, MiB, if `--pid` was given.
    pub server_rss_peak_mib: Option<f64>,
    /// Server CPU seconds over the ramp, if `--pid` was given.
    pub server_cpu_secs: Option<f64>,
    /// `/proc/loadavg` at the start and the end.
    pub loadavg: [String; 2],
    /// Which side ran out of CPU in the step that stopped the ramp (or the last step).
    pub limited_by: String,
}

/// Runs the ramp.
pub async fn execute(opts: Options) -> Result<RampReport> {
    let Options {
        target,
        settings,
        server,
        label,
        progress,
    } = opts;
    let loadavg_start = crate::run::loadavg();
    let url = target.doc_url(&format!("lt-{:08x}-ramp", fastrand::u32(..)));
    let counters = Arc::new(Counters::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Run);
    let room_synced = Arc::new(AtomicUsize::new(0));
    let mut writers = Writers::default();
    let author_docs: Vec<_> = (0..settings.max_authors)
        .map(|_| {
            let doc = Doc::new();
            let log = writers.add(doc.client_id());
            (doc, log)
        })
        .collect();
    let writers = Arc::new(writers);
    let spec = |doc: Doc, log, count_only, counters: &Arc<Counters>| Spec {
        url: url.clone(),
        doc,
        log,
        rate: 1000.0 / settings.type_every_ms,
        writers: writers.clone(),
        room_synced: room_synced.clone(),
        counters: counters.clone(),
        phase: phase_rx.clone(),
        count_only,
        chars: settings.chars,
        cursor: false,
    };
    let peak = server.map(Process::sample_peak);
    let cpu_start = server.map(|p| p.cpu_seconds()).transpose()?;
    let server_cpus = server.map(|p| p.allowed_cpus()).transpose()?;
    let generator = Process::current()?;
    let generator_cpus = generator.allowed_cpus()?;

    // Observers first: they see every edit from the first author on.
    let mut observers: Vec<JoinHandle<Outcome>> = (0..settings.observers)
        .map(|_| tokio::spawn(client::run(spec(Doc::new(), None, false, &counters))))
        .collect();
    let deadline = Instant::now() + client::SYNC_TIMEOUT;
    while counters.synced.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed)
        < settings.observers
        && Instant::now() < deadline
    {
        tokio::time::sleep(UNSEEN_POLL).await;
    }
    ensure!(
        counters.synced.load(Ordering::Relaxed) == settings.observers,
        "the observers could not connect to {url}"
    );

    let start = Instant::now();
    let step = Duration::from_secs_f64(settings.step_secs);
    let mut authors = author_docs.into_iter();
    let mut others: Vec<JoinHandle<Outcome>> = Vec::new();
    let (mut n_authors, mut n_lurkers) = (0, 0);
    let mut steps = Vec::new();
    let mut sustained = 0;
    let stop;
    let unseen_now = || {
        let sent = counters.edits.load(Ordering::Relaxed);
        let seen = counters.delivered.load(Ordering::Relaxed) / settings.observers as u64;
        sent.saturating_sub(seen)
    };
    counters.take_window();
    loop {
        for _ in 0..settings.authors_per_step {
            if let Some((doc, log)) = authors.next() {
                others.push(tokio::spawn(client::run(spec(
                    doc,
                    Some(log),
                    true,
                    &counters,
                ))));
                n_authors += 1;
            }
        }
        for _ in 0..settings.lurkers_per_step {
            others.push(tokio::spawn(client::run(spec(
                Doc::new(),
                None,
                true,
                &counters,
            ))));
            n_lurkers += 1;
        }
        let step_start = Instant::now();
        let server_cpu_before = server.map(|p| p.cpu_seconds()).transpose()?;
        let generator_cpu_before = generator.cpu_seconds()?;
        let edits_before = counters.edits.load(Ordering::Relaxed);
        let frames_before = counters.frames.load(Ordering::Relaxed);
        let mut unseen = u64::MAX;
        while step_start.elapsed() < step {
            tokio::time::sleep(UNSEEN_POLL).await;
            unseen = unseen.min(unseen_now());
        }
        let secs = step_start.elapsed().as_secs_f64();
        let server_cpu_secs = match (server, server_cpu_before) {
            (Some(p), Some(before)) => Some(p.cpu_seconds()? - before),
            _ => None,
        };
        let generator_cpu_secs = generator.cpu_seconds()? - generator_cpu_before;
        let frames = counters.frames.load(Ordering::Relaxed) - frames_before;
        let window = counters.take_window();
        let s = Step {
            at_secs: start.elapsed().as_secs_f64(),
            authors: n_authors,
            lurkers: n_lurkers,
            p99_ms: p99_ms(&window),
            unseen,
            edits_per_sec: (counters.edits.load(Ordering::Relaxed) - edits_before) as f64 / secs,
            frames_per_sec: frames as f64 / secs,
            server_cpu: server_cpu_secs
                .zip(server_cpus)
                .map(|(c, n)| c / secs / n as f64),
            generator_cpu: generator_cpu_secs / secs / generator_cpus as f64,
            server_us_per_frame: server_cpu_secs
                .filter(|_| frames > 0)
                .map(|c| c * 1e6 / frames as f64),
        };
        if progress {
            eprintln!(
                "[{:>5.1} s] authors {} lurkers {} | p99 {:.1} ms | unseen {} | {:.0} edits/s, {:.0} frames/s | failed {} | CPU: {}",
                s.at_secs, s.authors, s.lurkers, s.p99_ms, s.unseen, s.edits_per_sec,
                s.frames_per_sec, counters.failed.load(Ordering::Relaxed), s.limited_by()
            );
        }
        let failed = if s.p99_ms > settings.slo {
            Some(format!("p99 {:.1} ms > SLO {} ms", s.p99_ms, settings.slo))
        } else if s.unseen > settings.max_unseen {
            Some(format!(
                "{} edits unseen > {}",
                s.unseen, settings.max_unseen
            ))
        } else {
            None
        };
        let at = s.authors;
        steps.push(s);
        if let Some(why) = failed {
            stop = format!("{why} at {at} authors");
            break;
        }
        sustained = at;
        if n_authors >= settings.max_authors {
            stop = format!("--max-authors {} reached", settings.max_authors);
            break;
        }
        if start.elapsed().as_secs_f64() >= settings.max_secs {
            stop = format!("--max-secs {} reached", settings.max_secs);
            break;
        }
    }

    // Drain, then compare the observers with a fresh client.
    phase_tx.send_replace(Phase::Drain);
    let drain_start = Instant::now();
    while unseen_now() > 0 && drain_start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_cpu_secs = match (server, cpu_start) {
        (Some(p), Some(c)) => Some(p.cpu_seconds()? - c),
        _ => None,
    };
    let fresh = client::snapshot(&url).await;
    phase_tx.send_replace(Phase::Stop);
    let mut texts = Vec::new();
    for task in observers.drain(..) {
        texts.push(task.await.context("an observer failed")?);
    }
    let mut sync = crate::stats::histogram();
    let (mut connect_failures, mut lost) = (0, 0);
    let mut outcomes = Vec::with_capacity(others.len());
    for task in others {
        outcomes.push(task.await.context("a client failed")?);
    }
    for o in texts.iter().chain(&outcomes) {
        match &o.sync {
            Ok(d) => crate::stats::record(&mut sync, *d),
            Err(_) => connect_failures += 1,
        }
        lost += usize::from(o.lost.is_some());
    }
    let converged = match &fresh {
        Ok(server_text) => texts
            .iter()
            .filter(|o| o.lost.is_none())
            .all(|o| o.text.as_deref() == Some(server_text.as_str())),
        Err(_) => false,
    };
    let server_rss_peak_mib = match (server, peak) {
        (Some(p), Some(peak)) => {
            let m = p.memory()?;
            Some(peak.load(Ordering::Relaxed).max(m.hwm).max(m.rss) as f64 / MIB)
        }
        _ => None,
    };
    let limited_by = steps
        .last()
        .map_or_else(|| "no step ran".into(), Step::limited_by);
    Ok(RampReport {
        limited_by,
        label,
        sustained_authors: sustained,
        stop,
        steps,
        connect_failures,
        lost,
        sync: summarize(&sync),
        latency: summarize(&counters.latencies()),
        edits_sent: counters.edits.load(Ordering::Relaxed),
        converged,
        server_rss_peak_mib,
        server_cpu_secs,
        loadavg: [loadavg_start, crate::run::loadavg()],
        settings,
    })
}

impl RampReport {
    /// A few readable lines.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: sustained {} authors on one pad (p99 ≤ {} ms); stopped: {}",
            self.label, self.sustained_authors, self.settings.slo, self.stop
        );
        if let Some(l) = &self.latency {
            let _ = writeln!(
                out,
                "  latency   p50 {:.2} ms, p95 {:.2}, p99 {:.2}, p99.9 {:.2}, max {:.2} ({} samples)",
                l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
            );
        }
        let _ = writeln!(
            out,
            "  clients   {} failed to connect, {} lost; {} edits sent; converged {}",
            self.connect_failures,
            self.lost,
            self.edits_sent,
            if self.converged { "yes" } else { "NO" }
        );
        if let (Some(rss), Some(cpu)) = (self.server_rss_peak_mib, self.server_cpu_secs) {
            let _ = writeln!(out, "  server    CPU {cpu:.1} s, RSS peak {rss:.1} MiB");
        }
        let _ = writeln!(out, "  limit     {} in the last step", self.limited_by);
        let _ = writeln!(
            out,
            "  loadavg   {} at the start, {} at the end",
            self.loadavg[0], self.loadavg[1]
        );
        out
    }
}

/// A Markdown table of ramp reports.
pub fn table(reports: &[RampReport]) -> String {
    let mut out = String::from(
        "| server | authors sustained | stopped | limited by (last step) | p99 of last passing step ms | edits/s there | frames/s there | server CPU µs/frame there | converged |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let last = r
            .steps
            .iter()
            .rev()
            .find(|s| s.authors == r.sustained_authors);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.sustained_authors,
            r.stop,
            r.limited_by,
            last.map_or("–".into(), |s| format!("{:.1}", s.p99_ms)),
            last.map_or("–".into(), |s| format!("{:.0}", s.edits_per_sec)),
            last.map_or("–".into(), |s| format!("{:.0}", s.frames_per_sec)),
            last.and_then(|s| s.server_us_per_frame)
                .map_or("–".into(), |us| format!("{us:.2}")),
            if r.converged { "yes" } else { "NO" }
        );
    }
    out
}
