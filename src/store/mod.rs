//! Durable storage: per-document metadata, an append-only log of updates (each with what history
//! records of it) and checkpoints (the whole state at a log sequence number), behind a small
//! blocking [`Store`] trait that knows bytes and document names only. Callers run it off
//! the async workers (`spawn_blocking`). [`RedbStore`] is the default engine and [`SledStore`]
//! the other ones ([`SledStore`], [`PostgresStore`]), chosen by `--store` ([`open_engine`]); [`open`] also imports a data directory
//! written by the versions that stored documents in sled.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::store_url::StoreUrl;

pub mod backup;
#[cfg(test)]
mod conformance;
pub mod group;
mod journal;
mod keys;
mod legacy;
pub mod migrate;
mod postgres;
mod redb_store;
mod sled_store;

pub use postgres::PostgresStore;
pub use redb_store::RedbStore;
pub use sled_store::SledStore;

/// What storage holds for one document.
#[derive(Debug, Default)]
pub struct Stored {
    /// Opaque metadata, if the document exists.
    pub meta: Option<Vec<u8>>,
    /// The checkpoint the document is rebuilt from (an encoded update of the whole document),
    /// if any.
    pub snapshot: Option<Vec<u8>>,
    /// Updates logged after that checkpoint, oldest first, with their sequence numbers.
    pub log: Vec<(u64, Vec<u8>)>,
}

/// One log entry to append: an update and what history records with it (opaque here;
/// `doc::history::EntryInfo` in its stored form).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The update.
    pub update: &'a [u8],
    /// What history records with it.
    pub info: &'a [u8],
}

/// What one document's flush writes, as one element of a [`Store::write_batch`].
#[derive(Debug, Clone, Copy)]
pub struct DocWrite<'a> {
    /// The document's name.
    pub name: &'a str,
    /// New metadata and its expiry (Unix seconds), when they changed.
    pub meta: Option<(&'a [u8], Option<u64>)>,
    /// Author names to record (clientID, name), replacing earlier ones.
    pub authors: &'a [(u64, &'a str)],
    /// Log entries to append, in order.
    pub entries: &'a [Entry<'a>],
}

/// Everything stored for one document's content and history, for a copy that keeps revision
/// numbers (`backup::copy_all`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dump {
    /// Its metadata, if the document exists. [`Store::put_dump`] does not write it: it goes
    /// through [`Store::put_meta`], with its expiry.
    pub meta: Option<Vec<u8>>,
    /// What a version before history left as the state before its first kept entry.
    pub snapshot: Option<Vec<u8>>,
    /// Checkpoints: (the log entry each follows, the whole state).
    pub checkpoints: Vec<(u64, Vec<u8>)>,
    /// The log: (sequence number, update), oldest first.
    pub log: Vec<(u64, Vec<u8>)>,
    /// What history recorded with log entries: (sequence number, info).
    pub infos: Vec<(u64, Vec<u8>)>,
    /// Author names: (clientID, name).
    pub authors: Vec<(u64, Vec<u8>)>,
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
    Db(#[from] redb::Error),
    /// The sled database of an older version could not be read for its import.
    #[error("reading the older sled database: {0}")]
    Legacy(sled::Error),
    /// The sled engine (`--store sled:DIR`) reported an error.
    #[error("sled database error: {0}")]
    Sled(#[from] sled::Error),
    /// A file of the data directory could not be created, renamed or removed.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// A storage call panicked.
    #[error("storage call panicked")]
    Panicked,
    /// A write batched with this one failed (not on the disk), so none of the batch happened.
    #[error("a batched write failed: {0}")]
    Batched(String),
    /// A stored key does not have the expected layout.
    #[error("corrupt key in {tree}")]
    CorruptKey {
        /// The table holding the key.
        tree: &'static str,
    },
    /// The configured engine is not in this build.
    #[error("the {0} storage engine is not supported by this build yet")]
    Unsupported(&'static str),
    /// Storage failed on an I/O error (a full disk, say) and is not reopened yet.
    #[error("storage unavailable until the database is reopened")]
    Unavailable,
    /// PostgreSQL (`--store postgres://…`) refused a statement or could not be reached.
    #[error("PostgreSQL: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The PostgreSQL connection pool failed otherwise.
    #[error("PostgreSQL connection pool: {0}")]
    PostgresPool(String),
    /// A PostgreSQL call did not answer in time.
    #[error("PostgreSQL did not answer in time")]
    Timeout,
    /// The PostgreSQL database has a schema this version does not know.
    #[error("the PostgreSQL database has schema version {0}, written by a newer ardoise")]
    SchemaTooNew(i32),
    /// This node's lease on the document moved on (another node took it over after it
    /// expired): the write was refused, and the document must be unloaded without writing.
    #[error("the lease on document {0:?} was taken over by another node")]
    LeaseLost(String),
}

/// PostgreSQL's own message (and SQLSTATE) when it sent one: tokio-postgres shows only
/// "db error" otherwise. Never holds the password: no error carries the connection settings.
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl StoreError {
    /// The same failure for another caller (a batch's error reaches each document of it):
    /// `is_io()` and a lost lease read the same on the copy.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Io(e) => StoreError::Io(std::io::Error::new(e.kind(), e.to_string())),
            StoreError::Panicked => StoreError::Panicked,
            StoreError::Unavailable => StoreError::Unavailable,
            StoreError::Timeout => StoreError::Timeout,
            StoreError::CorruptKey { tree } => StoreError::CorruptKey { tree },
            StoreError::Unsupported(engine) => StoreError::Unsupported(engine),
            StoreError::SchemaTooNew(v) => StoreError::SchemaTooNew(*v),
            StoreError::PostgresPool(m) => StoreError::PostgresPool(m.clone()),
            StoreError::Batched(m) => StoreError::Batched(m.clone()),
            StoreError::LeaseLost(name) => StoreError::LeaseLost(name.clone()),
            // The engines' own errors are not Clone: their message, on the variant that keeps
            // what reopening the database may cure apart from what it may not.
            e if e.is_io() => StoreError::Io(std::io::Error::other(e.to_string())),
            e => StoreError::Batched(e.to_string()),
        }
    }

    /// Whether the error comes from the disk (or the store being failed), which reopening the
    /// database may cure, rather than from what is stored.
    pub fn is_io(&self) -> bool {
        match self {
            StoreError::Io(_) | StoreError::Unavailable | StoreError::Timeout => true,
            StoreError::PostgresPool(_) => true,
            // No answer from the server (a lost connection), or the server going away, out
            // of resources or too slow: what a database coming back cures.
            StoreError::Postgres(e) => e.as_db_error().is_none_or(|db| {
                let code = db.code().code();
                ["08", "53", "57P", "58"]
                    .iter()
                    .any(|class| code.starts_with(class))
                    || code == "57014"
            }),
            StoreError::Sled(e) => matches!(e, sled::Error::Io(_)),
            StoreError::Db(e) => matches!(
                e,
                redb::Error::Io(_)
                    | redb::Error::PreviousIo
                    | redb::Error::DatabaseClosed
                    | redb::Error::Backend(_)
            ),
            _ => false,
        }
    }
}

/// A lease this node holds on one document: while it is current, only this node writes the
/// document. `epoch` grows by one at every takeover, so a stale holder's writes are refused
/// (fencing) even when its clock or its renewals lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The document's name.
    pub name: String,
    /// The node holding it (its `--node-id`).
    pub owner: String,
    /// The takeover count of the document's lease when this node took it.
    pub epoch: u64,
}

/// Another node's current lease on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The node holding it.
    pub owner: String,
    /// The URL that node advertises, for forwarding requests to it.
    pub url: String,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// This node now holds the lease.
    Granted(Lease),
    /// Another node holds an unexpired lease.
    HeldBy(Holder),
}

/// What one node of a cluster says about itself, written to the shared database every third of
/// a lease so the admin page of any node lists them all. Plain figures: no HTTP, no clocks of
/// the node other than `started_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReport {
    /// Its `--node-id`.
    pub id: String,
    /// The URL it advertises.
    pub url: String,
    /// Live (loaded) documents.
    pub rooms: u64,
    /// Live WebSocket connections.
    pub connections: u64,
    /// Whether it lets new documents be created now.
    pub creation_open: bool,
    /// Who decides that (`auto`, `open`, `closed`).
    pub mode: String,
    /// The load signal that closed creation automatically, and its value, while it stays closed.
    pub cause: Option<(String, f64)>,
    /// Process CPU, percent of the usable cores, if measured.
    pub cpu_percent: Option<f64>,
    /// Resident memory, MiB, if measured.
    pub memory_mib: Option<f64>,
    /// When the process started, Unix seconds of the node's own clock.
    pub started_at: u64,
    /// The ardoise version it runs.
    pub version: String,
}

/// A node's latest report as the database holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenNode {
    /// What it reported.
    pub report: NodeReport,
    /// When the database received that report, Unix seconds of the database's clock.
    pub last_seen: u64,
    /// How long ago that was, by the database's clock: nodes' clocks never compare.
    pub age: Duration,
}

/// Whether storage can write, and how often it failed, for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// The database is open (not failed and waiting to be reopened).
    pub writable: bool,
    /// Storage calls that failed on an I/O error, and failed attempts to reopen the database.
    pub errors: u64,
}

/// Each of redb's error types converts through its umbrella `redb::Error`, so `?` works on any.
macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for StoreError {
            fn from(e: $error) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Opens the database of the data directory `data` (creating it if needed): `ardoise.redb`,
/// after importing the `db` directory an older version left there, if any. Commits become
/// durable every `flush_every` (what a power loss can lose; a killed process loses nothing,
/// see `journal.rs`) and on [`Store::flush`].
pub fn open(
    data: &Path,
    cache_bytes: usize,
    flush_every: Duration,
) -> Result<RedbStore, StoreError> {
    let path = data.join(DB_FILE);
    legacy::import_if_present(&data.join(LEGACY_DIR), &path)?;
    RedbStore::open(&path, cache_bytes, flush_every)
}

/// Opens the engine `url` names (creating its database if needed), for a server whose data
/// directory is `data`. The redb engine first imports the `db` directory an older version left
/// in `data`, if any (as [`open`]); the sled engine opens its directory as it is.
pub fn open_engine(
    url: &StoreUrl,
    data: &Path,
    cache_bytes: usize,
    flush_every: Duration,
) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        StoreUrl::Redb(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            legacy::import_if_present(&data.join(LEGACY_DIR), path)?;
            Ok(Arc::new(RedbStore::open(path, cache_bytes, flush_every)?))
        }
        StoreUrl::Sled(dir) => Ok(Arc::new(SledStore::open(dir, cache_bytes, flush_every)?)),
        StoreUrl::Postgres(settings) => Ok(Arc::new(PostgresStore::open(settings)?)),
        // The configuration refuses it before anything is opened (`StoreUrl::supported`).
        StoreUrl::BadPostgres(_) => Err(StoreError::Unsupported(url.engine())),
    }
}

/// The database file inside a data directory.
pub const DB_FILE: &str = "ardoise.redb";

/// The sled directory versions before the redb store kept inside a data directory.
pub const LEGACY_DIR: &str = "db";

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
    /// Appends entries to the log of `name`; returns the sequence number of the last one.
    /// Numbers are unique and increasing across the database, and never reused.
    fn append(&self, name: &str, entries: &[Entry<'_>]) -> Result<u64, StoreError>;
    /// Stores `state` as a checkpoint of `name`: the whole document as of log entry `through`
    /// (0: before any entry). The log is kept: it is the document's history.
    fn checkpoint(&self, name: &str, state: &[u8], through: u64) -> Result<(), StoreError>;
    /// What history recorded with the log entries of `name` after `after`, oldest first, at
    /// most `limit`: (sequence number, info). Entries stored without it are skipped.
    fn history(
        &self,
        name: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// What history recorded with the log entries of `name` before `before` (`None`: all),
    /// NEWEST first, at most `limit`: (sequence number, info). For paging back from the end.
    fn history_before(
        &self,
        name: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// The log entries of `name` from `first` to `last` (both included), oldest first, at
    /// most `limit`.
    fn log_between(
        &self,
        name: &str,
        first: u64,
        last: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// History's thinning, in one transaction: the log entries of `name` (and their history
    /// records) from `first` to `last` become one entry at `last` (`update`, `info`), and
    /// checkpoints from `first` up to (not including) `last` are dropped when an earlier base
    /// (checkpoint or legacy snapshot) remains. Writes nothing, and
    /// returns false, if the document's metadata or its entry `last` is gone (an erasure wins
    /// over a late pass).
    fn squash(
        &self,
        name: &str,
        first: u64,
        last: u64,
        update: &[u8],
        info: &[u8],
    ) -> Result<bool, StoreError>;
    /// History's retention, in one transaction: `state` becomes the checkpoint of `name` at
    /// `through`; log entries and history records up to `through`, and checkpoints before
    /// it, are dropped (author names are kept). Writes nothing, and returns false, if the
    /// document's metadata or its entry `through` is gone.
    fn forget(&self, name: &str, through: u64, state: &[u8]) -> Result<bool, StoreError>;
    /// Everything stored for `name`'s content and history (not bounded: for backups), read in
    /// one snapshot.
    fn dump(&self, name: &str) -> Result<Dump, StoreError>;
    /// Writes `dump` for `name` (all but its metadata), keeping its sequence numbers; the database's sequence counter
    /// ends at least at the largest of them, so later entries still number after them.
    fn put_dump(&self, name: &str, dump: &Dump) -> Result<(), StoreError>;
    /// What rebuilds `name` as of log entry `through`: the metadata, the latest checkpoint at
    /// or before it and the log entries after that checkpoint up to it. Costs the checkpoint
    /// and the entries it returns, not the whole log.
    fn version(&self, name: &str, through: u64) -> Result<Stored, StoreError>;
    /// Writes what several documents' flushes hold (metadata, author names, log entries);
    /// answers, per document in `batch` order, its last entry's sequence number (as
    /// [`Store::append`]) or why it failed. Not durable until [`Store::flush`]. The default
    /// writes each document on its own (its own transactions, and each one's lease check);
    /// an engine that overrides it (see [`Store::groups_writes`]) writes the batch at once.
    fn write_batch(&self, batch: &[DocWrite<'_>]) -> Vec<Result<u64, StoreError>> {
        batch
            .iter()
            .map(|doc| {
                if let Some((meta, expires)) = doc.meta {
                    self.put_meta(doc.name, meta, expires)?;
                }
                if !doc.authors.is_empty() {
                    self.put_authors(doc.name, doc.authors)?;
                }
                self.append(doc.name, doc.entries)
            })
            .collect()
    }
    /// Whether [`Store::write_batch`] costs less for a batch than for its documents one by
    /// one, so that rooms' writes are worth grouping on one thread ([`group::Committer`]).
    /// False: each write keeps its own thread, as engines that answer over a network need.
    fn groups_writes(&self) -> bool {
        false
    }
    /// Records the author names of clients of `name` (clientID, name), replacing earlier ones.
    fn put_authors(&self, name: &str, authors: &[(u64, &str)]) -> Result<(), StoreError>;
    /// The recorded author names of those of `clients` that have one.
    fn authors(&self, name: &str, clients: &[u64]) -> Result<Vec<(u64, String)>, StoreError>;
    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Commits a small write and makes it durable, so a readiness probe learns whether storage
    /// can write now (a read would succeed on a full disk); a success stands for a second.
    fn writable(&self) -> Result<(), StoreError>;
    /// Whether storage is open and how many of its calls failed so far.
    fn health(&self) -> Health;
    /// Records that the read-only token `token` designates document `name`.
    fn put_token(&self, token: &str, name: &str) -> Result<(), StoreError>;
    /// The document a read-only token designates, if any.
    fn token_name(&self, token: &str) -> Result<Option<String>, StoreError>;
    /// Erases everything stored for `name` (log and its history records, checkpoints, author
    /// names, read-only `token`, metadata and expiry entry), in one transaction.
    fn delete(&self, name: &str, token: Option<&str>) -> Result<(), StoreError>;
    /// Up to `limit` documents whose names start with `prefix`, in name order, after `after`.
    /// Costs what it returns, not what is stored.
    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError>;
    /// Bytes stored for `name` (checkpoints, log, history records and author names).
    fn size(&self, name: &str) -> Result<u64, StoreError>;
    /// Up to `limit` documents due for erasure at or before `now`, earliest first, after
    /// `after`. Reads only the expiry index's due range: costs what is due, not what is stored.
    fn expired(&self, now: u64, after: Option<&Due>, limit: usize) -> Result<Vec<Due>, StoreError>;
    /// Drops the index entry `due` if the document's current expiry is another (or it has
    /// none): an entry that no longer describes its document must not be visited forever.
    fn drop_stale_due(&self, due: &Due) -> Result<(), StoreError>;
    /// Documents stored, without a scan.
    fn count(&self) -> u64;
    /// Adds the expiry index entry of a document stored without one, if its metadata is
    /// still `meta` and it still has none; returns whether it did. For a one-time migration:
    /// a room that rewrote the metadata meanwhile has indexed it itself.
    fn index_if_missing(&self, name: &str, meta: &[u8], expires: u64) -> Result<bool, StoreError>;
    /// Whether the one-time step `step` has completed on this database.
    fn done(&self, step: &str) -> Result<bool, StoreError>;
    /// Records that the one-time step `step` has completed.
    fn mark_done(&self, step: &str) -> Result<(), StoreError>;

    /// Takes the lease on `name` for node `owner` (advertising `url`) for `ttl`, in one
    /// statement: granted if nobody holds it, its holder's lease expired or `owner` holds it
    /// already (a new epoch each time). Once granted, every write of `name` through this
    /// store checks in its own transaction that the lease is still this one, and fails with
    /// [`StoreError::LeaseLost`] otherwise. The default is for single-node engines (redb,
    /// sled: the process owns its database file alone), which always grant epoch 1.
    fn take_lease(
        &self,
        name: &str,
        owner: &str,
        url: &str,
        ttl: std::time::Duration,
    ) -> Result<Grant, StoreError> {
        let _ = (url, ttl);
        Ok(Grant::Granted(Lease {
            name: name.to_owned(),
            owner: owner.to_owned(),
            epoch: 1,
        }))
    }
    /// Extends, to `ttl` from now and in one statement, every lease this store took for
    /// `owner` and has not released; answers the leases that moved on to another node (their
    /// documents' writes are refused from then on). One call renews a whole node's leases: a
    /// room never wakes up to renew its own. Single-node engines hold no lease.
    fn renew_leases(
        &self,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<Vec<Lease>, StoreError> {
        let _ = (owner, ttl);
        Ok(Vec::new())
    }
    /// Gives `lease` up (it expires now, so another node may take it at once); nothing if it
    /// moved on already.
    fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let _ = lease;
        Ok(())
    }
    /// The node holding an unexpired lease on `name`, if any (never one on single-node
    /// engines).
    fn lease_holder(&self, name: &str) -> Result<Option<Holder>, StoreError> {
        let _ = name;
        Ok(None)
    }

    /// Records `report` as its node's latest (replacing the previous one), stamped with the
    /// database's clock. Single-node engines keep nothing: there is nobody to tell.
    fn announce(&self, report: &NodeReport) -> Result<(), StoreError> {
        let _ = report;
        Ok(())
    }
    /// Forgets node `id`'s report, at its clean shutdown.
    fn withdraw(&self, id: &str) -> Result<(), StoreError> {
        let _ = id;
        Ok(())
    }
    /// Every node's latest report, by id, stale ones included (at most [`MAX_NODES`]).
    fn nodes(&self) -> Result<Vec<SeenNode>, StoreError> {
        Ok(Vec::new())
    }
}

/// Most node reports [`Store::nodes`] returns: a cluster is a handful of nodes, and a
/// database shared by a runaway launcher must not make the admin page unbounded.
pub const MAX_NODES: usize = 200;

/// A document due for erasure, from the expiry index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// When it expires, Unix seconds.
    pub at: u64,
    /// The document's name.
    pub name: String,
}

/// Opens the store of the data directory `data` in tests, with a small cache.
#[cfg(test)]
pub(crate) fn open_for_tests(data: &Path) -> RedbStore {
    match open(data, 1 << 20, Duration::from_millis(100)) {
        Ok(store) => store,
        Err(e) => panic!("cannot open the store: {e}"),
    }
}

/// Two stores on one fresh database of the shared test cluster: two nodes, for tests.
#[cfg(test)]
pub(crate) fn postgres_pair_for_tests() -> (PostgresStore, PostgresStore) {
    let settings = postgres::settings_for_tests(&postgres::test_cluster::shared().fresh_url());
    let open = || PostgresStore::open(&settings).expect("opens");
    (open(), open())
}

/// Log entries of `updates` for tests, each with the same history record.
#[cfg(test)]
pub(crate) fn entries<'a>(updates: &[&'a [u8]]) -> Vec<Entry<'a>> {
    updates
        .iter()
        .map(|update| Entry { update, info: b"i" })
        .collect()
}
