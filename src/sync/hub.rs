//! The registry of live rooms: at most one room per document name, created on first use, so
//! concurrent first connections share a single load.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::doc::edit::{EditRefused, TextEdit};
use crate::doc::history::Origin;
use crate::doc::meta::{DocMeta, NewDoc, ReadToken};
use crate::doc::name::DocName;
use crate::store::group::Committer;
use crate::store::{Health, Store, StoreError};
use crate::sync::awareness::ConnId;
use crate::sync::clock::Clock;
use crate::sync::node::Node;
use crate::sync::outbox::Outbox;
use crate::sync::periodic;
use crate::sync::room::{
    self, Applied, DeleteIf, Replacement, Restored, RoomError, RoomHandle, RoomParts, RoomSettings,
    Unregister,
};
use crate::sync::roomstats::RoomStats;

/// How often a join may find its room closing under it (unloading at that very moment) before
/// giving up; each retry starts a fresh room.
const JOIN_ATTEMPTS: usize = 4;

/// Checkpoints (with the history thinning each one starts) the server makes at once. Rooms
/// that began together come due together: three hundred classroom pads checkpointing in the
/// same second stalled every pad for most of a second (BENCHMARKS.md); one writing while
/// another encodes is all the store's single writer can use.
const CHECKPOINTS_AT_ONCE: usize = 2;

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

/// A stored document as listed by [`Hub::list`].
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// Its name.
    pub name: DocName,
    /// Its metadata.
    pub meta: DocMeta,
    /// Bytes stored for it (snapshot and log).
    pub bytes: u64,
}

/// All live rooms of the server.
pub struct Hub {
    rooms: Arc<DashMap<DocName, RoomHandle>>,
    store: Arc<dyn Store>,
    /// Every room's log writes, grouped.
    committer: Arc<Committer>,
    /// What every room reads from the configuration, taken once.
    settings: RoomSettings,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    next_id: AtomicU64,
    clock: Clock,
    /// The operator's message to every open pad (`None` when there is none).
    notice: watch::Sender<Option<Arc<str>>>,
    stats: Arc<RoomStats>,
    /// Permits to checkpoint, shared by every room ([`CHECKPOINTS_AT_ONCE`]).
    checkpoints: Arc<Semaphore>,
    node: Option<Arc<Node>>,
}

impl Hub {
    /// Creates an empty registry; rooms stop when `shutdown` is cancelled.
    pub fn new(store: Arc<dyn Store>, config: &Config, shutdown: CancellationToken) -> Self {
        Self {
            rooms: Arc::new(DashMap::new()),
            committer: Arc::new(Committer::new(store.clone())),
            store,
            settings: RoomSettings::from_config(config),
            shutdown,
            tasks: TaskTracker::new(),
            next_id: AtomicU64::new(1),
            clock: Clock::system(),
            notice: watch::Sender::new(None),
            stats: Arc::default(),
            checkpoints: Arc::new(Semaphore::new(CHECKPOINTS_AT_ONCE)),
            node: Node::from_config(config).map(Arc::new),
        }
    }

    /// The permits rooms take to checkpoint (tests hold them to keep every room waiting).
    #[cfg(test)]
    pub(in crate::sync) fn checkpoint_permits(&self) -> Arc<Semaphore> {
        self.checkpoints.clone()
    }

    /// This server, as its leases name it; `None` when it is alone on its database.
    pub fn node(&self) -> Option<&Arc<Node>> {
        self.node.as_ref()
    }

    /// Uses `clock` for edit times and expiry instead of the system clock (tests under paused
    /// time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// What the rooms count (updates, bytes, broadcast delay).
    pub fn room_stats(&self) -> &Arc<RoomStats> {
        &self.stats
    }

    /// Renews every lease this node holds in one storage call and closes the rooms whose
    /// lease moved on to another node; nothing for a server alone on its database.
    pub async fn renew_leases(&self) -> Result<(), StoreError> {
        let Some(node) = &self.node else {
            return Ok(());
        };
        let (store, owner, ttl) = (self.store.clone(), node.id.clone(), self.settings.lease);
        let lost = tokio::task::spawn_blocking(move || store.renew_leases(&owner, ttl))
            .await
            .unwrap_or(Err(StoreError::Panicked))?;
        for lease in lost {
            let Ok(name) = DocName::parse(&lease.name) else {
                continue;
            };
            if let Some(room) = self.rooms.get(&name).map(|r| r.clone()) {
                // Told from a task of its own: a room whose queue is full (busy writing) must
                // not hold back the next renewal of every other lease. A room that closed
                // meanwhile has nothing left to close.
                tokio::spawn(async move {
                    let _ = room.lease_lost(lease).await;
                });
            }
        }
        Ok(())
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
                    committer: self.committer.clone(),
                    settings: self.settings,
                    shutdown: self.shutdown.clone(),
                    stats: self.stats.clone(),
                    checkpoints: self.checkpoints.clone(),
                    unregister: Unregister::new(move || {
                        rooms.remove_if(&key, |_, h| h.id() == id);
                    }),
                    clock: self.clock,
                    connections: Default::default(),
                    node: self.node.clone(),
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
    ///
    /// Metadata is read first (the live room's, else storage's): only a creation that is
    /// going ahead loads or spawns a room, so asking for a missing document without `create`
    /// (a refused creation, a probe) leaves nothing in the hub. Callers decide `create`
    /// through `service::creation::open`.
    pub async fn open(
        &self,
        name: &DocName,
        create: Option<NewDoc>,
    ) -> Result<Option<DocMeta>, HubError> {
        if let Some(meta) = self.meta(name).await? {
            return Ok(Some(meta));
        }
        let Some(create) = create else {
            return Ok(None);
        };
        // The room checks again: a creation racing this one finds the document and keeps it.
        self.with_room(
            name,
            move |room| async move { room.open(Some(create)).await },
        )
        .await
    }

    /// The whole document `name` as one v1 update, read through its room (loading it if
    /// needed); `None` if it was never written.
    pub async fn snapshot(&self, name: &DocName) -> Result<Option<Vec<u8>>, HubError> {
        self.with_room(name, |room| async move { room.snapshot().await })
            .await
    }

    /// Applies a server-made v1 update (an import, an API edit) to document `name` through its
    /// room, which persists then broadcasts it like a client's update.
    pub async fn apply(&self, name: &DocName, update: &[u8]) -> Result<Applied, HubError> {
        self.with_room(name, |room| async move {
            // Made by the server itself, but from client data (an import, a command): it goes
            // through the same guard as a client's update. Failing to decode it is a bug.
            let checked = crate::sync::inbound::CheckedUpdate::decode(update).map_err(|e| {
                tracing::error!(doc = %name, error = %e, "server-made update refused");
                RoomError::Unavailable
            })?;
            room.apply(checked).await
        })
        .await
    }

    /// Makes the content of document `name` that of `state` (a whole earlier version, as one v1
    /// update) as a new edit through its room, recorded as restoring revision `from`: persisted,
    /// then broadcast to live editors. Answers with the new revision's number.
    pub async fn restore(
        &self,
        name: &DocName,
        state: Vec<u8>,
        from: u64,
    ) -> Result<Restored, HubError> {
        let replacement = Replacement {
            state,
            origin: Origin::Restore { from },
            history: Vec::new(),
        };
        self.replace(name, replacement).await
    }

    /// Makes the content of document `name` that of `replacement` (an import, a restore) as a
    /// new edit through its room: persisted, then broadcast to live editors. Answers with the
    /// number of its last log entry.
    pub async fn replace(
        &self,
        name: &DocName,
        replacement: Replacement,
    ) -> Result<Restored, HubError> {
        // A missing document loads no room (its room would answer the same).
        if !self.exists(name).await? {
            return Ok(Restored::Missing);
        }
        self.with_room(name, |room| {
            let replacement = replacement.clone();
            async move { room.replace(replacement).await }
        })
        .await
    }

    /// The store, for reads that must not go through a room (history).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Applies a text edit to pad `name` through its room, so live editors see it at once;
    /// answers with the metadata once the edit is persisted.
    pub async fn edit(
        &self,
        name: &DocName,
        edit: TextEdit,
    ) -> Result<Result<DocMeta, EditRefused>, HubError> {
        self.with_room(name, |room| {
            let edit = edit.clone();
            async move { room.edit(edit).await }
        })
        .await
    }

    /// Whether document `name` exists (has been created), without loading it: asked of its
    /// room when it is live, else of storage, so probing unknown names costs no room.
    pub async fn exists(&self, name: &DocName) -> Result<bool, HubError> {
        if let Some(meta) = self.live_meta(name).await {
            return Ok(meta.is_some());
        }
        // Unreadable metadata still counts as a document (it can be erased).
        Ok(self.stored_meta(name).await?.is_some())
    }

    /// The metadata of document `name` (`None` if it was never created), without loading it:
    /// asked of its room when it is live, else of storage.
    pub async fn meta(&self, name: &DocName) -> Result<Option<DocMeta>, HubError> {
        if let Some(meta) = self.live_meta(name).await {
            return Ok(meta);
        }
        match self.stored_meta(name).await? {
            None => Ok(None),
            Some(bytes) => DocMeta::from_bytes(&bytes).map(Some).map_err(|e| {
                tracing::error!(doc = %name, error = %e, "unreadable metadata");
                HubError::Unavailable
            }),
        }
    }

    /// The live room's answer, if the room is live and answers.
    async fn live_meta(&self, name: &DocName) -> Option<Option<DocMeta>> {
        let room = self.rooms.get(name).map(|room| room.clone())?;
        room.open(None).await.ok()
    }

    /// The stored metadata bytes of `name`, read on the blocking pool.
    async fn stored_meta(&self, name: &DocName) -> Result<Option<Vec<u8>>, HubError> {
        let store = self.store.clone();
        let key = name.clone();
        tokio::task::spawn_blocking(move || store.meta(key.as_str()))
            .await
            .map_err(|_| HubError::Unavailable)?
            .map_err(|e| {
                tracing::error!(doc = %name, error = %e, "cannot read metadata");
                HubError::Unavailable
            })
    }

    /// Erases document `name` (loading its room if needed, so no connection can race the
    /// erasure) and disconnects its clients with `reason`; whether it existed.
    pub async fn delete(&self, name: &DocName, reason: &str) -> Result<bool, HubError> {
        self.delete_if(name, reason, DeleteIf::Always).await
    }

    /// Like [`Hub::delete`], but only if `only_if` holds for the document's metadata as its
    /// room sees it at that moment; whether it was erased.
    pub async fn delete_if(
        &self,
        name: &DocName,
        reason: &str,
        only_if: DeleteIf,
    ) -> Result<bool, HubError> {
        self.with_room(name, |room| {
            let reason = reason.to_owned();
            async move { room.delete(reason, only_if).await }
        })
        .await
    }

    /// A page of stored documents whose names start with `prefix`, in name order, after
    /// `after`; with each document's metadata and stored size.
    pub async fn list(
        &self,
        prefix: &str,
        after: Option<&DocName>,
        limit: usize,
    ) -> Result<Vec<StoredDoc>, HubError> {
        let store = self.store.clone();
        let prefix = prefix.to_owned();
        let after = after.map(|a| a.as_str().to_owned());
        let listed = tokio::task::spawn_blocking(move || {
            store
                .list(&prefix, after.as_deref(), limit)?
                .into_iter()
                .map(|doc| Ok((store.size(&doc.name)?, doc)))
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await
        .map_err(|_| HubError::Unavailable)?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot list documents");
            HubError::Unavailable
        })?;
        let mut docs = Vec::with_capacity(listed.len());
        for (bytes, doc) in listed {
            // Stored names were validated on the way in; anything else is a corrupt entry.
            let (Ok(name), Ok(meta)) = (DocName::parse(&doc.name), DocMeta::from_bytes(&doc.meta))
            else {
                tracing::warn!("skipping a corrupt metadata entry");
                continue;
            };
            docs.push(StoredDoc { name, meta, bytes });
        }
        Ok(docs)
    }

    /// Whether storage can write: commits a probe write (a full disk still answers reads).
    pub async fn storage_ready(&self) -> bool {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.writable()).await {
            Ok(Ok(())) => true,
            // Logged by the store when it failed; not again on every probe.
            Ok(Err(StoreError::Unavailable)) => false,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness probe: storage cannot write");
                false
            }
            Err(_) => false,
        }
    }

    /// Whether storage is open, and how many of its calls failed (for `/metrics`).
    pub fn storage_health(&self) -> Health {
        self.store.health()
    }

    /// Grouped storage commits so far, and the room flushes they wrote (zero for an engine
    /// that writes each flush alone).
    pub fn commits(&self) -> (u64, u64) {
        (self.committer.batches(), self.committer.writes())
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

    /// Connections to document `name` (0 when it is not loaded).
    pub fn live_connections(&self, name: &DocName) -> usize {
        self.rooms.get(name).map_or(0, |room| room.connections())
    }

    /// Documents in storage (a counter, not a scan).
    pub fn stored_documents(&self) -> u64 {
        self.store.count()
    }

    /// Sets (`Some`) or clears (`None`) the message shown to every open pad; connections
    /// watching [`Hub::notices`] send it on.
    pub fn set_notice(&self, text: Option<String>) {
        self.notice.send_replace(text.map(Arc::from));
    }

    /// The current message to every open pad.
    pub fn notice(&self) -> Option<Arc<str>> {
        self.notice.borrow().clone()
    }

    /// Watches the message to every open pad; the current one counts as unseen.
    pub fn notices(&self) -> watch::Receiver<Option<Arc<str>>> {
        let mut rx = self.notice.subscribe();
        rx.mark_changed();
        rx
    }

    /// Waits until every room has persisted and stopped (after `shutdown` was cancelled).
    pub async fn wait_stopped(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        // The rooms' last writes are answered: the store's final flush may follow.
        self.committer.stop().await;
    }
}

/// Renews this node's leases every third of their length until `shutdown` (two renewals may
/// fail, a slow database, before a lease expires); does nothing for a server alone on its
/// database. One statement a round for the whole node, so a quiet room has no timer of its
/// own. Failures are logged once per run of them and retried at the next round: meanwhile
/// storage refuses this node's writes of any document another node took over.
pub fn spawn_lease_renewal(hub: Arc<Hub>, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        if hub.node.is_none() {
            return;
        }
        let every = periodic::within_lease(hub.settings.lease);
        let messages = (
            "cannot renew this node's document leases",
            "document leases renewed again",
        );
        let first = tokio::time::Instant::now() + every;
        periodic::every(first, every, &shutdown, messages, || hub.renew_leases()).await;
    })
}
