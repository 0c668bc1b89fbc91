//! What only the redb engine has: its journal, its reopening after an I/O error, its flushes.
//! Everything the `Store` contract promises is tested on every engine in `conformance.rs`.

use super::*;
use crate::store::entries;

#[test]
fn the_journal_alone_rebuilds_every_write_and_replays_idempotently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&first).expect("dir");
    std::fs::create_dir_all(&second).expect("dir");
    let (journal, expected) = {
        let store = open_unflushed(&first);
        store.put_meta("a", b"m", Some(10)).expect("meta");
        store.put_meta("gone", b"m", Some(10)).expect("meta");
        store.put_token("t", "a").expect("token");
        let seq = store
            .append("a", &entries(&[b"u1", b"u2"]))
            .expect("append");
        store.append("gone", &entries(&[b"x"])).expect("append");
        store.checkpoint("a", b"snap", seq - 1).expect("compact");
        store
            .put_meta("a", b"m2", Some(20))
            .expect("meta moves the index");
        store.delete("gone", None).expect("delete");
        store.insert_due_for_tests(5, "a");
        for due in store.expired(u64::MAX, None, 10).expect("due") {
            store.drop_stale_due(&due).expect("drop");
        }
        store.mark_done("step").expect("done");
        assert!(store.index_if_missing("a", b"m2", 30).is_ok());
        // Nothing was made durable yet: the journal holds every write.
        let journal = std::fs::read(first.join("t.journal")).expect("journal");
        (journal, store.entries_for_tests())
    };
    // Replayed into an empty database, it rebuilds the same tables.
    std::fs::write(second.join("t.journal"), &journal).expect("write");
    assert_eq!(open_unflushed(&second).entries_for_tests(), expected);
    // Replayed over a database that already holds it all (a kill between a durable
    // commit and the journal's clearing), it changes nothing.
    std::fs::write(first.join("t.journal"), &journal).expect("write");
    let store = open_unflushed(&first);
    assert_eq!(store.entries_for_tests(), expected);
    assert_eq!(
        std::fs::metadata(first.join("t.journal"))
            .expect("journal")
            .len(),
        0,
        "cleared once replayed"
    );
}

#[test]
fn after_an_io_error_calls_are_refused_until_the_database_is_reopened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_unflushed(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    let db = store.shared.db().expect("open");
    let full = StoreError::Io(std::io::Error::other("no space left"));
    store.shared.failed(&db, &full);
    assert!(matches!(store.meta("a"), Err(StoreError::Unavailable)));
    assert!(matches!(store.writable(), Err(StoreError::Unavailable)));
    assert_eq!(
        store.health(),
        Health {
            writable: false,
            errors: 1
        }
    );
    std::thread::sleep(FIRST_RETRY);
    assert!(
        matches!(store.meta("a"), Err(StoreError::Unavailable)),
        "not reopened while a call still holds the old database"
    );
    drop(db);
    assert_eq!(store.meta("a").expect("reopened"), Some(b"m".to_vec()));
    assert!(store.health().writable);
    store.writable().expect("writes again");
    // An error that reopening cannot cure leaves the database open.
    let db = store.shared.db().expect("open");
    store
        .shared
        .failed(&db, &StoreError::CorruptKey { tree: "log" });
    assert!(store.health().writable);
}

#[test]
fn a_flush_clears_what_awaits_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_unflushed(dir.path());
    assert!(!store.shared.commits.pending());
    store.put_meta("a", b"m", None).expect("meta");
    assert!(store.shared.commits.pending(), "a commit awaits its flush");
    store.flush().expect("flush");
    assert!(!store.shared.commits.pending());
    store.flush().expect("an idle flush commits nothing");
}

fn open_unflushed(dir: &Path) -> RedbStore {
    RedbStore::open(&dir.join("t.redb"), 1 << 20, Duration::from_secs(3600)).expect("opens")
}

fn journal_synced(store: &RedbStore) -> u64 {
    *lock(&store.shared.commits.journal_synced)
}

#[test]
fn the_background_flush_syncs_the_journal_and_commits_only_when_quiet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_unflushed(dir.path());
    store.append("a", &entries(&[b"one"])).expect("append");
    let shared = &store.shared;
    shared
        .background_flush(Duration::from_secs(3600))
        .expect("flush");
    assert_eq!(journal_synced(&store), 1, "the journal covers the write");
    assert!(
        shared.commits.pending() && lock(&shared.journal).len() > 0,
        "a store written to a moment ago gets no durable commit"
    );
    shared.background_flush(Duration::ZERO).expect("flush");
    assert!(!shared.commits.pending(), "a quiet store is made durable");
    assert_eq!(lock(&shared.journal).len(), 0, "which empties the journal");
}

#[test]
fn the_readiness_probe_syncs_the_journal_without_a_durable_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_unflushed(dir.path());
    store.writable().expect("writable");
    assert_eq!(journal_synced(&store), 1);
    assert!(store.shared.commits.pending());
}

#[test]
fn writes_go_on_while_the_journal_syncs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open_unflushed(dir.path()));
    // What a journal sync in progress holds: a write needs none of it.
    let syncing = lock(&store.shared.commits.journal_synced);
    let writer = store.clone();
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(writer.append("a", &entries(&[b"typed"])));
    });
    let written = done.recv_timeout(Duration::from_secs(30));
    drop(syncing);
    assert!(matches!(written, Ok(Ok(1))), "{written:?}");
}

#[test]
fn writes_share_one_open_transaction_that_every_read_sees() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_unflushed(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    let seq = store.append("a", &entries(&[b"u1"])).expect("append");
    assert!(
        lock(&store.shared.open).is_some(),
        "written, journaled, not committed yet"
    );
    let stored = store.load("a").expect("load");
    assert_eq!(stored.meta, Some(b"m".to_vec()));
    assert_eq!(stored.log, vec![(seq, b"u1".to_vec())]);
    assert!(lock(&store.shared.open).is_none(), "the read committed it");
    store.append("a", &entries(&[b"u2"])).expect("append");
    store
        .shared
        .background_flush(Duration::from_secs(3600))
        .expect("flush");
    assert!(
        lock(&store.shared.open).is_none(),
        "each flush interval commits it"
    );
}

/// Stores the metadata of "a", lets `halfway` make a write that puts "b" and stops before it
/// is journaled, then checks that the store closed and, reopened, holds "a" and not "b".
fn earlier_writes_survive(halfway: impl FnOnce(&RedbStore)) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_unflushed(dir.path());
    store.put_meta("a", b"kept", None).expect("meta");
    halfway(&store);
    assert!(matches!(store.meta("a"), Err(StoreError::Unavailable)));
    std::thread::sleep(FIRST_RETRY);
    assert_eq!(store.meta("a").expect("reopened"), Some(b"kept".to_vec()));
    assert_eq!(
        store.meta("b").expect("meta"),
        None,
        "the half write is gone"
    );
}

#[test]
fn a_write_failing_in_the_open_transaction_gets_the_earlier_ones_back_from_the_journal() {
    earlier_writes_survive(|store| {
        let failed = store.shared.write(|w| {
            w.put(META, b"b", b"half")?;
            Err::<(), _>(StoreError::CorruptKey { tree: "meta" })
        });
        assert!(failed.is_err());
    });
}

#[test]
fn a_write_panicking_in_the_open_transaction_gets_the_earlier_ones_back_from_the_journal() {
    earlier_writes_survive(|store| {
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.shared.write(|w| {
                w.put(META, b"b", b"half")?;
                panic!("a bug in a write");
                #[allow(unreachable_code)]
                Ok(())
            })
        }));
        assert!(panicked.is_err());
    });
}

#[test]
fn every_thread_reads_its_own_writes_while_others_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open_unflushed(dir.path()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let name = format!("doc-{t}");
                for n in 1..=50usize {
                    store.append(&name, &entries(&[b"x"])).expect("append");
                    assert_eq!(store.load(&name).expect("load").log.len(), n);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread failed");
    }
    assert_eq!(store.load("doc-3").expect("load").log.len(), 50);
}
