//! Durable storage: per-document metadata, an append-only log of updates and a snapshot, behind
//! a small blocking [`Store`] trait that knows bytes and document names only. Callers run it off
//! the async workers (`spawn_blocking`).

use std::path::Path;
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
    /// Replaces the metadata of `name`.
    fn put_meta(&self, name: &str, meta: &[u8]) -> Result<(), StoreError>;
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
}

/// The sled implementation: trees `meta` and `snapshots` keyed by name, `log` keyed by
/// `name 0x00 seq` (big-endian `u64`), so one document's log is a contiguous, ordered range,
/// and `tokens` from read-only token to name.
pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    snapshots: sled::Tree,
    log: sled::Tree,
    tokens: sled::Tree,
}

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
        Ok(Self {
            meta: db.open_tree("meta")?,
            snapshots: db.open_tree("snapshots")?,
            log: db.open_tree("log")?,
            tokens: db.open_tree("tokens")?,
            db,
        })
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

    fn put_meta(&self, name: &str, meta: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(name, meta)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> SledStore {
        // sled's IO threads may hold the directory's file lock for a moment after the previous
        // handle is dropped, and sled offers nothing to wait on: retry that one error, briefly.
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

    #[test]
    fn logs_compacts_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = open(dir.path());
            store.put_meta("a", b"m").expect("meta");
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
}
