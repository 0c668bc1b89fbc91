//! ardoise: a real-time collaborative pad and calc server speaking the y-websocket protocol.
//! See ARCHITECTURE.md for the map of modules and their invariants.
//!
//! Each module is a layer and imports only the layers above it in this list (the `layers` test
//! below reads the sources and fails otherwise):
//! - `doc`: what a document is (names, metadata, lifetimes, secrets, edits, update bounds, the
//!   calc model); pure, no tokio;
//! - `config`: the one `Config` (flags, environment, TOML file);
//! - `convert`: pad and calc files in and out; pure;
//! - `store`: the `Store` trait and its engine, backups, migrations;
//! - `sync`: the protocol and the live documents (rooms, the hub); tokio, no HTTP;
//! - `service`: what every edge shares: may a document be created now, admission, retention,
//!   exports and backups as use cases;
//! - `migrate`: `ardoise migrate`, bringing documents from other servers into a stopped
//!   server's data directory (an HTTP client, no server);
//! - `http`: the only layer that knows axum: the route table (`http::routes`), pages, the edge's
//!   error type, extractors, WebSockets, the accept loop.

pub mod config;
pub mod convert;
pub mod doc;
pub mod http;
pub mod migrate;
pub mod service;
pub mod store;
pub mod sync;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::store::{Store, StoreError};
use crate::sync::hub::Hub;

/// Exports that may run at once; each holds a blocking thread and a core.
const EXPORTS_AT_ONCE: usize = 2;

/// Request bodies of the largest size the server may hold at once (`http::gate::BodyBudget`); past
/// them, another body is refused with 503 until one is done.
const BODIES_AT_ONCE: usize = 4;

/// How long shutdown waits for connections to send their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database could not be opened or flushed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The listener failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

impl ServerError {
    /// Whether the data directory is open in another process (a running server): its database
    /// file is locked.
    pub fn data_in_use(&self) -> bool {
        match self {
            ServerError::Store(StoreError::Db(redb::Error::DatabaseAlreadyOpen)) => true,
            // sled says so only in the text of an I/O error.
            ServerError::Store(StoreError::Sled(sled::Error::Io(e))) => {
                e.to_string().contains("could not acquire lock")
            }
            _ => false,
        }
    }
}

/// An opened server, ready to serve on a listener.
pub struct Server {
    config: Arc<Config>,
    store: Arc<dyn Store>,
}

impl Server {
    /// Opens the configured storage engine (`--store`; by default redb in the data directory).
    pub fn open(config: Config) -> Result<Self, ServerError> {
        std::fs::create_dir_all(&config.data)?;
        let url = config.store_url();
        let store = store::open_engine(
            &url,
            Path::new(&config.data),
            config.cache_bytes,
            Duration::from_millis(config.flush_interval_ms.max(1)),
        )?;
        tracing::info!(engine = url.engine(), "storage open");
        Ok(Self {
            config: Arc::new(config),
            store,
        })
    }

    /// Runs `ardoise migrate etherpad` on the data directory instead of serving: see
    /// [`migrate`].
    pub async fn migrate_etherpad(
        self,
        args: config::migrate::EtherpadArgs,
    ) -> Result<migrate::Report, migrate::MigrateError> {
        migrate::etherpad(&self.config, self.store, args).await
    }

    /// Serves on `listener` until `shutdown` resolves, then closes every WebSocket with 1001,
    /// persists every room and flushes storage.
    pub async fn run(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        // Other nodes forward to `http://LISTEN` when no URL is advertised: with `--listen
        // …:0`, only the bound socket knows the port.
        if let Ok(bound) = listener.local_addr() {
            Arc::make_mut(&mut self.config).listen = bound;
        }
        let token = CancellationToken::new();
        let hub = Arc::new(Hub::new(self.store.clone(), &self.config, token.clone()));
        let connections = TaskTracker::new();
        let load = {
            let hub = hub.clone();
            let connections = connections.clone();
            Arc::new(move || service::admission::Inputs {
                rooms: hub.live_rooms(),
                connections: connections.len(),
                // The worst delay since the previous sample: one late broadcast is a late
                // keystroke on every screen of its document.
                broadcast_delay_ms: hub.room_stats().take_window_max_ms(),
            })
        };
        let sweeper = service::sweeper::Sweeper {
            hub: hub.clone(),
            store: self.store.clone(),
            clock: sync::clock::Clock::system(),
            archive: self.config.retention_archive_dir.clone(),
        }
        .spawn(self.config.sweep_interval(), token.clone());
        let migration = store::migrate::spawn(self.store.clone(), token.clone());
        let renewal = sync::hub::spawn_lease_renewal(hub.clone(), token.clone());
        let mut metrics = http::metrics::Metrics::default();
        metrics.register_rooms(hub.room_stats());
        if let Some(node) = hub.node() {
            metrics.register_node(&node.id);
        }
        let metrics = Arc::new(metrics);
        let slots = http::accept::Slots::new(
            http::accept::effective_cap(self.config.max_connections),
            self.config.max_connections_per_address,
        );
        let admission =
            service::admission::spawn(self.config.shedding.clone(), load, token.clone());
        let live = {
            let hub = hub.clone();
            let connections = connections.clone();
            Arc::new(move || service::nodes::Live {
                rooms: hub.live_rooms(),
                connections: connections.len(),
            })
        };
        let reporter = Arc::new(service::nodes::Reporter::new(
            &self.config,
            admission.clone(),
            live,
        ));
        let announcer = service::nodes::spawn(
            reporter.clone(),
            self.store.clone(),
            self.config.lease(),
            token.clone(),
        );
        let app = http::router(http::AppState {
            hub: hub.clone(),
            store: self.store.clone(),
            config: self.config.clone(),
            shutdown: token.clone(),
            connections: connections.clone(),
            exports: Arc::new(tokio::sync::Semaphore::new(EXPORTS_AT_ONCE)),
            admission,
            reporter,
            metrics: metrics.clone(),
            limits: Arc::new(http::ratelimit::IpLimits::new(
                self.config.ip_requests_per_sec,
                self.config.ip_upgrades_per_sec,
            )),
            slots: slots.clone(),
            bodies: http::gate::BodyBudget::new(
                BODIES_AT_ONCE.saturating_mul(
                    self.config
                        .max_import_bytes
                        .max(self.config.api_max_body_bytes),
                ),
            ),
        });
        let stop = token.clone();
        let settings = http::accept::Settings {
            header_timeout: self.config.http_header_timeout(),
            trust_proxy: self.config.trust_proxy,
        };
        http::accept::serve(listener, app, settings, slots, metrics, async move {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
        })
        .await;
        token.cancel();
        // The sweeper stops between two erasures; each of them completes or never started.
        if sweeper.await.is_err() {
            tracing::error!("the retention sweeper panicked");
        }
        if migration.await.is_err() {
            tracing::error!("the migration task panicked");
        }
        if announcer.await.is_err() {
            tracing::error!("the node report task panicked");
        }
        if renewal.await.is_err() {
            tracing::error!("the lease renewal task panicked");
        }
        hub.wait_stopped().await;
        connections.close();
        if tokio::time::timeout(CLOSE_GRACE, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time");
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .unwrap_or(Err(StoreError::Panicked))?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The layering of ARCHITECTURE.md, checked from the sources so that an upward import fails the
/// build's tests, not a review: each folder of `src/` is a layer, and a file may name (`crate::…`)
/// only layers listed before its own, and none of the crates its layer keeps out.
#[cfg(test)]
mod layers {
    use std::path::{Path, PathBuf};

    /// Lowest first: each layer with the crates it must not use.
    const LAYERS: [(&str, &[&str]); 8] = [
        ("doc", &["tokio", "axum", "hyper", "tower_service"]),
        ("config", &["tokio", "axum", "hyper", "tower_service"]),
        ("convert", &["tokio", "axum", "hyper", "tower_service"]),
        ("store", &["axum", "hyper", "tower_service"]),
        ("sync", &["axum", "hyper", "tower_service"]),
        ("service", &["axum", "hyper", "tower_service"]),
        ("migrate", &["axum", "hyper", "tower_service"]),
        ("http", &[]),
    ];

    /// Most top-level modules `src/` may hold, so that a newcomer sees the layers at a glance.
    const MAX_TOP_LEVEL: usize = 12;

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("src is readable")
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The names a line takes from the crate root: `crate::x` and each name of `crate::{x, y}`.
    fn crate_names(line: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `ardoise_crate::`, not ours
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                names.extend(
                    group[..end]
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or("").to_owned()),
                );
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                names.push(rest[..end].to_owned());
            }
        }
        names
    }

    fn uses_crate(line: &str, krate: &str) -> bool {
        line.match_indices(&format!("{krate}::")).any(|(at, _)| {
            !line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        })
    }

    #[test]
    fn imports_point_down_and_forbidden_crates_stay_out() {
        let rank = |name: &str| LAYERS.iter().position(|(layer, _)| *layer == name);
        let mut wrong = Vec::new();
        for (own, (layer, forbidden)) in LAYERS.iter().enumerate() {
            let mut files = Vec::new();
            rust_files(&src().join(layer), &mut files);
            assert!(!files.is_empty(), "layer {layer} has no files");
            for file in files {
                let text = std::fs::read_to_string(&file).expect("source is readable");
                for (n, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("//") {
                        continue;
                    }
                    let at = format!("{}:{}", file.display(), n + 1);
                    for name in crate_names(code) {
                        if rank(&name).is_some_and(|r| r > own) {
                            wrong.push(format!("{at}: {layer} imports {name} (a higher layer)"));
                        }
                    }
                    for krate in forbidden.iter() {
                        if uses_crate(code, krate) {
                            wrong.push(format!("{at}: {layer} uses {krate}"));
                        }
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
    }

    #[test]
    fn few_top_level_modules() {
        let top: Vec<_> = std::fs::read_dir(src())
            .expect("src is readable")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n != "lib.rs" && n != "main.rs")
            .collect();
        assert!(
            top.len() <= MAX_TOP_LEVEL,
            "{} top-level modules: {top:?}",
            top.len()
        );
        for (layer, _) in LAYERS {
            assert!(top.iter().any(|n| n == layer), "no src/{layer}");
        }
    }

    #[test]
    fn the_checker_sees_imports() {
        assert_eq!(crate_names("use crate::http::AppState;"), ["http"]);
        assert_eq!(crate_names("use crate::{doc, sync::hub};"), ["doc", "sync"]);
        assert!(crate_names("ardoise_crate::x").is_empty());
        assert!(uses_crate("use axum::Router;", "axum"));
        assert!(!uses_crate("my_axum::x", "axum"));
    }
}
