//! The room task's orderings, which no decision in `core` can show: storage is written before
//! clients hear of it. Writes and erasures are slowed down, so a frame or close sent before
//! the storage call it should follow is seen while that call is still pending.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

use crate::config::Config;
use crate::doc::lifetime::Lifetime;
use crate::doc::meta::{Kind, NewDoc};
use crate::doc::name::DocName;
use crate::store::{Due, Dump, Entry, Health, Listed, RedbStore, Store, StoreError, Stored};
use crate::sync::hub::Hub;
use crate::sync::inbound::{CheckedUpdate, Inbound};
use crate::sync::outbox::{self, code};
use crate::sync::protocol::{self, Message};
use crate::sync::room::DeleteIf;

/// How long a slowed storage call takes.
const SLOW: Duration = Duration::from_millis(50);

/// A store whose appends and erasures take [`SLOW`] before they start.
struct Slow(Arc<RedbStore>);

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
    name: DocName,
    _dir: tempfile::TempDir,
}

/// A hub over a fresh, [`Slow`] store, holding pad `name`.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(crate::store::open_for_tests(dir.path()));
    let config = Config::load_from(["ardoise"]).expect("config");
    let dyn_store: Arc<dyn Store> = Arc::new(Slow(store.clone()));
    let hub = Hub::new(dyn_store, &config, CancellationToken::new());
    let name = DocName::parse("orderings").expect("name");
    let pad = NewDoc {
        kind: Kind::Pad,
        lifetime: Lifetime::Forever,
        creator: None,
        provisional: false,
    };
    hub.open(&name, Some(pad)).await.expect("created");
    Setup {
        hub,
        store,
        name,
        _dir: dir,
    }
}

#[tokio::test]
async fn an_update_is_persisted_before_anyone_receives_it() {
    let s = setup().await;
    let (writer, _writer_rx) = outbox::channel(64, 1 << 20);
    let (reader, mut reader_rx) = outbox::channel(64, 1 << 20);
    let room = s.hub.join(&s.name, 1, &writer, false).await.expect("join");
    s.hub.join(&s.name, 2, &reader, true).await.expect("join");
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
