//! What every handler shares: the server's state, handed to each route by axum.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::doc::meta::{DocMeta, NewDoc};
use crate::doc::name::DocName;
use crate::http::accept::Slots;
use crate::http::gate::BodyBudget;
use crate::http::metrics::{Metrics, Refusal};
use crate::http::ratelimit::IpLimits;
use crate::service::admission::AdmissionHandle;
use crate::service::nodes::Reporter;
use crate::service::{creation, ServiceError};
use crate::store::Store;
use crate::sync::hub::Hub;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Live rooms.
    pub hub: Arc<Hub>,
    /// Storage, for the use cases that work on it directly (backups).
    pub store: Arc<dyn Store>,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket connections so shutdown can wait for their close frames.
    pub connections: TaskTracker,
    /// Bounds how many exports run at once, so downloads cannot starve the editors.
    pub exports: Arc<Semaphore>,
    /// Whether new documents may be created.
    pub admission: AdmissionHandle,
    /// This node's live figures, for the admin page's list of nodes.
    pub reporter: Arc<Reporter>,
    /// Counters and gauges for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Per-address budgets of requests and upgrades.
    pub limits: Arc<IpLimits>,
    /// Open TCP connections, counted by the accept loop.
    pub slots: Arc<Slots>,
    /// Bytes of request bodies held at once (`gate`).
    pub bodies: Arc<BodyBudget>,
}

impl AppState {
    /// The metadata of `name`, creating it as `new` if it is missing and creation is open: the
    /// edge's one door to `creation::open`, which counts each refusal once for `/metrics`.
    pub(crate) async fn open_or_create(
        &self,
        name: &DocName,
        new: NewDoc,
    ) -> Result<DocMeta, ServiceError> {
        let opened = creation::open(&self.hub, &self.admission, name, new).await;
        if let Err(ServiceError::CreationClosed(..)) = opened {
            self.metrics.refused(Refusal::CreationClosed);
        }
        opened
    }
}
