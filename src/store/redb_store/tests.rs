use super::*;
use crate::store::entries;

fn open(dir: &Path) -> RedbStore {
    RedbStore::open(&dir.join("t.redb"), 1 << 20, Duration::from_millis(100)).expect("opens")
}

#[test]
fn logs_compacts_and_survives_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let last = {
        let store = open(dir.path());
        store.put_meta("a", b"m", None).expect("meta");
        let first = store
            .append("a", &entries(&[b"u1", b"u2"]))
            .expect("append");
        store.append("a.b", &entries(&[b"other"])).expect("append");
        store.append("a", &entries(&[b"u3"])).expect("append");
        store.checkpoint("a", b"snap", first).expect("compact");
        store.put_token("t0", "a").expect("token");
        store.append("b", &entries(&[b"last"])).expect("append")
    };
    // Dropping the store made everything durable without an explicit flush.
    let store = open(dir.path());
    let a = store.load("a").expect("load");
    assert_eq!(a.meta.as_deref(), Some(&b"m"[..]));
    assert_eq!(store.meta("a").expect("meta").as_deref(), Some(&b"m"[..]));
    assert_eq!(store.meta("a.b").expect("meta"), None);
    assert_eq!(a.snapshot.as_deref(), Some(&b"snap"[..]));
    let log: Vec<_> = a.log.into_iter().map(|(_, u)| u).collect();
    assert_eq!(log, vec![b"u3".to_vec()]);
    let other = store.load("a.b").expect("load");
    assert_eq!(other.log.len(), 1, "a prefix name's log is separate");
    assert!(
        store.load("A").expect("load").meta.is_none(),
        "names are case-sensitive"
    );
    assert_eq!(store.token_name("t0").expect("token").as_deref(), Some("a"));
    let next = store.append("a", &entries(&[b"u4"])).expect("append");
    assert!(next > last, "sequence numbers keep growing across a reopen");
}

#[test]
fn lists_by_prefix_in_pages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
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
}

#[test]
fn delete_leaves_no_key_naming_the_document() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    for name in ["gone", "gone.too"] {
        store.put_meta(name, b"m", Some(100)).expect("meta");
        let seq = store
            .append(name, &entries(&[b"u1", b"u2"]))
            .expect("append");
        store.checkpoint(name, b"snap", seq - 1).expect("compact");
        store.put_token(&format!("t-{name}"), name).expect("token");
    }
    assert!(store.size("gone").expect("size") > 0);
    store.delete("gone", Some("t-gone")).expect("delete");
    assert!(store.load("gone").expect("load").meta.is_none());
    assert_eq!(store.size("gone").expect("size"), 0);
    assert_eq!(store.token_name("t-gone").expect("token"), None);
    let entries = store.entries_for_tests();
    assert!(entries.iter().any(|(table, _, _)| table == "log"));
    for (table, k, v) in entries {
        let key = String::from_utf8_lossy(&k);
        let value = String::from_utf8_lossy(&v);
        assert!(
            !(key.starts_with("gone\0") || key.ends_with("gone") || key == "t-gone"),
            "key {key:?} survived in {table}"
        );
        assert_ne!(value, "gone", "a value in {table} still names the document");
    }
    let kept = store.load("gone.too").expect("load");
    assert!(kept.meta.is_some() && kept.snapshot.is_some() && kept.log.len() == 1);
}

#[test]
fn the_expiry_index_follows_the_metadata() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
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
    assert!(store
        .expired(20, None, 10)
        .expect("due")
        .iter()
        .all(|d| d.name == "b"));
    store.delete("b", None).expect("delete");
    assert_eq!(
        names(store.expired(u64::MAX, None, 10).expect("due")),
        ["a"]
    );
    let index = |table: &str| {
        store
            .entries_for_tests()
            .iter()
            .filter(|(t, _, _)| t == table)
            .count()
    };
    assert_eq!(index("expiry") + index("expires"), 2);
    // A stale entry (from a crash of an older version, say) is dropped, a current one kept.
    store.insert_due_for_tests(5, "a");
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

#[test]
fn counts_documents_without_scanning_and_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = open(dir.path());
        assert_eq!(store.count(), 0);
        store.put_meta("a", b"m", None).expect("meta");
        store
            .put_meta("a", b"m2", None)
            .expect("meta update is no new document");
        store.put_meta("b", b"m", None).expect("meta");
        assert_eq!(store.count(), 2);
        store.delete("a", None).expect("delete");
        store
            .delete("a", None)
            .expect("deleting again changes nothing");
        assert_eq!(store.count(), 1);
    }
    assert_eq!(open(dir.path()).count(), 1, "the count is persisted");
}

#[test]
fn concurrent_writers_keep_the_count_exact_and_every_log_ordered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(dir.path()));
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
    let log = store.load("doc-3-7").expect("load").log;
    let updates: Vec<&[u8]> = log.iter().map(|(_, u)| u.as_slice()).collect();
    assert_eq!(updates, [&b"a"[..], b"b", b"c"]);
    assert!(log.windows(2).all(|w| w[0].0 < w[1].0));
    let store = Arc::try_unwrap(store).ok().expect("last handle");
    drop(store);
    assert_eq!(open(dir.path()).count(), 8 * 20, "the stored count agrees");
}

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
/// The sequence numbers of `(seq, _)` pairs.
fn seqs(rows: &[(u64, Vec<u8>)]) -> Vec<u64> {
    rows.iter().map(|(seq, _)| *seq).collect()
}

fn keys_naming(store: &RedbStore, name: &str) -> Vec<String> {
    store
        .entries_for_tests()
        .into_iter()
        .filter(|(_, k, v)| {
            k.starts_with(&log_prefix(name)) || k == name.as_bytes() || v == name.as_bytes()
        })
        .map(|(table, k, _)| format!("{table}:{}", String::from_utf8_lossy(&k)))
        .collect()
}

#[test]
fn append_stores_history_records_but_not_empty_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let last = store
        .append(
            "a",
            &[
                Entry {
                    update: b"u1",
                    info: b"i1",
                },
                Entry {
                    update: b"u2",
                    info: b"",
                },
                Entry {
                    update: b"u3",
                    info: b"i3",
                },
            ],
        )
        .expect("append");
    assert_eq!(last, 3);
    let history = store.history("a", None, 10).expect("history");
    assert_eq!(history, [(1, b"i1".to_vec()), (3, b"i3".to_vec())]);
    assert_eq!(store.load("a").expect("load").log.len(), 3);
}

#[test]
fn a_checkpoint_keeps_the_log_and_load_starts_from_the_latest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
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
    // A version picks the latest checkpoint at or before it and the log up to it.
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

#[test]
fn a_legacy_snapshot_reads_as_checkpoint_zero_until_a_checkpoint_replaces_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store
        .write(|w| w.put(SNAPSHOTS, b"a", b"old"))
        .expect("legacy snapshot");
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
    assert!(store
        .entries_for_tests()
        .iter()
        .all(|(t, _, _)| t != "snapshots"));
    let loaded = store.load("a").expect("load");
    assert_eq!(
        (loaded.snapshot.as_deref(), loaded.log.len()),
        (Some(&b"c2"[..]), 0)
    );
}

#[test]
fn history_pages_forwards_and_backwards_and_keeps_documents_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    for _ in 0..3 {
        store.append("a", &entries(&[b"x", b"y"])).expect("append");
        store.append("a.b", &entries(&[b"z"])).expect("append");
    }
    let all = seqs(&store.history("a", None, 100).expect("history"));
    assert_eq!(all, [1, 2, 4, 5, 7, 8]);
    assert_eq!(seqs(&store.history("a", None, 2).expect("page")), [1, 2]);
    assert_eq!(seqs(&store.history("a", Some(2), 2).expect("page")), [4, 5]);
    assert_eq!(
        seqs(&store.history("a", Some(8), 2).expect("page")),
        [] as [u64; 0]
    );
    // Newest first, for paging back from the end.
    assert_eq!(
        seqs(&store.history_before("a", None, 2).expect("page")),
        [8, 7]
    );
    assert_eq!(
        seqs(&store.history_before("a", Some(7), 3).expect("page")),
        [5, 4, 2]
    );
    assert_eq!(
        seqs(&store.history_before("a", Some(1), 3).expect("page")),
        [] as [u64; 0]
    );
    assert_eq!(
        seqs(&store.history_before("a.b", None, 10).expect("page")),
        [9, 6, 3]
    );
}

#[test]
fn author_names_are_per_document_and_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store
        .put_authors("a", &[(1, "Un"), (2, "Deux")])
        .expect("authors");
    store.put_authors("a", &[(1, "Élève Un")]).expect("authors");
    store.put_authors("a.b", &[(3, "Trois")]).expect("authors");
    assert_eq!(
        store.authors("a", &[1, 2, 3]).expect("authors"),
        [(1, "Élève Un".to_owned()), (2, "Deux".to_owned())]
    );
}

#[test]
fn delete_erases_every_table_of_history_and_size_counts_them_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store.put_meta("a", b"m", Some(5)).expect("meta");
    store
        .write(|w| w.put(SNAPSHOTS, b"a", b"12345"))
        .expect("legacy");
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
    store.put_token("t", "a").expect("token");
    store.delete("a", Some("t")).expect("delete");
    assert_eq!(keys_naming(&store, "a"), Vec::<String>::new());
    assert_eq!(store.size("a").expect("size"), 0);
}

#[test]
fn squash_merges_a_run_into_its_last_entry_and_drops_checkpoints_inside() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    let all = |store: &RedbStore| store.dump("a").expect("dump");
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
    let v5 = store.version("a", 5).expect("version");
    assert_eq!(
        (v5.snapshot.as_deref(), v5.log.len()),
        (Some(&b"c5"[..]), 0)
    );
    assert_eq!(seqs(&all(&store).log), [1, 5, 6]);
    // On a run whose last entry is gone, or an erased document, it writes nothing.
    assert!(!store.squash("a", 1, 3, b"x", b"i").expect("squash"));
    store.delete("a", None).expect("delete");
    assert!(!store.squash("a", 1, 6, b"x", b"i").expect("squash"));
    assert_eq!(keys_naming(&store, "a"), Vec::<String>::new());
}

#[test]
fn forget_turns_the_past_into_a_checkpoint_and_keeps_authors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store.put_meta("a", b"m", None).expect("meta");
    store
        .write(|w| w.put(SNAPSHOTS, b"a", b"old"))
        .expect("legacy");
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
    assert_eq!(keys_naming(&store, "a"), Vec::<String>::new());
}

#[test]
fn a_dump_written_elsewhere_keeps_sequence_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).expect("dir");
    std::fs::create_dir_all(&b).expect("dir");
    let src = open(&a);
    src.append("x", &entries(&[b"1", b"2"])).expect("append");
    src.append("y", &entries(&[b"3"])).expect("append");
    src.checkpoint("y", b"c", 3).expect("checkpoint");
    src.put_authors("y", &[(7, "Sept")]).expect("authors");
    let dump = src.dump("y").expect("dump");
    let dest = open(&b);
    dest.put_dump("y", &dump).expect("put");
    assert_eq!(dest.dump("y").expect("dump"), dump);
    assert_eq!(dest.append("y", &entries(&[b"4"])).expect("append"), 4);
}
