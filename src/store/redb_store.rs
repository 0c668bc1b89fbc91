//! The redb implementation of [`Store`]: one file of copy-on-write B-trees. Opening it reads a
//! header, not the data, and its memory is a bounded page cache, so neither grows with the
//! number of stored documents (sled 0.34, used before, rebuilt a page table of the whole
//! database in memory on every open: BENCHMARKS.md, "Storage scale").
//!
//! Every table maps bytes to bytes, in the layout the sled trees had, so an older data
//! directory imports table by table (`legacy.rs`): `meta` and `snapshots` keyed by name, `log`
//! keyed by `name 0x00 seq` (big-endian `u64`, so one document's log is one ordered range),
//! `tokens` from read-only token to name, the expiry index `expiry` keyed by big-endian expiry
//! time then name (what is due is one leading range) with `expires` from name to that time (so
//! an entry can be moved without knowing it), and `counters` (the last log sequence number,
//! completed one-time steps). A write is one transaction, so the metadata and the index never
//! disagree; the document count is the `meta` table's length, which redb keeps.

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};

use super::{Due, Listed, Store, StoreError, Stored};

/// A table of the store: every one maps bytes to bytes.
pub(super) type Bytes = TableDefinition<'static, &'static [u8], &'static [u8]>;

const META: Bytes = TableDefinition::new("meta");
const SNAPSHOTS: Bytes = TableDefinition::new("snapshots");
const LOG: Bytes = TableDefinition::new("log");
const TOKENS: Bytes = TableDefinition::new("tokens");
const EXPIRY: Bytes = TableDefinition::new("expiry");
const EXPIRES: Bytes = TableDefinition::new("expires");
pub(super) const COUNTERS: Bytes = TableDefinition::new("counters");

/// Every table, created when the database is: reads never meet a missing one.
pub(super) const TABLES: [Bytes; 7] = [META, SNAPSHOTS, LOG, TOKENS, EXPIRY, EXPIRES, COUNTERS];

/// Key of the last log sequence number handed out, in `counters` (a big-endian `u64`).
pub(super) const SEQ: &[u8] = b"seq";

/// The store. Writes commit without waiting for the disk; a background thread makes them
/// durable every flush interval, and [`Store::flush`] (and dropping the store) at once.
pub struct RedbStore {
    db: Arc<Database>,
    /// How many commits were made and how many are known durable.
    commits: Arc<Commits>,
    /// Stops (by being dropped) and joins the flushing thread.
    flusher: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl RedbStore {
    /// Opens (or creates) the database file at `path`, with a page cache of `cache_bytes`;
    /// commits become durable every `flush_every`, which bounds what a crash can lose.
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        flush_every: Duration,
    ) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)?;
        let tx = db.begin_write()?;
        for table in TABLES {
            tx.open_table(table)?;
        }
        tx.commit()?;
        let db = Arc::new(db);
        let commits = Arc::new(Commits::default());
        let flusher = spawn_flusher(db.clone(), commits.clone(), flush_every)?;
        Ok(Self {
            db,
            commits,
            flusher: Some(flusher),
        })
    }

    /// Runs `f` in a write transaction committed without waiting for the disk.
    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::None)?;
        // On an error the transaction is dropped, which aborts it.
        let out = f(&tx)?;
        tx.commit()?;
        self.commits.made.fetch_add(1, Ordering::Release);
        Ok(out)
    }

    /// Runs `f` on a read snapshot.
    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.db.begin_read()?)
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.flusher.take() {
            drop(stop);
            // Joined, so the database is closed (and its file lock released) when this returns.
            let _ = thread.join();
        }
        if let Err(e) = self.commits.make_durable(&self.db) {
            tracing::error!(error = %e, "the last flush of the database failed");
        }
    }
}

/// Starts the thread that makes commits durable every `every`, until its sender is dropped.
fn spawn_flusher(
    db: Arc<Database>,
    commits: Arc<Commits>,
    every: Duration,
) -> Result<(mpsc::Sender<()>, JoinHandle<()>), StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ardoise-flush".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if let Err(e) = commits.make_durable(&db) {
                    tracing::error!(error = %e, "flushing the database failed");
                }
            }
        })?;
    Ok((stop, thread))
}

/// Counts commits, to make them durable only when there is something new, and never to answer
/// a flush before the durable commit that covers it has finished.
#[derive(Default)]
struct Commits {
    /// Commits made so far.
    made: AtomicU64,
    /// How many of them are known durable. Held during a durable commit, so a flush that comes
    /// while another runs waits for it, then finds its own commits covered or commits again.
    durable: Mutex<u64>,
}

impl Commits {
    /// Makes every commit made before this call durable, if some are not yet: an empty
    /// transaction committed with redb's default durability writes and syncs what the
    /// non-durable commits before it left pending.
    fn make_durable(&self, db: &Database) -> Result<(), StoreError> {
        let target = self.made.load(Ordering::Acquire);
        let mut durable = self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        if *durable >= target {
            return Ok(());
        }
        db.begin_write()?.commit()?;
        // It covered at least the `target` commits counted before it began.
        *durable = target;
        Ok(())
    }

    /// Whether commits are waiting to be made durable.
    #[cfg(test)]
    fn pending(&self) -> bool {
        let durable = *self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        self.made.load(Ordering::Acquire) > durable
    }
}

fn counter_of(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

fn log_prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 9);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

/// The first key after every log key of `name` (names hold no NUL, and `name 0x01` sorts
/// before any longer name's `name x … 0x00`).
fn log_end(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(1);
    key
}

fn log_key(name: &str, seq: u64) -> Vec<u8> {
    let mut key = log_prefix(name);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Key of a completed one-time step in `counters`.
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

fn seq_of(key: &[u8], prefix_len: usize) -> Result<u64, StoreError> {
    key.get(prefix_len..)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or(StoreError::CorruptKey { tree: "log" })
}

fn get(
    tx: &redb::ReadTransaction,
    table: Bytes,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx.open_table(table)?.get(key)?.map(|v| v.value().to_vec()))
}

/// Removes `name`'s log entries from `first` through `last` (inclusive).
fn drop_log(tx: &WriteTransaction, first: &[u8], last: Bound<&[u8]>) -> Result<(), StoreError> {
    tx.open_table(LOG)?
        .retain_in::<&[u8], _>((Bound::Included(first), last), |_, _| false)?;
    Ok(())
}

impl Store for RedbStore {
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        self.read(|tx| {
            let prefix = log_prefix(name);
            let end = log_end(name);
            let log = tx
                .open_table(LOG)?
                .range::<&[u8]>(prefix.as_slice()..end.as_slice())?
                .map(|kv| {
                    let (k, v) = kv?;
                    Ok((seq_of(k.value(), prefix.len())?, v.value().to_vec()))
                })
                .collect::<Result<_, StoreError>>()?;
            Ok(Stored {
                meta: get(tx, META, name.as_bytes())?,
                snapshot: get(tx, SNAPSHOTS, name.as_bytes())?,
                log,
            })
        })
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|tx| get(tx, META, name.as_bytes()))
    }

    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut by_name = tx.open_table(EXPIRES)?;
            let old = by_name
                .get(name.as_bytes())?
                .and_then(|v| counter_of(v.value()));
            if old != expires {
                let mut expiry = tx.open_table(EXPIRY)?;
                if let Some(old) = old {
                    expiry.remove(due_key(old, name).as_slice())?;
                }
                match expires {
                    Some(at) => {
                        expiry.insert(due_key(at, name).as_slice(), &[][..])?;
                        by_name.insert(name.as_bytes(), &at.to_be_bytes()[..])?;
                    }
                    None => {
                        by_name.remove(name.as_bytes())?;
                    }
                }
            }
            tx.open_table(META)?.insert(name.as_bytes(), meta)?;
            Ok(())
        })
    }

    fn append(&self, name: &str, updates: &[&[u8]]) -> Result<u64, StoreError> {
        self.write(|tx| {
            let mut counters = tx.open_table(COUNTERS)?;
            let mut seq = counters
                .get(SEQ)?
                .and_then(|v| counter_of(v.value()))
                .unwrap_or(0);
            let mut log = tx.open_table(LOG)?;
            for update in updates {
                // Numbers are unique and increasing across the database, so they order each log.
                seq += 1;
                log.insert(log_key(name, seq).as_slice(), *update)?;
            }
            counters.insert(SEQ, &seq.to_be_bytes()[..])?;
            Ok(seq)
        })
    }

    fn compact(&self, name: &str, snapshot: &[u8], through: u64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.open_table(SNAPSHOTS)?
                .insert(name.as_bytes(), snapshot)?;
            let last = log_key(name, through);
            drop_log(tx, &log_prefix(name), Bound::Included(last.as_slice()))
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.commits.make_durable(&self.db)
    }

    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.open_table(TOKENS)?
                .insert(token.as_bytes(), name.as_bytes())?;
            Ok(())
        })
    }

    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        let name = self.read(|tx| get(tx, TOKENS, token.as_bytes()))?;
        Ok(name.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        self.write(|tx| {
            let end = log_end(name);
            drop_log(tx, &log_prefix(name), Bound::Excluded(end.as_slice()))?;
            tx.open_table(SNAPSHOTS)?.remove(name.as_bytes())?;
            if let Some(token) = token {
                tx.open_table(TOKENS)?.remove(token.as_bytes())?;
            }
            let at = tx
                .open_table(EXPIRES)?
                .remove(name.as_bytes())?
                .and_then(|v| counter_of(v.value()));
            if let Some(at) = at {
                tx.open_table(EXPIRY)?
                    .remove(due_key(at, name).as_slice())?;
            }
            tx.open_table(META)?.remove(name.as_bytes())?;
            Ok(())
        })
    }

    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after.as_bytes()),
            _ => Bound::Included(prefix.as_bytes()),
        };
        self.read(|tx| {
            let meta = tx.open_table(META)?;
            let mut out = Vec::new();
            for kv in meta.range::<&[u8]>((start, Bound::Unbounded))? {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = kv?;
                if !k.value().starts_with(prefix.as_bytes()) {
                    break;
                }
                let name = String::from_utf8(k.value().to_vec())
                    .map_err(|_| StoreError::CorruptKey { tree: "meta" })?;
                out.push(Listed {
                    name,
                    meta: v.value().to_vec(),
                });
            }
            Ok(out)
        })
    }

    fn size(&self, name: &str) -> Result<u64, StoreError> {
        self.read(|tx| {
            let snapshot = tx.open_table(SNAPSHOTS)?.get(name.as_bytes())?;
            let mut total = snapshot.map_or(0, |v| v.value().len() as u64);
            let (prefix, end) = (log_prefix(name), log_end(name));
            for kv in tx
                .open_table(LOG)?
                .range::<&[u8]>(prefix.as_slice()..end.as_slice())?
            {
                total += kv?.1.value().len() as u64;
            }
            Ok(total)
        })
    }

    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError> {
        let after = after.map(|due| due_key(due.at, &due.name));
        let start = match &after {
            Some(key) => Bound::Excluded(key.as_slice()),
            None => Bound::Unbounded,
        };
        // Every key of time `now` sorts before the first key of time `now + 1`.
        let end = now.saturating_add(1).to_be_bytes();
        self.read(|tx| {
            tx.open_table(EXPIRY)?
                .range::<&[u8]>((start, Bound::Excluded(&end[..])))?
                .take(limit)
                .map(|kv| due_of(kv?.0.value()))
                .collect()
        })
    }

    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError> {
        self.write(|tx| {
            let current = tx
                .open_table(EXPIRES)?
                .get(due.name.as_bytes())?
                .and_then(|v| counter_of(v.value()));
            if current != Some(due.at) {
                tx.open_table(EXPIRY)?
                    .remove(due_key(due.at, &due.name).as_slice())?;
            }
            Ok(())
        })
    }

    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError> {
        self.write(|tx| {
            let unchanged = tx
                .open_table(META)?
                .get(name.as_bytes())?
                .is_some_and(|m| m.value() == meta);
            let mut by_name = tx.open_table(EXPIRES)?;
            if !unchanged || by_name.get(name.as_bytes())?.is_some() {
                return Ok(false);
            }
            tx.open_table(EXPIRY)?
                .insert(due_key(expires, name).as_slice(), &[][..])?;
            by_name.insert(name.as_bytes(), &expires.to_be_bytes()[..])?;
            Ok(true)
        })
    }

    fn done(&self, step: &str) -> Result<bool, StoreError> {
        self.read(|tx| Ok(get(tx, COUNTERS, &done_key(step))?.is_some()))
    }

    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.open_table(COUNTERS)?
                .insert(done_key(step).as_slice(), &[1u8][..])?;
            Ok(())
        })
    }

    fn count(&self) -> u64 {
        // redb keeps each table's length in its root: this reads no entry.
        match self.read(|tx| Ok(tx.open_table(META)?.len()?)) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "counting the stored documents failed");
                0
            }
        }
    }
}

#[cfg(test)]
impl RedbStore {
    /// Every entry of every table, as (table, key, value), for tests that check what is stored.
    pub(crate) fn entries_for_tests(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        use redb::TableHandle;
        let tx = self.db.begin_read().expect("read");
        let mut out = Vec::new();
        for handle in tx.list_tables().expect("tables") {
            let table = tx
                .open_table(TableDefinition::<&[u8], &[u8]>::new(handle.name()))
                .expect("table");
            for kv in table.iter().expect("iter") {
                let (k, v) = kv.expect("entry");
                out.push((
                    handle.name().to_owned(),
                    k.value().to_vec(),
                    v.value().to_vec(),
                ));
            }
        }
        out
    }

    /// Inserts an index entry behind the store's back, as a crash of an older version could
    /// have left it.
    pub(crate) fn insert_due_for_tests(&self, at: u64, name: &str) {
        self.write(|tx| {
            tx.open_table(EXPIRY)?
                .insert(due_key(at, name).as_slice(), &[][..])?;
            Ok(())
        })
        .expect("insert");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> RedbStore {
        RedbStore::open(&dir.join("t.redb"), 1 << 20, Duration::from_millis(100)).expect("opens")
    }

    #[test]
    fn logs_compacts_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let last = {
            let store = open(dir.path());
            store.put_meta("a", b"m", None).expect("meta");
            let first = store.append("a", &[b"u1", b"u2"]).expect("append");
            store.append("a.b", &[b"other"]).expect("append");
            store.append("a", &[b"u3"]).expect("append");
            store.compact("a", b"snap", first).expect("compact");
            store.put_token("t0", "a").expect("token");
            store.append("b", &[b"last"]).expect("append")
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
        let next = store.append("a", &[b"u4"]).expect("append");
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
            let seq = store.append(name, &[b"u1", b"u2"]).expect("append");
            store.compact(name, b"snap", seq - 1).expect("compact");
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
                        store.append(&name, &[b"a", b"b"]).expect("append");
                        store.append(&name, &[b"c"]).expect("append");
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
    fn a_flush_clears_what_awaits_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(
            &dir.path().join("t.redb"),
            1 << 20,
            Duration::from_secs(3600),
        )
        .expect("opens");
        assert!(!store.commits.pending());
        store.put_meta("a", b"m", None).expect("meta");
        assert!(store.commits.pending(), "a commit awaits its flush");
        store.flush().expect("flush");
        assert!(!store.commits.pending());
        store.flush().expect("an idle flush commits nothing");
    }
}
