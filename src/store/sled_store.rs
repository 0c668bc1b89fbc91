//! The sled 0.34 implementation of [`Store`] (`--store sled:DIR`): one tree per redb table, with
//! the same names and key layout (`keys.rs`), which is also the layout the versions before redb
//! used (`legacy.rs`). Behaviour is the redb engine's, checked by the same conformance suite
//! (`conformance.rs`).
//!
//! sled's transactions cannot read a range, and the store's writes (an erasure, history's
//! thinning) remove ranges; so a write runs under one store-wide write lock, reads the trees
//! directly (no other write can change them meanwhile), gathers its effects in a [`Writer`], and
//! applies them all in one sled transaction across every tree: atomic, on a crash too. Reads
//! that span several trees take the same lock shared, so they see one state, as redb's read
//! snapshots do. The document count is kept under `counters/documents` (the key the sled
//! versions used), updated in the transaction that adds or removes a metadata entry: `count`
//! never scans.
//!
//! Durability: sled writes its log to disk every flush interval (`flush_every_ms`), which bounds
//! what a crash can lose; [`Store::flush`] (called after each write with `--sync`) returns only
//! once everything before it is on disk. Unlike redb with its journal, a killed process loses
//! what the last interval wrote. sled cannot recover in place from an I/O error (it refuses
//! every later call), so after one [`Store::health`] stays unwritable until a restart.
//! Opening rebuilds a page table of the whole database in memory (BENCHMARKS.md, "Storage
//! scale"): redb stays the default engine.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sled::transaction::{TransactionError, TransactionalTree};
use sled::Transactional;

use super::keys::{counter_of, done_key, due_key, due_of, log_end, log_key, log_prefix, seq_of};
use super::{Due, Dump, Entry, Health, Listed, Store, StoreError, Stored};

/// A tree of the store, by its index in [`TREES`].
type Tree = usize;

const META: Tree = 0;
const SNAPSHOTS: Tree = 1;
const LOG: Tree = 2;
const TOKENS: Tree = 3;
const EXPIRY: Tree = 4;
const EXPIRES: Tree = 5;
const COUNTERS: Tree = 6;
const CHECKPOINTS: Tree = 7;
const LOG_INFO: Tree = 8;
const AUTHORS: Tree = 9;

/// The trees' names: those of the redb tables, in the same order.
const TREES: [&str; 10] = [
    "meta",
    "snapshots",
    "log",
    "tokens",
    "expiry",
    "expires",
    "counters",
    "checkpoints",
    "log_info",
    "authors",
];

/// Key of the last log sequence number handed out, in `counters` (a big-endian `u64`).
const SEQ: &[u8] = b"seq";

/// Key of the number of stored documents, in `counters` (a big-endian `u64`).
const DOCUMENTS: &[u8] = b"documents";

/// Key the readiness probe writes in `counters` (the time of the last probe).
const PROBE: &[u8] = b"probe";

/// A successful readiness probe answers for this long: `/readyz` is public, and each probe
/// is an fsync.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The file the readiness probe writes, inside the sled directory (sled reads only its own).
const PROBE_FILE: &str = "ardoise.probe";

/// The store.
pub struct SledStore {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    dir: PathBuf,
    /// Held exclusively by a write from its first read to its commit, shared by reads that
    /// span several trees.
    lock: RwLock<()>,
    /// Documents stored (the `counters/documents` value), changed only under `lock`.
    count: AtomicU64,
    /// Storage calls that failed on an I/O error.
    errors: AtomicU64,
    /// An I/O error happened: sled refuses every call after one.
    failed: AtomicBool,
    /// When the readiness probe last made a write durable.
    last_probe: Mutex<Option<Instant>>,
}

/// How long an open waits for the directory's lock, which sled's background flusher of a
/// database just dropped in this process may still hold for a moment (a reopen, a migration).
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Opens `config`'s database, retrying while its directory's lock is held ([`LOCK_WAIT`]).
fn open_when_unlocked(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::Other
                    && e.to_string().contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl SledStore {
    /// Opens (or creates) the sled database in the directory `dir`, with a cache of
    /// `cache_bytes`; sled writes it to disk every `flush_every`.
    pub fn open(dir: &Path, cache_bytes: usize, flush_every: Duration) -> Result<Self, StoreError> {
        let every = u64::try_from(flush_every.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes as u64)
            .flush_every_ms(Some(every));
        let db = open_when_unlocked(&config)?;
        let trees = TREES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()?;
        if trees[COUNTERS].get(SEQ)?.is_none() {
            // A directory the versions before redb wrote (`DATA/db`) numbered its log with
            // sled's own ids: every one it handed out is below the next it would give. A new
            // database gets 0, so its first entry is 1.
            let next = db.generate_id()?;
            trees[COUNTERS].insert(SEQ, &next.to_be_bytes()[..])?;
        }
        let count = match trees[COUNTERS].get(DOCUMENTS)? {
            Some(v) => counter_of(&v).ok_or(StoreError::CorruptKey { tree: "counters" })?,
            // A new database (or one written without the count): counted once, then kept.
            None => {
                let n = trees[META].len() as u64;
                trees[COUNTERS].insert(DOCUMENTS, &n.to_be_bytes()[..])?;
                n
            }
        };
        Ok(Self {
            db,
            trees,
            dir: dir.to_owned(),
            lock: RwLock::new(()),
            count: AtomicU64::new(count),
            errors: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            last_probe: Mutex::new(None),
        })
    }

    /// Runs `f` under the write lock, then applies what it wrote in one transaction.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let out = {
            let _held = self.lock.write().unwrap_or_else(PoisonError::into_inner);
            let mut writer = Writer {
                trees: &self.trees,
                pending: BTreeMap::new(),
                documents: 0,
            };
            f(&mut writer).and_then(|out| self.commit(writer).map(|()| out))
        };
        self.noted(out)
    }

    /// Runs `f` with no write in progress, so reads across trees see one state.
    fn read<T>(
        &self,
        f: impl FnOnce(&[sled::Tree]) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let out = {
            let _held = self.lock.read().unwrap_or_else(PoisonError::into_inner);
            f(&self.trees)
        };
        self.noted(out)
    }

    /// Counts an I/O error in `out` and marks the store failed.
    fn noted<T>(&self, out: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &out {
            if e.is_io() {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if !self.failed.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "storage failed (disk full?); sled refuses every call until the server restarts");
                }
            }
        }
        out
    }

    /// Applies a writer's effects (and the new document count) in one transaction.
    fn commit(&self, writer: Writer) -> Result<(), StoreError> {
        let Writer {
            mut pending,
            documents,
            ..
        } = writer;
        if pending.is_empty() {
            return Ok(());
        }
        let count = self.count.load(Ordering::Relaxed);
        let count = count.saturating_add_signed(documents);
        if documents != 0 {
            pending.insert(
                (COUNTERS, DOCUMENTS.to_vec()),
                Some(count.to_be_bytes().to_vec()),
            );
        }
        let applied: Result<(), TransactionError<StoreError>> =
            self.trees
                .as_slice()
                .transaction(|views: &Vec<TransactionalTree>| {
                    for ((tree, key), value) in &pending {
                        match value {
                            Some(value) => {
                                views[*tree].insert(key.as_slice(), value.as_slice())?;
                            }
                            None => {
                                views[*tree].remove(key.as_slice())?;
                            }
                        }
                    }
                    Ok(())
                });
        match applied {
            Ok(()) => {
                self.count.store(count, Ordering::Relaxed);
                Ok(())
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "the last flush of the sled database failed");
        }
    }
}

/// A write in progress: reads see its own effects; nothing reaches the trees before the commit.
struct Writer<'s> {
    trees: &'s [sled::Tree],
    /// (tree, key) to the new value, or `None` for a removal.
    pending: BTreeMap<(Tree, Vec<u8>), Option<Vec<u8>>>,
    /// Documents added (positive) or removed by this write.
    documents: i64,
}

impl Writer<'_> {
    /// The value of `key` in `tree`, this write's effects included.
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.pending.get(&(tree, key.to_vec())) {
            return Ok(value.clone());
        }
        Ok(self.trees[tree].get(key)?.map(|v| v.to_vec()))
    }

    /// The keys of `tree` from `from` (inclusive) to `to`, this write's effects included.
    fn keys_in(
        &self,
        tree: Tree,
        from: &[u8],
        to: Bound<&[u8]>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let range = (Bound::Included(from), to);
        let mut keys = std::collections::BTreeSet::new();
        for kv in self.trees[tree].range::<&[u8], _>(range) {
            keys.insert(kv?.0.to_vec());
        }
        let owned = (Bound::Included(from.to_vec()), to.map(<[u8]>::to_vec));
        let lo = (tree, from.to_vec());
        for ((t, key), value) in self.pending.range(lo..) {
            if *t != tree || !std::ops::RangeBounds::contains(&owned, key) {
                break;
            }
            match value {
                Some(_) => keys.insert(key.clone()),
                None => keys.remove(key),
            };
        }
        Ok(keys.into_iter().collect())
    }

    /// Whether `tree` has a key from `from` (inclusive) to `to` (exclusive).
    fn any_in(&self, tree: Tree, from: &[u8], to: &[u8]) -> Result<bool, StoreError> {
        Ok(!self.keys_in(tree, from, Bound::Excluded(to))?.is_empty())
    }

    /// Sets `tree[key]` to `value`.
    fn put(&mut self, tree: Tree, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        if tree == META && self.get(META, key)?.is_none() {
            self.documents += 1;
        }
        self.pending
            .insert((tree, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    /// Removes `key` from `tree`; returns its value.
    fn remove(&mut self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let old = self.get(tree, key)?;
        if old.is_some() {
            if tree == META {
                self.documents -= 1;
            }
            self.pending.insert((tree, key.to_vec()), None);
        }
        Ok(old)
    }

    /// Removes every key of `tree` from `from` (inclusive) to `to`.
    fn remove_range(
        &mut self,
        tree: Tree,
        from: &[u8],
        to: Bound<&[u8]>,
    ) -> Result<(), StoreError> {
        for key in self.keys_in(tree, from, to)? {
            self.remove(tree, &key)?;
        }
        Ok(())
    }
}

fn get(trees: &[sled::Tree], tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(trees[tree].get(key)?.map(|v| v.to_vec()))
}

/// The entries of `tree` keyed `name 0x00 seq` within `range` of keys, as (seq, value), in key
/// order (reversed if `newest_first`), at most `limit`.
fn seq_range(
    trees: &[sled::Tree],
    tree: Tree,
    name: &str,
    range: (Bound<&[u8]>, Bound<&[u8]>),
    newest_first: bool,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let prefix_len = log_prefix(name).len();
    let read = |kv: sled::Result<(sled::IVec, sled::IVec)>| {
        let (k, v) = kv?;
        Ok((seq_of(&k, prefix_len)?, v.to_vec()))
    };
    let range = trees[tree].range::<&[u8], _>(range);
    if newest_first {
        range.rev().take(limit).map(read).collect()
    } else {
        range.take(limit).map(read).collect()
    }
}

/// The metadata of `name`, its latest checkpoint at or before log entry `through` (else what an
/// older version left in `snapshots`) and the log entries after it up to `through`.
fn rebuild_parts(trees: &[sled::Tree], name: &str, through: u64) -> Result<Stored, StoreError> {
    let prefix = log_prefix(name);
    let last = log_key(name, through);
    let checkpoint = trees[CHECKPOINTS]
        .range::<&[u8], _>(prefix.as_slice()..=last.as_slice())
        .next_back()
        .transpose()?
        .map(|(k, v)| Ok::<_, StoreError>((seq_of(&k, prefix.len())?, v.to_vec())))
        .transpose()?;
    let (from, snapshot) = match checkpoint {
        Some((seq, state)) => (Bound::Excluded(log_key(name, seq)), Some(state)),
        None => (
            Bound::Included(prefix.clone()),
            get(trees, SNAPSHOTS, name.as_bytes())?,
        ),
    };
    let from = from.as_ref().map(Vec::as_slice);
    let log = seq_range(
        trees,
        LOG,
        name,
        (from, Bound::Included(last.as_slice())),
        false,
        usize::MAX,
    )?;
    Ok(Stored {
        meta: get(trees, META, name.as_bytes())?,
        snapshot,
        log,
    })
}

impl Store for SledStore {
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        self.read(|t| rebuild_parts(t, name, u64::MAX))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|t| get(t, META, name.as_bytes()))
    }

    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        self.write(|w| {
            let old = w
                .get(EXPIRES, name.as_bytes())?
                .and_then(|v| counter_of(&v));
            if old != expires {
                if let Some(old) = old {
                    w.remove(EXPIRY, &due_key(old, name))?;
                }
                match expires {
                    Some(at) => {
                        w.put(EXPIRY, &due_key(at, name), &[])?;
                        w.put(EXPIRES, name.as_bytes(), &at.to_be_bytes())?;
                    }
                    None => {
                        w.remove(EXPIRES, name.as_bytes())?;
                    }
                }
            }
            w.put(META, name.as_bytes(), meta)
        })
    }

    fn append(&self, name: &str, entries: &[Entry<'_>]) -> Result<u64, StoreError> {
        self.write(|w| {
            let mut seq = w
                .get(COUNTERS, SEQ)?
                .and_then(|v| counter_of(&v))
                .unwrap_or(0);
            for entry in entries {
                // Numbers are unique and increasing across the database, so they order each log.
                seq += 1;
                let key = log_key(name, seq);
                w.put(LOG, &key, entry.update)?;
                if !entry.info.is_empty() {
                    w.put(LOG_INFO, &key, entry.info)?;
                }
            }
            w.put(COUNTERS, SEQ, &seq.to_be_bytes())?;
            Ok(seq)
        })
    }

    fn checkpoint(&self, name: &str, state: &[u8], through: u64) -> Result<(), StoreError> {
        self.write(|w| {
            w.put(CHECKPOINTS, &log_key(name, through), state)?;
            // The checkpoint stands for what an older version's snapshot held.
            w.remove(SNAPSHOTS, name.as_bytes())?;
            Ok(())
        })
    }

    fn history(
        &self,
        name: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let prefix = log_prefix(name);
        let start = match after {
            Some(seq) => Bound::Excluded(log_key(name, seq)),
            None => Bound::Included(prefix),
        };
        let end = log_end(name);
        self.read(|t| {
            let start = start.as_ref().map(Vec::as_slice);
            seq_range(
                t,
                LOG_INFO,
                name,
                (start, Bound::Excluded(end.as_slice())),
                false,
                limit,
            )
        })
    }

    fn history_before(
        &self,
        name: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let prefix = log_prefix(name);
        let end = match before {
            Some(seq) => log_key(name, seq),
            None => log_end(name),
        };
        self.read(|t| {
            let range = (
                Bound::Included(prefix.as_slice()),
                Bound::Excluded(end.as_slice()),
            );
            seq_range(t, LOG_INFO, name, range, true, limit)
        })
    }

    fn log_between(
        &self,
        name: &str,
        first: u64,
        last: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let (from, to) = (log_key(name, first), log_key(name, last));
        self.read(|t| {
            let range = (
                Bound::Included(from.as_slice()),
                Bound::Included(to.as_slice()),
            );
            seq_range(t, LOG, name, range, false, limit)
        })
    }

    fn squash(
        &self,
        name: &str,
        first: u64,
        last: u64,
        update: &[u8],
        info: &[u8],
    ) -> Result<bool, StoreError> {
        if first > last {
            return Ok(false);
        }
        self.write(|w| {
            let (from, to) = (log_key(name, first), log_key(name, last));
            // An erased (or erased and re-created) document must not get entries back.
            if w.get(META, name.as_bytes())?.is_none() || w.get(LOG, &to)?.is_none() {
                return Ok(false);
            }
            for tree in [LOG, LOG_INFO] {
                w.remove_range(tree, &from, Bound::Included(to.as_slice()))?;
            }
            // As in redb_store.rs: a checkpoint inside the run goes only when an earlier base
            // remains, since it may be the only base of a document from before history.
            let prefix = log_prefix(name);
            if w.get(SNAPSHOTS, name.as_bytes())?.is_some()
                || w.any_in(CHECKPOINTS, &prefix, &from)?
            {
                w.remove_range(CHECKPOINTS, &from, Bound::Excluded(to.as_slice()))?;
            }
            w.put(LOG, &to, update)?;
            if !info.is_empty() {
                w.put(LOG_INFO, &to, info)?;
            }
            Ok(true)
        })
    }

    fn forget(&self, name: &str, through: u64, state: &[u8]) -> Result<bool, StoreError> {
        self.write(|w| {
            let (prefix, at) = (log_prefix(name), log_key(name, through));
            if w.get(META, name.as_bytes())?.is_none() || w.get(LOG, &at)?.is_none() {
                return Ok(false);
            }
            for tree in [LOG, LOG_INFO] {
                w.remove_range(tree, &prefix, Bound::Included(at.as_slice()))?;
            }
            w.remove_range(CHECKPOINTS, &prefix, Bound::Excluded(at.as_slice()))?;
            w.put(CHECKPOINTS, &at, state)?;
            // The new checkpoint holds more than an older version's snapshot.
            w.remove(SNAPSHOTS, name.as_bytes())?;
            Ok(true)
        })
    }

    fn dump(&self, name: &str) -> Result<Dump, StoreError> {
        let (prefix, end) = (log_prefix(name), log_end(name));
        self.read(|t| {
            let all = || {
                (
                    Bound::Included(prefix.as_slice()),
                    Bound::Excluded(end.as_slice()),
                )
            };
            Ok(Dump {
                meta: get(t, META, name.as_bytes())?,
                snapshot: get(t, SNAPSHOTS, name.as_bytes())?,
                checkpoints: seq_range(t, CHECKPOINTS, name, all(), false, usize::MAX)?,
                log: seq_range(t, LOG, name, all(), false, usize::MAX)?,
                infos: seq_range(t, LOG_INFO, name, all(), false, usize::MAX)?,
                authors: seq_range(t, AUTHORS, name, all(), false, usize::MAX)?,
            })
        })
    }

    fn put_dump(&self, name: &str, dump: &Dump) -> Result<(), StoreError> {
        self.write(|w| {
            if let Some(snapshot) = &dump.snapshot {
                w.put(SNAPSHOTS, name.as_bytes(), snapshot)?;
            }
            let trees = [
                (CHECKPOINTS, &dump.checkpoints),
                (LOG, &dump.log),
                (LOG_INFO, &dump.infos),
                (AUTHORS, &dump.authors),
            ];
            for (tree, rows) in trees {
                for (seq, value) in rows {
                    w.put(tree, &log_key(name, *seq), value)?;
                }
            }
            let largest = dump.log.iter().map(|(seq, _)| *seq).max().unwrap_or(0);
            let current = w
                .get(COUNTERS, SEQ)?
                .and_then(|v| counter_of(&v))
                .unwrap_or(0);
            if largest > current {
                w.put(COUNTERS, SEQ, &largest.to_be_bytes())?;
            }
            Ok(())
        })
    }

    fn version(&self, name: &str, through: u64) -> Result<Stored, StoreError> {
        self.read(|t| rebuild_parts(t, name, through))
    }

    fn put_authors(&self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError> {
        if authors.is_empty() {
            return Ok(());
        }
        self.write(|w| {
            for (client, author) in authors {
                w.put(AUTHORS, &log_key(name, *client), author.as_bytes())?;
            }
            Ok(())
        })
    }

    fn authors(&self, name: &str, clients: &[u64]) -> Result<Vec<(u64, String)>, StoreError> {
        self.read(|t| {
            let mut out = Vec::new();
            for client in clients {
                if let Some(v) = get(t, AUTHORS, &log_key(name, *client))? {
                    out.push((*client, String::from_utf8_lossy(&v).into_owned()));
                }
            }
            Ok(out)
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        let flushed = self.db.flush().map(drop).map_err(StoreError::from);
        self.noted(flushed)
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable);
        }
        let recent = self
            .last_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < PROBE_EVERY);
        if recent {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.write(|w| w.put(COUNTERS, PROBE, &now.to_be_bytes()))?;
        self.flush()?;
        // sled's log may have room left in a segment on a full disk: new blocks must be taken.
        let probed =
            super::redb_store::probe_disk(&self.dir.join(PROBE_FILE)).map_err(StoreError::from);
        self.noted(probed)?;
        *self
            .last_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        Ok(())
    }

    fn health(&self) -> Health {
        Health {
            writable: !self.failed.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        self.write(|w| w.put(TOKENS, token.as_bytes(), name.as_bytes()))
    }

    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        let name = self.read(|t| get(t, TOKENS, token.as_bytes()))?;
        Ok(name.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        self.write(|w| {
            let (prefix, end) = (log_prefix(name), log_end(name));
            for tree in [LOG, LOG_INFO, CHECKPOINTS, AUTHORS] {
                w.remove_range(tree, &prefix, Bound::Excluded(end.as_slice()))?;
            }
            w.remove(SNAPSHOTS, name.as_bytes())?;
            if let Some(token) = token {
                w.remove(TOKENS, token.as_bytes())?;
            }
            let at = w
                .remove(EXPIRES, name.as_bytes())?
                .and_then(|v| counter_of(&v));
            if let Some(at) = at {
                w.remove(EXPIRY, &due_key(at, name))?;
            }
            w.remove(META, name.as_bytes())?;
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
        self.read(|t| {
            let mut out = Vec::new();
            for kv in t[META].range::<&[u8], _>((start, Bound::Unbounded)) {
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
        })
    }

    fn size(&self, name: &str) -> Result<u64, StoreError> {
        self.read(|t| {
            let mut total = get(t, SNAPSHOTS, name.as_bytes())?.map_or(0, |v| v.len() as u64);
            let (prefix, end) = (log_prefix(name), log_end(name));
            for tree in [LOG, LOG_INFO, CHECKPOINTS, AUTHORS] {
                for kv in t[tree].range::<&[u8], _>(prefix.as_slice()..end.as_slice()) {
                    total += kv?.1.len() as u64;
                }
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
        self.read(|t| {
            t[EXPIRY]
                .range::<&[u8], _>((start, Bound::Excluded(&end[..])))
                .take(limit)
                .map(|kv| due_of(&kv?.0))
                .collect()
        })
    }

    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError> {
        self.write(|w| {
            let current = w
                .get(EXPIRES, due.name.as_bytes())?
                .and_then(|v| counter_of(&v));
            if current != Some(due.at) {
                w.remove(EXPIRY, &due_key(due.at, &due.name))?;
            }
            Ok(())
        })
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError> {
        self.write(|w| {
            let unchanged = w.get(META, name.as_bytes())?.is_some_and(|m| m == meta);
            if !unchanged || w.get(EXPIRES, name.as_bytes())?.is_some() {
                return Ok(false);
            }
            w.put(EXPIRY, &due_key(expires, name), &[])?;
            w.put(EXPIRES, name.as_bytes(), &expires.to_be_bytes())?;
            Ok(true)
        })
    }

    fn done(&self, step: &str) -> Result<bool, StoreError> {
        self.read(|t| Ok(get(t, COUNTERS, &done_key(step))?.is_some()))
    }

    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        self.write(|w| w.put(COUNTERS, &done_key(step), &[1u8]))
    }
}

#[cfg(test)]
impl SledStore {
    /// Every entry of every tree, as (tree, key, value), for tests that check what is stored.
    pub(crate) fn entries_for_tests(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for (name, tree) in TREES.iter().zip(&self.trees) {
            for kv in tree.iter() {
                let (k, v) = kv.expect("entry");
                out.push(((*name).to_owned(), k.to_vec(), v.to_vec()));
            }
        }
        out
    }

    /// Inserts an index entry behind the store's back, as a crash of an older version could
    /// have left it.
    pub(crate) fn insert_due_for_tests(&self, at: u64, name: &str) {
        self.write(|w| w.put(EXPIRY, &due_key(at, name), &[]))
            .expect("insert");
    }

    /// Stores what a version before history left for `name` in `snapshots`.
    pub(crate) fn put_legacy_snapshot_for_tests(&self, name: &str, state: &[u8]) {
        self.write(|w| w.put(SNAPSHOTS, name.as_bytes(), state))
            .expect("legacy snapshot");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entries;

    /// A directory an older version wrote (`DATA/db`), as `legacy.rs`'s test builds it: log
    /// keys numbered by sled's ids, no `seq` counter.
    #[test]
    fn a_directory_of_the_versions_before_redb_opens_and_numbers_after_its_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let legacy = dir.path().join("db");
        let old_seq = {
            // No background flusher: its thread would hold the directory's lock for a moment
            // after the drop, and the open below would find it taken.
            let old = sled::Config::new()
                .path(&legacy)
                .flush_every_ms(None)
                .open()
                .expect("sled");
            old.open_tree("meta")
                .expect("tree")
                .insert("pad", &b"m"[..])
                .expect("insert");
            old.open_tree("counters")
                .expect("tree")
                .insert(DOCUMENTS, &1u64.to_be_bytes()[..])
                .expect("insert");
            let mut seq = 0;
            for update in [&b"u1"[..], b"u2"] {
                seq = old.generate_id().expect("id");
                old.open_tree("log")
                    .expect("tree")
                    .insert(log_key("pad", seq), update)
                    .expect("insert");
            }
            old.flush().expect("flush");
            seq
        };
        let store = SledStore::open(&legacy, 1 << 20, Duration::from_millis(100)).expect("opens");
        assert_eq!(store.count(), 1);
        let next = store.append("pad", &entries(&[b"u3"])).expect("append");
        assert!(next > old_seq, "{next} must number after {old_seq}");
        let log: Vec<_> = store
            .load("pad")
            .expect("load")
            .log
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        assert_eq!(log, [b"u1".to_vec(), b"u2".to_vec(), b"u3".to_vec()]);
    }

    #[test]
    fn after_an_io_error_the_store_says_it_cannot_write_and_counts_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            SledStore::open(dir.path(), 1 << 20, Duration::from_millis(100)).expect("opens");
        store.writable().expect("writable");
        let full = StoreError::Io(std::io::Error::other("no space left"));
        assert!(store.noted::<()>(Err(full)).is_err());
        assert_eq!(
            store.health(),
            Health {
                writable: false,
                errors: 1
            }
        );
        assert!(matches!(store.writable(), Err(StoreError::Unavailable)));
        // An error that is not the disk's changes nothing.
        let corrupt = StoreError::CorruptKey { tree: "log" };
        assert!(store.noted::<()>(Err(corrupt)).is_err());
        assert_eq!(store.health().errors, 1);
    }
}
