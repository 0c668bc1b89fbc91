//! The committer's batching, ordering, failures and shutdown, held at the start of a batch
//! (its test hook) so that what is queued meanwhile is known, not timed.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;

use tokio::sync::mpsc as tokio_mpsc;

use super::{BeforeBatch, Committer, DocWrites};
use crate::store::{
    DocWrite, Due, Dump, Entry, Health, Listed, RedbStore, Store, StoreError, Stored,
};

/// A hook that holds the committer at its first batch: `entered` hears when it is there,
/// and it goes on when `release` sends.
fn held_once() -> (
    BeforeBatch,
    tokio_mpsc::UnboundedReceiver<()>,
    std_mpsc::Sender<()>,
) {
    let (entered_tx, entered) = tokio_mpsc::unbounded_channel();
    let (release, release_rx) = std_mpsc::channel::<()>();
    let mut first = true;
    let hook: BeforeBatch = Box::new(move || {
        if std::mem::take(&mut first) {
            let _ = entered_tx.send(());
            let _ = release_rx.recv();
        }
    });
    (hook, entered, release)
}

/// A committer on `store` held at its first batch, which holds `first`; answers it with that
/// write's answer and what releases the batch.
async fn held(
    store: Arc<dyn Store>,
    first: DocWrites,
) -> (
    Committer,
    tokio::sync::oneshot::Receiver<Result<u64, StoreError>>,
    std_mpsc::Sender<()>,
) {
    let (hook, mut entered, release) = held_once();
    let committer = Committer::start(store, hook);
    let answer = committer.enqueue(first).await.expect("queued");
    entered.recv().await.expect("held");
    (committer, answer, release)
}

fn write(name: &str, update: &str, sync: bool) -> DocWrites {
    DocWrites {
        name: name.to_owned(),
        meta: None,
        authors: Vec::new(),
        entries: vec![(update.as_bytes().to_vec(), b"i".to_vec())],
        sync,
    }
}

fn redb(dir: &tempfile::TempDir) -> Arc<RedbStore> {
    Arc::new(crate::store::open_for_tests(dir.path()))
}

#[tokio::test]
async fn writes_queued_meanwhile_go_in_one_batch_each_document_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = redb(&dir);
    let (committer, first, release) = held(store.clone(), write("z", "z0", false)).await;
    let mut answers = Vec::new();
    for round in 0..3 {
        for doc in 0..10 {
            let w = write(&format!("d{doc}"), &format!("d{doc}-{round}"), round == 2);
            answers.push((doc, committer.enqueue(w).await.expect("queued")));
        }
    }
    release.send(()).expect("release");
    assert!(first.await.expect("answered").is_ok());
    let mut seqs = vec![Vec::new(); 10];
    for (doc, answer) in answers {
        seqs[doc].push(answer.await.expect("answered").expect("written"));
    }
    assert_eq!(
        committer.batches(),
        2,
        "the held batch, then all queued meanwhile"
    );
    for (doc, seqs) in seqs.iter().enumerate() {
        let log = store.load(&format!("d{doc}")).expect("load").log;
        let expected: Vec<(u64, Vec<u8>)> = seqs
            .iter()
            .zip(0..3)
            .map(|(seq, round)| (*seq, format!("d{doc}-{round}").into_bytes()))
            .collect();
        assert_eq!(log, expected, "each document's writes in the order queued");
    }
}

#[tokio::test]
async fn many_concurrent_writers_are_all_answered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = redb(&dir);
    let committer = Arc::new(Committer::new(store.clone()));
    let mut tasks = Vec::new();
    for doc in 0..20 {
        let committer = committer.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for i in 0..10 {
                let seq = committer
                    .write(write(&format!("d{doc}"), &format!("{i}"), i % 3 == 0))
                    .await
                    .expect("written");
                assert!(seq > last, "a document's numbers increase");
                last = seq;
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    assert!(committer.batches() <= 200);
    for doc in 0..20 {
        let log = store.load(&format!("d{doc}")).expect("load").log;
        let updates: Vec<Vec<u8>> = log.into_iter().map(|(_, u)| u).collect();
        let expected: Vec<Vec<u8>> = (0..10).map(|i| format!("{i}").into_bytes()).collect();
        assert_eq!(updates, expected);
    }
}

#[tokio::test]
async fn a_failed_batch_fails_every_writer_in_it_and_the_next_batch_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Failing::new(redb(&dir)));
    store.fail_writes.store(true, Ordering::SeqCst);
    let (committer, first, release) = held(store.clone(), write("z", "z0", false)).await;
    let mut answers = Vec::new();
    for doc in 0..5 {
        answers.push(
            committer
                .enqueue(write(&format!("d{doc}"), "u", false))
                .await
                .expect("queued"),
        );
    }
    // The held batch fails; so does the one queued meanwhile, as a whole.
    release.send(()).expect("release");
    assert!(first.await.expect("answered").is_err());
    for answer in answers {
        let e = answer.await.expect("answered").expect_err("failed");
        assert!(e.is_io(), "the copy is still a disk error: {e}");
    }
    store.fail_writes.store(false, Ordering::SeqCst);
    assert!(committer.write(write("d0", "again", false)).await.is_ok());
}

#[tokio::test]
async fn a_failed_flush_fails_the_writers_that_asked_for_it_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Failing::new(redb(&dir)));
    store.fail_flush.store(true, Ordering::SeqCst);
    let (committer, first, release) = held(store.clone(), write("z", "z0", false)).await;
    let durable = committer
        .enqueue(write("a", "u", true))
        .await
        .expect("queued");
    let lazy = committer
        .enqueue(write("b", "u", false))
        .await
        .expect("queued");
    release.send(()).expect("release");
    assert!(first.await.expect("answered").is_ok());
    let e = durable.await.expect("answered").expect_err("not durable");
    assert!(e.is_io());
    assert!(
        lazy.await.expect("answered").is_ok(),
        "it did not ask to be durable"
    );
}

#[tokio::test]
async fn a_panicking_engine_fails_its_batch_and_the_thread_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Failing::new(redb(&dir)));
    store.panic_writes.store(true, Ordering::SeqCst);
    let committer = Committer::new(store.clone());
    assert!(matches!(
        committer.write(write("a", "u", false)).await,
        Err(StoreError::Panicked)
    ));
    store.panic_writes.store(false, Ordering::SeqCst);
    assert!(committer.write(write("a", "u", false)).await.is_ok());
}

#[tokio::test]
async fn stop_answers_what_is_queued_then_refuses_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = redb(&dir);
    let (committer, first, release) = held(store.clone(), write("a", "a0", false)).await;
    let committer = Arc::new(committer);
    let second = committer
        .enqueue(write("a", "a1", true))
        .await
        .expect("queued");
    let stopping = tokio::spawn({
        let committer = committer.clone();
        async move { committer.stop().await }
    });
    release.send(()).expect("release");
    stopping.await.expect("stopped");
    assert!(first.await.expect("answered").is_ok());
    assert!(second.await.expect("answered").is_ok());
    assert!(matches!(
        committer.write(write("a", "late", false)).await,
        Err(StoreError::Unavailable)
    ));
    let log = store.load("a").expect("load").log;
    assert_eq!(log.len(), 2);
    // The thread let go of its store: only this test and the committer hold it.
    assert_eq!(Arc::strong_count(&store), 2);
}

#[tokio::test]
async fn an_engine_that_does_not_group_writes_each_document_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Failing::new(redb(&dir)));
    store.grouped.store(false, Ordering::SeqCst);
    let committer = Committer::new(store.clone());
    let seq = committer
        .write(write("a", "u", true))
        .await
        .expect("written");
    assert_eq!(seq, 1);
    assert_eq!(committer.batches(), 0, "no thread");
}

#[test]
fn a_duplicated_error_keeps_what_callers_decide_on() {
    let io = StoreError::Io(io::Error::other("disk full"));
    assert!(io.duplicate().is_io());
    let db = StoreError::Db(redb::Error::DatabaseClosed);
    assert!(db.duplicate().is_io());
    let corrupt = StoreError::Db(redb::Error::Corrupted("bad page".into()));
    let copy = corrupt.duplicate();
    assert!(!copy.is_io());
    assert!(copy.to_string().contains("bad page"));
    assert!(matches!(
        StoreError::LeaseLost("d".into()).duplicate(),
        StoreError::LeaseLost(name) if name == "d"
    ));
}

/// A redb store whose batches or flushes fail (or panic) on demand.
struct Failing {
    inner: Arc<RedbStore>,
    fail_writes: AtomicBool,
    fail_flush: AtomicBool,
    panic_writes: AtomicBool,
    grouped: AtomicBool,
}

impl Failing {
    fn new(inner: Arc<RedbStore>) -> Self {
        Self {
            inner,
            fail_writes: AtomicBool::new(false),
            fail_flush: AtomicBool::new(false),
            panic_writes: AtomicBool::new(false),
            grouped: AtomicBool::new(true),
        }
    }
}

impl Store for Failing {
    fn write_batch(&self, batch: &[DocWrite<'_>]) -> Vec<Result<u64, StoreError>> {
        if self.panic_writes.load(Ordering::SeqCst) {
            panic!("engine bug");
        }
        if self.fail_writes.load(Ordering::SeqCst) {
            let e = StoreError::Io(io::Error::other("disk full"));
            return batch.iter().map(|_| Err(e.duplicate())).collect();
        }
        self.inner.write_batch(batch)
    }
    fn groups_writes(&self) -> bool {
        self.grouped.load(Ordering::SeqCst)
    }
    fn flush(&self) -> Result<(), StoreError> {
        if self.fail_flush.load(Ordering::SeqCst) {
            return Err(StoreError::Io(io::Error::other("fsync failed")));
        }
        self.inner.flush()
    }
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        self.inner.load(name)
    }
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.meta(name)
    }
    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        self.inner.put_meta(name, meta, expires)
    }
    fn append(&self, name: &str, entries: &[Entry<'_>]) -> Result<u64, StoreError> {
        self.inner.append(name, entries)
    }
    fn checkpoint(&self, name: &str, state: &[u8], through: u64) -> Result<(), StoreError> {
        self.inner.checkpoint(name, state, through)
    }
    fn history(
        &self,
        name: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.history(name, after, limit)
    }
    fn history_before(
        &self,
        name: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.history_before(name, before, limit)
    }
    fn log_between(
        &self,
        name: &str,
        first: u64,
        last: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.log_between(name, first, last, limit)
    }
    fn squash(
        &self,
        name: &str,
        first: u64,
        last: u64,
        update: &[u8],
        info: &[u8],
    ) -> Result<bool, StoreError> {
        self.inner.squash(name, first, last, update, info)
    }
    fn forget(&self, name: &str, through: u64, state: &[u8]) -> Result<bool, StoreError> {
        self.inner.forget(name, through, state)
    }
    fn dump(&self, name: &str) -> Result<Dump, StoreError> {
        self.inner.dump(name)
    }
    fn put_dump(&self, name: &str, dump: &Dump) -> Result<(), StoreError> {
        self.inner.put_dump(name, dump)
    }
    fn version(&self, name: &str, through: u64) -> Result<Stored, StoreError> {
        self.inner.version(name, through)
    }
    fn put_authors(&self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError> {
        self.inner.put_authors(name, authors)
    }
    fn authors(&self, name: &str, clients: &[u64]) -> Result<Vec<(u64, String)>, StoreError> {
        self.inner.authors(name, clients)
    }
    fn writable(&self) -> Result<(), StoreError> {
        self.inner.writable()
    }
    fn health(&self) -> Health {
        self.inner.health()
    }
    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        self.inner.put_token(token, name)
    }
    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        self.inner.token_name(token)
    }
    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        self.inner.delete(name, token)
    }
    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        self.inner.list(prefix, after, limit)
    }
    fn size(&self, name: &str) -> Result<u64, StoreError> {
        self.inner.size(name)
    }
    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.inner.expired(now, after, limit)
    }
    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError> {
        self.inner.drop_stale_due(due)
    }
    fn count(&self) -> u64 {
        self.inner.count()
    }
    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError> {
        self.inner.index_if_missing(name, meta, expires)
    }
    fn done(&self, step: &str) -> Result<bool, StoreError> {
        self.inner.done(step)
    }
    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        self.inner.mark_done(step)
    }
}
