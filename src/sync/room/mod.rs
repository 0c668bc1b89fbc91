//! One task per live document. It owns the yrs `Doc` and the room's awareness, applies what
//! connections send, persists each batch through the [`Store`], then encodes the result once and
//! fans the same `Bytes` out to every subscriber. Nothing else touches the document, so no lock
//! or transaction is ever held across an `.await`.
//!
//! Broadcasts are throttled to one per `--broadcast-tick-ms`: the first change after a quiet
//! tick goes out at once, later ones wait for the end of the tick and leave as one merged
//! update (and one awareness frame), one log entry, one encoding shared by every subscriber.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::config::Config;
use crate::doc::edit::{self, EditRefused, TextEdit};
use crate::doc::guard::{self, GuardError};
use crate::doc::meta::{DocMeta, Kind, NewDoc};
use crate::doc::name::DocName;
use crate::doc::nesting::Nesting;
use crate::doc::secret::CreatorHash;
use crate::store::{Store, StoreError, Stored};
use crate::sync::awareness::{Awareness, AwarenessError, ConnId};
use crate::sync::clock::Clock;
use crate::sync::inbound::{CheckedUpdate, Inbound};
use crate::sync::outbox::{code, Outbox};
use crate::sync::protocol;
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

impl DeleteIf {
    fn holds(self, meta: &DocMeta) -> bool {
        match self {
            DeleteIf::Always => true,
            DeleteIf::ExpiredAt(now) => meta.expires_at().is_some_and(|at| at <= now),
            DeleteIf::Creator(presented) => meta
                .creator
                .is_some_and(|stored| stored.matches(&presented)),
        }
    }
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

    /// Sends a command, waiting while the room's queue is full (backpressure on the reader).
    async fn send(&self, cmd: Command) -> Result<(), RoomError> {
        self.tx.send(cmd).await.map_err(|_| RoomError::Closed)
    }
}

/// Runs when the room stops, even by panic: removes it from the registry.
pub struct Unregister(Option<Box<dyn FnOnce() + Send>>);

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
pub struct RoomParts {
    /// The document's name.
    pub name: DocName,
    /// Instance id, unique for the server's lifetime.
    pub id: u64,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Limits and timings.
    pub config: Arc<Config>,
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
}

/// Starts a room task; it loads the document before handling any command.
pub fn spawn(parts: RoomParts, tracker: &tokio_util::task::TaskTracker) -> RoomHandle {
    let (tx, rx) = mpsc::channel(parts.config.room_queue_messages.max(1));
    let id = parts.id;
    let connections = parts.connections.clone();
    tracker.spawn(run(parts, rx));
    RoomHandle {
        tx,
        id,
        connections,
    }
}

/// Where the document stands in storage.
struct Persisted {
    meta: Option<DocMeta>,
    /// Sequence number of the last logged update.
    last_seq: u64,
    log_entries: usize,
    log_bytes: usize,
    /// Estimated encoded size of the document.
    doc_bytes: usize,
}

/// A connection subscribed to the room.
struct Subscriber {
    outbox: Outbox,
    read_only: bool,
}

struct Room {
    parts: RoomParts,
    doc: Doc,
    /// Filled by the document's update observer with each committed transaction's delta.
    deltas: Arc<Mutex<Vec<Vec<u8>>>>,
    awareness: Awareness,
    subscribers: HashMap<ConnId, Subscriber>,
    persisted: Persisted,
    /// How deep the document's shared types nest: every update is admitted by it before yrs
    /// applies it.
    nesting: Nesting,
    /// Awareness clients whose change is not yet broadcast.
    awareness_dirty: Vec<u64>,
    /// Arrival of the oldest update applied to the document but not yet persisted and
    /// broadcast; `None` when nothing is pending.
    pending_since: Option<Instant>,
    /// When pending changes last went out: the throttle's reference.
    last_flush: tokio::time::Instant,
    /// When the pending changes go out, if they are waiting for the end of a tick.
    flush_at: Option<tokio::time::Instant>,
    /// The sync step 2 answering an empty state vector (a new client), encoded once per
    /// document state: joins come in waves (a class opening a pad), and encoding the whole
    /// document is the most expensive thing a room does for them. Cleared on every change.
    full_state: Option<Bytes>,
    /// Set when storage failed or the document could not be rebuilt: the room must stop
    /// without writing, and the next connection loads the document afresh.
    broken: bool,
    /// Set once the document is erased: the room stops without writing anything back.
    deleted: bool,
}

async fn run(parts: RoomParts, mut rx: mpsc::Receiver<Command>) {
    let name = parts.name.clone();
    let loaded = {
        let store = parts.store.clone();
        let name = name.clone();
        tokio::task::spawn_blocking(move || load(&*store, &name)).await
    };
    let (doc, persisted, nesting) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => {
            tracing::error!(doc = %name, error = %e, "cannot load document");
            return refuse_all(parts, rx, RoomError::Unavailable).await;
        }
        Err(e) => {
            tracing::error!(doc = %name, error = %e, "document load task failed");
            return refuse_all(parts, rx, RoomError::Unavailable).await;
        }
    };
    let deltas = Arc::new(Mutex::new(Vec::new()));
    if let Err(e) = observe(&doc, &deltas) {
        tracing::error!(doc = %name, error = %e, "cannot observe document");
        return refuse_all(parts, rx, RoomError::Unavailable).await;
    }
    tracing::info!(doc = %name, bytes = persisted.doc_bytes, "room loaded");
    let mut room = Room {
        parts,
        doc,
        deltas,
        awareness: Awareness::default(),
        subscribers: HashMap::new(),
        persisted,
        nesting,
        awareness_dirty: Vec::new(),
        pending_since: None,
        last_flush: tokio::time::Instant::now(),
        flush_at: None,
        full_state: None,
        broken: false,
        deleted: false,
    };
    room.serve(&mut rx).await;
    room.stop(rx).await;
}

/// Reads a document from storage and rebuilds it (blocking). Every stored update passes the
/// same checks as a client's before yrs sees it: one stored before those checks existed may
/// hold a shape yrs cannot apply without overflowing the stack, and the document is then
/// refused (logged) rather than the process aborted.
fn load(store: &dyn Store, name: &DocName) -> Result<(Doc, Persisted, Nesting), LoadError> {
    let Stored {
        meta,
        snapshot,
        log,
    } = store.load(name.as_str())?;
    let meta = meta
        .map(|m| DocMeta::from_bytes(&m))
        .transpose()
        .map_err(|_| LoadError::Corrupt("metadata"))?;
    let doc = Doc::new();
    let mut nesting = Nesting::default();
    let mut doc_bytes = 0;
    let mut log_bytes = 0;
    {
        let mut txn = doc.transact_mut();
        let mut apply = |bytes: &[u8]| -> Result<(), LoadError> {
            nesting.admit(&guard::document_shape(bytes)?)?;
            let update = Update::decode_v1(bytes).map_err(|_| LoadError::Corrupt("update"))?;
            txn.apply_update(update)
                .map_err(|_| LoadError::Corrupt("update"))
        };
        if let Some(snapshot) = &snapshot {
            apply(snapshot)?;
            doc_bytes += snapshot.len();
        }
        for (_, update) in &log {
            apply(update)?;
            log_bytes += update.len();
        }
    }
    let persisted = Persisted {
        meta,
        last_seq: log.last().map_or(0, |(seq, _)| *seq),
        log_entries: log.len(),
        log_bytes,
        doc_bytes: doc_bytes + log_bytes,
    };
    Ok((doc, persisted, nesting))
}

/// Why an update was not admitted into the document.
enum Refusal {
    /// Past the document's size or item limit; the text says which.
    TooBig(&'static str),
    /// A shape the document must not take (nesting).
    Shape(GuardError),
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored {0} does not decode")]
    Corrupt(&'static str),
    #[error("stored update refused: {0}")]
    Refused(#[from] GuardError),
}

fn observe(doc: &Doc, deltas: &Arc<Mutex<Vec<Vec<u8>>>>) -> Result<(), yrs::TransactionAcqError> {
    let sink = deltas.clone();
    doc.observe_update_v1("persist", move |_, event| {
        lock(&sink).push(event.update.clone());
    })
}

/// Locks the delta buffer; a panic while it was held (inside yrs) leaves plain data behind.
fn lock(deltas: &Mutex<Vec<Vec<u8>>>) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
    deltas
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Answers every queued join with `err` and stops: used when the document cannot be loaded.
async fn refuse_all(mut parts: RoomParts, mut rx: mpsc::Receiver<Command>, err: RoomError) {
    parts.unregister.run();
    rx.close();
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::Join { ack, .. } => {
                let _ = ack.send(Err(err.clone()));
            }
            Command::Delete { reply, .. } => {
                let _ = reply.send(Err(err.clone()));
            }
            Command::Edit { reply, .. } => {
                let _ = reply.send(Err(EditRefused::Unavailable));
            }
            _ => {}
        }
    }
}

impl Room {
    /// Handles commands until the room should stop (unloaded or shutting down).
    async fn serve(&mut self, rx: &mut mpsc::Receiver<Command>) {
        let config = self.parts.config.clone();
        let shutdown = self.parts.shutdown.clone();
        let mut sweep = tokio::time::interval(config.awareness_timeout() / 3);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut empty_since = Some(tokio::time::Instant::now());
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let grace_over = async {
                match empty_since {
                    Some(since) => sleep_until(since + config.unload_grace()).await,
                    None => std::future::pending().await,
                }
            };
            let flush_due = async {
                match self.flush_at {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = flush_due => self.flush().await,
                n = rx.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        return;
                    }
                    self.tick(&mut batch).await;
                    self.parts.connections.store(self.subscribers.len(), Ordering::Relaxed);
                }
                _ = sweep.tick() => {
                    let expired = self.awareness.expire(Instant::now(), config.awareness_timeout());
                    self.awareness_dirty.extend(expired);
                }
                _ = grace_over => {
                    // Persist first; a join that arrived meanwhile keeps the room loaded.
                    self.flush().await;
                    self.compact().await;
                    if rx.is_empty() {
                        return;
                    }
                }
            }
            if self.broken || self.deleted {
                return;
            }
            self.schedule_flush().await;
            if self.broken {
                return;
            }
            empty_since = match (self.subscribers.is_empty(), empty_since) {
                (true, None) => Some(tokio::time::Instant::now()),
                (true, since) => since,
                (false, _) => None,
            };
        }
    }

    /// Leaves the registry, persists, and turns away whatever is still queued.
    async fn stop(mut self, mut rx: mpsc::Receiver<Command>) {
        let shutting_down = self.parts.shutdown.is_cancelled();
        self.disconnect_all(code::GOING_AWAY, "server shutting down");
        if !self.broken && !self.deleted {
            self.flush().await;
        }
        if !shutting_down && !self.broken && !self.deleted {
            self.erase_if_untouched().await;
        }
        if !self.broken && !self.deleted {
            self.compact().await;
        }
        // From here on nobody new can find this room; queued joins see it closed and retry
        // through the registry, which loads the document afresh from what was just persisted.
        self.parts.unregister.run();
        rx.close();
        while let Some(cmd) = rx.recv().await {
            if let Command::Join { outbox, ack, .. } = cmd {
                if shutting_down {
                    outbox
                        .closer()
                        .close(code::GOING_AWAY, "server shutting down");
                }
                drop(ack);
            }
        }
        tracing::info!(doc = %self.parts.name, "room unloaded");
    }

    /// Erases a provisional document (made by opening its link) that holds nothing anyone typed
    /// (see [`untouched`]), as its room unloads: `creation`'s rule. Not at shutdown: a page
    /// left open reconnects after the restart and must find its document, of its kind.
    async fn erase_if_untouched(&mut self) {
        let provisional = self.persisted.meta.as_ref().is_some_and(|m| m.provisional);
        if !provisional || !untouched(&self.doc) {
            return;
        }
        if let Ok(true) = self.delete("", DeleteIf::Always).await {
            tracing::info!(doc = %self.parts.name, "untouched document erased at unload");
        }
    }

    /// Handles one batch of commands: joins and leaves, then all updates in one transaction
    /// (persisted and broadcast by the next [`Room::flush`]), then sync answers.
    async fn tick(&mut self, batch: &mut Vec<Command>) {
        let mut updates: Vec<(ConnId, Update)> = Vec::new();
        let mut oldest: Option<Instant> = None;
        let mut step1s: Vec<(ConnId, StateVector)> = Vec::new();
        let mut snapshots = Vec::new();
        let mut applied = Vec::new();
        let mut edits = Vec::new();
        let now = Instant::now();
        for cmd in batch.drain(..) {
            if self.deleted || self.broken {
                // The rest of the batch concerns a document that is gone: dropped answers
                // make joins and requests retry on a fresh room, which finds nothing.
                match cmd {
                    Command::Delete { reply, .. } => {
                        let _ = reply.send(Ok(false));
                    }
                    Command::Edit { reply, .. } => {
                        let refused = if self.deleted {
                            EditRefused::NotFound
                        } else {
                            EditRefused::Unavailable
                        };
                        let _ = reply.send(Err(refused));
                    }
                    _ => {}
                }
                continue;
            }
            match cmd {
                Command::Join {
                    conn,
                    outbox,
                    read_only,
                    ack,
                } => self.join(conn, Subscriber { outbox, read_only }, ack),
                Command::Open { create, reply } => {
                    let _ = reply.send(self.open(create).await);
                }
                Command::Leave { conn } => {
                    if self.subscribers.remove(&conn).is_some() {
                        tracing::debug!(doc = %self.parts.name, conn, "left");
                    }
                    let gone = self.awareness.remove_owner(conn);
                    self.awareness_dirty.extend(gone);
                }
                Command::Snapshot { reply } => snapshots.push(reply),
                Command::Delete {
                    reason,
                    only_if,
                    reply,
                } => {
                    let _ = reply.send(self.delete(&reason, only_if).await);
                }
                Command::Apply { update, reply } => {
                    if self.persisted.meta.is_none() {
                        let _ = reply.send(Ok(Applied::Missing));
                    } else {
                        match self.admit(&update) {
                            Ok(()) => {
                                updates.push((SERVER_CONN, update.update));
                                applied.push(reply);
                            }
                            Err(Refusal::TooBig(_)) => {
                                let _ = reply.send(Ok(Applied::TooBig));
                            }
                            Err(Refusal::Shape(e)) => {
                                // The server made it from a flat model: a bug, not the user's.
                                tracing::error!(doc = %self.parts.name, error = %e, "server-made update refused");
                                let _ = reply.send(Err(RoomError::Unavailable));
                            }
                        }
                    }
                }
                Command::Edit { edit, reply } => edits.push((edit, reply)),
                Command::Inbound {
                    conn,
                    msg,
                    received,
                } => {
                    let Some(read_only) = self.subscribers.get(&conn).map(|s| s.read_only) else {
                        continue;
                    };
                    match msg {
                        // A read-only connection's document changes are dropped, per protocol.
                        Inbound::Update(..) if read_only => {}
                        Inbound::Step1(sv) => step1s.push((conn, sv)),
                        Inbound::Update(checked) => match self.admit(&checked) {
                            Ok(()) => {
                                self.parts.stats.updates_in.inc();
                                self.parts.stats.update_bytes_in.inc_by(checked.len as u64);
                                oldest = Some(oldest.map_or(received, |o| o.min(received)));
                                updates.push((conn, checked.update));
                            }
                            Err(Refusal::TooBig(reason)) => {
                                self.drop_subscriber(conn, code::TOO_BIG, reason);
                            }
                            Err(Refusal::Shape(e)) => {
                                tracing::info!(doc = %self.parts.name, conn, error = %e, "update refused");
                                self.drop_subscriber(conn, code::POLICY_VIOLATION, e.message());
                            }
                        },
                        Inbound::Awareness(entries) => {
                            match self.awareness.apply(conn, entries, now) {
                                Ok(changed) => self.awareness_dirty.extend(changed),
                                Err(e) => {
                                    // A full room is a passing state; speaking for many
                                    // clients at once is not what a y-websocket client does.
                                    let code = match e {
                                        AwarenessError::RoomFull => code::TRY_AGAIN_LATER,
                                        _ => code::POLICY_VIOLATION,
                                    };
                                    self.drop_subscriber(conn, code, e.reason());
                                }
                            }
                        }
                        Inbound::QueryAwareness => {
                            let frame = protocol::awareness(&self.awareness.encode_live());
                            self.unicast(conn, frame);
                        }
                    }
                }
            }
        }
        if self.deleted || self.broken {
            return;
        }
        if !updates.is_empty() {
            self.apply(updates).await;
            if let Some(oldest) = oldest {
                self.pending_since = Some(self.pending_since.map_or(oldest, |p| p.min(oldest)));
            }
        }
        if !step1s.is_empty() || !snapshots.is_empty() {
            // What a client or reader is sent must already be persisted.
            self.flush_updates().await;
            if self.broken {
                return;
            }
        }
        if !edits.is_empty() {
            self.apply_edits(edits).await;
        }
        if !applied.is_empty() && !self.broken {
            // Answered as done only once persisted: the throttle may still hold the delta.
            self.flush_updates().await;
        }
        for reply in applied {
            let outcome = if self.broken {
                Err(RoomError::Unavailable)
            } else {
                Ok(Applied::Done)
            };
            let _ = reply.send(outcome);
        }
        for (conn, sv) in step1s {
            let frame = if sv.is_empty() {
                self.full_state_frame()
            } else {
                protocol::sync_step2(&self.doc.transact().encode_state_as_update_v1(&sv))
            };
            self.unicast(conn, frame);
        }
        if !snapshots.is_empty() {
            let snapshot = self.persisted.meta.is_some().then(|| {
                self.doc
                    .transact()
                    .encode_state_as_update_v1(&StateVector::default())
            });
            for reply in snapshots {
                let _ = reply.send(snapshot.clone());
            }
        }
    }

    /// The whole document as a sync step 2 frame, from the cache when the document did not
    /// change since it was encoded.
    fn full_state_frame(&mut self) -> Bytes {
        if let Some(frame) = &self.full_state {
            return frame.clone();
        }
        let update = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let frame = protocol::sync_step2(&update);
        self.full_state = Some(frame.clone());
        frame
    }

    /// After a tick: sends pending changes now if the last flush is a tick old, else makes
    /// sure a flush is due at the end of the tick.
    async fn schedule_flush(&mut self) {
        let pending = !self.awareness_dirty.is_empty() || !lock(&self.deltas).is_empty();
        if !pending || self.flush_at.is_some() {
            return;
        }
        let next = self.last_flush + self.parts.config.broadcast_tick();
        if next <= tokio::time::Instant::now() {
            self.flush().await;
        } else {
            self.flush_at = Some(next);
        }
    }

    /// Persists and broadcasts the pending document changes, then the awareness changes.
    async fn flush(&mut self) {
        self.flush_at = None;
        self.last_flush = tokio::time::Instant::now();
        self.flush_updates().await;
        if !self.broken {
            self.flush_awareness();
        }
    }

    fn join(&mut self, conn: ConnId, sub: Subscriber, ack: oneshot::Sender<Result<(), RoomError>>) {
        let sv = self.doc.transact().state_vector().encode_v1();
        let step1 = protocol::sync_step1(&sv);
        let states = protocol::awareness(&self.awareness.encode_live());
        if sub
            .outbox
            .push(step1)
            .and_then(|()| sub.outbox.push(states))
            .is_err()
        {
            sub.outbox
                .closer()
                .close(code::TRY_AGAIN_LATER, "server busy, reconnect");
            return;
        }
        if ack.send(Ok(())).is_ok() {
            tracing::debug!(doc = %self.parts.name, conn, read_only = sub.read_only, "joined");
            self.subscribers.insert(conn, sub);
        }
    }

    /// The metadata, creating the document (metadata and read-only token) if asked.
    async fn open(&mut self, create: Option<NewDoc>) -> Result<Option<DocMeta>, RoomError> {
        match (&self.persisted.meta, create) {
            (Some(meta), _) => Ok(Some(meta.clone())),
            (None, None) => Ok(None),
            (None, Some(new)) => self.create(new).await.map(Some).map_err(|e| {
                tracing::error!(doc = %self.parts.name, error = %e, "cannot create document");
                RoomError::Unavailable
            }),
        }
    }

    /// Creates the document: stores its read-only token and metadata, off the async workers.
    async fn create(&mut self, new: NewDoc) -> Result<DocMeta, StoreError> {
        let meta = DocMeta::new(new, self.parts.clock.now());
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let stored = meta.clone();
        blocking(move || {
            store.put_token(stored.read_token.as_str(), name.as_str())?;
            store.put_meta(name.as_str(), &stored.to_bytes(), stored.expires_at())
        })
        .await?;
        tracing::info!(doc = %self.parts.name, "document created");
        self.persisted.meta = Some(meta.clone());
        Ok(meta)
    }

    /// If `only_if` holds: erases the document from storage, then disconnects everyone with
    /// `reason`. The room stops afterwards; a later connection to the name finds nothing.
    async fn delete(&mut self, reason: &str, only_if: DeleteIf) -> Result<bool, RoomError> {
        // A condition about metadata does not hold for a document that has none.
        let holds = match &self.persisted.meta {
            Some(meta) => only_if.holds(meta),
            None => only_if == DeleteIf::Always,
        };
        if !holds {
            return Ok(false);
        }
        // Unpersisted edits die with the document; nothing runs in this room until the
        // erasure below is done (this task owns it), so nothing can write it back.
        lock(&self.deltas).clear();
        let erased = match self.persisted.meta.take() {
            None => Ok(false),
            Some(meta) => {
                let store = self.parts.store.clone();
                let name = self.parts.name.clone();
                let token = meta.read_token;
                blocking(move || store.delete(name.as_str(), Some(token.as_str())))
                    .await
                    .map(|()| true)
            }
        };
        // Clients are told only now: one that reloads on the close must find the name empty.
        match erased {
            Ok(erased) => {
                if erased {
                    tracing::info!(doc = %self.parts.name, "document deleted");
                }
                self.disconnect_all(code::GONE, reason.to_owned());
                self.deleted = true;
                Ok(erased)
            }
            Err(e) => {
                tracing::error!(doc = %self.parts.name, error = %e, "cannot delete document");
                // Part of it may be gone: stop without writing and let a fresh load tell.
                self.broken = true;
                self.disconnect_all(code::INTERNAL_ERROR, "storage error, reconnect to resync");
                Err(RoomError::Unavailable)
            }
        }
    }

    /// Applies API edits after the clients' updates (so a reload those may cause cannot drop
    /// them), then persists and broadcasts their deltas through `apply`; each edit is answered
    /// once persisted.
    async fn apply_edits(&mut self, edits: Vec<(TextEdit, EditReply)>) {
        let mut outcomes = Vec::with_capacity(edits.len());
        for (edit, reply) in edits {
            let outcome = if self.broken {
                Err(EditRefused::Unavailable)
            } else {
                self.edit(&edit)
            };
            outcomes.push((reply, outcome));
        }
        if !self.broken {
            // The edits changed the document: the cached full state is stale, and an edit is
            // answered as done only once its delta is persisted (and broadcast).
            self.full_state = None;
            self.flush_updates().await;
        }
        for (reply, outcome) in outcomes {
            let outcome = match (&self.persisted.meta, outcome) {
                (_, Err(refused)) => Err(refused),
                (Some(meta), Ok(())) if !self.broken => Ok(meta.clone()),
                _ => Err(EditRefused::Unavailable),
            };
            let _ = reply.send(outcome);
        }
    }

    /// Applies an API edit to the document if it is a pad with room for it; the delta is left
    /// to the observer.
    fn edit(&mut self, edit: &TextEdit) -> Result<(), EditRefused> {
        match &self.persisted.meta {
            None => return Err(EditRefused::NotFound),
            Some(meta) if meta.kind != Kind::Pad => return Err(EditRefused::WrongKind),
            Some(_) => {}
        }
        let len = edit.inserted_bytes();
        if self.persisted.doc_bytes + len > self.parts.config.max_doc_bytes {
            return Err(EditRefused::TooBig);
        }
        if catch_unwind(AssertUnwindSafe(|| edit::apply(&self.doc, edit))).is_err() {
            // yrs left the document in an unknown state: the next load starts from storage.
            tracing::error!(doc = %self.parts.name, "applying an edit panicked; closing the room");
            self.broken = true;
            self.disconnect_all(code::INTERNAL_ERROR, "internal error, reconnect to resync");
            return Err(EditRefused::Unavailable);
        }
        self.persisted.doc_bytes += len;
        Ok(())
    }

    /// Whether an update may be applied under the document size limit: once the document is at
    /// the limit only deletions (which add no content) are accepted.
    fn admits(&self, update: &Update, len: usize) -> bool {
        self.persisted.doc_bytes + len <= self.parts.config.max_doc_bytes
            || update.state_vector_lower().is_empty()
    }

    /// Admits an update into the document before yrs applies it: within the size limit (see
    /// [`Room::admits`]) and within the nesting bounds, which are a property of the document,
    /// not of the update alone. Counts its bytes once admitted.
    fn admit(&mut self, checked: &CheckedUpdate) -> Result<(), Refusal> {
        if !self.admits(&checked.update, checked.len) {
            return Err(Refusal::TooBig("document size limit reached"));
        }
        match self.nesting.admit(&checked.shape) {
            Ok(()) => {
                self.persisted.doc_bytes += checked.len;
                Ok(())
            }
            Err(e @ GuardError::DocTooManyItems) => Err(Refusal::TooBig(e.message())),
            Err(e) => Err(Refusal::Shape(e)),
        }
    }

    /// Applies updates in one transaction; the observer keeps the resulting delta for the next
    /// flush.
    async fn apply(&mut self, updates: Vec<(ConnId, Update)>) {
        self.full_state = None;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut txn = self.doc.transact_mut();
            let mut refused = Vec::new();
            for (conn, update) in updates {
                if let Err(e) = txn.apply_update(update) {
                    refused.push((conn, e));
                }
            }
            refused
        }));
        let refused = match outcome {
            Ok(refused) => refused,
            Err(_) => {
                tracing::error!(doc = %self.parts.name, "applying an update panicked; reloading from storage");
                return self.reload().await;
            }
        };
        for (conn, e) in refused {
            tracing::debug!(doc = %self.parts.name, conn, error = %e, "update refused");
            self.drop_subscriber(conn, code::POLICY_VIOLATION, "invalid update");
        }
    }

    /// Persists the document changes applied since the last flush as one log entry, then
    /// broadcasts them as one frame.
    async fn flush_updates(&mut self) {
        let deltas = std::mem::take(&mut *lock(&self.deltas));
        let since = self.pending_since.take();
        let deltas = merge(deltas);
        if deltas.is_empty() {
            return;
        }
        let mut frames = Vec::with_capacity(deltas.len());
        for delta in deltas {
            // Encoded before the delta moves to storage, so it is never copied.
            frames.push(protocol::sync_update(&delta));
            if let Err(e) = self.persist(delta).await {
                tracing::error!(doc = %self.parts.name, error = %e, "cannot persist update; closing the room");
                // Nothing of this batch was broadcast; the next room reloads what storage
                // holds, and the clients push what it lacks when they reconnect.
                self.broken = true;
                return if e.is_io() {
                    self.disconnect_all(
                        code::TRY_AGAIN_LATER,
                        "storage unavailable (disk full?), reconnect later",
                    )
                } else {
                    self.disconnect_all(code::INTERNAL_ERROR, "storage error, reconnect to resync")
                };
            }
        }
        if let Some(since) = since {
            self.parts.stats.persist_lag.observe(
                Instant::now()
                    .saturating_duration_since(since)
                    .as_secs_f64(),
            );
        }
        for frame in frames {
            self.broadcast(frame);
        }
        if let Some(since) = since {
            self.parts
                .stats
                .broadcast(Instant::now().saturating_duration_since(since));
        }
        if self.persisted.log_entries >= self.parts.config.compact_after_updates
            || self.persisted.log_bytes >= self.parts.config.compact_after_bytes
        {
            self.compact().await;
        }
    }

    /// Appends one delta to the log (and the metadata when it changed).
    async fn persist(&mut self, delta: Vec<u8>) -> Result<(), StoreError> {
        if self.persisted.meta.is_none() {
            // A client wrote to a name nobody opened through a page: that creates a pad, by
            // its link like a WebSocket join (what it wrote decides whether it is kept).
            let new = NewDoc {
                kind: Kind::Pad,
                lifetime: self.parts.config.retention_default,
                creator: None,
                provisional: true,
            };
            self.create(new).await?;
        }
        let now = self.parts.clock.now();
        let meta = match &mut self.persisted.meta {
            Some(meta) if meta.last_edit != now => {
                meta.last_edit = now;
                Some((meta.to_bytes(), meta.expires_at()))
            }
            _ => None,
        };
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let sync = self.parts.config.sync;
        let len = delta.len();
        let write = move || {
            if let Some((meta, expires)) = meta {
                store.put_meta(name.as_str(), &meta, expires)?;
            }
            let seq = store.append(name.as_str(), &[&delta])?;
            if sync {
                store.flush()?;
            }
            Ok(seq)
        };
        // DESIGN.md §4: storage calls never run on the async workers. An inline append measured
        // ~10× cheaper (BENCHMARKS.md, criterion), but a write waits for other rooms' writes
        // (the database has one writer at a time) and for a durable commit (rare: the store makes
        // one only after 30 s without writes, past 64 MiB of journal, or with `--sync`); with the
        // tick's coalescing, one hand-off per tick per room is what this costs.
        let seq = blocking(write).await?;
        self.persisted.last_seq = seq;
        self.persisted.log_entries += 1;
        self.persisted.log_bytes += len;
        Ok(())
    }

    /// Replaces the log with a snapshot of the live document. Failures are logged: the log
    /// still holds everything, so nothing is lost.
    async fn compact(&mut self) {
        if self.persisted.log_entries == 0 {
            return;
        }
        let snapshot = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let through = self.persisted.last_seq;
        let len = snapshot.len();
        let write = move || {
            store.compact(name.as_str(), &snapshot, through)?;
            // The nesting record afresh from what yrs holds: items merged or collected since
            // load no longer count, and content that arrived before what it hangs on is known.
            let mut nesting = Nesting::default();
            Ok(guard::document_shape(&snapshot)
                .and_then(|shape| nesting.admit(&shape))
                .map(|()| nesting))
        };
        match blocking(write).await {
            Ok(nesting) => {
                tracing::debug!(doc = %self.parts.name, bytes = len, "compacted");
                self.persisted.log_entries = 0;
                self.persisted.log_bytes = 0;
                self.persisted.doc_bytes = len;
                match nesting {
                    Ok(nesting) => self.nesting = nesting,
                    // Every update was admitted, so this is not expected; the old record
                    // still bounds the document.
                    Err(e) => {
                        tracing::error!(doc = %self.parts.name, error = %e, "cannot recount the compacted document")
                    }
                }
            }
            Err(e) => tracing::error!(doc = %self.parts.name, error = %e, "compaction failed"),
        }
    }

    /// Rebuilds the document from storage after a panic left it in an unknown state; every
    /// client is disconnected so it resyncs what the server may have lost.
    async fn reload(&mut self) {
        lock(&self.deltas).clear();
        self.full_state = None;
        self.pending_since = None;
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&*store, &name)).await;
        match loaded {
            Ok(Ok((doc, persisted, nesting))) if observe(&doc, &self.deltas).is_ok() => {
                self.doc = doc;
                self.persisted = persisted;
                self.nesting = nesting;
                self.disconnect_all(code::INTERNAL_ERROR, "internal error, reconnect to resync");
            }
            _ => {
                tracing::error!(doc = %self.parts.name, "reload failed");
                self.broken = true;
                self.disconnect_all(code::INTERNAL_ERROR, "internal error, reconnect to resync");
            }
        }
    }

    /// Disconnects everyone with `code` and `reason` (cut by `Closer::close` to what a close
    /// frame carries) and forgets their awareness.
    fn disconnect_all(&mut self, code: u16, reason: impl Into<Cow<'static, str>>) {
        let reason = reason.into();
        for (_, sub) in self.subscribers.drain() {
            sub.outbox.closer().close(code, reason.clone());
        }
        self.awareness = Awareness::default();
        self.awareness_dirty.clear();
    }

    /// Broadcasts pending awareness changes as one frame (repeating if dropping a slow
    /// subscriber removed more states).
    fn flush_awareness(&mut self) {
        while !self.awareness_dirty.is_empty() {
            let mut clients = std::mem::take(&mut self.awareness_dirty);
            clients.sort_unstable();
            clients.dedup();
            let frame = protocol::awareness(&self.awareness.encode(&clients));
            self.broadcast(frame);
        }
        // Peers have been told: what connections that left introduced can go.
        self.awareness.purge_departed();
    }

    fn broadcast(&mut self, frame: Bytes) {
        self.parts
            .stats
            .bytes_out
            .inc_by((frame.len() * self.subscribers.len()) as u64);
        let slow: Vec<ConnId> = self
            .subscribers
            .iter()
            .filter(|(_, sub)| sub.outbox.push(frame.clone()).is_err())
            .map(|(conn, _)| *conn)
            .collect();
        for conn in slow {
            self.drop_subscriber(
                conn,
                code::TRY_AGAIN_LATER,
                "connection too slow, reconnect to resync",
            );
        }
    }

    fn unicast(&mut self, conn: ConnId, frame: Bytes) {
        let overflow = self
            .subscribers
            .get(&conn)
            .is_some_and(|s| s.outbox.push(frame).is_err());
        if overflow {
            self.drop_subscriber(
                conn,
                code::TRY_AGAIN_LATER,
                "connection too slow, reconnect to resync",
            );
        }
    }

    fn drop_subscriber(&mut self, conn: ConnId, code: u16, reason: &'static str) {
        if let Some(sub) = self.subscribers.remove(&conn) {
            tracing::debug!(doc = %self.parts.name, conn, code, reason, "closing connection");
            sub.outbox.closer().close(code, reason);
        }
        let gone = self.awareness.remove_owner(conn);
        self.awareness_dirty.extend(gone);
    }
}

/// Whether nobody ever typed into the document: it holds no item but the calc's first sheet,
/// which every calc client writes alike on opening (`calc::schema::FIRST_SHEET_CLIENT`), and
/// nothing was ever deleted. State vectors only grow, so a document once typed into (even
/// emptied since) never counts as untouched again.
fn untouched(doc: &Doc) -> bool {
    use crate::doc::calc::schema::{FIRST_SHEET_CLIENT, FIRST_SHEET_CLOCK};
    let txn = doc.transact();
    let first_sheet = yrs::block::ClientID::new(FIRST_SHEET_CLIENT);
    let only_first_sheet = txn
        .state_vector()
        .iter()
        .all(|(client, clock)| *client == first_sheet && *clock <= FIRST_SHEET_CLOCK);
    // Checked second: the delete set walks every block, and only an untyped document is small.
    only_first_sheet && txn.snapshot().delete_set.is_empty()
}

/// The deltas as one merged update, so that they are encoded, logged and sent once; if yrs
/// cannot merge them (it produced them all, so that is not expected) they stay apart.
fn merge(deltas: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if deltas.len() < 2 {
        return deltas;
    }
    match yrs::merge_updates_v1(&deltas) {
        Ok(merged) => vec![merged],
        Err(e) => {
            tracing::warn!(error = %e, "cannot merge deltas; sending them apart");
            deltas
        }
    }
}

/// Runs a storage call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(StoreError::Panicked))
}
