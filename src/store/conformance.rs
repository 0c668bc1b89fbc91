//! One suite every storage engine passes: each test is a generic function over [`Engine`], and
//! [`every_engine!`] instantiates all of them for each engine, so an engine added later is one
//! more line there (and an [`Engine`] impl). Tests that look inside one engine (redb's journal,
//! its reopening after an I/O error) stay in that engine's own tests.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{entries, Due, Entry, Listed, PostgresStore, RedbStore, SledStore, Store};

/// What the suite needs of an engine beyond [`Store`]: opening one in a directory, and seeing
/// everything it holds (to prove an erasure left nothing).
trait Engine: Store + Sized {
    /// Opens (or reopens) the engine's database inside `dir`.
    fn open_in(dir: &Path) -> Self;
    /// Every stored entry as (table, key, value).
    fn everything(&self) -> Vec<(String, Vec<u8>, Vec<u8>)>;
    /// Inserts an expiry index entry behind the store's back (a stale one).
    fn insert_due(&self, at: u64, name: &str);
    /// Stores what a version before history left in `snapshots`.
    fn legacy_snapshot(&self, name: &str, state: &[u8]);
}

impl Engine for RedbStore {
    fn open_in(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("dir");
        RedbStore::open(&dir.join("t.redb"), 1 << 20, Duration::from_millis(100)).expect("opens")
    }
    fn everything(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        self.entries_for_tests()
    }
    fn insert_due(&self, at: u64, name: &str) {
        self.insert_due_for_tests(at, name);
    }
    fn legacy_snapshot(&self, name: &str, state: &[u8]) {
        self.put_legacy_snapshot_for_tests(name, state);
    }
}

impl Engine for SledStore {
    fn open_in(dir: &Path) -> Self {
        SledStore::open(&dir.join("sled"), 1 << 20, Duration::from_millis(100)).expect("opens")
    }
    fn everything(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        self.entries_for_tests()
    }
    fn insert_due(&self, at: u64, name: &str) {
        self.insert_due_for_tests(at, name);
    }
    fn legacy_snapshot(&self, name: &str, state: &[u8]) {
        self.put_legacy_snapshot_for_tests(name, state);
    }
}

impl Engine for PostgresStore {
    /// The database of `dir` in the shared test cluster: created on first use, the same one
    /// when `dir` is opened again.
    fn open_in(dir: &Path) -> Self {
        static DATABASES: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
            std::sync::Mutex::new(Vec::new());
        let url = {
            let mut known = DATABASES.lock().expect("lock");
            match known.iter().find(|(d, _)| d == dir) {
                Some((_, url)) => url.clone(),
                None => {
                    let url = super::postgres::test_cluster::shared().fresh_url();
                    known.push((dir.to_owned(), url.clone()));
                    url
                }
            }
        };
        PostgresStore::open(&super::postgres::settings_for_tests(&url)).expect("opens")
    }
    fn everything(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        self.entries_for_tests()
    }
    fn insert_due(&self, at: u64, name: &str) {
        self.insert_due_for_tests(at, name);
    }
    fn legacy_snapshot(&self, name: &str, state: &[u8]) {
        self.put_legacy_snapshot_for_tests(name, state);
    }
}

/// Instantiates each listed test for one engine, in a module named after it.
macro_rules! engine_tests {
    ($engine:ident, $store:ty, [$($test:ident),* $(,)?]) => {
        mod $engine {
            $(
                #[test]
                fn $test() {
                    super::$test::<$store>();
                }
            )*
        }
    };
}

/// Instantiates each listed test for every engine.
macro_rules! every_engine {
    ($($test:ident),* $(,)?) => {
        engine_tests!(redb, crate::store::RedbStore, [$($test),*]);
        engine_tests!(sled, crate::store::SledStore, [$($test),*]);
        engine_tests!(postgres, crate::store::PostgresStore, [$($test),*]);
    };
}

every_engine!(
    logs_checkpoints_and_survives_reopen,
    lists_by_prefix_in_pages,
    delete_erases_everything_naming_the_document_at_once,
    the_expiry_index_follows_the_metadata_and_stale_entries_go,
    counts_documents_across_reopen,
    concurrent_writers_on_different_documents_keep_counts_and_logs,
    append_numbers_entries_in_order_and_keeps_non_empty_history_records,
    a_checkpoint_keeps_the_log_and_versions_start_from_the_latest,
    a_legacy_snapshot_reads_as_checkpoint_zero_until_replaced,
    history_pages_forwards_and_backwards_and_keeps_documents_apart,
    log_between_is_bounded_and_ordered,
    author_names_are_per_document_and_replaced,
    size_counts_every_table_of_history,
    squash_merges_a_run_and_refuses_an_erased_document,
    forget_turns_the_past_into_a_checkpoint,
    a_dump_written_elsewhere_keeps_sequence_numbers,
    tokens_steps_and_the_one_time_index,
    flush_writable_and_health,
    a_backup_restores_every_document,
    a_lease_holder_writes_renews_and_releases,
    a_batch_writes_each_document_in_order_with_its_metadata_and_authors,
);

/// One batch of several documents: each gets its own last number, numbers run across the
/// batch in its order, and metadata (with its expiry) and author names are written with it.
fn a_batch_writes_each_document_in_order_with_its_metadata_and_authors<S: Engine>() {
    use super::DocWrite;
    let dir = tempdir();
    let store = S::open_in(dir.path());
    assert_eq!(store.append("a", &entries(&[b"a0"])).expect("append"), 1);
    let entry = |update: &'static [u8], info: &'static [u8]| Entry { update, info };
    let a = [entry(b"a1", b"ia1"), entry(b"a2", b"")];
    let b = [entry(b"b1", b"ib1")];
    let c = [entry(b"c1", b"ic1"), entry(b"c2", b"ic2")];
    let batch = [
        DocWrite {
            name: "a",
            meta: Some((b"ma", Some(7))),
            authors: &[(1, "Un")],
            entries: &a,
        },
        DocWrite {
            name: "b",
            meta: None,
            authors: &[],
            entries: &b,
        },
        DocWrite {
            name: "c",
            meta: Some((b"mc", None)),
            authors: &[(2, "Deux"), (3, "Trois")],
            entries: &c,
        },
    ];
    let lasts: Vec<u64> = store
        .write_batch(&batch)
        .into_iter()
        .map(|r| r.expect("written"))
        .collect();
    assert_eq!(lasts, [3, 4, 6]);
    let a = store.load("a").expect("load");
    assert_eq!(a.meta.as_deref(), Some(&b"ma"[..]));
    assert_eq!(
        a.log,
        [
            (1, b"a0".to_vec()),
            (2, b"a1".to_vec()),
            (3, b"a2".to_vec())
        ]
    );
    assert_eq!(
        store.history("a", Some(1), 10).expect("history"),
        [(2, b"ia1".to_vec())]
    );
    let b = store.load("b").expect("load");
    assert_eq!((b.meta, b.log), (None, vec![(4, b"b1".to_vec())]));
    let c = store.load("c").expect("load");
    assert_eq!(c.meta.as_deref(), Some(&b"mc"[..]));
    assert_eq!(c.log, [(5, b"c1".to_vec()), (6, b"c2".to_vec())]);
    assert_eq!(
        store.authors("c", &[1, 2, 3]).expect("authors"),
        [(2, "Deux".to_owned()), (3, "Trois".to_owned())]
    );
    assert_eq!(
        store.authors("a", &[1, 2]).expect("authors"),
        [(1, "Un".to_owned())]
    );
    let due: Vec<String> = store
        .expired(10, None, 10)
        .expect("expired")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(due, ["a"]);
    // The counter continues after the batch.
    assert_eq!(store.append("b", &entries(&[b"b2"])).expect("append"), 7);
    drop(store);
    let store = S::open_in(dir.path());
    assert_eq!(store.load("c").expect("reopened").log.len(), 2);
}

/// Every engine grants a free lease and lets its holder write through it (single-node
/// engines grant every lease; PostgreSQL's fencing is tested in its own module).
fn a_lease_holder_writes_renews_and_releases<E: Engine>() {
    use super::Grant;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = E::open_in(dir.path());
    let ttl = Duration::from_secs(30);
    let lease = match store.take_lease("d", "n1", "http://127.0.0.1:1", ttl) {
        Ok(Grant::Granted(lease)) => lease,
        other => panic!("not granted: {other:?}"),
    };
    assert_eq!((lease.name.as_str(), lease.owner.as_str()), ("d", "n1"));
    assert!(lease.epoch >= 1);
    store.put_meta("d", b"m", None).expect("meta");
    let seq = store.append("d", &entries(&[b"u"])).expect("append");
    store.checkpoint("d", b"s", seq).expect("checkpoint");
    assert_eq!(
        store.renew_leases("n1", ttl).expect("renews"),
        Vec::<super::Lease>::new(),
        "nothing lost"
    );
    store.delete("d", None).expect("delete");
    store.release_lease(&lease).expect("releases");
    assert_eq!(store.lease_holder("d").expect("reads"), None);
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The sequence numbers of `(seq, _)` pairs.
fn seqs(rows: &[(u64, Vec<u8>)]) -> Vec<u64> {
    rows.iter().map(|(seq, _)| *seq).collect()
}

/// Entries whose key or value names `name` (its log range, its own key, or a value equal to it).
fn naming<S: Engine>(store: &S, name: &str) -> Vec<String> {
    let mut log_prefix = name.as_bytes().to_vec();
    log_prefix.push(0);
    store
        .everything()
        .into_iter()
        .filter(|(table, k, v)| {
            k.starts_with(&log_prefix)
                || k == name.as_bytes()
                || (table == "expiry" && k.get(8..) == Some(name.as_bytes()))
                || v == name.as_bytes()
        })
        .map(|(table, k, _)| format!("{table}:{}", String::from_utf8_lossy(&k)))
        .collect()
}

fn logs_checkpoints_and_survives_reopen<S: Engine>() {
    let dir = tempdir();
    let last = {
        let store = S::open_in(dir.path());
        store.put_meta("a", b"m", None).expect("meta");
        let first = store
            .append("a", &entries(&[b"u1", b"u2"]))
            .expect("append");
        store.append("a.b", &entries(&[b"other"])).expect("append");
        store.append("a", &entries(&[b"u3"])).expect("append");
        store.checkpoint("a", b"snap", first).expect("checkpoint");
        store.put_token("t0", "a").expect("token");
        store.put_authors("a", &[(5, "Cinq")]).expect("authors");
        store.append("b", &entries(&[b"last"])).expect("append")
    };
    // Dropping the store made everything durable without an explicit flush.
    let store = S::open_in(dir.path());
    let a = store.load("a").expect("load");
    assert_eq!(a.meta.as_deref(), Some(&b"m"[..]));
    assert_eq!(store.meta("a").expect("meta").as_deref(), Some(&b"m"[..]));
    assert_eq!(store.meta("a.b").expect("meta"), None);
    assert_eq!(a.snapshot.as_deref(), Some(&b"snap"[..]));
    let log: Vec<_> = a.log.into_iter().map(|(_, u)| u).collect();
    assert_eq!(log, vec![b"u3".to_vec()]);
    assert_eq!(
        store.load("a.b").expect("load").log.len(),
        1,
        "a prefix name's log is apart"
    );
    assert!(
        store.load("A").expect("load").meta.is_none(),
        "names are case-sensitive"
    );
    assert_eq!(store.token_name("t0").expect("token").as_deref(), Some("a"));
    assert_eq!(
        store.authors("a", &[5]).expect("authors"),
        [(5, "Cinq".to_owned())]
    );
    assert_eq!(store.history("a", None, 10).expect("history").len(), 3);
    let next = store.append("a", &entries(&[b"u4"])).expect("append");
    assert!(next > last, "sequence numbers keep growing across a reopen");
}

fn lists_by_prefix_in_pages<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    for name in ["a", "ab", "abc", "b", "ba"] {
        store.put_meta(name, name.as_bytes(), None).expect("meta");
    }
    let names = |l: Vec<Listed>| l.into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(names(store.list("", None, 2).expect("list")), ["a", "ab"]);
    assert_eq!(
        names(store.list("", Some("ab"), 10).expect("list")),
        ["abc", "b", "ba"]
    );
    assert_eq!(
        names(store.list("a", None, 10).expect("list")),
        ["a", "ab", "abc"]
    );
    assert_eq!(
        names(store.list("b", Some("a"), 10).expect("list")),
        ["b", "ba"]
    );
    assert_eq!(
        names(store.list("ab", Some("ab"), 10).expect("list")),
        ["abc"]
    );
    assert!(store.list("c", None, 10).expect("list").is_empty());
    let listed = store.list("ba", None, 10).expect("list");
    assert_eq!(listed[0].meta, b"ba", "the metadata comes with the name");
}

fn delete_erases_everything_naming_the_document_at_once<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    for name in ["gone", "gone.too"] {
        store.put_meta(name, b"m", Some(100)).expect("meta");
        store.legacy_snapshot(name, b"old");
        let seq = store
            .append(name, &entries(&[b"u1", b"u2"]))
            .expect("append");
        store
            .checkpoint(name, b"snap", seq - 1)
            .expect("checkpoint");
        store.legacy_snapshot(name, b"old again");
        store.put_authors(name, &[(1, "Un")]).expect("authors");
        store.put_token(&format!("t-{name}"), name).expect("token");
    }
    assert!(!naming(&store, "gone").is_empty());
    assert!(store.size("gone").expect("size") > 0);
    store.delete("gone", Some("t-gone")).expect("delete");
    // Nothing is left: metadata, log, history records, checkpoints, the legacy snapshot,
    // author names, the read-only token and both sides of the expiry index.
    assert_eq!(naming(&store, "gone"), Vec::<String>::new());
    assert!(store.load("gone").expect("load").meta.is_none());
    assert_eq!(store.size("gone").expect("size"), 0);
    assert_eq!(store.token_name("t-gone").expect("token"), None);
    assert!(store
        .expired(u64::MAX, None, 10)
        .expect("due")
        .iter()
        .all(|d| d.name != "gone"));
    let kept = store.load("gone.too").expect("load");
    assert!(kept.meta.is_some() && kept.snapshot.is_some() && kept.log.len() == 1);
    assert_eq!(
        store.token_name("t-gone.too").expect("token").as_deref(),
        Some("gone.too")
    );
    drop(store);
    // Still nothing after a reopen: the erasure was one durable write, not a pending one.
    let store = S::open_in(dir.path());
    assert_eq!(naming(&store, "gone"), Vec::<String>::new());
    assert_eq!(store.count(), 1);
}

fn the_expiry_index_follows_the_metadata_and_stale_entries_go<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store.put_meta("a", b"m", Some(10)).expect("meta");
    store.put_meta("b", b"m", Some(20)).expect("meta");
    store.put_meta("c", b"m", None).expect("meta");
    store.put_meta("d", b"m", Some(10)).expect("meta");
    let names = |due: Vec<Due>| due.into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert!(store.expired(9, None, 10).expect("due").is_empty());
    assert_eq!(names(store.expired(10, None, 10).expect("due")), ["a", "d"]);
    assert_eq!(
        names(store.expired(u64::MAX, None, 10).expect("due")),
        ["a", "d", "b"]
    );
    let first = store.expired(10, None, 1).expect("due");
    assert_eq!(
        names(store.expired(10, first.first(), 10).expect("due")),
        ["d"]
    );
    let later = Due {
        at: 20,
        name: "b".into(),
    };
    assert!(
        store.expired(10, Some(&later), 10).expect("due").is_empty(),
        "a cursor past `now` finds nothing"
    );
    // An edit moves the entry; "forever" removes it; deletion removes it.
    store.put_meta("a", b"m2", Some(30)).expect("meta");
    store.put_meta("d", b"m2", None).expect("meta");
    assert_eq!(names(store.expired(20, None, 10).expect("due")), ["b"]);
    store.delete("b", None).expect("delete");
    assert_eq!(
        names(store.expired(u64::MAX, None, 10).expect("due")),
        ["a"]
    );
    let index = |table: &str| {
        store
            .everything()
            .iter()
            .filter(|(t, _, _)| t == table)
            .count()
    };
    assert_eq!(index("expiry") + index("expires"), 2);
    // A stale entry (from a crash of an older version, say) is dropped, a current one kept.
    store.insert_due(5, "a");
    store.insert_due(7, "never-stored");
    for due in store.expired(u64::MAX, None, 10).expect("due") {
        store.drop_stale_due(&due).expect("drop");
    }
    assert_eq!(
        store.expired(u64::MAX, None, 10).expect("due"),
        [Due {
            at: 30,
            name: "a".into()
        }]
    );
}

fn counts_documents_across_reopen<S: Engine>() {
    let dir = tempdir();
    {
        let store = S::open_in(dir.path());
        assert_eq!(store.count(), 0);
        store.put_meta("a", b"m", None).expect("meta");
        store
            .put_meta("a", b"m2", None)
            .expect("meta update is no new document");
        store.put_meta("b", b"m", None).expect("meta");
        store
            .append("no-meta", &entries(&[b"x"]))
            .expect("a log alone is no document");
        assert_eq!(store.count(), 2);
        store.delete("a", None).expect("delete");
        store
            .delete("a", None)
            .expect("deleting again changes nothing");
        store
            .delete("never", None)
            .expect("deleting a missing one changes nothing");
        assert_eq!(store.count(), 1);
    }
    assert_eq!(S::open_in(dir.path()).count(), 1, "the count is persisted");
}

fn concurrent_writers_on_different_documents_keep_counts_and_logs<S: Engine>() {
    let dir = tempdir();
    let store = Arc::new(S::open_in(dir.path()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let name = format!("doc-{t}-{i}");
                    store.put_meta(&name, b"m", Some(100)).expect("meta");
                    store
                        .append(&name, &entries(&[b"a", b"b"]))
                        .expect("append");
                    store.append(&name, &entries(&[b"c"])).expect("append");
                    if i % 2 == 0 {
                        store.delete(&name, None).expect("delete");
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("writer");
    }
    assert_eq!(store.count(), 8 * 20);
    assert_eq!(
        store.list("", None, usize::MAX).expect("list").len(),
        8 * 20
    );
    assert_eq!(
        store
            .expired(u64::MAX, None, usize::MAX)
            .expect("due")
            .len(),
        8 * 20
    );
    let log = store.load("doc-3-7").expect("load").log;
    let updates: Vec<&[u8]> = log.iter().map(|(_, u)| u.as_slice()).collect();
    assert_eq!(updates, [&b"a"[..], b"b", b"c"]);
    assert!(log.windows(2).all(|w| w[0].0 < w[1].0));
    // Every number was handed out once: 8 × 40 documents × 3 entries.
    let next = store.append("after", &entries(&[b"x"])).expect("append");
    assert_eq!(next, 8 * 40 * 3 + 1);
    let store = Arc::try_unwrap(store).ok().expect("last handle");
    drop(store);
    assert_eq!(
        S::open_in(dir.path()).count(),
        8 * 20,
        "the stored count agrees"
    );
}

fn append_numbers_entries_in_order_and_keeps_non_empty_history_records<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    let entry = |update: &'static [u8], info: &'static [u8]| Entry { update, info };
    let last = store
        .append(
            "a",
            &[entry(b"u1", b"i1"), entry(b"u2", b""), entry(b"u3", b"i3")],
        )
        .expect("append");
    assert_eq!(last, 3);
    assert_eq!(store.append("b", &entries(&[b"v"])).expect("append"), 4);
    assert_eq!(store.append("a", &entries(&[b"u5"])).expect("append"), 5);
    let history = store.history("a", None, 10).expect("history");
    assert_eq!(
        history,
        [(1, b"i1".to_vec()), (3, b"i3".to_vec()), (5, b"i".to_vec())]
    );
    let log = store.load("a").expect("load").log;
    assert_eq!(
        log,
        [
            (1, b"u1".to_vec()),
            (2, b"u2".to_vec()),
            (3, b"u3".to_vec()),
            (5, b"u5".to_vec())
        ]
    );
}

fn a_checkpoint_keeps_the_log_and_versions_start_from_the_latest<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    store
        .append("a", &entries(&[b"u1", b"u2", b"u3", b"u4"]))
        .expect("append");
    store.checkpoint("a", b"c1", 1).expect("checkpoint");
    store.checkpoint("a", b"c3", 3).expect("checkpoint");
    let loaded = store.load("a").expect("load");
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"c3"[..]));
    assert_eq!(loaded.log, [(4, b"u4".to_vec())]);
    assert_eq!(
        store.history("a", None, 10).expect("history").len(),
        4,
        "the log is kept"
    );
    let v2 = store.version("a", 2).expect("version");
    assert_eq!(
        (v2.snapshot.as_deref(), seqs(&v2.log)),
        (Some(&b"c1"[..]), vec![2])
    );
    let v3 = store.version("a", 3).expect("version");
    assert_eq!(
        (v3.snapshot.as_deref(), v3.log.len()),
        (Some(&b"c3"[..]), 0)
    );
    let v0 = store.version("a", 0).expect("version");
    assert_eq!((v0.snapshot, v0.log.len()), (None, 0));
    assert_eq!(v0.meta.as_deref(), Some(&b"m"[..]));
}

fn a_legacy_snapshot_reads_as_checkpoint_zero_until_replaced<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store.legacy_snapshot("a", b"old");
    store
        .append("a", &entries(&[b"u1", b"u2"]))
        .expect("append");
    let v1 = store.version("a", 1).expect("version");
    assert_eq!(
        (v1.snapshot.as_deref(), seqs(&v1.log)),
        (Some(&b"old"[..]), vec![1])
    );
    assert_eq!(
        store.load("a").expect("load").snapshot.as_deref(),
        Some(&b"old"[..])
    );
    store.checkpoint("a", b"c2", 2).expect("checkpoint");
    assert!(store.everything().iter().all(|(t, _, _)| t != "snapshots"));
    let loaded = store.load("a").expect("load");
    assert_eq!(
        (loaded.snapshot.as_deref(), loaded.log.len()),
        (Some(&b"c2"[..]), 0)
    );
}

fn history_pages_forwards_and_backwards_and_keeps_documents_apart<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    for _ in 0..3 {
        store.append("a", &entries(&[b"x", b"y"])).expect("append");
        store.append("a.b", &entries(&[b"z"])).expect("append");
    }
    assert_eq!(
        seqs(&store.history("a", None, 100).expect("history")),
        [1, 2, 4, 5, 7, 8]
    );
    assert_eq!(seqs(&store.history("a", None, 2).expect("page")), [1, 2]);
    assert_eq!(seqs(&store.history("a", Some(2), 2).expect("page")), [4, 5]);
    assert!(store.history("a", Some(8), 2).expect("page").is_empty());
    assert_eq!(
        seqs(&store.history_before("a", None, 2).expect("page")),
        [8, 7]
    );
    assert_eq!(
        seqs(&store.history_before("a", Some(7), 3).expect("page")),
        [5, 4, 2]
    );
    assert!(store
        .history_before("a", Some(1), 3)
        .expect("page")
        .is_empty());
    assert_eq!(
        seqs(&store.history_before("a.b", None, 10).expect("page")),
        [9, 6, 3]
    );
}

fn log_between_is_bounded_and_ordered<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store
        .append("a", &entries(&[b"1", b"2", b"3", b"4", b"5"]))
        .expect("append");
    store.append("a.b", &entries(&[b"6"])).expect("append");
    assert_eq!(
        seqs(&store.log_between("a", 2, 4, 10).expect("log")),
        [2, 3, 4]
    );
    assert_eq!(seqs(&store.log_between("a", 2, 6, 2).expect("log")), [2, 3]);
    assert_eq!(
        store.log_between("a", 5, 9, 10).expect("log"),
        [(5, b"5".to_vec())]
    );
    assert!(store.log_between("a", 6, 6, 10).expect("log").is_empty());
}

fn author_names_are_per_document_and_replaced<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store
        .put_authors("a", &[(1, "Un"), (2, "Deux")])
        .expect("authors");
    store.put_authors("a", &[(1, "Élève Un")]).expect("authors");
    store.put_authors("a.b", &[(3, "Trois")]).expect("authors");
    store.put_authors("a", &[]).expect("nothing to record");
    assert_eq!(
        store.authors("a", &[1, 2, 3]).expect("authors"),
        [(1, "Élève Un".to_owned()), (2, "Deux".to_owned())]
    );
}

fn size_counts_every_table_of_history<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store.put_meta("a", b"m", Some(5)).expect("meta");
    store.legacy_snapshot("a", b"12345");
    assert_eq!(store.size("a").expect("size"), 5);
    store
        .append(
            "a",
            &[Entry {
                update: b"1234567",
                info: b"123",
            }],
        )
        .expect("append");
    store.checkpoint("a", b"1234567890", 1).expect("checkpoint");
    store.put_authors("a", &[(9, "12")]).expect("authors");
    // The checkpoint replaced the legacy snapshot: 7 + 3 + 10 + 2.
    assert_eq!(store.size("a").expect("size"), 22);
    assert_eq!(store.size("other").expect("size"), 0);
}

fn squash_merges_a_run_and_refuses_an_erased_document<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    let all = |store: &S| store.dump("a").expect("dump");
    store
        .append("a", &entries(&[b"1", b"2", b"3", b"4", b"5", b"6"]))
        .expect("append");
    store.checkpoint("a", b"c2", 2).expect("checkpoint");
    store.checkpoint("a", b"c4", 4).expect("checkpoint");
    // Without a base before the run, its checkpoints stay (they may be the only base).
    assert!(store.squash("a", 2, 4, b"234", b"m4").expect("squash"));
    assert_eq!(seqs(&all(&store).checkpoints), [2, 4]);
    assert_eq!(
        all(&store).log,
        [
            (1, b"1".to_vec()),
            (4, b"234".to_vec()),
            (5, b"5".to_vec()),
            (6, b"6".to_vec())
        ]
    );
    assert_eq!(
        seqs(&store.history("a", None, 10).expect("history")),
        [1, 4, 5, 6]
    );
    assert_eq!(store.history("a", Some(1), 1).expect("history")[0].1, b"m4");
    // With one, the checkpoints inside the run go; the one at its end stays.
    store.checkpoint("a", b"c5", 5).expect("checkpoint");
    assert!(store.squash("a", 4, 5, b"2345", b"m5").expect("squash"));
    assert_eq!(seqs(&all(&store).checkpoints), [2, 5]);
    assert_eq!(
        store.load("a").expect("load").snapshot.as_deref(),
        Some(&b"c5"[..])
    );
    assert_eq!(seqs(&all(&store).log), [1, 5, 6]);
    // On a run whose last entry is gone, or an erased document, it writes nothing.
    assert!(!store.squash("a", 1, 3, b"x", b"i").expect("squash"));
    assert!(!store.squash("a", 5, 1, b"x", b"i").expect("an empty run"));
    store.delete("a", None).expect("delete");
    assert!(!store.squash("a", 1, 6, b"x", b"i").expect("squash"));
    assert_eq!(naming(&store, "a"), Vec::<String>::new());
}

fn forget_turns_the_past_into_a_checkpoint<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    store.legacy_snapshot("a", b"old");
    store
        .append("a", &entries(&[b"1", b"2", b"3", b"4"]))
        .expect("append");
    store.checkpoint("a", b"c1", 1).expect("checkpoint");
    store.checkpoint("a", b"c4", 4).expect("checkpoint");
    store.put_authors("a", &[(1, "Un")]).expect("authors");
    assert!(store.forget("a", 3, b"s3").expect("forget"));
    let dump = store.dump("a").expect("dump");
    assert_eq!(dump.snapshot, None);
    assert_eq!(seqs(&dump.checkpoints), [3, 4]);
    assert_eq!(seqs(&dump.log), [4]);
    assert_eq!(seqs(&dump.infos), [4]);
    assert_eq!(dump.authors, [(1, b"Un".to_vec())]);
    let v3 = store.version("a", 3).expect("version");
    assert_eq!(
        (v3.snapshot.as_deref(), v3.log.len()),
        (Some(&b"s3"[..]), 0)
    );
    store.delete("a", None).expect("delete");
    assert!(!store.forget("a", 4, b"late").expect("forget"));
    assert_eq!(naming(&store, "a"), Vec::<String>::new());
}

fn a_dump_written_elsewhere_keeps_sequence_numbers<S: Engine>() {
    let dir = tempdir();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).expect("dir");
    std::fs::create_dir_all(&b).expect("dir");
    let src = S::open_in(&a);
    src.append("x", &entries(&[b"1", b"2"])).expect("append");
    src.append("y", &entries(&[b"3"])).expect("append");
    src.checkpoint("y", b"c", 3).expect("checkpoint");
    src.put_authors("y", &[(7, "Sept")]).expect("authors");
    let dump = src.dump("y").expect("dump");
    assert_eq!(seqs(&dump.log), [3]);
    let dest = S::open_in(&b);
    dest.put_dump("y", &dump).expect("put");
    assert_eq!(dest.dump("y").expect("dump"), dump);
    assert_eq!(dest.append("y", &entries(&[b"4"])).expect("append"), 4);
}

fn tokens_steps_and_the_one_time_index<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    assert_eq!(store.token_name("t").expect("token"), None);
    store.put_token("t", "a").expect("token");
    assert_eq!(store.token_name("t").expect("token").as_deref(), Some("a"));
    assert!(!store.done("step").expect("done"));
    store.mark_done("step").expect("mark");
    assert!(store.done("step").expect("done"));
    assert!(!store.done("other").expect("done"));
    // The index entry is added only while the metadata is unchanged and has none.
    store.put_meta("a", b"m", None).expect("meta");
    assert!(!store.index_if_missing("a", b"changed", 10).expect("index"));
    assert!(!store.index_if_missing("missing", b"m", 10).expect("index"));
    assert!(store.index_if_missing("a", b"m", 10).expect("index"));
    assert!(!store
        .index_if_missing("a", b"m", 20)
        .expect("already indexed"));
    assert_eq!(store.expired(10, None, 10).expect("due").len(), 1);
    drop(store);
    let store = S::open_in(dir.path());
    assert!(
        store.done("step").expect("done"),
        "a completed step stays completed"
    );
    assert_eq!(store.token_name("t").expect("token").as_deref(), Some("a"));
}

fn flush_writable_and_health<S: Engine>() {
    let dir = tempdir();
    let store = S::open_in(dir.path());
    assert!(store.health().writable);
    store.writable().expect("writable");
    store.writable().expect("a recent probe answers again");
    store.append("a", &entries(&[b"x"])).expect("append");
    store.flush().expect("flush");
    store.flush().expect("an idle flush");
    let health = store.health();
    assert!(health.writable);
    assert_eq!(health.errors, 0);
}

fn a_backup_restores_every_document<S: Engine>() {
    use crate::doc::lifetime::Lifetime;
    use crate::doc::meta::{DocMeta, Kind, NewDoc};
    let dir = tempdir();
    let src = S::open_in(&dir.path().join("src-dir"));
    let mut expected = Vec::new();
    for (i, name) in ["p1", "p2", "c1"].iter().enumerate() {
        let new = NewDoc {
            kind: Kind::Pad,
            lifetime: Lifetime::After(86_400),
            creator: None,
            provisional: false,
        };
        let meta = DocMeta::new(new, 1_000 + i as u64);
        let bytes = meta.to_bytes();
        src.put_meta(name, &bytes, meta.expires_at()).expect("meta");
        src.put_token(meta.read_token.as_str(), name)
            .expect("token");
        src.append(name, &entries(&[b"u1", b"u2"])).expect("append");
        src.put_authors(name, &[(1, "Un")]).expect("authors");
        expected.push((name.to_string(), src.dump(name).expect("dump"), meta));
    }
    let backup = dir.path().join("backup");
    let report = super::backup::backup_to(&src, &backup, 1 << 20).expect("backup");
    assert_eq!(report.documents, 3);
    // The backup is a data directory: the default engine opens it as a server would.
    let restored = super::open(&backup, 1 << 20, Duration::from_millis(100)).expect("opens");
    assert_eq!(restored.count(), 3);
    for (name, dump, meta) in expected {
        assert_eq!(restored.dump(&name).expect("dump"), dump, "{name}");
        assert_eq!(
            restored
                .token_name(meta.read_token.as_str())
                .expect("token")
                .as_deref(),
            Some(name.as_str())
        );
    }
}
