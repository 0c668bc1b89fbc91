//! The room's decisions, as plain functions over plain state: which update is admitted and why
//! one is refused, what a subscriber is sent, when changes go out, when a checkpoint is due,
//! what a delete must do first and what an unload leaves behind. No tokio, no channels, no
//! storage: the task (`task.rs`) asks, then does the IO these answers describe.

use std::collections::{BTreeSet, HashMap};
use std::ops::Add;
use std::time::{Duration, Instant};

use bytes::Bytes;
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, Map, Out, ReadTxn, StateVector, Transact, Update};

use crate::config::{Config, HistoryKeep};
use crate::doc::edit::EditRefused;
use crate::doc::guard::GuardError;
use crate::doc::history;
use crate::doc::lifetime::Lifetime;
use crate::doc::meta::{DocMeta, Kind, NewDoc};
use crate::doc::nesting::Nesting;
use crate::sync::awareness::{Awareness, AwarenessError, ConnId};
use crate::sync::inbound::{CheckedUpdate, Inbound};
use crate::sync::outbox::code;
use crate::sync::protocol;
use crate::sync::room::DeleteIf;

/// What a room reads from the server's configuration, taken from [`Config`] once by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sync) struct RoomSettings {
    /// Commands a room's queue holds before senders wait.
    pub queue_messages: usize,
    /// How long an awareness state lives without renewal.
    pub awareness_timeout: Duration,
    /// How long a room with no connection stays loaded.
    pub unload_grace: Duration,
    /// The broadcast throttle: at most one frame per tick.
    pub broadcast_tick: Duration,
    /// The lifetime of a document created by writing to its name.
    pub retention_default: Lifetime,
    /// Whether every log entry is flushed to disk before it is broadcast.
    pub sync: bool,
    /// The limits the room's decisions read.
    pub limits: Limits,
    /// How long history is kept (thinned after each checkpoint).
    pub history_keep: HistoryKeep,
    /// How long the room's lease on its document lasts unless renewed.
    pub lease: Duration,
}

impl RoomSettings {
    /// The room's settings in the server's configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            queue_messages: config.room_queue_messages,
            awareness_timeout: config.awareness_timeout(),
            unload_grace: config.unload_grace(),
            broadcast_tick: config.broadcast_tick(),
            retention_default: config.retention_default,
            sync: config.sync,
            limits: Limits::from_config(config),
            history_keep: config.history_keep(),
            lease: config.lease(),
        }
    }
}

/// The limits the room's decisions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sync) struct Limits {
    /// Past this encoded size, only deletions are admitted.
    pub max_doc_bytes: usize,
    /// Log entries since the last checkpoint past which a checkpoint may be due.
    pub checkpoint_after_updates: usize,
    /// Log bytes since the last checkpoint past which a checkpoint may be due.
    pub checkpoint_after_bytes: usize,
}

impl Limits {
    /// The room's limits in the server's configuration.
    fn from_config(config: &Config) -> Self {
        Self {
            max_doc_bytes: config.max_doc_bytes,
            checkpoint_after_updates: config.compact_after_updates,
            checkpoint_after_bytes: config.compact_after_bytes,
        }
    }
}

/// What the room knows of its document beyond the yrs `Doc`: where it stands in storage, and
/// how deep its shared types nest (every update is admitted by it before yrs applies it).
#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// The metadata; `None` while the document does not exist.
    pub meta: Option<DocMeta>,
    /// Sequence number of the last logged update.
    pub last_seq: u64,
    /// Updates logged since the last checkpoint.
    pub log_entries: usize,
    /// Bytes logged since the last checkpoint.
    pub log_bytes: usize,
    /// Size of the last checkpoint (0 if there is none).
    pub checkpoint_bytes: usize,
    /// Estimated encoded size of the document.
    pub doc_bytes: usize,
    /// The nesting record of the document's shared types.
    pub nesting: Nesting,
}

/// Why an update was not admitted into the document, or a connection's message refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Past the document's size or item limit; the text says which.
    TooBig(&'static str),
    /// A shape the document must not take (nesting).
    Shape(GuardError),
    /// An awareness update the room cannot take.
    Awareness(AwarenessError),
}

impl Refusal {
    /// The close code and reason the refused connection gets.
    pub fn close(&self) -> (u16, &'static str) {
        match self {
            Refusal::TooBig(reason) => (code::TOO_BIG, reason),
            Refusal::Shape(e) => (code::POLICY_VIOLATION, e.message()),
            // A full room is a passing state; speaking for many clients at once is not what a
            // y-websocket client does.
            Refusal::Awareness(e @ AwarenessError::RoomFull) => (code::TRY_AGAIN_LATER, e.reason()),
            Refusal::Awareness(e) => (code::POLICY_VIOLATION, e.reason()),
        }
    }
}

/// What becomes of a server-made update (an import, an API command).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ServerUpdate {
    /// Admitted: applied with the tick's updates, answered once persisted.
    Admitted,
    /// Answered at once: the document is missing, or the update would make it too big.
    Answer(super::Applied),
    /// Refused by the nesting bounds: the server made it from a flat model, so this is a bug.
    Bug(GuardError),
}

/// What the room does with a subscribed connection's message.
#[derive(Debug)]
pub(super) enum Heard {
    /// Nothing (a read-only connection's update).
    Nothing,
    /// Answer with the sync step 2 the connection lacks, once the tick's updates are persisted.
    Step1(StateVector),
    /// Apply with the tick's other updates (admitted and counted: `len` bytes).
    Update(Update, usize),
    /// These awareness clients changed: broadcast them at the next flush.
    Awareness(Vec<u64>),
    /// Send the connection every live awareness state.
    QueryAwareness,
    /// Close the connection.
    Refused(Refusal),
}

/// What a delete must do, decided against the current metadata.
#[derive(Debug, PartialEq)]
pub(super) enum DeletePlan {
    /// The condition does not hold: nothing happens.
    Keep,
    /// Nothing is stored: clients are told it is gone (4410) and the room ends.
    Gone,
    /// Erase this document (metadata and read token) from storage first; only then are
    /// clients told (4410), so one that reloads on the close finds the name empty.
    Erase(DocMeta),
}

impl DeleteIf {
    /// Whether the condition holds for `meta`.
    pub(super) fn holds(self, meta: &DocMeta) -> bool {
        match self {
            DeleteIf::Always => true,
            DeleteIf::ExpiredAt(now) => meta.expires_at().is_some_and(|at| at <= now),
            DeleteIf::Creator(presented) => meta
                .creator
                .is_some_and(|stored| stored.matches(&presented)),
        }
    }
}

/// The metadata and expiry to store with a log entry.
pub(super) type MetaWrite = (Vec<u8>, Option<u64>);

impl Ledger {
    /// Whether an update of `len` bytes may be applied under the document size limit: once the
    /// document is at the limit only deletions (which add no content) are accepted.
    fn within_size(&self, update: &Update, len: usize, limits: &Limits) -> bool {
        self.doc_bytes + len <= limits.max_doc_bytes || update.state_vector_lower().is_empty()
    }

    /// Admits an update into the document before yrs applies it: within the size limit and
    /// within the nesting bounds, which are a property of the document, not of the update
    /// alone. Counts its bytes once admitted; records nothing when it is refused.
    pub fn admit(&mut self, checked: &CheckedUpdate, limits: &Limits) -> Result<(), Refusal> {
        if !self.within_size(&checked.update, checked.len, limits) {
            return Err(Refusal::TooBig("document size limit reached"));
        }
        match self.nesting.admit(&checked.shape) {
            Ok(()) => {
                self.doc_bytes += checked.len;
                Ok(())
            }
            Err(e @ GuardError::DocTooManyItems) => Err(Refusal::TooBig(e.message())),
            Err(e) => Err(Refusal::Shape(e)),
        }
    }

    /// Admits a server-made update: never into a missing document (it is never created this
    /// way).
    pub fn admit_server(&mut self, checked: &CheckedUpdate, limits: &Limits) -> ServerUpdate {
        if self.meta.is_none() {
            return ServerUpdate::Answer(super::Applied::Missing);
        }
        match self.admit(checked, limits) {
            Ok(()) => ServerUpdate::Admitted,
            Err(Refusal::Shape(e)) => ServerUpdate::Bug(e),
            Err(_) => ServerUpdate::Answer(super::Applied::TooBig),
        }
    }

    /// Whether an API edit inserting `len` bytes may be applied: to an existing pad with room
    /// for it. Its bytes are counted by [`Ledger::count`] once yrs applied it.
    pub fn check_edit(&self, len: usize, limits: &Limits) -> Result<(), EditRefused> {
        match &self.meta {
            None => return Err(EditRefused::NotFound),
            Some(meta) if meta.kind != Kind::Pad => return Err(EditRefused::WrongKind),
            Some(_) => {}
        }
        if self.doc_bytes + len > limits.max_doc_bytes {
            return Err(EditRefused::TooBig);
        }
        Ok(())
    }

    /// Counts `len` bytes applied to the document.
    pub fn count(&mut self, len: usize) {
        self.doc_bytes += len;
    }

    /// The document to create before logging an update to a name nobody opened through a page:
    /// a pad, by its link like a WebSocket join (what was written decides whether it is kept).
    pub fn implicit_creation(&self, lifetime: Lifetime) -> Option<NewDoc> {
        self.meta.is_none().then_some(NewDoc {
            kind: Kind::Pad,
            lifetime,
            creator: None,
            provisional: true,
        })
    }

    /// Records an edit at `now` (Unix seconds); the metadata (with its expiry) to write with the
    /// log entry, at most once per second of edits.
    pub fn touch(&mut self, now: u64) -> Option<MetaWrite> {
        match &mut self.meta {
            Some(meta) if meta.last_edit != now => {
                meta.last_edit = now;
                Some((meta.to_bytes(), meta.expires_at()))
            }
            _ => None,
        }
    }

    /// Records a log entry of `len` bytes stored under `seq`.
    pub fn logged(&mut self, seq: u64, len: usize) {
        self.last_seq = seq;
        self.log_entries += 1;
        self.log_bytes += len;
    }

    /// Whether a checkpoint is due: the log since the last one has passed a threshold AND
    /// weighs at least that checkpoint. The second rule keeps storage linear in the log (every
    /// checkpoint is paid for by as many log bytes before it), however often the document is
    /// opened or how big it is; the first keeps a rebuild's replay bounded.
    pub fn checkpoint_due(&self, limits: &Limits) -> bool {
        let past_threshold = self.log_entries >= limits.checkpoint_after_updates
            || self.log_bytes >= limits.checkpoint_after_bytes;
        self.log_entries > 0 && past_threshold && self.log_bytes >= self.checkpoint_bytes
    }

    /// Records a checkpoint of `len` bytes through the last logged entry.
    pub fn checkpointed(&mut self, len: usize) {
        self.log_entries = 0;
        self.log_bytes = 0;
        self.checkpoint_bytes = len;
        self.doc_bytes = len;
    }

    /// What deleting under `only_if` must do; takes the metadata when storage is to be erased
    /// (the room holds no document from then on, whatever storage answers).
    pub fn plan_delete(&mut self, only_if: DeleteIf) -> DeletePlan {
        // A condition about metadata does not hold for a document that has none.
        let holds = match &self.meta {
            Some(meta) => only_if.holds(meta),
            None => only_if == DeleteIf::Always,
        };
        match (holds, self.meta.take()) {
            (false, meta) => {
                self.meta = meta;
                DeletePlan::Keep
            }
            (true, None) => DeletePlan::Gone,
            (true, Some(meta)) => DeletePlan::Erase(meta),
        }
    }

    /// Whether the document is erased as its room unloads: provisional (made by opening its
    /// link) and holding nothing anyone typed (see [`untouched`]).
    pub fn erasable_at_unload(&self, doc: &Doc) -> bool {
        self.meta.as_ref().is_some_and(|m| m.provisional) && untouched(doc)
    }
}

/// What a stopping room does before it leaves the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unload {
    /// Persist pending changes (then checkpoint, if one is due).
    pub persist: bool,
    /// Erase the document if [`Ledger::erasable_at_unload`]. Not at shutdown: a page left open
    /// reconnects after the restart and must find its document, of its kind.
    pub erase_if_untouched: bool,
}

/// What a stopping room does: nothing is written back by a broken room (storage failed; the
/// next load starts afresh) or for an erased document.
pub(super) fn unload(shutting_down: bool, broken: bool, deleted: bool) -> Unload {
    let persist = !broken && !deleted;
    Unload {
        persist,
        erase_if_untouched: persist && !shutting_down,
    }
}

/// When pending changes go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlushAt<I> {
    /// Nothing new to schedule (nothing pending, or a flush is already due).
    Unchanged,
    /// Now: the last flush is a tick old.
    Now,
    /// At the end of the current tick.
    At(I),
}

/// The broadcast throttle: the first change after a quiet tick goes out at once, later ones
/// wait for the end of the tick and leave as one merged frame.
pub(super) fn flush_at<I>(
    pending: bool,
    scheduled: bool,
    last_flush: I,
    tick: Duration,
    now: I,
) -> FlushAt<I>
where
    I: Copy + Ord + Add<Duration, Output = I>,
{
    if !pending || scheduled {
        return FlushAt::Unchanged;
    }
    let next = last_flush + tick;
    if next <= now {
        FlushAt::Now
    } else {
        FlushAt::At(next)
    }
}

/// Since when the room has had no subscriber (its unload grace starts then), or `None`.
pub(super) fn empty_since<I: Copy>(empty: bool, since: Option<I>, now: I) -> Option<I> {
    match (empty, since) {
        (true, None) => Some(now),
        (true, since) => since,
        (false, _) => None,
    }
}

/// What the room does with message `msg` from a connection subscribed with `read_only`, read
/// at `now`: updates pass [`Ledger::admit`], awareness updates the room's [`Awareness`].
pub(super) fn hear(
    ledger: &mut Ledger,
    awareness: &mut Awareness,
    limits: &Limits,
    conn: ConnId,
    read_only: bool,
    msg: Inbound,
    now: Instant,
) -> Heard {
    match msg {
        // A read-only connection's document changes are dropped, per protocol.
        Inbound::Update(..) if read_only => Heard::Nothing,
        Inbound::Step1(sv) => Heard::Step1(sv),
        Inbound::Update(checked) => match ledger.admit(&checked, limits) {
            Ok(()) => Heard::Update(checked.update, checked.len),
            Err(refusal) => Heard::Refused(refusal),
        },
        Inbound::Awareness(entries) => match awareness.apply(conn, entries, now) {
            Ok(changed) => Heard::Awareness(changed),
            Err(e) => Heard::Refused(Refusal::Awareness(e)),
        },
        Inbound::QueryAwareness => Heard::QueryAwareness,
    }
}

/// The frames a joining connection is sent first: sync step 1 (the document's state vector)
/// and every live awareness state.
pub(super) fn join_frames(doc: &Doc, awareness: &Awareness) -> (Bytes, Bytes) {
    let sv = doc.transact().state_vector().encode_v1();
    (
        protocol::sync_step1(&sv),
        protocol::awareness(&awareness.encode_live()),
    )
}

/// The sync step 2 answering a join's step 1, encoded once per document state: joins come in
/// waves (a class opening a pad), and encoding the whole document is the most expensive thing a
/// room does for them. Cleared on every change.
#[derive(Debug, Default)]
pub(super) struct FullState(Option<Bytes>);

impl FullState {
    /// Forgets the cached frame: the document changed.
    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// The sync step 2 answering state vector `sv`: the whole document (cached) for a new
    /// client, else what it lacks.
    pub fn answer(&mut self, doc: &Doc, sv: &StateVector) -> Bytes {
        if !sv.is_empty() {
            return protocol::sync_step2(&doc.transact().encode_state_as_update_v1(sv));
        }
        if let Some(frame) = &self.0 {
            return frame.clone();
        }
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let frame = protocol::sync_step2(&update);
        self.0 = Some(frame.clone());
        frame
    }
}

/// The awareness frame for the clients in `dirty` (each once), emptying it; `None` when
/// nothing changed.
pub(super) fn awareness_frame(awareness: &Awareness, dirty: &mut Vec<u64>) -> Option<Bytes> {
    if dirty.is_empty() {
        return None;
    }
    let mut clients = std::mem::take(dirty);
    clients.sort_unstable();
    clients.dedup();
    Some(protocol::awareness(&awareness.encode(&clients)))
}

/// Whether nobody ever typed into the document: it holds no item but the calc's first sheet,
/// which every calc client writes alike on opening (`doc::calc::schema::FIRST_SHEET_CLIENT`), and
/// nothing was ever deleted. State vectors only grow, so a document once typed into (even
/// emptied since) never counts as untouched again.
pub(super) fn untouched(doc: &Doc) -> bool {
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

/// The clients whose blocks update `update` carries (at most [`history::MAX_CLIENTS`]): who
/// made a delta. `Update::state_vector` would miss them, as it counts only blocks from clock 0.
pub(super) fn block_clients(update: &Update, into: &mut BTreeSet<u64>) {
    for (client, _) in update.state_vector_lower().iter() {
        if into.len() >= history::MAX_CLIENTS {
            return;
        }
        into.insert(client.get());
    }
}

/// Whether applying `update` may delete something: its delete set is not empty. A deletion
/// carries no block of its author, so the room names the sender's awareness clients instead.
pub(super) fn deletes(update: &Update) -> bool {
    !update.delete_set().is_empty()
}

/// Most author names a room remembers having recorded; past it the memory starts afresh (a
/// name is then written again, which is harmless).
const MAX_KNOWN_AUTHORS: usize = 1024;

/// The author names a room has recorded in storage, so that each is written once (again when
/// it changes), and the clients it logged without a name yet: a client may write its
/// `authors` entry after its first edit, and its name is recorded with the next entry.
#[derive(Debug, Default)]
pub(super) struct KnownAuthors {
    names: HashMap<u64, String>,
    unnamed: BTreeSet<u64>,
}

impl KnownAuthors {
    /// The names in `doc`'s `authors` map, not recorded yet or changed, of `clients` and of
    /// the clients logged earlier without one; remembers those of `clients` that have none.
    pub fn unrecorded(&mut self, doc: &Doc, clients: &[u64]) -> Vec<(u64, String)> {
        let txn = doc.transact();
        let map = txn.get_map("authors");
        let mut found = Vec::new();
        let wanted: BTreeSet<u64> = clients.iter().chain(&self.unnamed).copied().collect();
        for client in wanted {
            let name = map
                .as_ref()
                .and_then(|map| map.get(&txn, &client.to_string()))
                .and_then(|entry| author_name(&txn, entry));
            match name {
                Some(name) if self.names.get(&client) != Some(&name) => found.push((client, name)),
                Some(_) => {}
                None if self.unnamed.len() < MAX_KNOWN_AUTHORS => {
                    self.unnamed.insert(client);
                }
                None => {}
            }
        }
        found
    }

    /// Remembers names as recorded.
    pub fn recorded(&mut self, names: Vec<(u64, String)>) {
        if self.names.len() + names.len() > MAX_KNOWN_AUTHORS {
            self.names.clear();
        }
        for (client, name) in names {
            self.unnamed.remove(&client);
            self.names.insert(client, name);
        }
    }
}

/// The `name` of an `authors` entry `{id, name, color}`, written as a plain object or a nested
/// `Y.Map`; `None` if it has none (or an empty one). Cut to what history stores of a name.
fn author_name<T: ReadTxn>(txn: &T, entry: Out) -> Option<String> {
    let name = match entry {
        Out::Any(Any::Map(m)) => m.get("name").cloned(),
        Out::YMap(m) => match m.get(txn, "name")? {
            Out::Any(any) => Some(any),
            _ => None,
        },
        _ => None,
    };
    let Some(Any::String(name)) = name else {
        return None;
    };
    let mut end = name.len().min(history::MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let name = name[..end].trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The deltas as one merged update, so that they are encoded, logged and sent once; if yrs
/// cannot merge them (it produced them all, so that is not expected) they stay apart.
pub(super) fn merge(deltas: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
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

#[cfg(test)]
mod tests;
