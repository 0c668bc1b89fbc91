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
//! completed one-time steps). History adds `log_info` (what history records of each log entry,
//! keyed like `log`), `checkpoints` (whole states, keyed like `log` by the entry they follow)
//! and `authors` (`name 0x00 clientID` to an author's name). The log is never cut by a
//! checkpoint: only erasure and history's own retention remove entries. A `snapshots` entry is
//! what versions before history left: the document's state before its first kept entry, read
//! like a checkpoint at 0 until the first checkpoint replaces it. A write's effects are all
//! kept or none (see below), so the metadata and the index never disagree; the document count
//! is the `meta` table's length, which redb keeps.
//!
//! A write returns once its effects are appended to the journal (`journal.rs`), so a killed
//! process loses none of them; it goes into one write transaction left open for the writes
//! after it, which is committed (not durably: redb's `Durability::None`) once per flush
//! interval, before any read (a read sees every write that returned) and past
//! [`OPEN_MAX_BYTES`]. A commit per write cost about as much as the B-tree inserts themselves
//! (BENCHMARKS.md, issue 23); a write that fails or panics inside the open transaction takes
//! the earlier uncommitted writes with it, so the store then reopens, which replays them from
//! the journal. Every flush interval the journal file is synced, from a second handle and
//! without any lock, so a power loss loses at most that interval while writes go on. A
//! durable redb commit, which holds redb's only write transaction while the disk syncs (a
//! second or more on a busy disk, and every room's append waits behind it), is made only to
//! empty the journal: once the store has been quiet for [`QUIET_BEFORE_COMMIT`], or once the
//! journal passes [`JOURNAL_MAX`], and by [`Store::flush`].
//! After an I/O error (a full disk) redb refuses every call until it is reopened: the store
//! then refuses calls too, and reopens the database (replaying the journal) with a growing
//! delay until it works again.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table,
    TableDefinition, TableHandle, WriteTransaction,
};

use super::journal::{self, Journal, Op};
use super::keys::{counter_of, done_key, due_key, due_of, log_end, log_key, log_prefix, seq_of};
use super::{DocWrite, Due, Dump, Entry, Health, Listed, Store, StoreError, Stored};

/// A table of the store: every one maps bytes to bytes.
pub(super) type Bytes = TableDefinition<'static, &'static [u8], &'static [u8]>;

const META: Bytes = TableDefinition::new("meta");
const SNAPSHOTS: Bytes = TableDefinition::new("snapshots");
const LOG: Bytes = TableDefinition::new("log");
const TOKENS: Bytes = TableDefinition::new("tokens");
const EXPIRY: Bytes = TableDefinition::new("expiry");
const EXPIRES: Bytes = TableDefinition::new("expires");
pub(super) const COUNTERS: Bytes = TableDefinition::new("counters");
const CHECKPOINTS: Bytes = TableDefinition::new("checkpoints");
const LOG_INFO: Bytes = TableDefinition::new("log_info");
const AUTHORS: Bytes = TableDefinition::new("authors");

/// Every table, created when the database is: reads never meet a missing one. The journal
/// names a table by its index here, so the order never changes (new tables go at the end).
pub(super) const TABLES: [Bytes; 10] = [
    META,
    SNAPSHOTS,
    LOG,
    TOKENS,
    EXPIRY,
    EXPIRES,
    COUNTERS,
    CHECKPOINTS,
    LOG_INFO,
    AUTHORS,
];

/// Key of the last log sequence number handed out, in `counters` (a big-endian `u64`).
pub(super) const SEQ: &[u8] = b"seq";

/// Key the readiness probe writes in `counters` (the time of the last probe).
const PROBE: &[u8] = b"probe";

/// A successful readiness probe answers for this long: `/readyz` is public, and each probe
/// is an fsync that every writer waits behind.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// First delay before reopening a failed database; it doubles after each failed attempt.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// Longest delay between two attempts to reopen a failed database: once space is freed,
/// storage is back within this.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// How long no write may have been made before the background thread makes a durable
/// redb commit (which stalls writes while it syncs): an idle server, not a typing one.
const QUIET_BEFORE_COMMIT: Duration = Duration::from_secs(30);

/// Journal size past which the background thread makes a durable redb commit even while
/// writes go on: bounds the journal's disk use and its replay at the next start.
const JOURNAL_MAX: u64 = 64 << 20;

/// Journaled bytes of the writes in the open transaction past which it is committed at the
/// next write, whatever the time: bounds the dirty pages it holds in memory.
const OPEN_MAX_BYTES: u64 = 8 << 20;

/// The store. Writes return without waiting for the disk (journaled first); a background
/// thread makes them durable every flush interval (by syncing the journal), and
/// [`Store::flush`] (and dropping the store) at once with a durable commit.
pub struct RedbStore {
    shared: Arc<Shared>,
    /// Stops (by being dropped) and joins the flushing thread.
    flusher: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

/// What the store's callers and its flushing thread share.
struct Shared {
    path: PathBuf,
    cache_bytes: usize,
    /// The open database, or the failure that closed it.
    state: Mutex<State>,
    /// How many writes were made and how many are known durable.
    commits: Commits,
    /// The journal file, for syncing it without holding `journal`.
    journal_file: std::fs::File,
    /// When the last write was made, in ms since `opened_at`.
    last_write_ms: AtomicU64,
    /// The origin of `last_write_ms`.
    opened_at: Instant,
    /// The write transaction of the writes not yet committed, if any. Every write holds this
    /// lock (it is the writers' queue), and takes `journal` only under it, so the journal's
    /// records are in the order of the writes.
    open: Mutex<Option<Open>>,
    /// Effects of the writes made since the last durable commit.
    journal: Mutex<Journal>,
    /// Storage calls that failed on an I/O error, and failed attempts to reopen.
    errors: AtomicU64,
    /// When the readiness probe last made a write durable.
    last_probe: Mutex<Option<Instant>>,
}

/// The write transaction left open between writes ([`Shared::open`]).
struct Open {
    /// The database it was begun on: a reopened database starts another.
    db: Arc<Database>,
    tx: WriteTransaction,
    /// Journaled bytes of the writes it holds.
    bytes: u64,
}

impl Open {
    /// Commits it, not durably (its writes are journaled).
    fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }
}

enum State {
    Open(Arc<Database>),
    /// The database hit an I/O error; it is reopened at `retry_at`, once the calls that still
    /// hold the old handle have let it go (redb locks its file while open).
    Failed {
        old: Weak<Database>,
        /// Failed attempts to reopen so far.
        attempts: u32,
        retry_at: Instant,
        /// A call is reopening it now.
        reopening: bool,
    },
}

impl RedbStore {
    /// Opens (or creates) the database file at `path`, with a page cache of `cache_bytes`,
    /// and replays its journal (`path` with the extension `journal`); writes become durable
    /// every `flush_every`, which bounds what a power loss can lose (a killed process loses
    /// nothing: the journal has it).
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        flush_every: Duration,
    ) -> Result<Self, StoreError> {
        let mut journal = Journal::open(&path.with_extension("journal"))?;
        let db = open_db(path, cache_bytes, &mut journal)?;
        let journal_file = journal.sync_handle()?;
        let shared = Arc::new(Shared {
            path: path.to_owned(),
            cache_bytes,
            state: Mutex::new(State::Open(Arc::new(db))),
            commits: Commits::default(),
            journal_file,
            last_write_ms: AtomicU64::new(0),
            opened_at: Instant::now(),
            open: Mutex::new(None),
            journal: Mutex::new(journal),
            errors: AtomicU64::new(0),
            last_probe: Mutex::new(None),
        });
        let flusher = spawn_flusher(shared.clone(), flush_every)?;
        Ok(Self {
            shared,
            flusher: Some(flusher),
        })
    }

    /// Runs `f` in the store's open write transaction, its effects journaled
    /// ([`Shared::write`]).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.shared.write(f)
    }

    /// Runs `f` on a read snapshot that holds every write made before this call.
    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.shared.db()?;
        self.shared.settle(&db)?;
        let out = db
            .begin_read()
            .map_err(StoreError::from)
            .and_then(|tx| f(&tx));
        if let Err(e) = &out {
            self.shared.failed(&db, e);
        }
        out
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.flusher.take() {
            drop(stop);
            // Joined, so the database is closed (and its file lock released) when this returns.
            let _ = thread.join();
        }
        if let Err(e) = self.shared.make_durable() {
            tracing::error!(error = %e, "the last flush of the database failed; the journal keeps what it did not cover");
        }
    }
}

/// Opens (or creates) the database, creates missing tables and replays `journal` into it in
/// one durable commit, then clears it.
fn open_db(path: &Path, cache_bytes: usize, journal: &mut Journal) -> Result<Database, StoreError> {
    let db = Database::builder()
        .set_cache_size(cache_bytes)
        .create(path)?;
    let tx = db.begin_write()?;
    for table in TABLES {
        tx.open_table(table)?;
    }
    let records = journal::replay(journal.path(), |ops| apply(&tx, &ops))?;
    tx.commit()?;
    journal.clear()?;
    if records > 0 {
        tracing::info!(records, "replayed the storage journal");
    }
    Ok(db)
}

/// Applies journaled effects in a write transaction.
fn apply(tx: &WriteTransaction, ops: &[Op]) -> Result<(), StoreError> {
    let table = |id: u8| {
        TABLES
            .get(usize::from(id))
            .copied()
            .ok_or(StoreError::CorruptKey { tree: "journal" })
    };
    for op in ops {
        match op {
            Op::Put {
                table: t,
                key,
                value,
            } => {
                tx.open_table(table(*t)?)?
                    .insert(key.as_slice(), value.as_slice())?;
            }
            Op::Remove { table: t, key } => {
                tx.open_table(table(*t)?)?.remove(key.as_slice())?;
            }
            Op::RemoveRange { table: t, from, to } => {
                let to = match to {
                    Bound::Included(k) => Bound::Included(k.as_slice()),
                    Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
                    Bound::Unbounded => Bound::Unbounded,
                };
                tx.open_table(table(*t)?)?
                    .retain_in::<&[u8], _>((Bound::Included(from.as_slice()), to), |_, _| false)?;
            }
        }
    }
    Ok(())
}

/// A write transaction that records its effects for the journal.
pub(super) struct Writer<'t> {
    tx: &'t WriteTransaction,
    /// Tables opened so far, by their index in [`TABLES`], kept open until the transaction
    /// ends: opening and closing a table costs a table-tree lookup and a root update each
    /// time, several times per write otherwise (a batch of room flushes puts in the same
    /// three tables over and over).
    tables: Vec<Option<Table<'t, &'static [u8], &'static [u8]>>>,
    ops: Vec<Op>,
}

impl<'t> Writer<'t> {
    fn new(tx: &'t WriteTransaction) -> Self {
        Self {
            tx,
            tables: Vec::new(),
            ops: Vec::new(),
        }
    }

    fn id(table: Bytes) -> u8 {
        // Every table the store writes is in TABLES.
        TABLES
            .iter()
            .position(|t| t.name() == table.name())
            .map_or(u8::MAX, |i| i as u8)
    }

    /// `table`, opened in this transaction at its first use.
    fn table(
        &mut self,
        table: Bytes,
    ) -> Result<&mut Table<'t, &'static [u8], &'static [u8]>, StoreError> {
        let id = usize::from(Self::id(table));
        if self.tables.len() <= id {
            self.tables.resize_with(id + 1, || None);
        }
        let slot = &mut self.tables[id];
        Ok(match slot {
            Some(open) => open,
            None => slot.insert(self.tx.open_table(table)?),
        })
    }

    /// The effects recorded, closing every table (a transaction commits only once none is open).
    fn finish(self) -> Vec<Op> {
        self.ops
    }

    /// The value of `key` in `table`.
    fn get(&mut self, table: Bytes, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.table(table)?.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Whether `table` has a key from `from` (inclusive) to `to` (exclusive).
    fn any_in(&mut self, table: Bytes, from: &[u8], to: &[u8]) -> Result<bool, StoreError> {
        Ok(self
            .table(table)?
            .range::<&[u8]>(from..to)?
            .next()
            .is_some())
    }

    /// Sets `table[key]` to `value`.
    fn put(&mut self, table: Bytes, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.table(table)?.insert(key, value)?;
        self.ops.push(Op::Put {
            table: Self::id(table),
            key: key.to_vec(),
            value: value.to_vec(),
        });
        Ok(())
    }

    /// Removes `key` from `table`; returns its value.
    fn remove(&mut self, table: Bytes, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let old = self.table(table)?.remove(key)?.map(|v| v.value().to_vec());
        if old.is_some() {
            self.ops.push(Op::Remove {
                table: Self::id(table),
                key: key.to_vec(),
            });
        }
        Ok(old)
    }

    /// Replaces the metadata of `name` and its expiry index entry ([`Store::put_meta`]).
    fn put_meta(
        &mut self,
        name: &str,
        meta: &[u8],
        expires: Option<u64>,
    ) -> Result<(), StoreError> {
        let old = self
            .get(EXPIRES, name.as_bytes())?
            .and_then(|v| counter_of(&v));
        if old != expires {
            if let Some(old) = old {
                self.remove(EXPIRY, &due_key(old, name))?;
            }
            match expires {
                Some(at) => {
                    self.put(EXPIRY, &due_key(at, name), &[])?;
                    self.put(EXPIRES, name.as_bytes(), &at.to_be_bytes())?;
                }
                None => {
                    self.remove(EXPIRES, name.as_bytes())?;
                }
            }
        }
        self.put(META, name.as_bytes(), meta)
    }

    /// Records author names of `name` ([`Store::put_authors`]).
    fn put_authors(&mut self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError> {
        for (client, author) in authors {
            self.put(AUTHORS, &log_key(name, *client), author.as_bytes())?;
        }
        Ok(())
    }

    /// The database's last sequence number.
    fn last_seq(&mut self) -> Result<u64, StoreError> {
        Ok(self
            .get(COUNTERS, SEQ)?
            .and_then(|v| counter_of(&v))
            .unwrap_or(0))
    }

    /// Appends `entries` to the log of `name`, numbering them after `seq`, which ends at the
    /// last one; the caller stores the counter once per transaction.
    fn append(
        &mut self,
        name: &str,
        entries: &[Entry<'_>],
        seq: &mut u64,
    ) -> Result<(), StoreError> {
        for entry in entries {
            // Numbers are unique and increasing across the database, so they order each log.
            *seq += 1;
            let key = log_key(name, *seq);
            self.put(LOG, &key, entry.update)?;
            if !entry.info.is_empty() {
                self.put(LOG_INFO, &key, entry.info)?;
            }
        }
        Ok(())
    }

    /// Removes every key of `table` from `from` (inclusive) to `to`.
    fn remove_range(
        &mut self,
        table: Bytes,
        from: &[u8],
        to: Bound<&[u8]>,
    ) -> Result<(), StoreError> {
        self.table(table)?
            .retain_in::<&[u8], _>((Bound::Included(from), to), |_, _| false)?;
        self.ops.push(Op::RemoveRange {
            table: Self::id(table),
            from: from.to_vec(),
            to: to.map(<[u8]>::to_vec),
        });
        Ok(())
    }
}

impl Shared {
    /// The open database; while it is failed, an error, or a reopening attempt when one is due.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        let now = Instant::now();
        {
            let mut state = lock(&self.state);
            match &mut *state {
                State::Open(db) => return Ok(db.clone()),
                State::Failed {
                    old,
                    retry_at,
                    reopening,
                    ..
                } => {
                    if *reopening || now < *retry_at || old.strong_count() > 0 {
                        return Err(StoreError::Unavailable);
                    }
                    // Only this call reopens; the others are refused meanwhile, without
                    // waiting for it (a repair reads the whole file).
                    *reopening = true;
                }
            }
        }
        // No call holds a database handle (so none holds the journal) while this one reopens.
        let opened = open_db(&self.path, self.cache_bytes, &mut lock(&self.journal));
        let mut state = lock(&self.state);
        let State::Failed {
            attempts,
            retry_at,
            reopening,
            ..
        } = &mut *state
        else {
            // Only a reopening call leaves the failed state.
            return Err(StoreError::Unavailable);
        };
        *attempts += 1;
        *reopening = false;
        match opened {
            Ok(db) => {
                tracing::info!(
                    attempts = *attempts,
                    "storage recovered: the database was reopened and its journal replayed"
                );
                let db = Arc::new(db);
                *state = State::Open(db.clone());
                Ok(db)
            }
            Err(e) => {
                let delay = FIRST_RETRY
                    .saturating_mul(1 << (*attempts).min(16))
                    .min(MAX_RETRY);
                *retry_at = Instant::now() + delay;
                tracing::warn!(error = %e, attempts = *attempts, retry_in_ms = delay.as_millis() as u64, "storage still failing; will reopen again");
                self.errors.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Unavailable)
            }
        }
    }

    /// Called with the error of a call on `db`: an I/O error closes the database (redb
    /// refuses everything after one until it is reopened) and schedules its reopening. Must
    /// not be called with `open` held: it takes it.
    fn failed(&self, db: &Arc<Database>, e: &StoreError) {
        if !e.is_io() {
            return;
        }
        // The open transaction's writes are in the journal, which the reopening replays (and
        // after an I/O error redb would refuse to commit it).
        let stale = lock(&self.open).take_if(|open| Arc::ptr_eq(&open.db, db));
        drop(stale);
        self.close(db, e);
    }

    /// Marks `db` failed (if it is still the open one) for [`Shared::db`] to reopen it,
    /// whatever `e` is: a caller that lost uncommitted writes needs the journal's replay. Takes
    /// `state` only.
    fn close(&self, db: &Arc<Database>, e: &StoreError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&self.state);
        if matches!(&*state, State::Open(current) if Arc::ptr_eq(current, db)) {
            tracing::error!(error = %e, "storage failed (disk full?); refusing storage calls until the database is reopened and its journal replayed");
            *state = State::Failed {
                old: Arc::downgrade(db),
                attempts: 0,
                retry_at: Instant::now() + FIRST_RETRY,
                reopening: false,
            };
        }
    }

    /// Runs `f` in the open write transaction (beginning one if none is), then journals its
    /// effects: the write counts once this returns, committed or not.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.db()?;
        let mut open = lock(&self.open);
        let earlier = match open.take() {
            Some(o) if Arc::ptr_eq(&o.db, &db) && o.bytes < OPEN_MAX_BYTES => Some(o),
            Some(o) => {
                if let Err(e) = o.commit() {
                    drop(open);
                    self.close(&db, &e);
                    return Err(e);
                }
                None
            }
            None => None,
        };
        // Until this write is journaled, the uncommitted writes before it are only in the
        // transaction: a failure or a panic in between drops them with it.
        let guard = Unwinding {
            shared: self,
            db: &db,
            armed: earlier.is_some(),
        };
        let out = self.write_in(&db, earlier, f);
        let lost_earlier = guard.disarm();
        match out {
            Ok((out, o)) => {
                *open = Some(o);
                drop(open);
                self.commits.made.fetch_add(1, Ordering::Release);
                self.last_write_ms
                    .store(self.ms_since_open(), Ordering::Relaxed);
                Ok(out)
            }
            Err(e) => {
                drop(open);
                if lost_earlier {
                    self.close(&db, &e);
                } else {
                    self.failed(&db, &e);
                }
                Err(e)
            }
        }
    }

    /// [`Shared::write`]'s work, in `open` (or a transaction begun on `db`): `f`, then its
    /// effects journaled. Gives the transaction back only if both worked.
    fn write_in<T>(
        &self,
        db: &Arc<Database>,
        open: Option<Open>,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<(T, Open), StoreError> {
        let mut o = match open {
            Some(o) => o,
            None => {
                let mut tx = db.begin_write()?;
                tx.set_durability(Durability::None)?;
                Open {
                    db: db.clone(),
                    tx,
                    bytes: 0,
                }
            }
        };
        let mut writer = Writer::new(&o.tx);
        let out = f(&mut writer)?;
        let ops = writer.finish();
        let mut journal = lock(&self.journal);
        let start = journal.len();
        journal.append(&ops)?;
        o.bytes += journal.len() - start;
        Ok((out, o))
    }

    /// Commits the open transaction if there is one, so that what `db` shows holds every
    /// write made so far.
    fn settle(&self, db: &Arc<Database>) -> Result<(), StoreError> {
        let mut open = lock(&self.open);
        let Some(o) = open.take() else {
            return Ok(());
        };
        let committed = o.commit();
        drop(open);
        if let Err(e) = &committed {
            self.close(db, e);
        }
        committed
    }

    fn ms_since_open(&self) -> u64 {
        u64::try_from(self.opened_at.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Makes every write made before this call survive a power loss, if some may not yet, by
    /// syncing the journal that holds them. Takes no lock a write needs: writes go on while the
    /// disk syncs.
    fn sync_journal(&self) -> Result<(), StoreError> {
        self.cover(&self.commits.journal_synced, |_| {
            Ok(self.journal_file.sync_data()?)
        })
    }

    /// Runs `work` unless `mark` already covers every write made before this call, then moves
    /// `mark` to them. `mark` is held during the work, so a caller that comes while another
    /// works waits for it, then finds its own writes covered or works again. A failure marks
    /// the store failed.
    fn cover(
        &self,
        mark: &Mutex<u64>,
        work: impl FnOnce(&Arc<Database>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let db = self.db()?;
        // Writes counted here were journaled before they were counted.
        let target = self.commits.made.load(Ordering::Acquire);
        let mut covered = lock(mark);
        if *covered >= target {
            return Ok(());
        }
        let out = work(&db);
        match &out {
            // It covered at least the `target` writes counted before it began.
            Ok(()) => *covered = target,
            Err(e) => self.failed(&db, e),
        }
        out
    }

    /// The background thread's work each flush interval: the journal synced, and a durable
    /// commit when the store has been quiet or the journal has grown large.
    fn background_flush(&self, quiet_before: Duration) -> Result<(), StoreError> {
        self.settle(&self.db()?)?;
        self.sync_journal()?;
        let quiet = self
            .ms_since_open()
            .saturating_sub(self.last_write_ms.load(Ordering::Relaxed))
            >= u64::try_from(quiet_before.as_millis()).unwrap_or(u64::MAX);
        if quiet || lock(&self.journal).len() >= JOURNAL_MAX {
            self.presync_file();
            self.make_durable()?;
        }
        Ok(())
    }

    /// Syncs what the non-durable commits already wrote to the database file, from a second
    /// handle and holding no lock, so that the durable commit after it, which every write waits
    /// for, has only the rest to sync (under a steady load, minutes of writes otherwise). A
    /// failure is only logged: the durable commit syncs everything anyway.
    fn presync_file(&self) {
        if let Err(e) = std::fs::File::open(&self.path).and_then(|f| f.sync_data()) {
            tracing::warn!(error = %e, "cannot sync the database file ahead of its durable commit");
        }
    }

    /// Makes every write made before this call durable, if some are not yet: the open
    /// transaction (or an empty one) committed with redb's default durability writes and
    /// syncs what it and the non-durable commits before it left pending. The journal is
    /// cleared under the same lock as the writes', so it loses no record a later write adds.
    fn make_durable(&self) -> Result<(), StoreError> {
        self.cover(&self.commits.durable, |db| {
            let mut open = lock(&self.open);
            // The open transaction, if any, is itself the durable commit: one commit, not two.
            let (mut tx, lost_if_failed) = match open.take() {
                Some(o) => (o.tx, true),
                None => (db.begin_write()?, false),
            };
            let mut journal = lock(&self.journal);
            let committed = tx
                .set_durability(Durability::Immediate)
                .map_err(StoreError::from)
                .and_then(|()| Ok(tx.commit()?));
            if let Err(e) = committed {
                drop(journal);
                drop(open);
                // `cover` closes the database on an I/O error; on any other, the uncommitted
                // writes are lost all the same.
                if lost_if_failed && !e.is_io() {
                    self.close(db, &e);
                }
                return Err(e);
            }
            // Left as it is, it would only be replayed over what it already holds.
            if let Err(e) = journal.clear() {
                tracing::warn!(error = %e, "cannot clear the storage journal");
            }
            Ok(())
        })
    }
}

/// Bytes the readiness probe writes to its own file: two fresh blocks, so a disk that cannot
/// take new data fails it (the database file may have free pages and the journal a partly
/// filled block).
const PROBE_BYTES: usize = 8192;

/// Rewrites the probe file at `path` with [`PROBE_BYTES`] and syncs it.
pub(super) fn probe_disk(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(&[0; PROBE_BYTES])?;
    file.sync_data()
}

/// Closes the database for reopening if dropped armed, as when a write panics inside the open
/// transaction: the uncommitted writes before it went with it, and only the journal's replay
/// brings them back.
struct Unwinding<'a> {
    shared: &'a Shared,
    db: &'a Arc<Database>,
    armed: bool,
}

impl Unwinding<'_> {
    /// Whether it was armed; it no longer is.
    fn disarm(mut self) -> bool {
        std::mem::replace(&mut self.armed, false)
    }
}

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.close(self.db, &StoreError::Panicked);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the thread that makes commits durable every `every` (journal synced; see
/// [`Shared::background_flush`]; and reopens a failed database when due), until its sender is
/// dropped.
fn spawn_flusher(
    shared: Arc<Shared>,
    every: Duration,
) -> Result<(mpsc::Sender<()>, JoinHandle<()>), StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ardoise-flush".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                match shared.background_flush(QUIET_BEFORE_COMMIT) {
                    // Already logged when storage failed and at each reopening attempt.
                    Ok(()) | Err(StoreError::Unavailable) => {}
                    Err(e) => tracing::error!(error = %e, "flushing the database failed"),
                }
            }
        })?;
    Ok((stop, thread))
}

/// Counts writes, to make them durable only when there is something new, and never to answer
/// a flush before the durable commit that covers it has finished.
#[derive(Default)]
struct Commits {
    /// Writes made so far (each counted once journaled).
    made: AtomicU64,
    /// How many of them are known durable.
    durable: Mutex<u64>,
    /// How many of them are known to have their journal records on disk.
    journal_synced: Mutex<u64>,
}

impl Commits {
    /// Whether writes are waiting to be made durable.
    #[cfg(test)]
    fn pending(&self) -> bool {
        let durable = *lock(&self.durable);
        self.made.load(Ordering::Acquire) > durable
    }
}

fn get(
    tx: &redb::ReadTransaction,
    table: Bytes,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx.open_table(table)?.get(key)?.map(|v| v.value().to_vec()))
}

/// One entry read from a range of a byte table.
type RangeItem<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

/// The entries of `table` keyed `name 0x00 seq` within `range` of keys, as (seq, value), in key
/// order (reversed if `newest_first`), at most `limit`.
fn seq_range(
    tx: &redb::ReadTransaction,
    table: Bytes,
    name: &str,
    range: (Bound<&[u8]>, Bound<&[u8]>),
    newest_first: bool,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let prefix_len = log_prefix(name).len();
    let table = tx.open_table(table)?;
    let range = table.range::<&[u8]>(range)?;
    let read = |kv: RangeItem<'_>| {
        let (k, v) = kv?;
        Ok((seq_of(k.value(), prefix_len)?, v.value().to_vec()))
    };
    if newest_first {
        range.rev().take(limit).map(read).collect()
    } else {
        range.take(limit).map(read).collect()
    }
}

/// The metadata of `name`, its latest checkpoint at or before log entry `through` (else what an
/// older version left in `snapshots`) and the log entries after it up to `through`.
fn rebuild_parts(
    tx: &redb::ReadTransaction,
    name: &str,
    through: u64,
) -> Result<Stored, StoreError> {
    let prefix = log_prefix(name);
    let last = log_key(name, through);
    let checkpoint = tx
        .open_table(CHECKPOINTS)?
        .range::<&[u8]>(prefix.as_slice()..=last.as_slice())?
        .next_back()
        .transpose()?
        .map(|(k, v)| Ok::<_, StoreError>((seq_of(k.value(), prefix.len())?, v.value().to_vec())))
        .transpose()?;
    let (from, snapshot) = match checkpoint {
        Some((seq, state)) => (Bound::Excluded(log_key(name, seq)), Some(state)),
        None => (
            Bound::Included(prefix.clone()),
            get(tx, SNAPSHOTS, name.as_bytes())?,
        ),
    };
    let from = from.as_ref().map(Vec::as_slice);
    let log = tx
        .open_table(LOG)?
        .range::<&[u8]>((from, Bound::Included(last.as_slice())))?
        .map(|kv| {
            let (k, v) = kv?;
            Ok((seq_of(k.value(), prefix.len())?, v.value().to_vec()))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Stored {
        meta: get(tx, META, name.as_bytes())?,
        snapshot,
        log,
    })
}

impl Store for RedbStore {
    fn load(&self, name: &str) -> Result<Stored, StoreError> {
        self.read(|tx| rebuild_parts(tx, name, u64::MAX))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|tx| get(tx, META, name.as_bytes()))
    }

    fn put_meta(&self, name: &str, meta: &[u8], expires: Option<u64>) -> Result<(), StoreError> {
        self.write(|w| w.put_meta(name, meta, expires))
    }

    fn append(&self, name: &str, entries: &[Entry<'_>]) -> Result<u64, StoreError> {
        self.write(|w| {
            let mut seq = w.last_seq()?;
            w.append(name, entries, &mut seq)?;
            w.put(COUNTERS, SEQ, &seq.to_be_bytes())?;
            Ok(seq)
        })
    }

    fn write_batch(&self, batch: &[DocWrite<'_>]) -> Vec<Result<u64, StoreError>> {
        // One transaction (one commit, one journal record) for the whole batch: that is the
        // point of batching. It fails or succeeds as a whole, so every document gets its outcome.
        let written = self.write(|w| {
            let mut seq = w.last_seq()?;
            let mut lasts = Vec::with_capacity(batch.len());
            for doc in batch {
                if let Some((meta, expires)) = doc.meta {
                    w.put_meta(doc.name, meta, expires)?;
                }
                w.put_authors(doc.name, doc.authors)?;
                w.append(doc.name, doc.entries, &mut seq)?;
                lasts.push(seq);
            }
            w.put(COUNTERS, SEQ, &seq.to_be_bytes())?;
            Ok(lasts)
        });
        match written {
            Ok(lasts) => lasts.into_iter().map(Ok).collect(),
            Err(e) => batch.iter().map(|_| Err(e.duplicate())).collect(),
        }
    }

    fn groups_writes(&self) -> bool {
        true
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
            None => Bound::Included(prefix.clone()),
        };
        let end = log_end(name);
        self.read(|tx| {
            let start = start.as_ref().map(Vec::as_slice);
            tx.open_table(LOG_INFO)?
                .range::<&[u8]>((start, Bound::Excluded(end.as_slice())))?
                .take(limit)
                .map(|kv| {
                    let (k, v) = kv?;
                    Ok((seq_of(k.value(), prefix.len())?, v.value().to_vec()))
                })
                .collect()
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
        self.read(|tx| {
            let range = (
                Bound::Included(prefix.as_slice()),
                Bound::Excluded(end.as_slice()),
            );
            seq_range(tx, LOG_INFO, name, range, true, limit)
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
        self.read(|tx| {
            let range = (
                Bound::Included(from.as_slice()),
                Bound::Included(to.as_slice()),
            );
            seq_range(tx, LOG, name, range, false, limit)
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
            for table in [LOG, LOG_INFO] {
                w.remove_range(table, &from, Bound::Included(to.as_slice()))?;
            }
            // A checkpoint inside the run is dropped only when an earlier base remains: a
            // document from before history may have a log that starts after its beginning, and
            // its first checkpoint is then the only base that holds it. One that stays is still
            // right: replaying the merged entry over it adds only what came after it.
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
            for table in [LOG, LOG_INFO] {
                w.remove_range(table, &prefix, Bound::Included(at.as_slice()))?;
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
        self.read(|tx| {
            let all = || {
                (
                    Bound::Included(prefix.as_slice()),
                    Bound::Excluded(end.as_slice()),
                )
            };
            Ok(Dump {
                meta: get(tx, META, name.as_bytes())?,
                snapshot: get(tx, SNAPSHOTS, name.as_bytes())?,
                checkpoints: seq_range(tx, CHECKPOINTS, name, all(), false, usize::MAX)?,
                log: seq_range(tx, LOG, name, all(), false, usize::MAX)?,
                infos: seq_range(tx, LOG_INFO, name, all(), false, usize::MAX)?,
                authors: seq_range(tx, AUTHORS, name, all(), false, usize::MAX)?,
            })
        })
    }

    fn put_dump(&self, name: &str, dump: &Dump) -> Result<(), StoreError> {
        self.write(|w| {
            if let Some(snapshot) = &dump.snapshot {
                w.put(SNAPSHOTS, name.as_bytes(), snapshot)?;
            }
            let tables = [
                (CHECKPOINTS, &dump.checkpoints),
                (LOG, &dump.log),
                (LOG_INFO, &dump.infos),
                (AUTHORS, &dump.authors),
            ];
            for (table, rows) in tables {
                for (seq, value) in rows {
                    w.put(table, &log_key(name, *seq), value)?;
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
        self.read(|tx| rebuild_parts(tx, name, through))
    }

    fn put_authors(&self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError> {
        if authors.is_empty() {
            return Ok(());
        }
        self.write(|w| w.put_authors(name, authors))
    }

    fn authors(&self, name: &str, clients: &[u64]) -> Result<Vec<(u64, String)>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(AUTHORS)?;
            let mut out = Vec::new();
            for client in clients {
                if let Some(v) = table.get(log_key(name, *client).as_slice())? {
                    out.push((*client, String::from_utf8_lossy(v.value()).into_owned()));
                }
            }
            Ok(out)
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.shared.make_durable()
    }

    fn writable(&self) -> Result<(), StoreError> {
        // A failed store answers at once, whatever the last probe found.
        drop(self.shared.db()?);
        let recent = lock(&self.shared.last_probe).is_some_and(|at| at.elapsed() < PROBE_EVERY);
        if recent {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.write(|w| w.put(COUNTERS, PROBE, &now.to_be_bytes()))?;
        // A non-durable commit may stay in memory: its journal record, once synced, is on the
        // disk. Not a durable redb commit: that would stall every room's writes while it syncs.
        self.shared.sync_journal()?;
        // A small record may still fit in blocks the journal holds on a full disk: the disk
        // must also take new blocks, synced, in a file no write waits for.
        let db = self.shared.db()?;
        if let Err(e) = probe_disk(&self.shared.path.with_extension("probe")) {
            let e = StoreError::from(e);
            self.shared.failed(&db, &e);
            return Err(e);
        }
        *lock(&self.shared.last_probe) = Some(Instant::now());
        Ok(())
    }

    fn health(&self) -> Health {
        Health {
            writable: matches!(*lock(&self.shared.state), State::Open(_)),
            errors: self.shared.errors.load(Ordering::Relaxed),
        }
    }

    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError> {
        self.write(|w| w.put(TOKENS, token.as_bytes(), name.as_bytes()))
    }

    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError> {
        let name = self.read(|tx| get(tx, TOKENS, token.as_bytes()))?;
        Ok(name.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError> {
        self.write(|w| {
            let (prefix, end) = (log_prefix(name), log_end(name));
            for table in [LOG, LOG_INFO, CHECKPOINTS, AUTHORS] {
                w.remove_range(table, &prefix, Bound::Excluded(end.as_slice()))?;
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
            for table in [LOG, LOG_INFO, CHECKPOINTS, AUTHORS] {
                for kv in tx
                    .open_table(table)?
                    .range::<&[u8]>(prefix.as_slice()..end.as_slice())?
                {
                    total += kv?.1.value().len() as u64;
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
        self.read(|tx| {
            tx.open_table(EXPIRY)?
                .range::<&[u8]>((start, Bound::Excluded(&end[..])))?
                .take(limit)
                .map(|kv| due_of(kv?.0.value()))
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
        self.read(|tx| Ok(get(tx, COUNTERS, &done_key(step))?.is_some()))
    }

    fn mark_done(&self, step: &str) -> Result<(), StoreError> {
        self.write(|w| w.put(COUNTERS, &done_key(step), &[1u8]))
    }

    fn count(&self) -> u64 {
        // redb keeps each table's length in its root: this reads no entry.
        match self.read(|tx| Ok(tx.open_table(META)?.len()?)) {
            Ok(n) => n,
            // Logged when storage failed; `/metrics` asks this on every scrape.
            Err(StoreError::Unavailable) => 0,
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
        let db = self.shared.db().expect("open");
        self.shared.settle(&db).expect("commit");
        let tx = db.begin_read().expect("read");
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
mod tests;
