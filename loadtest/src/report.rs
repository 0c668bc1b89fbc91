//! What a run measured: the JSON report, its human summary and the Markdown table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::stats::Summary;

/// The result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Name of the server measured (`--label`).
    pub label: String,
    /// The scenario preset.
    pub scenario: String,
    /// Documents, writers and readers per document, rate, durations, as run.
    pub plan: serde_json::Value,
    /// When the run started, in seconds since the Unix epoch.
    pub started_unix: u64,
    /// `/proc/loadavg` of this machine when the run started and when it ended: other work on
    /// the machine makes the figures noisy.
    pub loadavg: [String; 2],
    /// Clients of the documents under load.
    pub clients: usize,
    /// Of those, how many synced.
    pub synced: usize,
    /// Of those, how many could not connect or sync, with the first reasons.
    pub connect_failures: usize,
    /// Connections lost after sync.
    pub lost: usize,
    /// First failure messages, for diagnosis.
    pub failure_samples: Vec<String>,
    /// Connect → synced of the documents' clients.
    pub sync: Option<Summary>,
    /// Length of the measured phase (edits), in seconds.
    pub run_secs: f64,
    /// Length of the drain actually waited, in seconds.
    pub drain_secs: f64,
    /// Edits sent by all writers.
    pub edits_sent: u64,
    /// (edit, receiving client) pairs expected: each edit at every other synced client.
    pub expected: u64,
    /// (edit, receiving client) pairs integrated.
    pub delivered: u64,
    /// `expected − delivered` after the drain.
    pub missing: u64,
    /// `delivered / run_secs`.
    pub delivered_per_sec: f64,
    /// Writer send → edit integrated at a receiving client.
    pub latency: Option<Summary>,
    /// Frames counted (not decoded) by counting readers.
    #[serde(default)]
    pub frames_counted: u64,
    /// Documents whose replicas were compared (those with writers).
    pub docs_checked: usize,
    /// Names of documents whose live replicas or fresh client disagreed (at most 10).
    pub diverged: Vec<String>,
    /// Number of documents that diverged.
    pub diverged_count: usize,
    /// Whether every checked document converged.
    pub converged: bool,
    /// How busy the machine was besides the server and the generator, from the first connection
    /// to the end of the drain.
    pub noise: Noise,
    /// The server process, if `--server-pid` was given.
    pub server: Option<ServerReport>,
    /// The create storm, if one ran.
    pub storm: Option<StormReport>,
}

/// The server's CPU and memory during the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerReport {
    /// User + system CPU seconds from the start of the edits to the end of the drain.
    pub cpu_secs: f64,
    /// `cpu_secs` per 1,000 deliveries.
    pub cpu_per_1k: Option<f64>,
    /// CPU busy share over the same window (1.0 = one core).
    pub cpu_share: f64,
    /// RSS before any client connected, MiB.
    pub rss_before_mib: f64,
    /// RSS once every client was connected and synced (after a settle), MiB.
    pub rss_connected_mib: f64,
    /// RSS at the end of the drain, MiB.
    pub rss_end_mib: f64,
    /// Peak RSS seen (sampled every 100 ms, and VmHWM), MiB.
    pub rss_peak_mib: f64,
    /// `(rss_connected − rss_before) / synced clients`, bytes.
    pub bytes_per_conn: Option<f64>,
}

/// Signs that something else competed for the CPUs during the run (connections, edits, drain).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Noise {
    /// CPU used by every other process of the machine, in cores (0.0–2.0 on two cores).
    pub other_cores: Option<f64>,
    /// CPU used by the generator itself, in cores (it must stay well under 1.0).
    pub generator_cores: Option<f64>,
    /// Seconds the server's threads were runnable but waiting for a CPU (other processes, and
    /// the server's own threads competing for its one core).
    pub server_wait_secs: Option<f64>,
    /// Seconds the generator's threads were runnable but waiting for a CPU.
    pub generator_wait_secs: Option<f64>,
}

/// Connections to brand-new documents opened during the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StormReport {
    /// Connections attempted.
    pub attempted: usize,
    /// Connections synced (document created).
    pub created: usize,
    /// Connections refused (503/429 at upgrade, close 1013).
    pub refused: usize,
    /// Other failures.
    pub errors: usize,
    /// Created, then lost before the end of the run.
    #[serde(default)]
    pub lost: usize,
    /// Connect → synced of the created ones.
    pub sync: Option<Summary>,
}

/// Bytes in a mebibyte.
pub const MIB: f64 = 1024.0 * 1024.0;

impl Report {
    /// A few readable lines.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} scenario {}: {}/{} clients synced ({} failed, {} lost later)",
            self.label, self.scenario, self.synced, self.clients, self.connect_failures, self.lost
        );
        if let Some(s) = &self.sync {
            let _ = writeln!(out, "  sync      {}", summary_line(s));
        }
        if self.edits_sent > 0 {
            let _ = writeln!(
                out,
                "  edits     {} sent in {:.1} s; delivered {} of {} ({} missing after a {:.1} s drain), {:.0}/s",
                self.edits_sent, self.run_secs, self.delivered, self.expected, self.missing,
                self.drain_secs, self.delivered_per_sec
            );
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(out, "  latency   {}", summary_line(l));
        }
        let _ = writeln!(
            out,
            "  converged {} ({} documents checked{})",
            if self.converged { "yes" } else { "NO" },
            self.docs_checked,
            if self.diverged.is_empty() {
                String::new()
            } else {
                format!(", diverged: {}", self.diverged.join(" "))
            }
        );
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "  server    CPU {:.2} s ({:.0} %){}; RSS {:.1} → {:.1} → {:.1} MiB, peak {:.1}{}",
                s.cpu_secs,
                s.cpu_share * 100.0,
                s.cpu_per_1k
                    .map(|c| format!(", {c:.4} s per 1k deliveries"))
                    .unwrap_or_default(),
                s.rss_before_mib,
                s.rss_connected_mib,
                s.rss_end_mib,
                s.rss_peak_mib,
                s.bytes_per_conn
                    .map(|b| format!(", {b:.0} bytes/conn"))
                    .unwrap_or_default()
            );
        }
        if let Some(st) = &self.storm {
            let _ = writeln!(
                out,
                "  storm     {} attempted: {} created ({} lost later), {} refused, {} errors{}",
                st.attempted,
                st.created,
                st.lost,
                st.refused,
                st.errors,
                st.sync
                    .as_ref()
                    .map(|s| format!("; sync {}", summary_line(s)))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "  noise     loadavg {} at the start, {} at the end; {}",
            self.loadavg[0],
            self.loadavg[1],
            self.noise.line()
        );
        for f in &self.failure_samples {
            let _ = writeln!(out, "  failure   {f}");
        }
        out
    }
}

impl Noise {
    /// One readable line.
    pub fn line(&self) -> String {
        let secs = |x: Option<f64>| x.map_or_else(|| "?".into(), |x| format!("{x:.2} s"));
        format!(
            "other processes {} cores, generator {} cores; CPU wait: server {}, generator {}",
            self.other_cores
                .map_or_else(|| "?".into(), |c| format!("{c:.2}")),
            self.generator_cores
                .map_or_else(|| "?".into(), |c| format!("{c:.2}")),
            secs(self.server_wait_secs),
            secs(self.generator_wait_secs)
        )
    }
}

fn summary_line(s: &Summary) -> String {
    format!(
        "p50 {:.2} ms, p95 {:.2}, p99 {:.2}, p99.9 {:.2}, max {:.2} ({} samples)",
        s.p50_ms, s.p95_ms, s.p99_ms, s.p999_ms, s.max_ms, s.count
    )
}

/// A Markdown table of reports, with the columns of PEERS.md plus missing and convergence.
pub fn table(reports: &[Report]) -> String {
    let mut out = String::from(
        "| server | scenario | p50 / p99 ms | delivered/s | missing | converged | CPU s/1k | RSS peak MiB | bytes/conn | notes |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let idle = r.edits_sent == 0;
        let latency = if idle {
            r.sync
                .as_ref()
                .map(|s| format!("sync {:.2} / {:.1}", s.p50_ms, s.p99_ms))
        } else {
            r.latency
                .as_ref()
                .map(|s| format!("{:.2} / {:.1}", s.p50_ms, s.p99_ms))
        }
        .unwrap_or_else(|| "–".into());
        let dash = || "–".to_string();
        let server = r.server.as_ref();
        let mut notes = Vec::new();
        if r.plan.get("cursor") == Some(&serde_json::Value::Bool(true)) {
            notes.push("cursor moves".to_string());
        }
        if r.connect_failures + r.lost > 0 {
            notes.push(format!(
                "{} connect failures, {} lost",
                r.connect_failures, r.lost
            ));
        }
        if let Some(st) = &r.storm {
            notes.push(format!(
                "storm {}/{} created, {} refused, {} errors, sync p99 {}",
                st.created,
                st.attempted,
                st.refused,
                st.errors,
                st.sync
                    .as_ref()
                    .map_or_else(dash, |s| format!("{:.1} ms", s.p99_ms))
            ));
        }
        if let Some(s) = server {
            notes.push(format!("server CPU {:.0} %", s.cpu_share * 100.0));
        }
        if let Some(c) = r.noise.other_cores {
            notes.push(format!("others {c:.2} cores"));
        }
        if let Some(c) = r.noise.generator_cores {
            notes.push(format!("generator {c:.2} cores"));
        }
        if let (Some(s), Some(g)) = (r.noise.server_wait_secs, r.noise.generator_wait_secs) {
            notes.push(format!("CPU wait server {s:.2} s, generator {g:.2} s"));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.scenario,
            latency,
            if idle {
                dash()
            } else {
                thousands(r.delivered_per_sec)
            },
            if idle { dash() } else { r.missing.to_string() },
            if idle {
                dash()
            } else if r.converged {
                "yes".into()
            } else {
                format!("NO ({})", r.diverged_count)
            },
            server
                .and_then(|s| s.cpu_per_1k)
                .filter(|_| !idle)
                .map_or_else(dash, |c| format!("{c:.3}")),
            server.map_or_else(dash, |s| format!("{:.0}", s.rss_peak_mib)),
            server
                .and_then(|s| s.bytes_per_conn)
                .filter(|_| idle)
                .map_or_else(dash, thousands),
            notes.join("; "),
        );
    }
    out
}

/// `1234.6` → `"1,235"`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.2), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(7960.4), "7,960");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(-22907.0), "-22,907");
    }
}
