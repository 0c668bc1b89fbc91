//! The one-time import of a data directory written by the versions that kept documents in sled
//! (`DIR/db`). Their trees had the layout of the redb tables, so each is copied key by key into
//! a new file, which is renamed into place only once complete and durable; the sled directory is
//! removed afterwards, so nothing it held (expired documents included) outlives the import. An
//! import interrupted at any point is simply run again at the next start.

use std::path::Path;
use std::time::Instant;

use redb::{Database, Durability, TableHandle};

use super::redb_store::{Bytes, COUNTERS, SEQ, TABLES};
use super::StoreError;

/// Entries copied per transaction.
const CHUNK: usize = 10_000;

/// Imports the sled database at `legacy` into a new redb file at `dest`, if there is one and
/// `dest` does not exist yet, then removes `legacy`.
pub(super) fn import_if_present(legacy: &Path, dest: &Path) -> Result<(), StoreError> {
    if !legacy.exists() {
        return Ok(());
    }
    if dest.exists() {
        // `dest` appears only once the import is complete: the removal was interrupted.
        std::fs::remove_dir_all(legacy)?;
        return Ok(());
    }
    let started = Instant::now();
    let partial = dest.with_extension("redb.importing");
    if partial.exists() {
        std::fs::remove_file(&partial)?;
    }
    let entries = {
        let old = sled::Config::new()
            .path(legacy)
            .open()
            .map_err(StoreError::Legacy)?;
        let new = Database::create(&partial)?;
        let mut entries = 0;
        for table in TABLES {
            let tree = old.open_tree(table.name()).map_err(StoreError::Legacy)?;
            entries += copy_tree(&tree, &new, table)?;
        }
        // Every number sled handed out is below the next one it would give.
        let seq = old.generate_id().map_err(StoreError::Legacy)?;
        let tx = new.begin_write()?;
        tx.open_table(COUNTERS)?
            .insert(SEQ, &seq.to_be_bytes()[..])?;
        // Committed with redb's default durability: the whole import is on disk.
        tx.commit()?;
        entries
    };
    std::fs::rename(&partial, dest)?;
    if let Some(dir) = dest.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    std::fs::remove_dir_all(legacy)?;
    tracing::info!(
        entries,
        ms = started.elapsed().as_millis() as u64,
        "imported the sled database of an older version; its directory is removed"
    );
    Ok(())
}

/// Copies every entry of `tree` into `table` of `new`; returns how many.
fn copy_tree(tree: &sled::Tree, new: &Database, table: Bytes) -> Result<u64, StoreError> {
    let mut copied = 0;
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut entries = tree.iter();
    loop {
        chunk.clear();
        for kv in entries.by_ref().take(CHUNK) {
            chunk.push(kv.map_err(StoreError::Legacy)?);
        }
        let mut tx = new.begin_write()?;
        // The final commit of the import makes these durable.
        tx.set_durability(Durability::None)?;
        {
            let mut out = tx.open_table(table)?;
            for (k, v) in &chunk {
                out.insert(&k[..], &v[..])?;
            }
        }
        tx.commit()?;
        copied += chunk.len() as u64;
        if chunk.len() < CHUNK {
            return Ok(copied);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RedbStore, Store};
    use std::time::Duration;

    #[test]
    fn a_sled_directory_is_imported_then_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let legacy = dir.path().join("db");
        {
            // No background flusher, whose thread would hold the lock a moment after the drop.
            let old = sled::Config::new()
                .path(&legacy)
                .flush_every_ms(None)
                .open()
                .expect("sled");
            let meta = old.open_tree("meta").expect("tree");
            meta.insert("pad", &b"m"[..]).expect("insert");
            old.open_tree("snapshots")
                .expect("tree")
                .insert("pad", &b"snap"[..])
                .expect("insert");
            let seq = old.generate_id().expect("id");
            let mut key = b"pad\0".to_vec();
            key.extend_from_slice(&seq.to_be_bytes());
            old.open_tree("log")
                .expect("tree")
                .insert(key, &b"u1"[..])
                .expect("insert");
            old.open_tree("tokens")
                .expect("tree")
                .insert("tok", &b"pad"[..])
                .expect("insert");
            let mut due = 500u64.to_be_bytes().to_vec();
            due.extend_from_slice(b"pad");
            old.open_tree("expiry")
                .expect("tree")
                .insert(due, &[][..])
                .expect("insert");
            old.open_tree("expires")
                .expect("tree")
                .insert("pad", &500u64.to_be_bytes()[..])
                .expect("insert");
            old.open_tree("counters")
                .expect("tree")
                .insert("documents", &1u64.to_be_bytes()[..])
                .expect("insert");
            old.flush().expect("flush");
        }
        let store =
            crate::store::open(dir.path(), 1 << 20, Duration::from_millis(100)).expect("imports");
        assert!(!legacy.exists(), "the sled directory is gone");
        let stored = store.load("pad").expect("load");
        assert_eq!(stored.meta.as_deref(), Some(&b"m"[..]));
        assert_eq!(stored.snapshot.as_deref(), Some(&b"snap"[..]));
        let (seq, update) = &stored.log[0];
        assert_eq!(update.as_slice(), b"u1");
        assert_eq!(
            store.token_name("tok").expect("token").as_deref(),
            Some("pad")
        );
        assert_eq!(store.count(), 1);
        let due = store.expired(500, None, 10).expect("due");
        assert_eq!(due.len(), 1);
        assert!(
            store
                .append("pad", &crate::store::entries(&[b"u2"]))
                .expect("append")
                > *seq,
            "new log entries sort after the imported ones"
        );
        drop(store);
        // A second start finds the import done.
        let store: RedbStore =
            crate::store::open(dir.path(), 1 << 20, Duration::from_millis(100)).expect("opens");
        assert_eq!(store.load("pad").expect("load").log.len(), 2);
    }

    #[test]
    fn an_interrupted_import_starts_over_and_a_finished_one_only_removes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let legacy = dir.path().join("db");
        let dest = dir.path().join(crate::store::DB_FILE);
        {
            // No background flusher, whose thread would hold the lock a moment after the drop.
            let old = sled::Config::new()
                .path(&legacy)
                .flush_every_ms(None)
                .open()
                .expect("sled");
            old.open_tree("meta")
                .expect("tree")
                .insert("pad", &b"m"[..])
                .expect("insert");
            old.flush().expect("flush");
        }
        // A partial file from a crash mid-import is discarded.
        std::fs::write(dest.with_extension("redb.importing"), b"half").expect("write");
        import_if_present(&legacy, &dest).expect("imports");
        assert!(dest.exists() && !legacy.exists());
        assert!(!dest.with_extension("redb.importing").exists());
        // A crash between the rename and the removal: the directory is back, the file is kept.
        std::fs::create_dir(&legacy).expect("dir");
        import_if_present(&legacy, &dest).expect("removes");
        assert!(!legacy.exists());
        let store = RedbStore::open(&dest, 1 << 20, Duration::from_millis(100)).expect("opens");
        assert_eq!(store.meta("pad").expect("meta").as_deref(), Some(&b"m"[..]));
    }
}
