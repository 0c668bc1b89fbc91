//! ardoise: a real-time collaborative pad and calc server speaking the y-websocket protocol.
//! See ARCHITECTURE.md for the map of modules and their invariants.

pub mod config;
pub mod convert;
pub mod doc;
pub mod http;
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

/// An opened server, ready to serve on a listener.
pub struct Server {
    config: Arc<Config>,
    store: Arc<dyn Store>,
}

impl Server {
    /// Opens the database in the configured data directory.
    pub fn open(config: Config) -> Result<Self, ServerError> {
        std::fs::create_dir_all(&config.data)?;
        let store = store::open(
            Path::new(&config.data),
            config.cache_bytes,
            Duration::from_millis(config.flush_interval_ms.max(1)),
        )?;
        Ok(Self {
            config: Arc::new(config),
            store: Arc::new(store),
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then closes every WebSocket with 1001,
    /// persists every room and flushes storage.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let token = CancellationToken::new();
        let hub = Arc::new(Hub::new(
            self.store.clone(),
            self.config.clone(),
            token.clone(),
        ));
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
            clock: doc::lifetime::Clock::system(),
            archive: self.config.retention_archive_dir.clone(),
        }
        .spawn(self.config.sweep_interval(), token.clone());
        let migration = store::migrate::spawn(self.store.clone(), token.clone());
        let mut metrics = http::metrics::Metrics::default();
        metrics.register_rooms(hub.room_stats());
        let metrics = Arc::new(metrics);
        let slots = http::accept::Slots::new(
            http::accept::effective_cap(self.config.max_connections),
            self.config.max_connections_per_address,
        );
        let admission =
            service::admission::spawn(self.config.shedding.clone(), load, token.clone());
        let app = http::router(http::AppState {
            hub: hub.clone(),
            config: self.config.clone(),
            shutdown: token.clone(),
            connections: connections.clone(),
            exports: Arc::new(tokio::sync::Semaphore::new(EXPORTS_AT_ONCE)),
            admission,
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
