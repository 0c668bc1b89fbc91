//! The room task's orderings, which no decision in `core` can show: storage is written before
//! clients hear of it (updates and restores), and what history records of each entry. Writes and erasures are slowed down, so a frame or close sent before
//! the storage call it should follow is seen while that call is still pending.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, MapPrelim, ReadTxn, StateVector, Text, Transact, Update};

use crate::config::Config;
use crate::doc::history::{self, EntryInfo, Origin};
use crate::doc::lifetime::Lifetime;
use crate::doc::meta::{Kind, NewDoc};
use crate::doc::name::DocName;
use crate::store::{Due, Dump, Entry, Health, Listed, RedbStore, Store, StoreError, Stored};
use crate::sync::awareness::Entry as AwarenessEntry;
use crate::sync::hub::Hub;
use crate::sync::inbound::{CheckedUpdate, Inbound};
use crate::sync::outbox::{self, code};
use crate::sync::protocol::{self, Message};
use crate::sync::room::{DeleteIf, Restored, RoomHandle};

/// How long a slowed storage call takes.
const SLOW: Duration = Duration::from_millis(50);

/// A store whose appends and erasures take [`SLOW`] before they start, and which counts the
/// checkpoints it stores.
struct Slow(Arc<RedbStore>, Arc<AtomicUsize>);

impl Store for Slow {
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        self.0.load(name)
    }
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.meta(name)
    }
    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        self.0.put_meta(name, meta, expires)
    }
    fn append(&self, name: &str, entries: &[Entry<'_>]) -> Result<u64, StoreError> {
        std::thread::sleep(SLOW);
        self.0.append(name, entries)
    }
    fn checkpoint(&self, name: &str, state: &[u8], through: u64) -> Result<(), StoreError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.checkpoint(name, state, through)
    }
    fn history(
        &self,
        name: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.0.history(name, after, limit)
    }
    fn history_before(
        &self,
        name: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.0.history_before(name, before, limit)
    }
    fn log_between(
        &self,
        name: &str,
        first: u64,
        last: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.0.log_between(name, first, last, limit)
    }
    fn squash(
        &self,
        name: &str,
        first: u64,
        last: u64,
        update: &[u8],
        info: &[u8],
    ) -> Result<bool, StoreError> {
        self.0.squash(name, first, last, update, info)
    }
    fn forget(&self, name: &str, through: u64, state: &[u8]) -> Result<bool, StoreError> {
        self.0.forget(name, through, state)
    }
    fn dump(&self, name: &str) -> Result<Dump, StoreError> {
        self.0.dump(name)
    }
    fn put_dump(&self, name: &str, dump: &Dump) -> Result<(), StoreError> {
        self.0.put_dump(name, dump)
    }
    fn version(&self, name: &str, through: u64) -> Result<Stored, StoreError> {
        self.0.version(name, through)
    }
    fn put_authors(&self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError> {
        self.0.put_authors(name, authors)
    }
    fn authors(&self, name: &str, clients: &[u64]) -> Result<Vec<(u64, String)>, StoreError> {
        self.0.authors(name, clients)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.0.flush()
    }
    fn writable(&self) -> Result<(), StoreError> {
        self.0.writable()
    }
    fn health(&self) -> Health {
        self.0.health()
    }
    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        self.0.put_token(token, name)
    }
    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        self.0.token_name(token)
    }
    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        std::thread::sleep(SLOW);
        self.0.delete(name, token)
    }
    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        self.0.list(prefix, after, limit)
    }
    fn size(&self, name: &str) -> Result<u64, StoreError> {
        self.0.size(name)
    }
    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.0.expired(now, after, limit)
    }
    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError> {
        self.0.drop_stale_due(due)
    }
    fn count(&self) -> u64 {
        self.0.count()
    }
    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError> {
        self.0.index_if_missing(name, meta, expires)
    }
    fn done(&self, step: &str) -> Result<bool, StoreError> {
        self.0.done(step)
    }
    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        self.0.mark_done(step)
    }
}

struct Setup {
    hub: Hub,
    store: Arc<RedbStore>,
    checkpoints: Arc<AtomicUsize>,
    name: DocName,
    _dir: tempfile::TempDir,
}

/// A hub over a fresh, [`Slow`] store, holding pad `name`.
async fn setup() -> Setup {
    setup_with(&[]).await
}

/// [`setup`] with these command-line options.
async fn setup_with(args: &[&str]) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(crate::store::open_for_tests(dir.path()));
    let config = Config::load_from(["ardoise"].iter().chain(args).copied()).expect("config");
    let checkpoints = Arc::new(AtomicUsize::new(0));
    let dyn_store: Arc<dyn Store> = Arc::new(Slow(store.clone(), checkpoints.clone()));
    let hub = Hub::new(dyn_store, &config, CancellationToken::new());
    let name = DocName::parse("orderings").expect("name");
    let pad = kept_pad();
    hub.open(&name, Some(pad)).await.expect("created");
    Setup {
        hub,
        store,
        checkpoints,
        name,
        _dir: dir,
    }
}

#[tokio::test]
async fn an_update_is_persisted_before_anyone_receives_it() {
    let s = setup().await;
    let (room, mut reader_rx, _kept) = writer_and_reader(&s).await;
    // Step 1 and the awareness states.
    for _ in 0..2 {
        reader_rx.recv().await.expect("join frame");
    }

    let local = Doc::new();
    local
        .get_or_insert_text("content")
        .insert(&mut local.transact_mut(), 0, "hello");
    let update = local
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let checked = CheckedUpdate::decode(&update).expect("update");
    room.inbound(1, Inbound::Update(Box::new(checked)), Instant::now())
        .await
        .expect("sent");

    let frame = reader_rx.recv().await.expect("the broadcast");
    assert!(matches!(protocol::decode(&frame), Ok(Message::Update(_))));
    let stored = s.store.load(s.name.as_str()).expect("load");
    assert_eq!(stored.log.len(), 1, "logged before it was sent");
}

#[tokio::test]
async fn clients_of_an_erased_document_are_closed_only_once_it_is_erased() {
    let s = setup().await;
    let (conn, _rx) = outbox::channel(64, 1 << 20);
    s.hub.join(&s.name, 1, &conn, false).await.expect("join");
    let closer = conn.closer().clone();
    let store = s.store.clone();
    let name = s.name.clone();
    let watch = tokio::spawn(async move {
        let reason = closer.closed().await;
        (reason.code, store.meta(name.as_str()).expect("meta"))
    });

    let erased = s.hub.delete_if(&s.name, "gone", DeleteIf::Always).await;
    assert_eq!(erased, Ok(true));
    let (code, meta_at_close) = watch.await.expect("watcher");
    assert_eq!(code, code::GONE);
    assert!(meta_at_close.is_none(), "erased before the close");
}

/// Connections a test keeps for its length, so that the room never finds them gone.
struct Kept {
    _writer: (outbox::Outbox, outbox::OutboxReceiver),
    _reader: outbox::Outbox,
}

/// Joins a writer (connection 1) and a read-only reader (connection 2) to the pad of a
/// [`Setup`]: the writer's handle on the room, what the reader receives, and what to keep.
async fn writer_and_reader(s: &Setup) -> (RoomHandle, outbox::OutboxReceiver, Kept) {
    let (writer, writer_rx) = outbox::channel(64, 1 << 20);
    let (reader, reader_rx) = outbox::channel(64, 1 << 20);
    let room = s.hub.join(&s.name, 1, &writer, false).await.expect("join");
    s.hub.join(&s.name, 2, &reader, true).await.expect("join");
    let kept = Kept {
        _writer: (writer, writer_rx),
        _reader: reader,
    };
    (room, reader_rx, kept)
}

/// The update client `doc` sends for what it changed since `before`.
fn sent(doc: &Doc, before: &StateVector) -> Inbound {
    let update = doc.transact().encode_state_as_update_v1(before);
    Inbound::Update(Box::new(CheckedUpdate::decode(&update).expect("update")))
}

/// The next document update `rx` receives, skipping awareness frames.
async fn next_update(rx: &mut outbox::OutboxReceiver) -> Vec<u8> {
    loop {
        let frame = rx.recv().await.expect("a frame");
        if let Ok(Message::Update(update)) = protocol::decode(&frame) {
            return update.to_vec();
        }
    }
}

/// What history recorded of every entry of `name`, oldest first.
fn entries(store: &RedbStore, name: &DocName) -> Vec<(u64, EntryInfo)> {
    store
        .history(name.as_str(), None, 1_000)
        .expect("history")
        .into_iter()
        .map(|(seq, info)| (seq, EntryInfo::from_bytes(&info).expect("info")))
        .collect()
}

/// The pad's text as of entry `through`, rebuilt from storage, and that version's state.
fn version(store: &RedbStore, name: &DocName, through: u64) -> (String, Vec<u8>) {
    let stored = store.version(name.as_str(), through).expect("version");
    let doc = history::rebuild(stored.snapshot.as_deref(), &stored.log).expect("rebuild");
    let text = doc
        .get_or_insert_text("content")
        .get_string(&doc.transact());
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    (text, state)
}

/// The live pad's text, through the hub.
async fn live_text(s: &Setup) -> String {
    let state = s
        .hub
        .snapshot(&s.name)
        .await
        .expect("snapshot")
        .expect("stored");
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&state).expect("state"))
        .expect("applied");
    let text = doc
        .get_or_insert_text("content")
        .get_string(&doc.transact());
    text
}

#[tokio::test]
async fn entries_record_their_time_their_clients_and_their_authors_names() {
    let s = setup().await;
    let (room, mut reader_rx, _kept) = writer_and_reader(&s).await;

    let local = Doc::with_client_id(7);
    let before = local.transact().state_vector();
    local
        .get_or_insert_text("content")
        .insert(&mut local.transact_mut(), 0, "hello");
    local.get_or_insert_map("authors").insert(
        &mut local.transact_mut(),
        "7",
        MapPrelim::from([("id", "a1"), ("name", "Élève Un"), ("color", "#336699")]),
    );
    room.inbound(1, sent(&local, &before), Instant::now())
        .await
        .expect("sent");
    next_update(&mut reader_rx).await;
    let logged = entries(&s.store, &s.name);
    assert_eq!(logged.len(), 1);
    let info = &logged[0].1;
    assert_eq!(info.clients, vec![7]);
    assert_eq!(info.origin, Origin::Edit);
    assert!(
        info.time_ms > 1_700_000_000_000,
        "a time in ms: {}",
        info.time_ms
    );
    assert_eq!(
        s.store.authors(s.name.as_str(), &[7]).expect("authors"),
        vec![(7, "Élève Un".to_owned())]
    );

    // A deletion carries no block of its author: the sender's awareness clients are named.
    let state = AwarenessEntry {
        client: 7,
        clock: 1,
        state: Some(r#"{"user":{"name":"Élève Un"}}"#.into()),
    };
    room.inbound(1, Inbound::Awareness(vec![state]), Instant::now())
        .await
        .expect("sent");
    let before = local.transact().state_vector();
    local
        .get_or_insert_text("content")
        .remove_range(&mut local.transact_mut(), 0, 2);
    room.inbound(1, sent(&local, &before), Instant::now())
        .await
        .expect("sent");
    next_update(&mut reader_rx).await;
    let logged = entries(&s.store, &s.name);
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1].1.clients, vec![7], "who deleted shows");
}

#[tokio::test]
async fn a_restore_is_one_entry_persisted_before_anyone_receives_it_and_can_be_undone() {
    let s = setup().await;
    let (room, mut reader_rx, _kept) = writer_and_reader(&s).await;

    let local = Doc::with_client_id(7);
    let text = local.get_or_insert_text("content");
    for word in ["hello", " world"] {
        let before = local.transact().state_vector();
        let len = text.len(&local.transact());
        text.insert(&mut local.transact_mut(), len, word);
        room.inbound(1, sent(&local, &before), Instant::now())
            .await
            .expect("sent");
        next_update(&mut reader_rx).await;
    }
    let logged = entries(&s.store, &s.name);
    let (first, second) = (logged[0].0, logged[1].0);
    let (old, state) = version(&s.store, &s.name, first);
    assert_eq!(old, "hello");

    let restoring = {
        let hub_name = s.name.clone();
        let hub = &s.hub;
        async move { hub.restore(&hub_name, state, first).await }
    };
    let (restored, frame) = tokio::join!(restoring, async {
        let frame = next_update(&mut reader_rx).await;
        (frame, entries(&s.store, &s.name))
    });
    let (_, at_broadcast) = frame;
    let Ok(Restored::Done { rev }) = restored else {
        panic!("restored: {restored:?}");
    };
    let after = entries(&s.store, &s.name);
    assert_eq!(after.len(), 3, "one entry");
    assert_eq!(after[2].0, rev);
    assert_eq!(after[2].1.origin, Origin::Restore { from: first });
    assert_eq!(at_broadcast.len(), 3, "persisted before it was sent");
    assert_eq!(live_text(&s).await, "hello");
    assert_eq!(version(&s.store, &s.name, rev).0, "hello");

    // Restoring the revision before the restore brings back the state before it.
    let (text_before, state) = version(&s.store, &s.name, second);
    assert_eq!(text_before, "hello world");
    let undone = s.hub.restore(&s.name, state, second).await;
    assert!(
        matches!(undone, Ok(Restored::Done { rev: r }) if r > rev),
        "{undone:?}"
    );
    assert_eq!(live_text(&s).await, "hello world");
}

#[tokio::test]
async fn a_restore_that_changes_nothing_is_still_a_revision_and_the_document_reloads() {
    let s = setup_with(&["--unload-grace-secs", "0"]).await;
    let state_of = |t: &str| {
        let doc = Doc::new();
        doc.get_or_insert_text("content")
            .insert(&mut doc.transact_mut(), 0, t);
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        state
    };
    // The pad is empty: restoring an empty version changes nothing.
    let Ok(Restored::Done { rev }) = s.hub.restore(&s.name, state_of(""), 1).await else {
        panic!("not restored");
    };
    let Ok(Restored::Done { rev: second }) = s.hub.restore(&s.name, state_of("abc"), rev).await
    else {
        panic!("not restored");
    };
    let logged = entries(&s.store, &s.name);
    assert_eq!(
        logged.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        vec![rev, second]
    );
    assert_eq!(logged[0].1.origin, Origin::Restore { from: 1 });
    wait_unloaded(&s.hub).await;
    assert_eq!(live_text(&s).await, "abc", "reloaded from the log");
}

#[tokio::test]
async fn a_restore_of_a_missing_or_too_big_document_applies_nothing() {
    let s = setup_with(&["--max-doc-bytes", "64"]).await;
    let missing = DocName::parse("nobody-wrote-here").expect("name");
    assert_eq!(
        s.hub.restore(&missing, vec![0, 0], 1).await,
        Ok(Restored::Missing)
    );
    let big = Doc::new();
    big.get_or_insert_text("content")
        .insert(&mut big.transact_mut(), 0, &"x".repeat(200));
    let state = big
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    assert_eq!(s.hub.restore(&s.name, state, 1).await, Ok(Restored::TooBig));
    assert!(entries(&s.store, &s.name).is_empty(), "nothing logged");
}

#[tokio::test]
async fn opening_a_document_a_thousand_times_stores_no_checkpoint() {
    let s = setup_with(&["--unload-grace-secs", "0", "--compact-after-updates", "1"]).await;
    let (writer, _writer_rx) = outbox::channel(64, 1 << 20);
    let room = s.hub.join(&s.name, 1, &writer, false).await.expect("join");
    let local = Doc::with_client_id(7);
    let before = local.transact().state_vector();
    local.get_or_insert_text("content").insert(
        &mut local.transact_mut(),
        0,
        &"a long enough text ".repeat(20),
    );
    room.inbound(1, sent(&local, &before), Instant::now())
        .await
        .expect("sent");
    room.leave(1).await.expect("left");
    wait_unloaded(&s.hub).await;
    let first = s.checkpoints.load(Ordering::SeqCst);
    assert_eq!(first, 1, "a checkpoint past the threshold");

    for conn in 2..1_002 {
        let (c, _rx) = outbox::channel(64, 1 << 20);
        let room = s.hub.join(&s.name, conn, &c, false).await.expect("join");
        room.leave(conn).await.expect("left");
        wait_unloaded(&s.hub).await;
    }
    assert_eq!(s.checkpoints.load(Ordering::SeqCst), first, "none added");
}

/// A room due for a checkpoint while other rooms hold every permit stores none and goes on
/// broadcasting; once a permit is free, its next flush stores it.
#[tokio::test]
async fn a_room_due_for_a_checkpoint_waits_for_a_free_permit_without_stalling() {
    let s = setup_with(&["--compact-after-updates", "1"]).await;
    let permits = s.hub.checkpoint_permits();
    let all = u32::try_from(permits.available_permits()).expect("a few permits");
    let held = permits.acquire_many_owned(all).await.expect("permits");
    let (room, mut reader_rx, _kept) = writer_and_reader(&s).await;
    let local = Doc::with_client_id(7);
    let text = local.get_or_insert_text("content");
    // A room handles its flushes one after the other, the checkpoint within its flush: the
    // broadcast of edit n + 1 comes after edit n's flush ended.
    let mut type_and_see = async |word: &str| {
        let before = local.transact().state_vector();
        text.insert(&mut local.transact_mut(), 0, word);
        room.inbound(1, sent(&local, &before), Instant::now())
            .await
            .expect("sent");
        next_update(&mut reader_rx).await;
    };

    type_and_see("one ").await;
    type_and_see("two ").await;
    assert_eq!(s.checkpoints.load(Ordering::SeqCst), 0, "no permit free");
    drop(held);
    type_and_see("three ").await;
    type_and_see("four ").await;
    assert_eq!(
        s.checkpoints.load(Ordering::SeqCst),
        1,
        "stored once a permit was free"
    );
}

/// Waits until no room is live (polling: an unload is announced to nobody).
async fn wait_unloaded(hub: &Hub) {
    while hub.live_rooms() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A pad asked for (not provisional) that never expires.
fn kept_pad() -> NewDoc {
    NewDoc {
        kind: Kind::Pad,
        lifetime: Lifetime::Forever,
        creator: None,
        provisional: false,
    }
}

/// A hub on `store` for node `id`.
fn node(store: Arc<dyn Store>, id: &str) -> Hub {
    let config = Config::load_from(["ardoise", "--node-id", id]).expect("config");
    Hub::new(store, &config, CancellationToken::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_whose_lease_moved_closes_its_clients_with_1012_and_writes_nothing() {
    let (a_store, b_store) = crate::store::postgres_pair_for_tests();
    let (a_store, b_store) = (Arc::new(a_store), Arc::new(b_store));
    let a = node(a_store.clone(), "a");
    let b = node(b_store.clone(), "b");
    let name = DocName::parse("leased").expect("name");
    let pad = kept_pad();
    a.open(&name, Some(pad)).await.expect("created on a");
    let (on_a, _on_a_rx) = outbox::channel(64, 1 << 20);
    let room = a.join(&name, 1, &on_a, false).await.expect("joins on a");
    let (on_b, _on_b_rx) = outbox::channel(64, 1 << 20);
    assert!(
        b.join(&name, 1, &on_b, false).await.is_err(),
        "b cannot serve a document live on a"
    );

    // a stops renewing (paused, cut off): its lease expires and b takes the document over.
    a_store.expire_leases_for_tests();
    b.join(&name, 1, &on_b, false).await.expect("joins on b");

    let closer = on_a.closer().clone();
    let local = Doc::new();
    local
        .get_or_insert_text("content")
        .insert(&mut local.transact_mut(), 0, "stale");
    room.inbound(1, sent(&local, &StateVector::default()), Instant::now())
        .await
        .expect("sent");
    let closed = tokio::time::timeout(Duration::from_secs(10), closer.closed())
        .await
        .expect("a closes its clients");
    assert_eq!(closed.code, code::SERVICE_RESTART);
    let stored = b_store.load(name.as_str()).expect("loads");
    assert!(stored.log.is_empty(), "the stale node wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_s_renewal_closes_a_quiet_room_whose_lease_moved_and_keeps_the_others() {
    let (a_store, b_store) = crate::store::postgres_pair_for_tests();
    let a_store = Arc::new(a_store);
    let a = node(a_store.clone(), "a");
    let b = node(Arc::new(b_store), "b");
    let moved = DocName::parse("moved").expect("name");
    let kept = DocName::parse("kept").expect("name");
    let mut outboxes = Vec::new();
    for (conn, name) in [(1, &moved), (2, &kept)] {
        a.open(name, Some(kept_pad())).await.expect("created on a");
        let (outbox, rx) = outbox::channel(64, 1 << 20);
        a.join(name, conn, &outbox, false)
            .await
            .expect("joins on a");
        outboxes.push((outbox, rx));
    }
    // a's leases lapse (as if its renewals were late); b takes one document over.
    a_store.expire_leases_for_tests();
    let (on_b, _on_b_rx) = outbox::channel(64, 1 << 20);
    b.join(&moved, 1, &on_b, false)
        .await
        .expect("b takes it over");

    a.renew_leases().await.expect("renews");
    let closed = tokio::time::timeout(Duration::from_secs(10), outboxes[0].0.closer().closed())
        .await
        .expect("the room of the moved document closes, though nobody wrote");
    assert_eq!(closed.code, code::SERVICE_RESTART);
    assert!(
        b.join(&kept, 2, &on_b, false).await.is_err(),
        "the other lease was renewed: still a's"
    );
    assert!(
        outboxes[1].0.closer().reason().is_none(),
        "its room stays open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_shutting_down_releases_its_leases_so_another_serves_at_once() {
    let (a_store, b_store) = crate::store::postgres_pair_for_tests();
    let config = Config::load_from(["ardoise", "--node-id", "a"]).expect("config");
    let shutdown = CancellationToken::new();
    let a = Hub::new(Arc::new(a_store), &config, shutdown.clone());
    let b = node(Arc::new(b_store), "b");
    let name = DocName::parse("handed-over").expect("name");
    let pad = kept_pad();
    a.open(&name, Some(pad)).await.expect("created on a");
    let (conn, _rx) = outbox::channel(64, 1 << 20);
    assert!(b.join(&name, 1, &conn, false).await.is_err(), "live on a");
    shutdown.cancel();
    a.wait_stopped().await;
    // Well before the 10 s lease would have expired by itself.
    b.join(&name, 1, &conn, false)
        .await
        .expect("b serves it at once");
}
