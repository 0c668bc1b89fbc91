//! This node's report of itself (its load, and whether it lets documents be created) for the
//! admin page's list of nodes, and the task that writes it to the shared database every third
//! of a lease, so every node of a cluster lists the others. A node alone on its database (no
//! `--node-id`) writes nothing, and lists itself only.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::service::admission::AdmissionHandle;
use crate::store::{NodeReport, SeenNode, Store, StoreError};
use crate::sync::node::Node;
use crate::sync::periodic;

/// How stale a report may be, in lease lengths, before its node is shown as not answering: a
/// node reports every third of a lease, so this misses several reports in a row.
pub const ALIVE_LEASES: u32 = 3;

/// What only the server counts: its live documents and WebSocket connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Live (loaded) documents.
    pub rooms: usize,
    /// Live WebSocket connections.
    pub connections: usize,
}

/// Reads this node's live figures.
pub struct Reporter {
    /// `--node-id`, if it is one of several nodes.
    node: Option<Node>,
    /// What a node alone advertises: `--advertise-url`, else its listening address.
    url: String,
    started_at: u64,
    admission: AdmissionHandle,
    /// Not admission's own inputs: reading those takes the broadcast delay's window from
    /// the sampler.
    live: Arc<dyn Fn() -> Live + Send + Sync>,
}

impl Reporter {
    /// The reporter of the server `config` describes (its listening address already bound),
    /// started now, reading its counts through `live` and the rest through `admission`.
    pub fn new(
        config: &Config,
        admission: AdmissionHandle,
        live: Arc<dyn Fn() -> Live + Send + Sync>,
    ) -> Self {
        let node = Node::from_config(config);
        let url = match &node {
            Some(node) => node.url.clone(),
            None => config
                .advertise_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.listen)),
        };
        let started_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            node,
            url,
            started_at,
            admission,
            live,
        }
    }

    /// This node's `--node-id`, if it has one.
    pub fn id(&self) -> Option<&str> {
        self.node.as_ref().map(|n| n.id.as_str())
    }

    /// This node's figures now (id empty for a node without `--node-id`).
    pub fn now(&self) -> NodeReport {
        let load = (self.live)();
        let admission = self.admission.state();
        let finite = |v: f64| v.is_finite().then_some(v);
        NodeReport {
            id: self.id().unwrap_or_default().to_owned(),
            url: self.url.clone(),
            rooms: u64::try_from(load.rooms).unwrap_or(u64::MAX),
            connections: u64::try_from(load.connections).unwrap_or(u64::MAX),
            creation_open: admission.open,
            mode: mode_name(admission.mode).to_owned(),
            cause: admission
                .cause
                .map(|(signal, value)| (signal.name().to_owned(), value)),
            cpu_percent: finite(admission.last.cpu_percent),
            memory_mib: finite(admission.last.memory_mib),
            started_at: self.started_at,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

fn mode_name(mode: crate::config::shedding::Mode) -> &'static str {
    use crate::config::shedding::Mode;
    match mode {
        Mode::Auto => "auto",
        Mode::Open => "open",
        Mode::Closed => "closed",
    }
}

/// Whether a node last seen `age` ago (by the database's clock) still answers, with leases of
/// `lease`.
pub fn alive(age: Duration, lease: Duration) -> bool {
    age <= lease.saturating_mul(ALIVE_LEASES)
}

/// The other nodes' latest reports (this node's own row left out: its live figures are
/// fresher), read on the blocking pool.
pub async fn others(
    store: Arc<dyn Store>,
    me: Option<String>,
) -> Result<Vec<SeenNode>, StoreError> {
    let all = tokio::task::spawn_blocking(move || store.nodes())
        .await
        .unwrap_or(Err(StoreError::Panicked))?;
    Ok(all
        .into_iter()
        .filter(|n| Some(&n.report.id) != me.as_ref())
        .collect())
}

/// Starts reporting this node every third of `lease` until `shutdown`, then withdraws its
/// report; does nothing for a node without `--node-id`. Failures are logged, never fatal:
/// the list of nodes is for the operator, and the node serves its documents without it.
pub fn spawn(
    reporter: Arc<Reporter>,
    store: Arc<dyn Store>,
    lease: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(id) = reporter.id().map(str::to_owned) else {
            return;
        };
        let every = periodic::within_lease(lease);
        let messages = (
            "could not write this node's report for the admin page",
            "node report written again",
        );
        let report = || {
            let report = reporter.now();
            let store = store.clone();
            // Bounded: every PostgreSQL call gives up after its own timeout.
            async move {
                tokio::task::spawn_blocking(move || store.announce(&report))
                    .await
                    .unwrap_or(Err(StoreError::Panicked))
            }
        };
        let now = tokio::time::Instant::now();
        periodic::every(now, every, &shutdown, messages, report).await;
        let result = tokio::task::spawn_blocking(move || store.withdraw(&id))
            .await
            .unwrap_or(Err(StoreError::Panicked));
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not withdraw this node's report; the admin page will show it as not answering");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_answers_for_three_leases_after_its_last_report() {
        let lease = Duration::from_secs(10);
        assert!(alive(Duration::ZERO, lease));
        assert!(alive(Duration::from_secs(30), lease));
        assert!(!alive(Duration::from_secs(31), lease));
    }
}
