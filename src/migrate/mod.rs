//! `ardoise migrate etherpad`: brings the pads of an Etherpad instance (or a directory of its
//! `.etherpad` exports) into a data directory while the server is stopped, each under the name
//! `DocName::foreign` gives its id, through the same room path as an upload (so its authors,
//! chat and history arrive as the importer made them).
//!
//! A pad already present is skipped, so a run that was interrupted is resumed by running it
//! again; one that a killed run left half-made is erased first (`pending`). Fetches run at most
//! `--jobs` at once on the blocking pool; imports are CPU work, at most one per core.

pub mod pending;
pub mod progress;
pub mod source;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::migrate::EtherpadArgs;
use crate::config::Config;
use crate::convert::pad::import::{import_pad, ImportFormat};
use crate::doc::lifetime::Lifetime;
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::service::{creation, import::into_pad};
use crate::store::{Store, StoreError};
use crate::sync::hub::{Hub, HubError};
use pending::Pending;
use progress::Progress;
use source::{Instance, ListError};

/// Why a migration could not run at all (a pad that fails is in the [`Report`] instead).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The pads could not be listed (unreachable instance, wrong key, unreadable directory).
    #[error(transparent)]
    List(#[from] ListError),
    /// The data directory's marks could not be read or written.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// Storage failed outside any one pad (erasing an unfinished pad, the last flush).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Storage could not be reached through the rooms.
    #[error("storage: {0}")]
    Hub(#[from] HubError),
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Pads written.
    pub imported: usize,
    /// Pads already present, left as they were.
    pub skipped: usize,
    /// Pads not written, with why.
    pub failed: Vec<Failure>,
    /// Interrupted (Ctrl-C) before every pad was tried.
    pub interrupted: bool,
}

/// A pad that could not be migrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its Etherpad id (and file, from a directory).
    pub pad: String,
    /// Why.
    pub reason: String,
}

impl Report {
    /// Whether every pad asked for is now present.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && !self.interrupted
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "imported: {}", self.imported)?;
        writeln!(f, "skipped (present): {}", self.skipped)?;
        writeln!(f, "failed: {}", self.failed.len())?;
        for failure in &self.failed {
            writeln!(f, "  {}: {}", failure.pad, failure.reason)?;
        }
        if self.interrupted {
            writeln!(f, "interrupted: run the same command again to go on")?;
        }
        Ok(())
    }
}

/// One pad to migrate.
enum Item {
    /// A pad of the instance, by id.
    Remote(String),
    /// An `.etherpad` file (its pad id is inside).
    File(PathBuf),
}

/// What became of one pad.
enum Outcome {
    Imported,
    Skipped,
    /// A file whose pad is not among `--only`.
    NotSelected,
    Failed(String),
}

/// What every pad's task shares.
struct Run {
    hub: Hub,
    store: Arc<dyn Store>,
    pending: Pending,
    instance: Option<Arc<Instance>>,
    lifetime: Lifetime,
    max_bytes: usize,
    /// Imports at once: one per core.
    cpu: Semaphore,
    /// `--only`, for files (whose ids are known once read).
    only: Option<HashSet<String>>,
    /// Names taken in this run, by the pad that took each: two pads never write one name.
    claimed: Mutex<HashMap<DocName, String>>,
    /// Pad ids found in files, to report `--only` ids that none holds.
    seen: Mutex<HashSet<String>>,
}

/// Migrates the pads `args` names into `store` (the data directory of `config`, which no
/// server may have open).
pub async fn etherpad(
    config: &Config,
    store: Arc<dyn Store>,
    args: EtherpadArgs,
) -> Result<Report, MigrateError> {
    let mut settings = config.clone();
    // Each pad's room is used once: it unloads as soon as its import is persisted, so
    // thousands of pads do not stay loaded.
    settings.unload_grace_secs = 0;
    let token = CancellationToken::new();
    let hub = Hub::new(store.clone(), &settings, token.clone());
    let data = config.data.clone();
    let pending = blocking(move || Pending::open(&data)).await??;
    finish_left(&hub, &pending).await?;
    let mut report = Report::default();
    let only: Option<HashSet<String>> =
        (!args.only.is_empty()).then(|| args.only.iter().cloned().collect());
    let (instance, items) = match (&args.url, &args.apikey, &args.from_dir) {
        (Some(url), Some(key), _) => {
            let instance = Instance::new(url, key.clone())?;
            let (instance, ids) = blocking(move || {
                let ids = instance.list();
                (instance, ids)
            })
            .await?;
            let ids = ids?;
            let items = select(ids, only.as_ref(), &mut report);
            (Some(Arc::new(instance)), items)
        }
        (_, _, Some(dir)) => {
            let dir = dir.clone();
            let files = blocking(move || source::files(&dir)).await??;
            (None, files.into_iter().map(Item::File).collect())
        }
        // clap requires one source (and a key with a URL).
        _ => (None, Vec::new()),
    };
    let from_dir = instance.is_none();
    let run = Arc::new(Run {
        hub,
        store: store.clone(),
        pending,
        instance,
        lifetime: config.retention_default,
        max_bytes: config.max_import_bytes,
        cpu: Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())),
        only: only.clone().filter(|_| from_dir),
        claimed: Mutex::default(),
        seen: Mutex::default(),
    });
    report.interrupted = drive(&run, items, args.jobs, &mut report).await;
    if let (true, Some(only), false) = (from_dir, &only, report.interrupted) {
        let seen = lock(&run.seen);
        let mut missing: Vec<_> = only.iter().filter(|id| !seen.contains(*id)).collect();
        missing.sort();
        for id in missing {
            report.failed.push(Failure {
                pad: id.clone(),
                reason: "no file of the directory holds this pad".into(),
            });
        }
    }
    report.failed.sort_by(|a, b| a.pad.cmp(&b.pad));
    token.cancel();
    run.hub.wait_stopped().await;
    blocking(move || store.flush()).await??;
    run.pending.tidy();
    Ok(report)
}

/// The ids of the instance to migrate: all, or those of `--only` (the others are reported as
/// not found).
fn select(ids: Vec<String>, only: Option<&HashSet<String>>, report: &mut Report) -> Vec<Item> {
    let Some(only) = only else {
        return ids.into_iter().map(Item::Remote).collect();
    };
    let listed: HashSet<&String> = ids.iter().collect();
    let mut missing: Vec<_> = only.iter().filter(|id| !listed.contains(id)).collect();
    missing.sort();
    for id in missing {
        report.failed.push(Failure {
            pad: id.clone(),
            reason: "the instance has no such pad".into(),
        });
    }
    ids.into_iter()
        .filter(|id| only.contains(id))
        .map(Item::Remote)
        .collect()
}

/// Runs every item, at most `jobs` at once, tallying into `report`; true if Ctrl-C stopped it
/// before every item was started (those running are finished first).
async fn drive(run: &Arc<Run>, items: Vec<Item>, jobs: usize, report: &mut Report) -> bool {
    let mut progress = Progress::new(items.len());
    let mut items = items.into_iter();
    let mut tasks = JoinSet::new();
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut interrupted = false;
    loop {
        while !interrupted && tasks.len() < jobs.max(1) {
            let Some(item) = items.next() else { break };
            let run = run.clone();
            tasks.spawn(async move { one(&run, item).await });
        }
        let joined = tokio::select! {
            joined = tasks.join_next() => joined,
            _ = &mut interrupt => {
                if interrupted {
                    // A second Ctrl-C stops at once: what is under way stays marked, and the
                    // next run erases and redoes it (the journal keeps every commit made).
                    progress.note("interrupted again: stopping now");
                    std::process::exit(130);
                }
                interrupted = true;
                progress.note("interrupted: finishing the pads under way (Ctrl-C again stops now)");
                interrupt.set(tokio::signal::ctrl_c());
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let (pad, outcome) = match joined {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "a migration task panicked");
                (
                    "(unknown)".to_owned(),
                    Outcome::Failed("internal error".into()),
                )
            }
        };
        match outcome {
            Outcome::Imported => report.imported += 1,
            Outcome::Skipped => report.skipped += 1,
            Outcome::NotSelected => {}
            Outcome::Failed(reason) => {
                progress.note(&format!("failed: {pad}: {reason}"));
                report.failed.push(Failure {
                    pad: pad.clone(),
                    reason,
                });
            }
        }
        progress.step(&pad);
    }
    progress.finish();
    interrupted && items.next().is_some()
}

/// Migrates one item; answers its label (the pad id, and the file for a file) and outcome.
async fn one(run: &Run, item: Item) -> (String, Outcome) {
    match item {
        Item::Remote(id) => {
            let outcome = remote(run, &id).await;
            (id, outcome)
        }
        Item::File(path) => file(run, &path).await,
    }
}

/// A pad of the instance: fetched unless present, then written.
async fn remote(run: &Run, id: &str) -> Outcome {
    let name = match claim(run, id, id).await {
        Ok(name) => name,
        Err(outcome) => return outcome,
    };
    let Some(instance) = run.instance.clone() else {
        return Outcome::Failed("no instance to fetch from".into());
    };
    let (id, max_bytes) = (id.to_owned(), run.max_bytes);
    let fetched = blocking(move || instance.export(&id, max_bytes))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    match fetched {
        Ok(bytes) => write(run, &name, bytes).await,
        Err(reason) => Outcome::Failed(format!("fetching its export: {reason}")),
    }
}

/// An `.etherpad` file: read, its pad id found, then written unless present.
async fn file(run: &Run, path: &Path) -> (String, Outcome) {
    let shown = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let max_bytes = run.max_bytes;
    let read = {
        let path = path.to_owned();
        blocking(move || {
            let bytes = source::read_file(&path, max_bytes)?;
            let id = source::pad_id(&bytes)?;
            Ok::<_, String>((id, bytes))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
    };
    let (id, bytes) = match read {
        Ok(read) => read,
        Err(reason) => return (shown, Outcome::Failed(reason)),
    };
    let label = format!("{id} ({shown})");
    if let Some(only) = &run.only {
        if !only.contains(&id) {
            return (label, Outcome::NotSelected);
        }
        lock(&run.seen).insert(id.clone());
    }
    let outcome = match claim(run, &id, &label).await {
        Ok(name) => write(run, &name, bytes).await,
        Err(outcome) => outcome,
    };
    (label, outcome)
}

/// Takes the name of pad `id` (shown as `label`) for this run: the name, or the outcome when
/// it is taken already (present: skipped; by another pad of this run: failed).
async fn claim(run: &Run, id: &str, label: &str) -> Result<DocName, Outcome> {
    let name = DocName::foreign(id).ok_or_else(|| Outcome::Failed("empty pad id".into()))?;
    if let Some(other) = lock(&run.claimed).insert(name.clone(), label.to_owned()) {
        return Err(Outcome::Failed(format!(
            "{other} has the same name ({name}) in this run"
        )));
    }
    match run.hub.exists(&name).await {
        Ok(true) => Err(Outcome::Skipped),
        Ok(false) => Ok(name),
        Err(e) => Err(Outcome::Failed(format!("storage: {e}"))),
    }
}

/// Imports `bytes` and writes the pad `name`: marked, created, filled through its room and
/// made durable, then unmarked; erased again if filling it failed, so no empty pad is left.
async fn write(run: &Run, name: &DocName, bytes: Vec<u8>) -> Outcome {
    let imported = {
        let Ok(_core) = run.cpu.acquire().await else {
            return Outcome::Failed("shutting down".into());
        };
        blocking(move || import_pad(&bytes, ImportFormat::Etherpad)).await
    };
    let imported = match imported {
        Ok(Ok(imported)) => imported,
        Ok(Err(e)) => return Outcome::Failed(e.to_string()),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if let Err(e) = mark(run, name).await {
        return Outcome::Failed(format!("cannot mark it as being written: {e}"));
    }
    let new = creation::asked(Kind::Pad, run.lifetime, None);
    let filled = match run.hub.open(name, Some(new)).await {
        Ok(Some(meta)) if meta.kind == Kind::Pad => into_pad(&run.hub, name, imported)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Ok(_) => Err("a calc has this name".to_owned()),
        Err(e) => Err(format!("storage: {e}")),
    };
    match filled {
        Ok(()) => {
            let store = run.store.clone();
            match blocking(move || store.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Outcome::Failed(format!("storage: {e}")),
                Err(e) => return Outcome::Failed(e.to_string()),
            }
            unmark(run, name).await;
            Outcome::Imported
        }
        Err(reason) => {
            match run.hub.delete(name, "migration failed").await {
                // Erased (or never made): the mark has done its job.
                Ok(_) => unmark(run, name).await,
                // The mark stays: the next run erases what is left.
                Err(e) => tracing::error!(doc = %name, error = %e, "cannot erase a failed pad"),
            }
            Outcome::Failed(reason)
        }
    }
}

/// Marks `name` as being written (durably) before its pad is created.
async fn mark(run: &Run, name: &DocName) -> std::io::Result<()> {
    let (pending, name) = (run.pending.clone(), name.clone());
    blocking(move || pending.begin(&name))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
}

/// Removes the mark of `name`; a mark that stays only makes the next run redo the pad.
async fn unmark(run: &Run, name: &DocName) {
    if let Err(e) = run.pending.done(name) {
        tracing::warn!(doc = %name, error = %e, "cannot remove the pad's mark");
    }
}

/// Erases the pads a killed run left marked, so they are migrated afresh.
async fn finish_left(hub: &Hub, pending: &Pending) -> Result<(), MigrateError> {
    for name in pending.left()? {
        let existed = hub.delete(&name, "unfinished migration").await?;
        pending.done(&name)?;
        if existed {
            tracing::info!(doc = %name, "erased a pad an interrupted run left unfinished");
        }
    }
    Ok(())
}

/// Why a blocking call gave no answer.
#[derive(Debug, thiserror::Error)]
#[error("internal error (a blocking task failed)")]
struct Panicked;

impl From<Panicked> for MigrateError {
    fn from(_: Panicked) -> Self {
        MigrateError::Store(StoreError::Panicked)
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Panicked> {
    tokio::task::spawn_blocking(f).await.map_err(|_| Panicked)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{select, Failure, Item, Report};

    #[test]
    fn only_keeps_the_listed_ids_and_reports_the_others() {
        let ids = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let mut report = Report::default();
        assert_eq!(select(ids.clone(), None, &mut report).len(), 3);
        let only: HashSet<String> = ["c", "z", "a"].map(str::to_owned).into();
        let kept: Vec<String> = select(ids, Some(&only), &mut report)
            .into_iter()
            .map(|item| match item {
                Item::Remote(id) => id,
                Item::File(_) => unreachable!("ids are remote"),
            })
            .collect();
        assert_eq!(kept, ["a", "c"]);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].pad, "z");
    }

    #[test]
    fn the_report_counts_then_lists_failures() {
        let mut report = Report {
            imported: 3,
            skipped: 2,
            ..Report::default()
        };
        assert!(report.complete());
        report.failed.push(Failure {
            pad: "x y".into(),
            reason: "why".into(),
        });
        assert!(!report.complete());
        assert_eq!(
            report.to_string(),
            "imported: 3\nskipped (present): 2\nfailed: 1\n  x y: why\n"
        );
        report.failed.clear();
        report.interrupted = true;
        assert!(!report.complete());
        assert!(report
            .to_string()
            .ends_with("run the same command again to go on\n"));
    }
}
