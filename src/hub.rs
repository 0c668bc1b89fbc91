//! The registry of live rooms: at most one room per document name, created on first use, so
//! concurrent first connections share a single load.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::awareness::ConnId;
use crate::config::Config;
use crate::meta::{DocMeta, NewDoc, ReadToken};
use crate::name::DocName;
use crate::outbox::Outbox;
use crate::room::{self, RoomError, RoomHandle, RoomParts, Unregister};
use crate::roomstats::RoomStats;
use crate::store::Store;

/// How often a join may find its room closing under it (unloading at that very moment) before
/// giving up; each retry starts a fresh room.
const JOIN_ATTEMPTS: usize = 4;

/// Why a connection could not join its document.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HubError {
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
    /// The document could not be loaded.
    #[error("document unavailable")]
    Unavailable,
}

/// All live rooms of the server.
pub struct Hub {
    rooms: Arc<DashMap<DocName, RoomHandle>>,
    store: Arc<dyn Store>,
    config: Arc<Config>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    next_id: AtomicU64,
    stats: Arc<RoomStats>,
}

impl Hub {
    /// Creates an empty registry; rooms stop when `shutdown` is cancelled.
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>, shutdown: CancellationToken) -> Self {
        Self {
            rooms: Arc::new(DashMap::new()),
            store,
            config,
            shutdown,
            tasks: TaskTracker::new(),
            next_id: AtomicU64::new(1),
            stats: Arc::default(),
        }
    }

    /// What the rooms count (updates, bytes, broadcast delay).
    pub fn room_stats(&self) -> &Arc<RoomStats> {
        &self.stats
    }

    /// The live room of `name`, started if there is none.
    fn room(&self, name: &DocName) -> Result<RoomHandle, HubError> {
        if self.shutdown.is_cancelled() {
            return Err(HubError::ShuttingDown);
        }
        if let Some(handle) = self.rooms.get(name) {
            return Ok(handle.clone());
        }
        let handle = self
            .rooms
            .entry(name.clone())
            .or_insert_with(|| {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let rooms = self.rooms.clone();
                let key = name.clone();
                let parts = RoomParts {
                    name: name.clone(),
                    id,
                    store: self.store.clone(),
                    config: self.config.clone(),
                    shutdown: self.shutdown.clone(),
                    stats: self.stats.clone(),
                    unregister: Unregister::new(move || {
                        rooms.remove_if(&key, |_, h| h.id() == id);
                    }),
                };
                room::spawn(parts, &self.tasks)
            })
            .clone();
        Ok(handle)
    }

    /// Runs `f` on the live room of `name`, retrying on a fresh room when it finds the room
    /// closing under it (an unload racing this request).
    async fn with_room<T, F, Fut>(&self, name: &DocName, f: F) -> Result<T, HubError>
    where
        F: Fn(RoomHandle) -> Fut,
        Fut: Future<Output = Result<T, RoomError>>,
    {
        for _ in 0..JOIN_ATTEMPTS {
            match f(self.room(name)?).await {
                Ok(value) => return Ok(value),
                Err(RoomError::Unavailable) => return Err(HubError::Unavailable),
                Err(RoomError::Closed) => continue,
            }
        }
        if self.shutdown.is_cancelled() {
            Err(HubError::ShuttingDown)
        } else {
            Err(HubError::Unavailable)
        }
    }

    /// Subscribes a connection to the room of `name`, loading the document if needed.
    pub async fn join(
        &self,
        name: &DocName,
        conn: ConnId,
        outbox: &Outbox,
        read_only: bool,
    ) -> Result<RoomHandle, HubError> {
        self.with_room(name, |room| {
            let outbox = outbox.clone();
            async move { room.join(conn, outbox, read_only).await.map(|()| room) }
        })
        .await
    }

    /// The metadata of `name`, creating the document first if `create` says how.
    pub async fn open(
        &self,
        name: &DocName,
        create: Option<NewDoc>,
    ) -> Result<Option<DocMeta>, HubError> {
        self.with_room(name, |room| async move { room.open(create).await })
            .await
    }

    /// The whole document `name` as one v1 update, read through its room (loading it if
    /// needed); `None` if it was never written.
    pub async fn snapshot(&self, name: &DocName) -> Result<Option<Vec<u8>>, HubError> {
        self.with_room(name, |room| async move { room.snapshot().await })
            .await
    }

    /// Whether document `name` exists (has been created), without loading it: asked of its
    /// room when it is live, else of storage, so probing unknown names costs no room.
    pub async fn exists(&self, name: &DocName) -> Result<bool, HubError> {
        let live = self.rooms.get(name).map(|room| room.clone());
        if let Some(room) = live {
            if let Ok(meta) = room.open(None).await {
                return Ok(meta.is_some());
            }
        }
        let store = self.store.clone();
        let key = name.clone();
        tokio::task::spawn_blocking(move || store.meta(key.as_str()))
            .await
            .map_err(|_| HubError::Unavailable)?
            .map(|meta| meta.is_some())
            .map_err(|e| {
                tracing::error!(doc = %name, error = %e, "cannot read metadata");
                HubError::Unavailable
            })
    }

    /// Whether storage answers reads.
    pub async fn storage_ready(&self) -> bool {
        let store = self.store.clone();
        matches!(
            tokio::task::spawn_blocking(move || store.meta("")).await,
            Ok(Ok(_))
        )
    }

    /// The document a read-only token designates, if any.
    pub async fn resolve_token(&self, token: &ReadToken) -> Result<Option<DocName>, HubError> {
        let store = self.store.clone();
        let token = token.clone();
        let found = tokio::task::spawn_blocking(move || store.token_name(token.as_str()))
            .await
            .map_err(|_| HubError::Unavailable)?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot read the token index");
                HubError::Unavailable
            })?;
        // Names in the index were validated when stored; a bad one means a corrupt index.
        Ok(found.and_then(|name| DocName::parse(&name).ok()))
    }

    /// Number of loaded documents.
    pub fn live_rooms(&self) -> usize {
        self.rooms.len()
    }

    /// Waits until every room has persisted and stopped (after `shutdown` was cancelled).
    pub async fn wait_stopped(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
