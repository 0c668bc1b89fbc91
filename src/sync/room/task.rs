//! The room's tokio task: receives commands in batches, asks `core` what they mean, then does
//! the IO: storage on the blocking pool, frames through the subscribers' outboxes, timers for
//! the broadcast tick, awareness expiry and the unload grace.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio::time::{sleep_until, MissedTickBehavior};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::doc::edit::{self, EditRefused, TextEdit};
use crate::doc::guard;
use crate::doc::history::{self, EntryInfo};
use crate::doc::meta::{DocMeta, NewDoc};
use crate::doc::name::DocName;
use crate::doc::nesting::Nesting;
use crate::store::group::DocWrites;
use crate::store::{Grant, Lease, Store, StoreError};
use crate::sync::awareness::{Awareness, ConnId};
use crate::sync::inbound::Inbound;
use crate::sync::outbox::{code, Outbox};
use crate::sync::protocol;
use crate::sync::room::core::{
    self, DeletePlan, FlushAt, FullState, Heard, KnownAuthors, Ledger, Refusal, ServerUpdate,
};
use crate::sync::room::load::{load, lock, observe};
use crate::sync::room::{
    Applied, Command, DeleteIf, EditReply, Replacement, Restored, RoomError, RoomParts, MAX_BATCH,
    SERVER_CONN,
};
use crate::sync::wire::Frame;

/// A connection subscribed to the room.
struct Subscriber {
    outbox: Outbox,
    read_only: bool,
}

/// What a tick gathers from its commands for [`Room::finish`].
#[derive(Default)]
struct Gathered {
    /// Admitted updates, by sender, applied in one transaction.
    updates: Vec<(ConnId, Update)>,
    /// Arrival of the oldest client update among them.
    oldest: Option<Instant>,
    /// Sync step 1s to answer once the updates are persisted.
    step1s: Vec<(ConnId, StateVector)>,
    /// Snapshot requests, answered once the updates are persisted.
    snapshots: Vec<oneshot::Sender<Option<Vec<u8>>>>,
    /// Server-made updates' answers, sent once persisted.
    applied: Vec<oneshot::Sender<Result<Applied, RoomError>>>,
    /// API edits, applied after the clients' updates.
    edits: Vec<(TextEdit, EditReply)>,
    /// Restores and imports, each its own log entry after everything else.
    replacements: Vec<(Replacement, RestoreReply)>,
}

/// Where a room answers a restore or an import.
type RestoreReply = oneshot::Sender<Result<Restored, RoomError>>;

/// A loaded room: the document, its subscribers, and what is pending.
struct Room {
    parts: RoomParts,
    doc: Doc,
    /// Filled by the document's update observer with each committed transaction's delta.
    deltas: Arc<Mutex<Vec<Vec<u8>>>>,
    awareness: Awareness,
    subscribers: HashMap<ConnId, Subscriber>,
    /// Where the document stands in storage, and its nesting record.
    ledger: Ledger,
    /// Awareness clients whose change is not yet broadcast.
    awareness_dirty: Vec<u64>,
    /// Clients named in the next log entry beside those whose blocks it carries: the
    /// awareness clients of connections whose updates deleted something.
    pending_clients: BTreeSet<u64>,
    /// The author names recorded in storage by this room.
    authors: KnownAuthors,
    /// Set while a thinning of this document's history runs: at most one at a time.
    thinning: Arc<AtomicBool>,
    /// Arrival of the oldest update applied to the document but not yet persisted and
    /// broadcast; `None` when nothing is pending.
    pending_since: Option<Instant>,
    /// When pending changes last went out: the throttle's reference.
    last_flush: tokio::time::Instant,
    /// When the pending changes go out, if they are waiting for the end of a tick.
    flush_at: Option<tokio::time::Instant>,
    /// The cached sync step 2 for new clients.
    full_state: FullState,
    /// Set when storage failed or the document could not be rebuilt: the room must stop
    /// without writing, and the next connection loads the document afresh.
    broken: bool,
    /// Set once the document is erased: the room stops without writing anything back.
    deleted: bool,
    /// This node's lease on the document (none when the server is alone on its database):
    /// every write is fenced by it in storage.
    lease: Option<Lease>,
    /// Set when the lease moved to another node: the room stops without writing or releasing.
    lease_lost: bool,
    /// Messages a flush broadcasts, held until its end so each subscriber gets them in one
    /// write; `None` outside a flush (a broadcast then goes at once).
    held: Option<Vec<Bytes>>,
}

/// Loads the document, then serves commands until the room unloads or the server stops.
pub(super) async fn run(parts: RoomParts, rx: mpsc::Receiver<Command>) {
    let name = parts.name.clone();
    // The lease first: only its holder may load (and then write) the document, so no two
    // nodes ever serve it at once.
    let Some(node) = parts.node.clone() else {
        return serve_leased(parts, rx, None).await;
    };
    let taken = {
        let store = parts.store.clone();
        let (name, ttl) = (name.clone(), parts.settings.lease);
        blocking(move || store.take_lease(name.as_str(), &node.id, &node.url, ttl)).await
    };
    let lease = match taken {
        Ok(Grant::Granted(lease)) => Some(lease),
        Ok(Grant::HeldBy(holder)) => {
            tracing::info!(doc = %name, owner = %holder.owner, "document is live on another node");
            return refuse_all(parts, rx, RoomError::Unavailable).await;
        }
        Err(e) => {
            tracing::error!(doc = %name, error = %e, "cannot take the document's lease");
            return refuse_all(parts, rx, RoomError::Unavailable).await;
        }
    };
    serve_leased(parts, rx, lease).await;
}

/// Loads the leased document and serves it; gives the lease back if it cannot be loaded.
async fn serve_leased(parts: RoomParts, mut rx: mpsc::Receiver<Command>, lease: Option<Lease>) {
    let name = parts.name.clone();
    let loaded = {
        let store = parts.store.clone();
        let name = name.clone();
        tokio::task::spawn_blocking(move || load(&*store, &name)).await
    };
    let (doc, ledger) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => {
            tracing::error!(doc = %name, error = %e, "cannot load document");
            release(parts.store.clone(), parts.name.clone(), lease).await;
            return refuse_all(parts, rx, RoomError::Unavailable).await;
        }
        Err(e) => {
            tracing::error!(doc = %name, error = %e, "document load task failed");
            release(parts.store.clone(), parts.name.clone(), lease).await;
            return refuse_all(parts, rx, RoomError::Unavailable).await;
        }
    };
    let deltas = Arc::new(Mutex::new(Vec::new()));
    if let Err(e) = observe(&doc, &deltas) {
        tracing::error!(doc = %name, error = %e, "cannot observe document");
        release(parts.store.clone(), parts.name.clone(), lease).await;
        return refuse_all(parts, rx, RoomError::Unavailable).await;
    }
    tracing::info!(doc = %name, bytes = ledger.doc_bytes, "room loaded");
    let mut room = Room {
        parts,
        doc,
        deltas,
        awareness: Awareness::default(),
        subscribers: HashMap::new(),
        ledger,
        awareness_dirty: Vec::new(),
        pending_clients: BTreeSet::new(),
        authors: KnownAuthors::default(),
        thinning: Arc::default(),
        pending_since: None,
        last_flush: tokio::time::Instant::now(),
        flush_at: None,
        full_state: FullState::default(),
        broken: false,
        deleted: false,
        lease,
        lease_lost: false,
        held: None,
    };
    room.serve(&mut rx).await;
    room.stop(rx).await;
}

/// Gives the lease on the document back, so that another node may serve it at once; a
/// failure is logged only: the lease then expires by itself.
async fn release(store: Arc<dyn Store>, name: DocName, lease: Option<Lease>) {
    let Some(lease) = lease else {
        return;
    };
    if let Err(e) = blocking(move || store.release_lease(&lease)).await {
        tracing::warn!(doc = %name, error = %e, "cannot release the document's lease");
    }
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
        let settings = self.parts.settings;
        let shutdown = self.parts.shutdown.clone();
        let mut sweep = tokio::time::interval(settings.awareness_timeout / 3);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut empty_since = Some(tokio::time::Instant::now());
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let grace_over = async {
                match empty_since {
                    Some(since) => sleep_until(since + settings.unload_grace).await,
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
                // Only while someone has a presence to expire: a quiet room sleeps.
                _ = sweep.tick(), if self.awareness.has_live() => {
                    let expired = self.awareness.expire(Instant::now(), settings.awareness_timeout);
                    self.awareness_dirty.extend(expired);
                }
                _ = grace_over => {
                    // Persist first; a join that arrived meanwhile keeps the room loaded.
                    self.flush().await;
                    self.checkpoint_if_due().await;
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
            empty_since = core::empty_since(
                self.subscribers.is_empty(),
                empty_since,
                tokio::time::Instant::now(),
            );
        }
    }

    /// Leaves the registry, persists, and turns away whatever is still queued.
    async fn stop(mut self, mut rx: mpsc::Receiver<Command>) {
        let shutting_down = self.parts.shutdown.is_cancelled();
        self.disconnect_all(code::GOING_AWAY, "server shutting down");
        let unload = core::unload(shutting_down, self.broken, self.deleted);
        if unload.persist {
            self.flush().await;
        }
        if unload.erase_if_untouched && !self.broken {
            self.erase_if_untouched().await;
        }
        if unload.persist && !self.broken && !self.deleted {
            // Only if due: a document opened a thousand times must not store a thousand copies.
            self.checkpoint_if_due().await;
        }
        if !self.lease_lost {
            let (store, name) = (self.parts.store.clone(), self.parts.name.clone());
            release(store, name, self.lease.clone()).await;
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
    /// (see [`core::untouched`]), as its room unloads: `service::creation`'s rule. Not at
    /// shutdown: a page left open reconnects after the restart and must find its document, of
    /// its kind.
    async fn erase_if_untouched(&mut self) {
        if !self.ledger.erasable_at_unload(&self.doc) {
            return;
        }
        if let Ok(true) = self.delete("", DeleteIf::Always).await {
            tracing::info!(doc = %self.parts.name, "untouched document erased at unload");
        }
    }

    /// Handles one batch of commands: joins and leaves, then all updates in one transaction
    /// (persisted and broadcast by the next [`Room::flush`]), then sync answers.
    async fn tick(&mut self, batch: &mut Vec<Command>) {
        let mut gathered = Gathered::default();
        let now = Instant::now();
        for cmd in batch.drain(..) {
            if self.deleted || self.broken {
                self.turn_away(cmd);
            } else {
                self.take(cmd, &mut gathered, now).await;
            }
        }
        if !self.deleted && !self.broken {
            self.finish(gathered).await;
        }
    }

    /// Answers a command that reached the room after its document was erased or the room
    /// broke: dropped answers make joins and requests retry on a fresh room, which finds
    /// nothing (or loads what storage holds).
    fn turn_away(&self, cmd: Command) {
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
    }

    /// Handles one command of a tick: membership, metadata and deletion at once, in order;
    /// updates and requests that need them persisted are gathered for [`Room::finish`].
    async fn take(&mut self, cmd: Command, gathered: &mut Gathered, now: Instant) {
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
            Command::Snapshot { reply } => gathered.snapshots.push(reply),
            Command::Delete {
                reason,
                only_if,
                reply,
            } => {
                let _ = reply.send(self.delete(&reason, only_if).await);
            }
            Command::Apply { update, reply } => {
                match self
                    .ledger
                    .admit_server(&update, &self.parts.settings.limits)
                {
                    ServerUpdate::Admitted => {
                        gathered.updates.push((SERVER_CONN, update.update));
                        gathered.applied.push(reply);
                    }
                    ServerUpdate::Answer(answer) => {
                        let _ = reply.send(Ok(answer));
                    }
                    ServerUpdate::Bug(e) => {
                        tracing::error!(doc = %self.parts.name, error = %e, "server-made update refused");
                        let _ = reply.send(Err(RoomError::Unavailable));
                    }
                }
            }
            Command::Edit { edit, reply } => gathered.edits.push((edit, reply)),
            Command::Replace { replacement, reply } => {
                gathered.replacements.push((replacement, reply))
            }
            Command::LeaseLost { lease } => self.lease_lost(&lease),
            Command::Inbound {
                conn,
                msg,
                received,
            } => self.hear(conn, msg, received, gathered, now),
        }
    }

    /// Handles a subscribed connection's message as [`core::hear`] decides; a connection that
    /// is no longer subscribed is not heard.
    fn hear(
        &mut self,
        conn: ConnId,
        msg: Inbound,
        received: Instant,
        gathered: &mut Gathered,
        now: Instant,
    ) {
        let Some(read_only) = self.subscribers.get(&conn).map(|s| s.read_only) else {
            return;
        };
        let heard = core::hear(
            &mut self.ledger,
            &mut self.awareness,
            &self.parts.settings.limits,
            conn,
            read_only,
            msg,
            now,
        );
        match heard {
            Heard::Nothing => {}
            Heard::Step1(sv) => gathered.step1s.push((conn, sv)),
            Heard::Update(update, len) => {
                self.parts.stats.updates_in.inc();
                self.parts.stats.update_bytes_in.inc_by(len as u64);
                gathered.oldest = Some(gathered.oldest.map_or(received, |o| o.min(received)));
                gathered.updates.push((conn, update));
            }
            Heard::Awareness(changed) => self.awareness_dirty.extend(changed),
            Heard::QueryAwareness => {
                let frame = protocol::awareness(&self.awareness.encode_live());
                self.unicast(conn, frame);
            }
            Heard::Refused(refusal) => {
                if let Refusal::Shape(e) = &refusal {
                    tracing::info!(doc = %self.parts.name, conn, error = %e, "update refused");
                }
                let (code, reason) = refusal.close();
                self.drop_subscriber(conn, code, reason);
            }
        }
    }

    /// Ends a tick: applies its updates in one transaction, then the API edits, persisting
    /// before anything is answered that depends on it (sync answers, snapshots, server
    /// updates, edits).
    async fn finish(&mut self, gathered: Gathered) {
        let Gathered {
            updates,
            oldest,
            step1s,
            snapshots,
            applied,
            edits,
            replacements,
        } = gathered;
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
        for (replacement, reply) in replacements {
            let outcome = if self.broken {
                Err(RoomError::Unavailable)
            } else {
                self.replace(replacement).await
            };
            let _ = reply.send(outcome);
        }
        for (conn, sv) in step1s {
            let frame = self.full_state.answer(&self.doc, &sv);
            self.unicast(conn, frame);
        }
        if !snapshots.is_empty() {
            let snapshot = self.ledger.meta.is_some().then(|| {
                self.doc
                    .transact()
                    .encode_state_as_update_v1(&StateVector::default())
            });
            for reply in snapshots {
                let _ = reply.send(snapshot.clone());
            }
        }
    }

    /// After a tick: sends pending changes now if the last flush is a tick old, else makes
    /// sure a flush is due at the end of the tick.
    async fn schedule_flush(&mut self) {
        let pending = !self.awareness_dirty.is_empty() || !lock(&self.deltas).is_empty();
        let when = core::flush_at(
            pending,
            self.flush_at.is_some(),
            self.last_flush,
            self.parts.settings.broadcast_tick,
            tokio::time::Instant::now(),
        );
        match when {
            FlushAt::Unchanged => {}
            FlushAt::Now => self.flush().await,
            FlushAt::At(at) => self.flush_at = Some(at),
        }
    }

    /// Persists and broadcasts the pending document changes, then the awareness changes,
    /// in one write per subscriber: a keystroke and the cursor it moved (which clients send
    /// together) cost each socket one system call, not two.
    async fn flush(&mut self) {
        self.flush_at = None;
        self.last_flush = tokio::time::Instant::now();
        self.held = Some(Vec::new());
        let wrote = self.persist_updates().await;
        if !self.broken {
            self.flush_awareness();
        }
        let held = self.held.take().unwrap_or_default();
        self.broadcast_all(&held);
        if wrote && !self.broken {
            self.checkpoint_if_due().await;
        }
    }

    fn join(&mut self, conn: ConnId, sub: Subscriber, ack: oneshot::Sender<Result<(), RoomError>>) {
        let (step1, states) = core::join_frames(&self.doc, &self.awareness);
        if sub
            .outbox
            .push(&Frame::binary(&step1))
            .and_then(|()| sub.outbox.push(&Frame::binary(&states)))
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
        match (&self.ledger.meta, create) {
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
        self.ledger.meta = Some(meta.clone());
        Ok(meta)
    }

    /// If `only_if` holds: erases the document from storage, then disconnects everyone with
    /// `reason`. The room stops afterwards; a later connection to the name finds nothing.
    async fn delete(&mut self, reason: &str, only_if: DeleteIf) -> Result<bool, RoomError> {
        let plan = self.ledger.plan_delete(only_if);
        if plan == DeletePlan::Keep {
            return Ok(false);
        }
        // Unpersisted edits die with the document; nothing runs in this room until the
        // erasure below is done (this task owns it), so nothing can write it back.
        lock(&self.deltas).clear();
        let erased = match plan {
            DeletePlan::Keep | DeletePlan::Gone => Ok(false),
            DeletePlan::Erase(meta) => {
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
                if matches!(e, StoreError::LeaseLost(_)) {
                    self.storage_failed(&e);
                } else {
                    self.broken = true;
                    self.disconnect_all(code::INTERNAL_ERROR, "storage error, reconnect to resync");
                }
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
            self.full_state.clear();
            self.flush_updates().await;
        }
        for (reply, outcome) in outcomes {
            let outcome = match (&self.ledger.meta, outcome) {
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
        let len = edit.inserted_bytes();
        self.ledger.check_edit(len, &self.parts.settings.limits)?;
        if catch_unwind(AssertUnwindSafe(|| edit::apply(&self.doc, edit))).is_err() {
            // yrs left the document in an unknown state: the next load starts from storage.
            tracing::error!(doc = %self.parts.name, "applying an edit panicked; closing the room");
            self.broken = true;
            self.disconnect_all(code::INTERNAL_ERROR, "internal error, reconnect to resync");
            return Err(EditRefused::Unavailable);
        }
        self.ledger.count(len);
        Ok(())
    }

    /// Applies updates in one transaction; the observer keeps the resulting delta for the next
    /// flush.
    async fn apply(&mut self, updates: Vec<(ConnId, Update)>) {
        self.full_state.clear();
        for (conn, update) in &updates {
            if *conn != SERVER_CONN && core::deletes(update) {
                let owned = self.awareness.clients_of(*conn);
                let room = history::MAX_CLIENTS.saturating_sub(self.pending_clients.len());
                self.pending_clients.extend(owned.into_iter().take(room));
            }
        }
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

    /// Persists and broadcasts the document changes applied since the last flush, then
    /// stores a checkpoint if one is due.
    async fn flush_updates(&mut self) {
        if self.persist_updates().await && !self.broken {
            self.checkpoint_if_due().await;
        }
    }

    /// Persists the document changes applied since the last flush as one log entry, then
    /// broadcasts them as one frame (at the flush's end, during one); answers whether there
    /// was anything to write.
    async fn persist_updates(&mut self) -> bool {
        let deltas = std::mem::take(&mut *lock(&self.deltas));
        let since = self.pending_since.take();
        let deltas = core::merge(deltas);
        let mut clients = std::mem::take(&mut self.pending_clients);
        if deltas.is_empty() {
            return false;
        }
        for delta in &deltas {
            if let Ok(update) = Update::decode_v1(delta) {
                core::block_clients(&update, &mut clients);
            }
        }
        let mut frames = Vec::with_capacity(deltas.len());
        for delta in deltas {
            // Encoded before the delta moves to storage, so it is never copied.
            frames.push(protocol::sync_update(&delta));
            let info = EntryInfo::edit(self.parts.clock.now_ms(), clients.iter().copied());
            if let Err(e) = self.persist(delta, info).await {
                tracing::error!(doc = %self.parts.name, error = %e, "cannot persist update; closing the room");
                // Nothing of this batch was broadcast; the next room reloads what storage
                // holds, and the clients push what it lacks when they reconnect.
                self.storage_failed(&e);
                return true;
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
        true
    }

    /// Closes the room without writing if `lost` is its lease (the node's renewal found it
    /// taken over); a lease of an earlier room of the document is nothing to this one.
    fn lease_lost(&mut self, lost: &Lease) {
        if self.lease.as_ref() == Some(lost) && !self.broken {
            let e = StoreError::LeaseLost(lost.name.clone());
            tracing::warn!(doc = %self.parts.name, error = %e, "lease lost; closing the room");
            self.storage_failed(&e);
        }
    }

    /// Closes the room after a failed write: it stops without writing, and everyone is told
    /// whether to come back later (the disk), to reconnect to the node that took the document
    /// over, or to come back now (anything else).
    fn storage_failed(&mut self, e: &StoreError) {
        self.broken = true;
        if matches!(e, StoreError::LeaseLost(_)) {
            self.lease_lost = true;
            self.disconnect_all(
                code::SERVICE_RESTART,
                "document moved to another server, reconnect",
            )
        } else if e.is_io() {
            self.disconnect_all(
                code::TRY_AGAIN_LATER,
                "storage unavailable (disk full?), reconnect later",
            )
        } else {
            self.disconnect_all(code::INTERNAL_ERROR, "storage error, reconnect to resync")
        }
    }

    /// Appends one delta to the log with what history records of it (and the metadata when it
    /// changed, and the names of its authors not yet recorded, in the same storage call);
    /// returns its sequence number.
    async fn persist(&mut self, delta: Vec<u8>, info: EntryInfo) -> Result<u64, StoreError> {
        self.persist_all(vec![(delta, info)]).await
    }

    /// Persists log entries in order, in one store call; answers the last one's number.
    async fn persist_all(&mut self, entries: Vec<(Vec<u8>, EntryInfo)>) -> Result<u64, StoreError> {
        // A client wrote to a name nobody opened through a page: that creates the document.
        if let Some(new) = self
            .ledger
            .implicit_creation(self.parts.settings.retention_default)
        {
            self.create(new).await?;
        }
        let meta = self.ledger.touch(self.parts.clock.now());
        let lens: Vec<usize> = entries.iter().map(|(d, _)| d.len()).collect();
        let clients: Vec<u64> = entries
            .iter()
            .flat_map(|(_, i)| i.clients.iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names = self.authors.unrecorded(&self.doc, &clients);
        let write = DocWrites {
            name: self.parts.name.as_str().to_owned(),
            meta,
            authors: names.clone(),
            entries: entries
                .into_iter()
                .map(|(d, i)| (d, i.to_bytes()))
                .collect(),
            sync: self.parts.settings.sync,
        };
        // DESIGN.md §4: storage calls never run on the async workers. The committer writes
        // every room's pending flush in one transaction on its own thread (one commit, and
        // with `--sync` one fsync, for all of them) and answers each once it is written
        // (durable with `--sync`): awaiting it here keeps "no client sees an update a killed
        // process can lose". Engines that do not gain by grouping write each room on the
        // blocking pool, as before.
        let seq = self.parts.committer.write(write).await?;
        let first = seq + 1 - lens.len() as u64;
        for (i, len) in lens.into_iter().enumerate() {
            self.ledger.logged(first + i as u64, len);
        }
        self.authors.recorded(names);
        Ok(seq)
    }

    /// Stores a checkpoint of the live document if one is due ([`Ledger::checkpoint_due`]),
    /// then thins the history in the background. Failures are logged: the log still holds
    /// everything, so nothing is lost.
    async fn checkpoint_if_due(&mut self) {
        if !self.ledger.checkpoint_due(&self.parts.settings.limits) {
            return;
        }
        // Other rooms hold every permit: this one stays due and tries again at its next flush
        // (or its unload). A checkpoint only bounds later replays (a load, a version's
        // rebuild), so it can wait; the rooms' flushes cannot.
        let Ok(permit) = self.parts.checkpoints.clone().try_acquire_owned() else {
            return;
        };
        let state = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let through = self.ledger.last_seq;
        let len = state.len();
        let write = move || {
            store.checkpoint(name.as_str(), &state, through)?;
            // The nesting record afresh from what yrs holds: items merged or collected since
            // load no longer count, and content that arrived before what it hangs on is known.
            let mut nesting = Nesting::default();
            Ok(guard::document_shape(&state)
                .and_then(|shape| nesting.admit(&shape))
                .map(|()| nesting))
        };
        match blocking(write).await {
            Ok(nesting) => {
                tracing::debug!(doc = %self.parts.name, bytes = len, through, "checkpoint");
                self.ledger.checkpointed(len);
                match nesting {
                    Ok(nesting) => self.ledger.nesting = nesting,
                    // Every update was admitted, so this is not expected; the old record
                    // still bounds the document.
                    Err(e) => {
                        tracing::error!(doc = %self.parts.name, error = %e, "cannot recount the checkpointed document")
                    }
                }
                self.thin_history(permit);
            }
            Err(e @ StoreError::LeaseLost(_)) => {
                tracing::warn!(doc = %self.parts.name, error = %e, "lease lost at a checkpoint; closing the room");
                self.storage_failed(&e);
            }
            Err(e) => tracing::error!(doc = %self.parts.name, error = %e, "checkpoint failed"),
        }
    }

    /// Starts thinning the document's history on the blocking pool, not awaited: the room
    /// goes on serving. The store's calls do nothing to an erased document, so an erasure
    /// meanwhile wins. The checkpoint's `permit` is held until the thinning ends.
    fn thin_history(&self, permit: OwnedSemaphorePermit) {
        if self.thinning.swap(true, Ordering::AcqRel) {
            // The one running covers this checkpoint's history too, or the next one will.
            return;
        }
        /// Clears the flag when the thinning ends, even by panic.
        struct Running(Arc<AtomicBool>);
        impl Drop for Running {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let running = Running(self.thinning.clone());
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let now_ms = self.parts.clock.now_ms();
        let keep = self.parts.settings.history_keep;
        tokio::task::spawn_blocking(move || {
            match crate::sync::history::thin(&*store, name.as_str(), now_ms, keep) {
                Ok(thinned) if thinned != Default::default() => {
                    tracing::debug!(doc = %name, merged = thinned.merged, dropped = thinned.dropped, "history thinned")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(doc = %name, error = %e, "cannot thin history"),
            }
            drop(running);
            drop(permit);
        });
    }

    /// Makes the document's content that of `replacement` (a whole earlier version, an
    /// import): what was pending is persisted first (the state before it is its own entry),
    /// then the replacement as entries of its own, then it is broadcast. Into an empty
    /// document the replacement's own updates are logged as they are (an import's history,
    /// else its state), so imported authors keep their clientIDs; into a document with
    /// content it is one entry of forward edits (`doc::restore`).
    async fn replace(&mut self, replacement: Replacement) -> Result<Restored, RoomError> {
        if self.ledger.meta.is_none() {
            return Ok(Restored::Missing);
        }
        let limits = self.parts.settings.limits;
        if replacement.state.len() > limits.max_doc_bytes {
            return Ok(Restored::TooBig);
        }
        self.flush_updates().await;
        if self.broken {
            return Err(RoomError::Unavailable);
        }
        let empty = self.doc.transact().state_vector().is_empty();
        if empty {
            return self.fill(replacement).await;
        }
        let Replacement { state, origin, .. } = replacement;
        // Decoded and vetted off the room's task: as costly as loading a document.
        let target = tokio::task::spawn_blocking(move || history::rebuild(Some(&state), &[]))
            .await
            .map_err(|_| RoomError::Unavailable)?
            .map_err(|e| {
                tracing::error!(doc = %self.parts.name, error = %e, "replacement refused");
                RoomError::Unavailable
            })?;
        self.full_state.clear();
        let restored = catch_unwind(AssertUnwindSafe(|| {
            crate::doc::restore::restore(&self.doc, &target)
        }));
        match restored {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // Part of it may be applied: storage holds the state before it.
                tracing::error!(doc = %self.parts.name, error = %e, "replacement failed; reloading from storage");
                self.reload().await;
                return Err(RoomError::Unavailable);
            }
            Err(_) => {
                tracing::error!(doc = %self.parts.name, "replacing panicked; reloading from storage");
                self.reload().await;
                return Err(RoomError::Unavailable);
            }
        }
        // One entry, one revision: the replacement's transactions merged (yrs made them all).
        let mut deltas = core::merge(std::mem::take(&mut *lock(&self.deltas)));
        let delta = match (deltas.pop(), deltas.is_empty()) {
            (Some(delta), true) => delta,
            // A restore that changes nothing is still recorded (an empty update): it is a
            // revision, as asked.
            (None, _) => Update::new().encode_v1(),
            (Some(_), false) => {
                tracing::error!(doc = %self.parts.name, "cannot merge the replacement's changes; reloading from storage");
                self.reload().await;
                return Err(RoomError::Unavailable);
            }
        };
        let mut clients = BTreeSet::new();
        let changed = match Update::decode_v1(&delta) {
            Ok(update) => {
                core::block_clients(&update, &mut clients);
                !update.is_empty()
            }
            Err(_) => true,
        };
        // Measured like an edit: it counts towards the document's size.
        self.ledger.count(delta.len());
        let frame = changed.then(|| protocol::sync_update(&delta));
        let info = EntryInfo {
            time_ms: self.parts.clock.now_ms(),
            clients: clients.into_iter().collect(),
            origin,
        };
        let seq = self.persist_replacement(vec![(delta, info)]).await?;
        if let Some(frame) = frame {
            self.broadcast(frame);
        }
        self.checkpoint_if_due().await;
        Ok(Restored::Done { rev: seq })
    }

    /// Fills an empty document with a replacement's own updates: its history's entries if it
    /// has any, else its state as one entry; each admitted like a client's update.
    async fn fill(&mut self, replacement: Replacement) -> Result<Restored, RoomError> {
        let Replacement {
            state,
            origin,
            history,
        } = replacement;
        let now_ms = self.parts.clock.now_ms();
        let raw: Vec<(Vec<u8>, Option<EntryInfo>)> = if history.is_empty() {
            vec![(state, None)]
        } else {
            history.into_iter().map(|(u, i)| (u, Some(i))).collect()
        };
        // Guard-checked off the room's task: an imported history may hold 10⁵ entries.
        let checked = tokio::task::spawn_blocking(move || {
            raw.into_iter()
                .map(|(update, info)| {
                    crate::sync::inbound::CheckedUpdate::decode(&update).map(|c| (update, info, c))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|_| RoomError::Unavailable)?
        .map_err(|e| {
            tracing::error!(doc = %self.parts.name, error = %e, "replacement refused");
            RoomError::Unavailable
        })?;
        let limits = self.parts.settings.limits;
        let mut entries = Vec::with_capacity(checked.len());
        self.full_state.clear();
        for (bytes, info, update) in checked {
            match self.ledger.admit_server(&update, &limits) {
                ServerUpdate::Admitted => {}
                ServerUpdate::Answer(Applied::TooBig) => {
                    // Storage still holds the empty document; what was applied goes.
                    self.reload().await;
                    return Ok(Restored::TooBig);
                }
                ServerUpdate::Answer(_) => {
                    self.reload().await;
                    return Ok(Restored::Missing);
                }
                ServerUpdate::Bug(e) => {
                    tracing::error!(doc = %self.parts.name, error = %e, "replacement refused");
                    self.reload().await;
                    return Err(RoomError::Unavailable);
                }
            }
            let mut clients = BTreeSet::new();
            core::block_clients(&update.update, &mut clients);
            let applied = catch_unwind(AssertUnwindSafe(|| {
                self.doc.transact_mut().apply_update(update.update)
            }));
            if !matches!(applied, Ok(Ok(()))) {
                tracing::error!(doc = %self.parts.name, "replacement does not apply; reloading from storage");
                self.reload().await;
                return Err(RoomError::Unavailable);
            }
            let info = info.unwrap_or_else(|| EntryInfo {
                time_ms: now_ms,
                clients: clients.into_iter().collect(),
                origin: origin.clone(),
            });
            entries.push((bytes, info));
        }
        // The log holds the entries as they came; the observer's copies are not needed.
        lock(&self.deltas).clear();
        let seq = self.persist_replacement(entries).await?;
        let state = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        self.broadcast(protocol::sync_update(&state));
        self.checkpoint_if_due().await;
        Ok(Restored::Done { rev: seq })
    }

    /// Persists a replacement's entries in one call; a storage failure closes the room.
    async fn persist_replacement(
        &mut self,
        entries: Vec<(Vec<u8>, EntryInfo)>,
    ) -> Result<u64, RoomError> {
        match self.persist_all(entries).await {
            Ok(seq) => Ok(seq),
            Err(e) => {
                tracing::error!(doc = %self.parts.name, error = %e, "cannot persist replacement; closing the room");
                self.storage_failed(&e);
                Err(RoomError::Unavailable)
            }
        }
    }

    /// Rebuilds the document from storage after a panic left it in an unknown state; every
    /// client is disconnected so it resyncs what the server may have lost.
    async fn reload(&mut self) {
        lock(&self.deltas).clear();
        self.full_state.clear();
        self.pending_since = None;
        self.pending_clients.clear();
        let store = self.parts.store.clone();
        let name = self.parts.name.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&*store, &name)).await;
        match loaded {
            Ok(Ok((doc, ledger))) if observe(&doc, &self.deltas).is_ok() => {
                self.doc = doc;
                self.ledger = ledger;
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
        while let Some(frame) = core::awareness_frame(&self.awareness, &mut self.awareness_dirty) {
            self.broadcast(frame);
        }
        // Peers have been told: what connections that left introduced can go.
        self.awareness.purge_departed();
    }

    /// Sends `message` to every subscriber (at the end of the flush, during one).
    fn broadcast(&mut self, message: Bytes) {
        match &mut self.held {
            Some(held) => held.push(message),
            None => self.broadcast_all(std::slice::from_ref(&message)),
        }
    }

    /// Sends `messages` to every subscriber, each framed once for all of them, in one write
    /// per subscriber.
    fn broadcast_all(&mut self, messages: &[Bytes]) {
        if messages.is_empty() {
            return;
        }
        let len: usize = messages.iter().map(Bytes::len).sum();
        self.parts
            .stats
            .bytes_out
            .inc_by((len * self.subscribers.len()) as u64);
        let frames: Vec<Frame> = messages.iter().map(|m| Frame::binary(m)).collect();
        let slow: Vec<ConnId> = self
            .subscribers
            .iter()
            .filter(|(_, sub)| sub.outbox.push_all(&frames).is_err())
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

    fn unicast(&mut self, conn: ConnId, message: Bytes) {
        let overflow = self
            .subscribers
            .get(&conn)
            .is_some_and(|s| s.outbox.push(&Frame::binary(&message)).is_err());
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

/// Runs a storage call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(StoreError::Panicked))
}

#[cfg(test)]
mod tests;
