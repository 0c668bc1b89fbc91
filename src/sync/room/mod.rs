//! One task per live document. It owns the yrs `Doc` and the room's awareness, applies what
//! connections send, persists each batch through the [`Store`](crate::store::Store), then
//! encodes the result once and fans the same `Bytes` out to every subscriber. Nothing else
//! touches the document, so no lock or transaction is ever held across an `.await`.
//!
//! Broadcasts are throttled to one per `--broadcast-tick-ms`: the first change after a quiet
//! tick goes out at once, later ones wait for the end of the tick and leave as one merged
//! update (and one awareness frame), one log entry, one encoding shared by every subscriber.
//!
//! This file is the room's public face (its handle, what it answers, how it is started).
//! `core.rs` holds its decisions as plain functions with unit tests; `task.rs` is the tokio
//! task that carries them out (storage on the blocking pool, frames through outboxes);
//! `load.rs` rebuilds a document from storage.

mod core;
mod load;
mod task;

pub(in crate::sync) use self::core::RoomSettings;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::doc::edit::{EditRefused, TextEdit};
use crate::doc::history::{EntryInfo, Origin};
use crate::doc::meta::{DocMeta, NewDoc};
use crate::doc::name::DocName;
use crate::doc::secret::CreatorHash;
use crate::store::{Lease, Store};
use crate::sync::awareness::ConnId;
use crate::sync::clock::Clock;
use crate::sync::inbound::{CheckedUpdate, Inbound};
use crate::sync::node::Node;
use crate::sync::outbox::Outbox;
use crate::sync::roomstats::RoomStats;

/// Most commands handled in one tick: their updates become one transaction, one log entry and
/// one broadcast frame.
const MAX_BATCH: usize = 256;

/// What connections ask of a room: sent only through [`RoomHandle`]'s methods.
#[derive(Debug)]
pub(in crate::sync) enum Command {
    /// Subscribe a connection; the room sends it step 1 and the awareness states, then answers.
    Join {
        /// The connection.
        conn: ConnId,
        /// Where the room sends the connection's frames.
        outbox: Outbox,
        /// Whether the connection may only read (its updates are dropped).
        read_only: bool,
        /// Answered once the connection is subscribed.
        ack: oneshot::Sender<Result<(), RoomError>>,
    },
    /// Unsubscribe a connection and remove the awareness states it introduced.
    Leave {
        /// The connection.
        conn: ConnId,
    },
    /// Asks for the document's metadata, creating the document first if `create` says how.
    Open {
        /// How to create the document if it does not exist yet.
        create: Option<NewDoc>,
        /// Answered with the metadata, or `None` if the document does not exist.
        reply: oneshot::Sender<Result<Option<DocMeta>, RoomError>>,
    },
    /// Asks for the whole document as one v1 update, or `None` if it was never written.
    Snapshot {
        /// Answered with the snapshot.
        reply: oneshot::Sender<Option<Vec<u8>>>,
    },
    /// Erases the document from storage and disconnects everyone with `reason`.
    Delete {
        /// Shown to the disconnected clients (the WebSocket close reason, at most 123 bytes).
        reason: String,
        /// The condition, checked against the room's current metadata.
        only_if: DeleteIf,
        /// Answered with whether the document existed, met the condition and was erased.
        reply: oneshot::Sender<Result<bool, RoomError>>,
    },
    /// An update made by the server on the document's behalf (an HTTP import or API edit),
    /// applied like a client's: persisted, then broadcast. Refused if the document does not
    /// exist (it is never created this way) or would pass the size limit.
    Apply {
        /// The update, vetted by the shape guard and decoded.
        update: CheckedUpdate,
        /// Answered once the update is persisted and broadcast.
        reply: oneshot::Sender<Result<Applied, RoomError>>,
    },
    /// Changes the pad's text on behalf of the HTTP API, like a client's update: applied in the
    /// tick, persisted, then broadcast.
    Edit {
        /// The change.
        edit: TextEdit,
        /// Answered with the metadata once the change is persisted.
        reply: EditReply,
    },
    /// Makes the document's content that of a [`Replacement`] (a restored version, an import)
    /// as a new edit: pending changes are persisted first, then the replacement as log entries
    /// of its own, then it is broadcast.
    Replace {
        /// The new content.
        replacement: Replacement,
        /// Answered once the replacement is persisted and broadcast.
        reply: oneshot::Sender<Result<Restored, RoomError>>,
    },
    /// The node's renewal found that `lease` moved on to another node: if it is still the
    /// room's, the room closes without writing and its clients reconnect (to that node).
    LeaseLost {
        /// The lost lease.
        lease: Lease,
    },
    /// A validated message from a subscribed connection.
    Inbound {
        /// The sender.
        conn: ConnId,
        /// The message.
        msg: Inbound,
        /// When the connection read it: the start of its broadcast delay.
        received: Instant,
    },
}

/// What became of a [`Command::Apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Persisted and broadcast.
    Done,
    /// The document does not exist.
    Missing,
    /// The document would pass `max_doc_bytes`.
    TooBig,
}

/// Content made off the room that becomes the document's: a version of its own history brought
/// back, or an imported file.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// The whole new content, one v1 update.
    pub state: Vec<u8>,
    /// What history records the change as.
    pub origin: Origin,
    /// Entries to log first, in order, when the document is still empty (an imported file's
    /// own history: applying them all gives `state`); ignored for a document with content.
    pub history: Vec<(Vec<u8>, EntryInfo)>,
}

/// What became of a restore or an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// Persisted and broadcast as revision `rev`.
    Done {
        /// The new revision.
        rev: u64,
    },
    /// The document does not exist.
    Missing,
    /// The document would pass `max_doc_bytes`.
    TooBig,
}

/// The connection id [`Command::Apply`] updates are filed under: connections count from 1.
const SERVER_CONN: ConnId = 0;

/// When a requested erasure happens; checked by the room against its current metadata, so
/// nothing can change the document between the check and the erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteIf {
    /// Always.
    Always,
    /// Only if the document expires at or before this time (Unix seconds): an edit that
    /// reached the room before the sweeper's request wins.
    ExpiredAt(u64),
    /// Only if the stored creator hash matches (constant-time comparison).
    Creator(CreatorHash),
}

/// Where a room answers an API edit.
pub type EditReply = oneshot::Sender<Result<DocMeta, EditRefused>>;

/// Why a room cannot serve a connection.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RoomError {
    /// The document could not be loaded from storage.
    #[error("document unavailable")]
    Unavailable,
    /// The room stopped (unloaded or shutting down) before the request was handled.
    #[error("room closed")]
    Closed,
}

/// A cheap handle to send commands to a room.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    tx: mpsc::Sender<Command>,
    id: u64,
    connections: Arc<AtomicUsize>,
}

impl RoomHandle {
    /// Identifies this room instance (a reloaded document gets a new id).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Connections subscribed, as of the room's last tick.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Subscribes a connection; waits for the document to be loaded.
    pub async fn join(
        &self,
        conn: ConnId,
        outbox: Outbox,
        read_only: bool,
    ) -> Result<(), RoomError> {
        let (ack, answer) = oneshot::channel();
        self.tx
            .send(Command::Join {
                conn,
                outbox,
                read_only,
                ack,
            })
            .await
            .map_err(|_| RoomError::Closed)?;
        answer.await.map_err(|_| RoomError::Closed)?
    }

    /// The document's metadata, creating the document if `create` is given and it is missing.
    pub async fn open(&self, create: Option<NewDoc>) -> Result<Option<DocMeta>, RoomError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Open { create, reply }).await?;
        answer.await.map_err(|_| RoomError::Closed)?
    }

    /// The whole document as one v1 update, or `None` if it was never written.
    pub async fn snapshot(&self) -> Result<Option<Vec<u8>>, RoomError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Snapshot { reply }).await?;
        answer.await.map_err(|_| RoomError::Closed)
    }

    /// Erases the document and disconnects its clients with `reason` if `only_if` holds;
    /// whether it was erased.
    pub async fn delete(&self, reason: String, only_if: DeleteIf) -> Result<bool, RoomError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Delete {
            reason,
            only_if,
            reply,
        })
        .await?;
        answer.await.map_err(|_| RoomError::Closed)?
    }

    /// Applies a server-made update; answers once it is persisted and broadcast.
    pub async fn apply(&self, update: CheckedUpdate) -> Result<Applied, RoomError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Apply { update, reply }).await?;
        answer.await.map_err(|_| RoomError::Closed)?
    }

    /// Applies a text edit to the pad; answers once it is persisted (and broadcast).
    pub async fn edit(&self, edit: TextEdit) -> Result<Result<DocMeta, EditRefused>, RoomError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Edit { edit, reply }).await?;
        answer.await.map_err(|_| RoomError::Closed)
    }

    /// Makes the document's content that of `replacement`; answers once it is persisted and
    /// broadcast.
    pub async fn replace(&self, replacement: Replacement) -> Result<Restored, RoomError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Replace { replacement, reply }).await?;
        answer.await.map_err(|_| RoomError::Closed)?
    }

    /// Unsubscribes a connection and removes the awareness states it introduced.
    pub async fn leave(&self, conn: ConnId) -> Result<(), RoomError> {
        self.send(Command::Leave { conn }).await
    }

    /// Hands the room a validated message from subscribed connection `conn`, read at
    /// `received` (the start of its broadcast delay); waits while the room's queue is full,
    /// which is the backpressure on the connection's reader.
    pub async fn inbound(
        &self,
        conn: ConnId,
        msg: Inbound,
        received: Instant,
    ) -> Result<(), RoomError> {
        self.send(Command::Inbound {
            conn,
            msg,
            received,
        })
        .await
    }

    /// Tells the room that the node's renewal lost `lease` (see [`Command::LeaseLost`]).
    pub async fn lease_lost(&self, lease: Lease) -> Result<(), RoomError> {
        self.send(Command::LeaseLost { lease }).await
    }

    /// Sends a command, waiting while the room's queue is full (backpressure on the reader).
    async fn send(&self, cmd: Command) -> Result<(), RoomError> {
        self.tx.send(cmd).await.map_err(|_| RoomError::Closed)
    }
}

/// Runs when the room stops, even by panic: removes it from the registry.
pub(in crate::sync) struct Unregister(Option<Box<dyn FnOnce() + Send>>);

impl Unregister {
    /// Wraps the registry's removal callback.
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(f)))
    }

    fn run(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

impl Drop for Unregister {
    fn drop(&mut self) {
        self.run();
    }
}

/// Everything a room needs from the server.
pub(in crate::sync) struct RoomParts {
    /// The document's name.
    pub name: DocName,
    /// Instance id, unique for the server's lifetime.
    pub id: u64,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Writes the room's log entries, grouped with other rooms' writes.
    pub committer: Arc<crate::store::group::Committer>,
    /// Limits and timings.
    pub settings: RoomSettings,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Removes the room from the registry.
    pub unregister: Unregister,
    /// The time of edits and expiry.
    pub clock: Clock,
    /// Subscribed connections, published by the room after each tick (for the admin list).
    pub connections: Arc<AtomicUsize>,
    /// Counters shared by all rooms.
    pub stats: Arc<RoomStats>,
    /// Permits to checkpoint, shared by all rooms: a room due finding none tries again later.
    pub checkpoints: Arc<tokio::sync::Semaphore>,
    /// This server, as its leases name it; `None` when it is alone on its database.
    pub node: Option<Arc<Node>>,
}

/// Starts a room task; it loads the document before handling any command.
pub(in crate::sync) fn spawn(
    parts: RoomParts,
    tracker: &tokio_util::task::TaskTracker,
) -> RoomHandle {
    let (tx, rx) = mpsc::channel(parts.settings.queue_messages.max(1));
    let id = parts.id;
    let connections = parts.connections.clone();
    tracker.spawn(task::run(parts, rx));
    RoomHandle {
        tx,
        id,
        connections,
    }
}
