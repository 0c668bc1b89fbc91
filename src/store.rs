//! Durable storage: per-document metadata, an append-only log of updates and a snapshot, behind
//! a small blocking [`Store`] trait that knows bytes and document names only. Callers run it off
//! the async workers (`spawn_blocking`).

use std::path::Path;

use sled::Transactional;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What storage holds for one document.
#[derive(Debug, Default)]
pub struct Stored {
    /// Opaque metadata, if the document exists.
    pub meta: Option<Vec<u8>>,
    /// The latest snapshot (an encoded update of the whole document), if any.
    pub snapshot: Option<Vec<u8>>,
    /// Updates logged since the snapshot, oldest first, with their sequence numbers.
    pub log: Vec<(u64, Vec<u8>)>,
}

/// One stored document, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The document's name.
    pub name: String,
    /// Its opaque metadata.
    pub meta: Vec<u8>,
}

/// A storage failure. Logged by callers, never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// A storage call panicked.
    #[error("storage call panicked")]
    Panicked,
    /// A stored key does not have the expected layout.
    #[error("corrupt key in {tree}")]
    CorruptKey {
        /// The tree holding the key.
        tree: &'static str,
    },
}

/// Blocking storage of documents as bytes. Implementations must be safe to call from many
/// threads; calls for one document come from its room, in order.
pub trait Store: Send + Sync + 'static {
    /// Everything stored for `name` (all fields empty if it was never written).
    fn load(&self, name: &str) -> Result<Stored, StoreError>;
    /// The metadata of `name`, if the document exists.
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the metadata of `name` and, in the same transaction, its entry in the expiry
    /// index: `expires` is when it is due for erasure (Unix seconds), `None` for never.
    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError>;
    /// Appends updates to the log of `name`; returns the sequence number of the last one.
    fn append(&self, name: &str, updates: &[&[u8]]) -> Result<u64, StoreError>;
    /// Stores `snapshot` as the state of `name` and drops log entries up to `through`.
    fn compact(&self, name: &str, snapshot: &[u8], through: u64) -> Result<(), StoreError>;
    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Records that the read-only token `token` designates document `name`.
    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError>;
    /// The document a read-only token designates, if any.
    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError>;
    /// Erases everything stored for `name` (log, snapshot, read-only `token`, metadata).
    /// The metadata goes last, so a crash part-way leaves a document that still exists and
    /// whose erasure can simply be run again.
    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError>;
    /// Up to `limit` documents whose names start with `prefix`, in name order, after `after`.
    /// Costs what it returns, not what is stored.
    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError>;
    /// Bytes stored for `name` (snapshot and log).
    fn size(&self, name: &str) -> Result<u64, StoreError>;
    /// Up to `limit` documents due for erasure at or before `now`, earliest first, after
    /// `after`. Reads only the expiry index's due range: costs what is due, not what is stored.
    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError>;
    /// Drops the index entry `due` if the document's current expiry is another (or it has
    /// none): an entry that no longer describes its document must not be visited forever.
    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError>;
    /// Documents stored, from a counter kept with creations and erasures (never a scan).
    fn count(&self) -> u64;
    /// Adds the expiry index entry of a document stored without one, if its metadata is
    /// still `meta` and it still has none; returns whether it did. For a one-time migration:
    /// a room that rewrote the metadata meanwhile has indexed it itself.
    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError>;
    /// Whether the one-time step `step` has completed on this database.
    fn done(&self, step: &str) -> Result<bool, StoreError>;
    /// Records that the one-time step `step` has completed.
    fn mark_done(&self, step: &str) -> Result<(), StoreError>;
}

/// A document due for erasure, from the expiry index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// When it expires, Unix seconds.
    pub at: u64,
    /// The document's name.
    pub name: String,
}

/// The sled implementation: trees `meta` and `snapshots` keyed by name, `log` keyed by
/// `name 0x00 seq` (big-endian `u64`), so one document's log is a contiguous, ordered range,
/// `tokens` from read-only token to name, and the expiry index: `expiry` keyed by big-endian
/// expiry time then name (so what is due is one leading range), with `expires` from name to
/// that time (so an entry can be moved or removed without knowing it). `meta`, `expiry` and
/// `expires` change together in one transaction, so the index always matches the metadata.
pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    snapshots: sled::Tree,
    log: sled::Tree,
    tokens: sled::Tree,
    expiry: sled::Tree,
    expires: sled::Tree,
    /// Persisted counters (`documents`), so the count needs no scan at startup.
    counters: sled::Tree,
    /// The number of documents, mirrored from `counters`.
    documents: AtomicU64,
}

/// Key of the document count in the `counters` tree (a big-endian `u64`).
const DOCUMENTS: &[u8] = b"documents";

impl SledStore {
    /// Opens (or creates) the database at `path`; sled flushes in the background every
    /// `flush_every`, which bounds what a crash can lose.
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        flush_every: Duration,
    ) -> Result<Self, StoreError> {
        let flush_ms = flush_every.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes as u64)
            .flush_every_ms(Some(flush_ms))
            .open()?;
        let meta = db.open_tree("meta")?;
        let counters = db.open_tree("counters")?;
        let documents = match counters.get(DOCUMENTS)?.and_then(|v| counter_of(&v)) {
            Some(n) => n,
            None => {
                // A database from before the counter: count once, and never again.
                let n = meta.len() as u64;
                counters.insert(DOCUMENTS, &n.to_be_bytes())?;
                n
            }
        };
        Ok(Self {
            meta,
            snapshots: db.open_tree("snapshots")?,
            log: db.open_tree("log")?,
            tokens: db.open_tree("tokens")?,
            expiry: db.open_tree("expiry")?,
            expires: db.open_tree("expires")?,
            counters,
            documents: AtomicU64::new(documents),
            db,
        })
    }

    /// Moves the document count by `delta` (+1 or -1), in memory and on disk. The count is
    /// written after the metadata, not with it: a crash in between leaves it off by one, which
    /// is why it is reported as an approximation.
    fn count_documents(&self, delta: i64) -> Result<(), StoreError> {
        let n = if delta >= 0 {
            self.documents.fetch_add(delta as u64, Ordering::Relaxed) + delta as u64
        } else {
            let down = delta.unsigned_abs();
            let prev = self
                .documents
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(down))
                })
                .unwrap_or(0);
            prev.saturating_sub(down)
        };
        // Last writer wins: concurrent creations write counts that differ by at most their
        // number, corrected by the next write; the in-memory value is exact.
        self.counters.insert(DOCUMENTS, &n.to_be_bytes())?;
        Ok(())
    }
}

fn counter_of(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
impl SledStore {
    /// The database itself, for tests that check what is stored.
    pub(crate) fn db_for_tests(&self) -> &sled::Db {
        &self.db
    }
}

fn log_prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 9);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

fn log_key(name: &str, seq: u64) -> Vec<u8> {
    let mut key = log_prefix(name);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Key of a completed one-time step in the `counters` tree.
fn done_key(step: &str) -> Vec<u8> {
    format!("done:{step}").into_bytes()
}

fn due_key(at: u64, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + name.len());
    key.extend_from_slice(&at.to_be_bytes());
    key.extend_from_slice(name.as_bytes());
    key
}

fn due_of(key: &[u8]) -> Result<Due, StoreError> {
    let corrupt = || StoreError::CorruptKey { tree: "expiry" };
    let (at, name) = key.split_at_checked(8).ok_or_else(corrupt)?;
    Ok(Due {
        at: u64::from_be_bytes(at.try_into().map_err(|_| corrupt())?),
        name: String::from_utf8(name.to_vec()).map_err(|_| corrupt())?,
    })
}

fn time_of(value: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(value).ok().map(u64::from_be_bytes)
}

type TxResult<T> = Result<T, sled::transaction::ConflictableTransactionError<()>>;

fn unabort(e: sled::transaction::TransactionError<()>) -> StoreError {
    match e {
        sled::transaction::TransactionError::Storage(e) => StoreError::Db(e),
        // Nothing aborts these transactions on purpose.
        sled::transaction::TransactionError::Abort(()) => StoreError::Panicked,
    }
}

fn seq_of(key: &[u8], prefix_len: usize) -> Result<u64, StoreError> {
    key.get(prefix_len..)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or(StoreError::CorruptKey { tree: "log" })
}

impl Store for SledStore {
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        let prefix = log_prefix(name);
        let log = self
            .log
            .scan_prefix(&prefix)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((seq_of(&k, prefix.len())?, v.to_vec()))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Stored {
            meta: self.meta.get(name)?.map(|v| v.to_vec()),
            snapshot: self.snapshots.get(name)?.map(|v| v.to_vec()),
            log,
        })
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(name)?.map(|v| v.to_vec()))
    }

    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        let created = (&self.meta, &self.expiry, &self.expires)
            .transaction(|(meta_tree, expiry, by_name)| -> TxResult<bool> {
                let old = by_name.get(name)?.and_then(|v| time_of(&v));
                if old != expires {
                    if let Some(old) = old {
                        expiry.remove(due_key(old, name))?;
                    }
                    match expires {
                        Some(at) => {
                            expiry.insert(due_key(at, name), &[][..])?;
                            by_name.insert(name, &at.to_be_bytes()[..])?;
                        }
                        None => {
                            by_name.remove(name)?;
                        }
                    }
                }
                Ok(meta_tree.insert(name, meta)?.is_none())
            })
            .map_err(unabort)?;
        if created {
            self.count_documents(1)?;
        }
        Ok(())
    }

    fn append(&self, name: &str, updates: &[&[u8]]) -> Result<u64, StoreError> {
        let mut batch = sled::Batch::default();
        let mut last = 0;
        for update in updates {
            // Ids are unique and increasing across the database, so they order each log.
            last = self.db.generate_id()?;
            batch.insert(log_key(name, last), *update);
        }
        self.log.apply_batch(batch)?;
        Ok(last)
    }

    fn compact(&self, name: &str, snapshot: &[u8], through: u64) -> Result<(), StoreError> {
        // The snapshot goes first: if we crash before the log is trimmed, replaying entries
        // the snapshot already holds is harmless (updates are idempotent).
        self.snapshots.insert(name, snapshot)?;
        let mut batch = sled::Batch::default();
        for key in self
            .log
            .range(log_key(name, 0)..=log_key(name, through))
            .keys()
        {
            batch.remove(key?);
        }
        self.log.apply_batch(batch)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        self.tokens.insert(token, name)?;
        Ok(())
    }

    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tokens
            .get(token)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in self.log.scan_prefix(log_prefix(name)).keys() {
            batch.remove(key?);
        }
        self.log.apply_batch(batch)?;
        self.snapshots.remove(name)?;
        if let Some(token) = token {
            self.tokens.remove(token)?;
        }
        let existed = (&self.meta, &self.expiry, &self.expires)
            .transaction(|(meta, expiry, by_name)| -> TxResult<bool> {
                if let Some(at) = by_name.remove(name)?.and_then(|v| time_of(&v)) {
                    expiry.remove(due_key(at, name))?;
                }
                Ok(meta.remove(name)?.is_some())
            })
            .map_err(unabort)?;
        if existed {
            self.count_documents(-1)?;
        }
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after.as_bytes().to_vec()),
            _ => Bound::Included(prefix.as_bytes().to_vec()),
        };
        let mut out = Vec::new();
        for kv in self.meta.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = kv?;
            if !k.starts_with(prefix.as_bytes()) {
                break;
            }
            let name = String::from_utf8(k.to_vec())
                .map_err(|_| StoreError::CorruptKey { tree: "meta" })?;
            out.push(Listed {
                name,
                meta: v.to_vec(),
            });
        }
        Ok(out)
    }

    fn size(&self, name: &str) -> Result<u64, StoreError> {
        let mut total = self.snapshots.get(name)?.map_or(0, |v| v.len() as u64);
        for kv in self.log.scan_prefix(log_prefix(name)) {
            total += kv?.1.len() as u64;
        }
        Ok(total)
    }

    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(due) => Bound::Excluded(due_key(due.at, &due.name)),
            None => Bound::Unbounded,
        };
        // Every key of time `now` sorts before the first key of time `now + 1`.
        let end = Bound::Excluded(now.saturating_add(1).to_be_bytes().to_vec());
        self.expiry
            .range::<Vec<u8>, _>((start, end))
            .keys()
            .take(limit)
            .map(|k| due_of(&k?))
            .collect()
    }

    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError> {
        (&self.expiry, &self.expires)
            .transaction(|(expiry, by_name)| -> TxResult<()> {
                let current = by_name.get(due.name.as_str())?.and_then(|v| time_of(&v));
                if current != Some(due.at) {
                    expiry.remove(due_key(due.at, &due.name))?;
                }
                Ok(())
            })
            .map_err(unabort)
    }

    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError> {
        (&self.meta, &self.expiry, &self.expires)
            .transaction(|(meta_tree, expiry, by_name)| -> TxResult<bool> {
                let unchanged = meta_tree.get(name)?.is_some_and(|m| &*m == meta);
                if !unchanged || by_name.get(name)?.is_some() {
                    return Ok(false);
                }
                expiry.insert(due_key(expires, name), &[][..])?;
                by_name.insert(name, &expires.to_be_bytes()[..])?;
                Ok(true)
            })
            .map_err(unabort)
    }

    fn done(&self, step: &str) -> Result<bool, StoreError> {
        Ok(self.counters.contains_key(done_key(step))?)
    }

    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        self.counters.insert(done_key(step), &[1u8][..])?;
        Ok(())
    }

    fn count(&self) -> u64 {
        self.documents.load(Ordering::Relaxed)
    }
}

/// Opens a store in tests. sled's IO threads may hold the directory's file lock for a moment
/// after the previous handle is dropped, and sled offers nothing to wait on: retry that one
/// error, briefly. (A production restart is a new process.)
#[cfg(test)]
pub(crate) fn open_retrying(dir: &Path) -> SledStore {
    for _ in 0..50 {
        match SledStore::open(dir, 1 << 20, Duration::from_millis(100)) {
            Ok(store) => return store,
            Err(e) if e.to_string().contains("lock") => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    }
    panic!("the store's file lock was not released")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> SledStore {
        open_retrying(dir)
    }

    #[test]
    fn logs_compacts_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = open(dir.path());
            store.put_meta("a", b"m", None).expect("meta");
            let first = store.append("a", &[b"u1", b"u2"]).expect("append");
            store.append("a.b", &[b"other"]).expect("append");
            store.append("a", &[b"u3"]).expect("append");
            store.compact("a", b"snap", first).expect("compact");
            store.put_token("t0", "a").expect("token");
            store.flush().expect("flush");
        }
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
            let seq = store.append(name, &[b"u1", b"u2"]).expect("append");
            store.compact(name, b"snap", seq - 1).expect("compact");
            store.put_token(&format!("t-{name}"), name).expect("token");
        }
        assert!(store.size("gone").expect("size") > 0);
        store.delete("gone", Some("t-gone")).expect("delete");
        assert!(store.load("gone").expect("load").meta.is_none());
        assert_eq!(store.size("gone").expect("size"), 0);
        assert_eq!(store.token_name("t-gone").expect("token"), None);
        for tree in store.db.tree_names() {
            let tree = store.db.open_tree(tree).expect("tree");
            for kv in tree.iter() {
                let (k, v) = kv.expect("entry");
                let key = String::from_utf8_lossy(&k);
                let value = String::from_utf8_lossy(&v);
                assert!(
                    !(key.starts_with("gone\0") || key.ends_with("gone") || key == "t-gone"),
                    "key {key:?} survived"
                );
                assert_ne!(value, "gone", "a value still names the document");
            }
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
        assert_eq!(store.expires.len() + store.expiry.len(), 2);
        // A stale entry (from a crash of an older version, say) is dropped, a current one kept.
        store
            .expiry
            .insert(due_key(5, "a"), &[][..])
            .expect("insert");
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
            store.flush().expect("flush");
        }
        let store = open(dir.path());
        assert_eq!(store.count(), 1, "the count is persisted");
        // A database from before the counter is counted once when opened.
        store.counters.remove(DOCUMENTS).expect("remove");
        store.flush().expect("flush");
        drop(store);
        assert_eq!(open(dir.path()).count(), 1);
    }
}
