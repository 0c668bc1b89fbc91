//! Prometheus metrics (`GET /metrics`): the server's load, the admission state and each of its
//! signals, and refusals by reason. Gauges are read at scrape time from their owners, so there
//! is no second copy of the state to keep in step.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;

use crate::service::admission::{AdmissionState, Signal};
use crate::store::Health;
use crate::sync::roomstats::RoomStats;

/// Why a request was refused, as counted in `ardoise_refusals_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// A new document while creation is closed.
    CreationClosed,
    /// A page or API request over its address's rate (429).
    RequestRate,
    /// A WebSocket upgrade over its address's rate (429).
    UpgradeRate,
    /// A TCP connection past the cap on open connections (closed at once).
    ConnectionsTotal,
    /// A TCP connection past its address's cap on open connections (closed at once).
    ConnectionsPerAddress,
}

impl Refusal {
    /// Every reason, so each is exported from the start.
    const ALL: [Refusal; 5] = [
        Refusal::CreationClosed,
        Refusal::RequestRate,
        Refusal::UpgradeRate,
        Refusal::ConnectionsTotal,
        Refusal::ConnectionsPerAddress,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::CreationClosed => "creation_closed",
            Refusal::RequestRate => "request_rate",
            Refusal::UpgradeRate => "upgrade_rate",
            Refusal::ConnectionsTotal => "connections_total",
            Refusal::ConnectionsPerAddress => "connections_per_address",
        }
    }
}

/// WebSocket connections closed for sending over their rate. Process-wide, because the
/// connection tasks that count it are given no handle to [`Metrics`].
static CONNECTIONS_CUT: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Counts one connection closed for exceeding its message or byte rate.
pub fn count_connection_cut() {
    CONNECTIONS_CUT.inc();
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NodeLabel {
    node: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SignalLabel {
    signal: &'static str,
}

/// What the server exposes to Prometheus.
pub struct Metrics {
    registry: Registry,
    connections: Gauge,
    tcp_connections: Gauge,
    rooms: Gauge,
    stored_documents: Gauge,
    rss_bytes: Gauge,
    creation_open: Gauge,
    storage_writable: Gauge,
    storage_errors: Counter,
    commit_batches: Counter,
    commit_writes: Counter,
    signals: Family<SignalLabel, Gauge<f64, AtomicU64>>,
    refusals: Family<ReasonLabel, Counter>,
    /// WebSocket connections and HTTP requests forwarded to the node that holds their
    /// document's lease.
    pub proxied: Counter,
}

/// Point-in-time values read from their owners when scraped.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Live WebSocket connections.
    pub connections: usize,
    /// Open TCP connections (HTTP and upgraded WebSocket).
    pub tcp_connections: usize,
    /// Loaded documents.
    pub rooms: usize,
    /// Documents in storage.
    pub stored_documents: u64,
    /// Resident memory of the process, in bytes (0 if unknown).
    pub rss_bytes: u64,
    /// The admission controller's state.
    pub admission: AdmissionState,
    /// Whether storage is open, and its failed calls.
    pub storage: Health,
    /// Grouped storage commits so far, and the room flushes they wrote.
    pub commits: (u64, u64),
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ardoise");
        let connections = Gauge::default();
        let tcp_connections = Gauge::default();
        let rooms = Gauge::default();
        let creation_open = Gauge::default();
        let stored_documents = Gauge::default();
        let rss_bytes = Gauge::default();
        let signals = Family::<SignalLabel, Gauge<f64, AtomicU64>>::default();
        let refusals = Family::<ReasonLabel, Counter>::default();
        let storage_writable = Gauge::default();
        let storage_errors = Counter::default();
        registry.register(
            "storage_writable",
            "1 while storage is open, 0 after an I/O error (a full disk) until it is reopened",
            storage_writable.clone(),
        );
        registry.register(
            "storage_errors",
            "Storage calls that failed on an I/O error (a full disk), and failed attempts to reopen",
            storage_errors.clone(),
        );
        let commit_batches = Counter::default();
        let commit_writes = Counter::default();
        registry.register(
            "store_commit_batches",
            "Storage transactions of grouped room flushes (with --sync, one fsync each)",
            commit_batches.clone(),
        );
        registry.register(
            "store_commit_writes",
            "Room flushes written by those transactions (over the batches: the mean batch)",
            commit_writes.clone(),
        );
        registry.register(
            "connections",
            "Live WebSocket connections",
            connections.clone(),
        );
        registry.register(
            "tcp_connections",
            "Open TCP connections, HTTP and upgraded WebSocket (capped by --max-connections)",
            tcp_connections.clone(),
        );
        registry.register("rooms", "Documents loaded in memory", rooms.clone());
        registry.register(
            "stored_documents",
            "Documents in storage",
            stored_documents.clone(),
        );
        registry.register(
            "resident_memory_bytes",
            "Resident memory (RSS) of the process",
            rss_bytes.clone(),
        );
        registry.register(
            "creation_open",
            "1 while new documents may be created, 0 while creation is shed",
            creation_open.clone(),
        );
        registry.register(
            "admission_signal",
            "Latest value of each load signal (NaN when unknown)",
            signals.clone(),
        );
        registry.register("refusals", "Requests refused, by reason", refusals.clone());
        let proxied = Counter::default();
        registry.register(
            "proxied_connections",
            "WebSocket connections and HTTP requests forwarded to the node holding their document",
            proxied.clone(),
        );
        registry.register(
            "rate_limited_connections",
            "WebSocket connections closed (1013) for sending over their message or byte rate",
            CONNECTIONS_CUT.clone(),
        );
        // Every reason appears from the start, so rates work before the first refusal.
        for why in Refusal::ALL {
            drop(refusals.get_or_create(&ReasonLabel {
                reason: why.label(),
            }));
        }
        Self {
            registry,
            connections,
            tcp_connections,
            rooms,
            stored_documents,
            rss_bytes,
            creation_open,
            storage_writable,
            storage_errors,
            commit_batches,
            commit_writes,
            signals,
            refusals,
            proxied,
        }
    }
}

impl Metrics {
    /// Names the node that answers in every scrape (`ardoise_node_info{node="…"} 1`), so a
    /// scrape through a load balancer says which node it reached.
    pub fn register_node(&mut self, node: &str) {
        let info = Family::<NodeLabel, Gauge>::default();
        info.get_or_create(&NodeLabel {
            node: node.to_owned(),
        })
        .set(1);
        self.registry
            .register("node_info", "The node (--node-id) that answered", info);
    }

    /// Registers the rooms' counters and histograms (`ardoise_room_*`), shared with their
    /// owner, so a scrape reads the live values.
    pub fn register_rooms(&mut self, stats: &RoomStats) {
        let room = self.registry.sub_registry_with_prefix("room");
        room.register(
            "updates_in",
            "Document updates accepted from connections",
            stats.updates_in.clone(),
        );
        room.register_with_unit(
            "updates_in",
            "Bytes of document updates accepted from connections",
            Unit::Bytes,
            stats.update_bytes_in.clone(),
        );
        room.register(
            "broadcasts",
            "Update broadcasts, one frame each after coalescing",
            stats.broadcasts.clone(),
        );
        room.register_with_unit(
            "sent",
            "Bytes queued to connections (frame size times recipients)",
            Unit::Bytes,
            stats.bytes_out.clone(),
        );
        room.register_with_unit(
            "broadcast_delay",
            "Arrival of a broadcast's oldest update at its room to the broadcast being queued",
            Unit::Seconds,
            stats.broadcast_delay.clone(),
        );
        room.register_with_unit(
            "persist_lag",
            "Arrival of a log entry's oldest update at its room to its append to storage",
            Unit::Seconds,
            stats.persist_lag.clone(),
        );
    }

    /// Counts one refusal.
    pub fn refused(&self, why: Refusal) {
        self.refusals
            .get_or_create(&ReasonLabel {
                reason: why.label(),
            })
            .inc();
    }

    /// Renders the Prometheus text exposition with `now`'s values.
    pub fn render(&self, now: &Snapshot) -> String {
        self.connections
            .set(i64::try_from(now.connections).unwrap_or(i64::MAX));
        self.tcp_connections
            .set(i64::try_from(now.tcp_connections).unwrap_or(i64::MAX));
        self.rooms.set(i64::try_from(now.rooms).unwrap_or(i64::MAX));
        self.stored_documents
            .set(i64::try_from(now.stored_documents).unwrap_or(i64::MAX));
        self.rss_bytes
            .set(i64::try_from(now.rss_bytes).unwrap_or(i64::MAX));
        self.creation_open.set(i64::from(now.admission.open));
        self.storage_writable.set(i64::from(now.storage.writable));
        // The store owns the count; the counter mirrors it (it only grows).
        self.storage_errors
            .inner()
            .store(now.storage.errors, std::sync::atomic::Ordering::Relaxed);
        let (batches, writes) = now.commits;
        self.commit_batches
            .inner()
            .store(batches, std::sync::atomic::Ordering::Relaxed);
        self.commit_writes
            .inner()
            .store(writes, std::sync::atomic::Ordering::Relaxed);
        for signal in Signal::ALL {
            self.signals
                .get_or_create(&SignalLabel {
                    signal: signal.name(),
                })
                .set(now.admission.last.get(signal));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
