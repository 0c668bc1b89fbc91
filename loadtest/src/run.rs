//! One run: connect every client, let the writers edit, drain, check convergence, measure.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use yrs::Doc;

use crate::client::{self, Counters, Failure, Outcome, Phase, Spec, SYNC_TIMEOUT};
use crate::proc::{Memory, Process};
use crate::report::{Noise, Report, ServerReport, StormReport, MIB};
use crate::scenario::Plan;
use crate::stats::{histogram, record, summarize};
use crate::target::Target;

/// Pause after the last client synced before the server's memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// How often the drain checks whether everything arrived.
const DRAIN_POLL: Duration = Duration::from_millis(10);
/// Failure messages kept in the report.
const FAILURE_SAMPLES: usize = 5;

/// What to run, against what.
pub struct Options {
    /// The server's WebSocket endpoint.
    pub target: Target,
    /// The load.
    pub plan: Plan,
    /// The server process, to read its CPU and memory.
    pub server: Option<Process>,
    /// Name of the server in the report.
    pub label: String,
    /// Whether to print a progress line every second on stderr.
    pub progress: bool,
}

/// One document under load.
struct Room {
    name: String,
    writers: Arc<crate::track::Writers>,
    synced: Arc<AtomicUsize>,
}

/// Runs the plan and reports.
pub async fn execute(opts: Options) -> Result<Report> {
    let Options {
        target,
        plan,
        server,
        label,
        progress,
    } = opts;
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let loadavg_start = loadavg();
    let run_id = format!("{:08x}", fastrand::u32(..));
    let counters = Arc::new(Counters::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);

    // Replicas are made before anyone connects, so every writer's clientID is known.
    let mut rooms = Vec::with_capacity(plan.docs);
    let mut specs = Vec::with_capacity(plan.doc_clients());
    for d in 0..plan.docs {
        let mut writers = crate::track::Writers::default();
        let mut members = Vec::with_capacity(plan.writers + plan.readers);
        for _ in 0..plan.writers {
            let doc = Doc::new();
            let log = writers.add(doc.client_id());
            members.push((doc, Some(log)));
        }
        members.extend((0..plan.readers).map(|_| (Doc::new(), None)));
        let room = Room {
            name: format!("lt-{run_id}-{d}"),
            writers: Arc::new(writers),
            synced: Arc::new(AtomicUsize::new(0)),
        };
        let url = target.doc_url(&room.name);
        for (doc, log) in members {
            let count_only = plan.count_readers && log.is_none();
            specs.push((
                d,
                Spec {
                    url: url.clone(),
                    doc,
                    log,
                    rate: plan.rate,
                    writers: room.writers.clone(),
                    room_synced: room.synced.clone(),
                    counters: counters.clone(),
                    phase: phase_rx.clone(),
                    count_only,
                    chars: plan.chars,
                    cursor: plan.cursor,
                },
            ));
        }
        rooms.push(room);
    }

    let me = Process::new(std::process::id())?;
    let noise_start = NoiseProbe::read(server, me);
    let noise_clock = Instant::now();
    let mem_before = memory(server)?;
    let peak = server.map(Process::sample_peak);
    let reporter = progress.then(|| spawn_progress(counters.clone(), plan.doc_clients()));

    // Connect at the configured pace and wait for every client to be synced or failed.
    let mut clients: Vec<(usize, JoinHandle<Outcome>)> = Vec::with_capacity(specs.len());
    let mut pace = pacer(plan.connect_rate);
    for (d, spec) in specs {
        pace.tick().await;
        clients.push((d, tokio::spawn(client::run(spec))));
    }
    let all = clients.len();
    let deadline = Instant::now() + SYNC_TIMEOUT + Duration::from_secs(5);
    while counters.synced.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed) < all
        && Instant::now() < deadline
    {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    tokio::time::sleep(SETTLE).await;
    let mem_connected = memory(server)?;

    // The measured phase.
    let cpu_start = cpu(server)?;
    let run_start = Instant::now();
    phase_tx.send_replace(Phase::Run);
    let storm =
        (plan.storm_conns > 0).then(|| spawn_storm(&target, &run_id, &plan, phase_rx.clone()));
    tokio::time::sleep(plan.duration()).await;
    phase_tx.send_replace(Phase::Drain);
    let run_secs = run_start.elapsed().as_secs_f64();
    // No writer sends once it has seen `Drain`; wait for all of them so that the counts read
    // below are final.
    let quiet_deadline = Instant::now() + plan.drain();
    while counters.editing.load(Ordering::SeqCst) > 0 && Instant::now() < quiet_deadline {
        tokio::time::sleep(DRAIN_POLL).await;
    }

    // Each edit is expected at every other decoding client of its document: with counting
    // readers, only the writers decode.
    let expected = || -> u64 {
        rooms
            .iter()
            .map(|r| {
                let synced = r.synced.load(Ordering::Relaxed);
                let decoding = if plan.count_readers {
                    synced.min(plan.writers)
                } else {
                    synced
                };
                (r.writers.edits_sent() * decoding.saturating_sub(1)) as u64
            })
            .sum()
    };
    let drain_start = Instant::now();
    while counters.delivered.load(Ordering::Relaxed) < expected()
        && drain_start.elapsed() < plan.drain()
    {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let drain_secs = drain_start.elapsed().as_secs_f64();
    let cpu_secs = cpu(server)? - cpu_start;
    let noise = NoiseProbe::read(server, me).since(&noise_start, noise_clock.elapsed());
    let measured_secs = run_start.elapsed().as_secs_f64();
    let mem_end = memory(server)?;
    let expected = expected();
    let delivered = counters.delivered.load(Ordering::Relaxed);
    let edits_sent = counters.edits.load(Ordering::Relaxed);

    // The storm ends on its own; its clients stay connected until the stop.
    let storm_clients = match storm {
        Some(task) => task.await.context("the storm task failed")?,
        None => Vec::new(),
    };

    // What the server holds, seen by a fresh client, for every document that was edited.
    let mut fresh = HashMap::new();
    let mut pace = pacer(plan.connect_rate);
    let checks: Vec<_> = rooms
        .iter()
        .enumerate()
        .filter(|(_, r)| r.writers.edits_sent() > 0)
        .map(|(d, r)| (d, target.doc_url(&r.name)))
        .collect();
    let mut pending = Vec::with_capacity(checks.len());
    for (d, url) in checks {
        pace.tick().await;
        pending.push((d, tokio::spawn(async move { client::snapshot(&url).await })));
    }
    for (d, task) in pending {
        fresh.insert(d, task.await.context("a snapshot task failed")?);
    }

    phase_tx.send_replace(Phase::Stop);
    let mut outcomes = Vec::with_capacity(clients.len());
    for (d, task) in clients {
        outcomes.push((d, task.await.context("a client task failed")?));
    }
    let mut storm_outcomes = Vec::with_capacity(storm_clients.len());
    for task in storm_clients {
        storm_outcomes.push(task.await.context("a storm client failed")?);
    }
    if let Some(reporter) = reporter {
        reporter.abort();
    }

    // Convergence: every live replica of a document, and a fresh client, hold the same text.
    let mut texts: Vec<Vec<&str>> = vec![Vec::new(); rooms.len()];
    for (d, o) in &outcomes {
        if let (Some(text), None) = (&o.text, &o.lost) {
            texts[*d].push(text);
        }
    }
    let mut diverged = Vec::new();
    let mut docs_checked = 0;
    for (d, room) in rooms.iter().enumerate() {
        let Some(server_text) = fresh.get(&d) else {
            continue;
        };
        docs_checked += 1;
        let agree = match server_text {
            Ok(server_text) => texts[d].iter().all(|t| t == server_text),
            Err(_) => false,
        };
        if !agree {
            diverged.push(room.name.clone());
        }
    }

    let mut failure_samples = Vec::new();
    let mut note = |f: &Failure| {
        if failure_samples.len() < FAILURE_SAMPLES {
            failure_samples.push(f.to_string());
        }
    };
    let mut sync = histogram();
    let (mut synced, mut failed, mut lost) = (0, 0, 0);
    for (_, o) in outcomes {
        match &o.sync {
            Ok(d) => {
                synced += 1;
                record(&mut sync, *d);
            }
            Err(f) => {
                failed += 1;
                note(f);
            }
        }
        if let Some(f) = &o.lost {
            lost += 1;
            note(f);
        }
    }
    for f in fresh.values().filter_map(|r| r.as_ref().err()) {
        note(f);
    }
    let storm = (plan.storm_conns > 0).then(|| storm_report(&storm_outcomes, &mut note));

    let server = match (server, peak) {
        (Some(_), Some(peak)) => {
            let peak = peak
                .load(Ordering::Relaxed)
                .max(mem_end.hwm)
                .max(mem_end.rss);
            Some(ServerReport {
                cpu_secs,
                cpu_per_1k: (delivered > 0).then(|| cpu_secs / (delivered as f64 / 1000.0)),
                cpu_share: cpu_secs / measured_secs,
                rss_before_mib: mem_before.rss as f64 / MIB,
                rss_connected_mib: mem_connected.rss as f64 / MIB,
                rss_end_mib: mem_end.rss as f64 / MIB,
                rss_peak_mib: peak as f64 / MIB,
                bytes_per_conn: (synced > 0)
                    .then(|| (mem_connected.rss as f64 - mem_before.rss as f64) / synced as f64),
            })
        }
        _ => None,
    };

    Ok(Report {
        label,
        scenario: format!("{:?}", plan.scenario).to_lowercase(),
        plan: serde_json::to_value(&plan)?,
        started_unix,
        loadavg: [loadavg_start, loadavg()],
        clients: all,
        synced,
        connect_failures: failed,
        lost,
        failure_samples,
        sync: summarize(&sync),
        run_secs,
        drain_secs,
        edits_sent,
        expected,
        delivered,
        missing: expected.saturating_sub(delivered),
        delivered_per_sec: delivered as f64 / run_secs,
        latency: summarize(&counters.latencies()),
        frames_counted: counters.frames.load(Ordering::Relaxed),
        docs_checked,
        diverged_count: diverged.len(),
        converged: diverged.is_empty(),
        diverged: diverged.into_iter().take(10).collect(),
        noise,
        server,
        storm,
    })
}

/// Cumulative counters read at both ends of the measured phase.
struct NoiseProbe {
    machine: Option<f64>,
    server_cpu: Option<f64>,
    server_wait: Option<f64>,
    own_cpu: Option<f64>,
    own_wait: Option<f64>,
}

impl NoiseProbe {
    fn read(server: Option<Process>, me: Process) -> Self {
        Self {
            machine: crate::proc::machine_busy_seconds().ok(),
            server_cpu: server.and_then(|p| p.cpu_seconds().ok()),
            server_wait: server.and_then(|p| p.wait_seconds().ok()),
            own_cpu: me.cpu_seconds().ok(),
            own_wait: me.wait_seconds().ok(),
        }
    }

    fn since(&self, start: &Self, elapsed: Duration) -> Noise {
        let delta = |end: Option<f64>, start: Option<f64>| Some(end? - start?);
        let secs = elapsed.as_secs_f64();
        let others = || {
            let machine = delta(self.machine, start.machine)?;
            let server = delta(self.server_cpu, start.server_cpu).unwrap_or(0.0);
            let own = delta(self.own_cpu, start.own_cpu)?;
            Some(((machine - server - own) / secs).max(0.0))
        };
        Noise {
            other_cores: others(),
            generator_cores: delta(self.own_cpu, start.own_cpu).map(|c| c / secs),
            server_wait_secs: delta(self.server_wait, start.server_wait),
            generator_wait_secs: delta(self.own_wait, start.own_wait),
        }
    }
}

/// Opens `plan.storm_conns` connections to brand-new documents at `plan.storm_rate`; returns
/// the clients' tasks once all are started.
fn spawn_storm(
    target: &Target,
    run_id: &str,
    plan: &Plan,
    phase: watch::Receiver<Phase>,
) -> JoinHandle<Vec<JoinHandle<Outcome>>> {
    let urls: Vec<String> = (0..plan.storm_conns)
        .map(|i| target.doc_url(&format!("lt-{run_id}-new-{i}")))
        .collect();
    let rate = plan.storm_rate;
    tokio::spawn(async move {
        let mut pace = pacer(rate);
        let mut tasks = Vec::with_capacity(urls.len());
        for url in urls {
            pace.tick().await;
            tasks.push(tokio::spawn(client::run(Spec {
                url,
                doc: Doc::new(),
                log: None,
                rate: 0.0,
                writers: Arc::default(),
                room_synced: Arc::default(),
                // The storm's clients are counted apart from the documents' clients.
                counters: Arc::default(),
                phase: phase.clone(),
                count_only: false,
                chars: 1,
                cursor: false,
            })));
        }
        tasks
    })
}

fn storm_report(outcomes: &[Outcome], note: &mut impl FnMut(&Failure)) -> StormReport {
    let mut report = StormReport {
        attempted: outcomes.len(),
        created: 0,
        refused: 0,
        errors: 0,
        lost: 0,
        sync: None,
    };
    let mut sync = histogram();
    for o in outcomes {
        if let Some(f) = &o.lost {
            report.lost += 1;
            note(f);
        }
        match &o.sync {
            Ok(d) => {
                report.created += 1;
                record(&mut sync, *d);
            }
            Err(f @ Failure::Refused(_)) => {
                report.refused += 1;
                note(f);
            }
            Err(f) => {
                report.errors += 1;
                note(f);
            }
        }
    }
    report.sync = summarize(&sync);
    report
}

/// Ticks `rate` times per second, the first tick at once; late ticks come in a burst so that
/// the average rate holds.
fn pacer(rate: f64) -> tokio::time::Interval {
    tokio::time::interval(Duration::from_secs_f64(1.0 / rate))
}

/// The three load averages of this machine, or "?" if unreadable.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn memory(server: Option<Process>) -> Result<Memory> {
    server.map_or(Ok(Memory::default()), |p| p.memory())
}

fn cpu(server: Option<Process>) -> Result<f64> {
    server.map_or(Ok(0.0), |p| p.cpu_seconds())
}

/// Prints one progress line a second on stderr.
fn spawn_progress(counters: Arc<Counters>, clients: usize) -> JoinHandle<()> {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last = 0;
        loop {
            tick.tick().await;
            let delivered = counters.delivered.load(Ordering::Relaxed);
            eprintln!(
                "[{:>4.0} s] synced {}/{} failed {} | edits {} | delivered {} ({}/s)",
                start.elapsed().as_secs_f64(),
                counters.synced.load(Ordering::Relaxed),
                clients,
                counters.failed.load(Ordering::Relaxed),
                counters.edits.load(Ordering::Relaxed),
                delivered,
                delivered - last,
            );
            last = delivered;
        }
    })
}
