//! Pads being written by a migration, marked on disk so that a run that is killed midway
//! leaves no half-made pad: a pad is created and filled in two steps (its metadata, then its
//! content through its room), and one found with its mark still there on the next run is
//! erased before anything else, then migrated again.
//!
//! A mark is a file `DATA/migrate-pending/<name>.pending`, made durable before the pad is
//! created and removed once the pad's content is durable.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::doc::name::DocName;

/// The directory of marks, inside the data directory.
const DIR: &str = "migrate-pending";

/// Each mark's file name ends so; a name is never just the extension (names are not empty).
const EXTENSION: &str = ".pending";

/// The marks of one data directory.
#[derive(Clone)]
pub struct Pending {
    dir: PathBuf,
}

impl Pending {
    /// The marks of data directory `data` (their directory is made if needed).
    pub fn open(data: &Path) -> io::Result<Self> {
        let dir = data.join(DIR);
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, name: &DocName) -> PathBuf {
        // Names hold only [A-Za-z0-9._-]: a file name as they are (".a" becomes ".a.pending").
        self.dir.join(format!("{name}{EXTENSION}"))
    }

    /// Marks `name` as being written, durably, before its pad is created.
    pub fn begin(&self, name: &DocName) -> io::Result<()> {
        File::create(self.path(name))?.sync_all()?;
        // The mark's directory entry must survive a power loss too.
        File::open(&self.dir)?.sync_all()
    }

    /// Removes the mark of `name` (its pad is complete, or erased).
    pub fn done(&self, name: &DocName) -> io::Result<()> {
        match fs::remove_file(self.path(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The names still marked: pads a previous run did not finish.
    pub fn left(&self) -> io::Result<Vec<DocName>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let file = entry?.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(EXTENSION)) else {
                continue;
            };
            match DocName::parse(name) {
                Ok(name) => names.push(name),
                Err(_) => tracing::warn!(file = ?file, "ignoring a stray file among the marks"),
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes the directory of marks if it is empty (after a run that finished everything).
    pub fn tidy(&self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::Pending;
    use crate::doc::name::DocName;

    #[test]
    fn marks_outlive_the_run_until_done() {
        let data = tempfile::tempdir().expect("temp dir");
        let name = |n: &str| DocName::parse(n).expect("name");
        let pending = Pending::open(data.path()).expect("opens");
        pending.begin(&name("b")).expect("marks");
        pending.begin(&name(".a")).expect("marks");
        pending.begin(&name("a")).expect("marks");
        pending.done(&name("a")).expect("unmarks");
        pending
            .done(&name("never"))
            .expect("unmarking nothing is fine");
        let again = Pending::open(data.path()).expect("reopens");
        assert_eq!(again.left().expect("lists"), [name(".a"), name("b")]);
        again.tidy();
        assert!(
            data.path().join(super::DIR).exists(),
            "kept while marks remain"
        );
        again.done(&name(".a")).expect("unmarks");
        again.done(&name("b")).expect("unmarks");
        again.tidy();
        assert!(!data.path().join(super::DIR).exists());
    }
}
