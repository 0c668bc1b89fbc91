//! A consistent copy of every document while the server runs: each document is read through
//! the [`Store`] (its history in one read snapshot: checkpoints, the log with its history
//! records, author names, all with their sequence numbers) and written into a fresh database, which is itself a data directory: restoring
//! is starting the server on it. Copying the database file while the server writes to it is not
//! safe; this is.
//! Blocking: run it on the blocking pool.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::doc::meta::DocMeta;
use crate::store::{self, Store, StoreError};

/// Documents read from the source per page.
const PAGE: usize = 256;

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The new data directory (its database is `path/ardoise.redb`).
    pub path: PathBuf,
    /// Documents copied.
    pub documents: usize,
}

/// Copies every document of `src` into a new data directory `dir` (which must not exist yet)
/// and flushes it.
pub fn backup_to(
    src: &dyn Store,
    dir: &Path,
    cache_bytes: usize,
) -> Result<BackupReport, BackupError> {
    if dir.exists() {
        return Err(BackupError::Exists(dir.to_owned()));
    }
    std::fs::create_dir_all(dir)?;
    // A fresh directory has no older data to import: `open` just creates the configured engine's
    // database there, which is what restoring will open.
    let dest = store::open(dir, cache_bytes, Duration::from_secs(1))?;
    let documents = copy_all(src, &dest)?;
    dest.flush()?;
    Ok(BackupReport {
        path: dir.to_owned(),
        documents,
    })
}

/// Copies every document of `src` into `dest`; returns how many.
pub fn copy_all(src: &dyn Store, dest: &dyn Store) -> Result<usize, StoreError> {
    let mut after: Option<String> = None;
    let mut copied = 0;
    loop {
        let page = src.list("", after.as_deref(), PAGE)?;
        for listed in &page {
            let dump = src.dump(&listed.name)?;
            // Erased between the listing and the read: nothing to copy.
            let Some(meta) = &dump.meta else { continue };
            let parsed = DocMeta::from_bytes(meta).ok();
            if let Some(parsed) = &parsed {
                dest.put_token(parsed.read_token.as_str(), &listed.name)?;
            }
            // History keeps its sequence numbers: a revision means the same in the copy.
            dest.put_dump(&listed.name, &dump)?;
            // The copy keeps the expiry index, so a restored server still erases on time.
            let expires = parsed.as_ref().and_then(DocMeta::expires_at);
            dest.put_meta(&listed.name, meta, expires)?;
            copied += 1;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.name.clone()),
            _ => return Ok(copied),
        }
    }
}

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading the source or writing the copy failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backup directory could not be created.
    #[error("cannot create the backup directory: {0}")]
    Io(#[from] std::io::Error),
    /// The backup directory already exists.
    #[error("backup directory {0} already exists")]
    Exists(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::lifetime::Lifetime;
    use crate::doc::meta::{Kind, NewDoc};

    #[test]
    fn a_backup_holds_every_document_and_its_token() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let src = crate::store::open_for_tests(tmp.path());
        let mut metas = Vec::new();
        for i in 0..(PAGE + 3) {
            let name = format!("doc{i:04}");
            let meta = DocMeta::new(
                NewDoc {
                    kind: Kind::Pad,
                    lifetime: Lifetime::After(7 * 86_400),
                    creator: None,
                    provisional: false,
                },
                1_000,
            );
            src.put_token(meta.read_token.as_str(), &name)
                .expect("token");
            src.put_meta(&name, &meta.to_bytes(), meta.expires_at())
                .expect("meta");
            src.checkpoint(&name, b"snap", 0).expect("snapshot");
            src.append(&name, &crate::store::entries(&[b"u1", b"u2"]))
                .expect("log");
            metas.push((name, meta));
        }
        let report = backup_to(&src, &tmp.path().join("copy"), 1 << 20).expect("backup");
        assert_eq!(report.documents, PAGE + 3);
        let copy = crate::store::open_for_tests(&report.path);
        for (name, meta) in &metas {
            let stored = copy.load(name).expect("loads");
            assert_eq!(stored.meta, Some(meta.to_bytes()));
            assert_eq!(stored.snapshot.as_deref(), Some(&b"snap"[..]));
            let log: Vec<&[u8]> = stored.log.iter().map(|(_, u)| u.as_slice()).collect();
            assert_eq!(log, [&b"u1"[..], &b"u2"[..]]);
            assert_eq!(
                copy.token_name(meta.read_token.as_str()).expect("reads"),
                Some(name.clone())
            );
        }
        assert!(
            backup_to(&src, &report.path, 1 << 20).is_err(),
            "never overwrites"
        );
    }

    #[test]
    fn a_backup_keeps_history_with_its_revision_numbers() {
        use crate::doc::history::EntryInfo;
        use crate::store::Entry;
        let tmp = tempfile::tempdir().expect("temp dir");
        let src = crate::store::open_for_tests(tmp.path());
        let meta = DocMeta::new(
            NewDoc {
                kind: Kind::Pad,
                lifetime: Lifetime::Forever,
                creator: None,
                provisional: false,
            },
            1_000,
        );
        src.put_meta("pad", &meta.to_bytes(), None).expect("meta");
        // Another document's entries make the numbers of this one's sparse.
        src.append("other", &crate::store::entries(&[b"o"]))
            .expect("log");
        let mut last = 0;
        for (i, update) in [&b"u1"[..], b"u2", b"u3", b"u4"].iter().enumerate() {
            let info = EntryInfo::edit(1_000 * i as u64, [7]).to_bytes();
            last = src
                .append(
                    "pad",
                    &[Entry {
                        update,
                        info: &info,
                    }],
                )
                .expect("log");
            src.append("other", &crate::store::entries(&[b"o"]))
                .expect("log");
            if i == 1 {
                src.checkpoint("pad", b"state", last).expect("checkpoint");
            }
        }
        src.put_authors("pad", &[(7, "Élève Un")]).expect("authors");
        let report = backup_to(&src, &tmp.path().join("copy"), 1 << 20).expect("backup");
        assert_eq!(
            report.documents, 1,
            "only documents with metadata are copied"
        );
        let copy = crate::store::open_for_tests(&report.path);
        let history = src.history("pad", None, 100).expect("history");
        assert_eq!(copy.history("pad", None, 100).expect("history"), history);
        for (seq, _) in &history {
            let (a, b) = (
                src.version("pad", *seq).expect("v"),
                copy.version("pad", *seq).expect("v"),
            );
            assert_eq!(
                (a.meta, a.snapshot, a.log),
                (b.meta, b.snapshot, b.log),
                "version {seq}"
            );
        }
        assert_eq!(
            copy.authors("pad", &[7]).expect("authors"),
            [(7, "Élève Un".to_owned())]
        );
        assert!(
            copy.append("pad", &crate::store::entries(&[b"later"]))
                .expect("log")
                > last,
            "the copy numbers later entries after the copied ones"
        );
    }
}
