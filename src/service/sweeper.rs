//! The retention sweeper: every interval, reads the documents due for erasure from the expiry
//! index (only the due range, so a pass costs what expires, not what is stored) and erases each
//! through its room with a conditional delete, so an edit that reached the room first wins.
//! Optionally saves an expired pad as HTML in a directory before erasing it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::convert::pad::{export_pad, ExportOptions, PadFormat};
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::store::{Due, Store, StoreError};
use crate::sync::clock::Clock;
use crate::sync::hub::Hub;
use crate::sync::room::DeleteIf;

/// Index entries read at once.
const BATCH: usize = 1000;

/// Erasures in flight at once: each loads a room and runs two storage calls on the blocking
/// pool, so a few in parallel hide the latency without crowding out the editors.
const AT_ONCE: usize = 8;

/// The close reason live clients of an expired document receive (with code 4410).
pub const EXPIRED_REASON: &str = "expired";

/// What the sweeper works with.
#[derive(Clone)]
pub struct Sweeper {
    /// Erasures go through the rooms.
    pub hub: Arc<Hub>,
    /// Where the expiry index is read.
    pub store: Arc<dyn Store>,
    /// The time documents expire against.
    pub clock: Clock,
    /// Where expired pads are saved as HTML before erasure, if anywhere.
    pub archive: Option<PathBuf>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Documents erased.
    pub erased: usize,
    /// Due entries whose document was edited meanwhile (or is gone): kept, entry dropped.
    pub kept: usize,
    /// Documents that could not be erased this time (storage errors, logged); retried next pass.
    pub failed: usize,
    /// Documents live on another node sharing the database: left to that node (it holds their
    /// lease, so only it may erase them), retried next pass.
    pub elsewhere: usize,
}

impl Sweeper {
    /// Runs a pass every `interval` until `shutdown` is cancelled.
    pub fn spawn(self, interval: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            // The first pass waits one interval: startup stays quick whatever is due.
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let pass = self.pass(&shutdown).await;
                if pass == Pass::default() {
                    tracing::debug!("retention sweep: nothing due");
                } else {
                    tracing::info!(
                        erased = pass.erased,
                        kept = pass.kept,
                        failed = pass.failed,
                        "retention sweep"
                    );
                }
            }
        })
    }

    /// Erases every document due now, batch by batch, each visited once.
    pub async fn pass(&self, shutdown: &CancellationToken) -> Pass {
        let now = self.clock.now();
        let mut pass = Pass::default();
        let mut after: Option<Due> = None;
        while !shutdown.is_cancelled() {
            let store = self.store.clone();
            let from = after.clone();
            let due = match blocking(move || store.expired(now, from.as_ref(), BATCH)).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the expiry index");
                    break;
                }
            };
            let full = due.len() == BATCH;
            after = due.last().cloned();
            let outcomes: Vec<Outcome> = stream::iter(due)
                .map(|due| self.erase(due, now))
                .buffer_unordered(AT_ONCE)
                .collect()
                .await;
            for outcome in outcomes {
                match outcome {
                    Outcome::Erased => pass.erased += 1,
                    Outcome::Kept => pass.kept += 1,
                    Outcome::Failed => pass.failed += 1,
                    Outcome::Elsewhere => pass.elsewhere += 1,
                }
            }
            if !full {
                break;
            }
        }
        pass
    }

    async fn erase(&self, due: Due, now: u64) -> Outcome {
        let Ok(name) = DocName::parse(&due.name) else {
            // Names are validated before anything is stored: this entry is corrupt.
            tracing::warn!("skipping a corrupt expiry index entry");
            return Outcome::Failed;
        };
        // Only the lease holder may write a document: one live on another node is left to it
        // (its room would refuse to load here anyway, and that is no failure).
        if let Some(node) = self.hub.node() {
            let store = self.store.clone();
            let leased = due.name.clone();
            match blocking(move || store.lease_holder(&leased)).await {
                Ok(Some(holder)) if holder.owner != node.id => return Outcome::Elsewhere,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(doc = %name, error = %e, "cannot read the document's lease");
                    return Outcome::Failed;
                }
            }
        }
        let archived = match &self.archive {
            Some(dir) => match self.archive(&name, dir, due.at).await {
                Ok(path) => path,
                Err(e) => {
                    // The operator asked for a copy: no copy, no erasure.
                    tracing::error!(doc = %name, error = %e, "cannot archive an expired document; keeping it");
                    return Outcome::Failed;
                }
            },
            None => None,
        };
        match self
            .hub
            .delete_if(&name, EXPIRED_REASON, DeleteIf::ExpiredAt(now))
            .await
        {
            Ok(true) => Outcome::Erased,
            Ok(false) => {
                if let Some(path) = archived {
                    let _ = tokio::fs::remove_file(path).await;
                }
                let store = self.store.clone();
                if let Err(e) = blocking(move || store.drop_stale_due(&due)).await {
                    tracing::error!(doc = %name, error = %e, "cannot drop a stale expiry entry");
                }
                Outcome::Kept
            }
            Err(e) => {
                tracing::error!(doc = %name, error = %e, "cannot erase an expired document");
                Outcome::Failed
            }
        }
    }

    /// Saves pad `name` as `dir/{name}.{at}.html`; `None` if there is nothing to save (a calc,
    /// or a document that is gone).
    async fn archive(
        &self,
        name: &DocName,
        dir: &Path,
        at: u64,
    ) -> Result<Option<PathBuf>, ArchiveError> {
        let is_pad = self
            .hub
            .open(name, None)
            .await?
            .is_some_and(|meta| meta.kind == Kind::Pad);
        if !is_pad {
            return Ok(None);
        }
        let Some(snapshot) = self.hub.snapshot(name).await? else {
            return Ok(None);
        };
        let path = dir.join(format!("{name}.{at}.html"));
        let target = path.clone();
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || -> Result<(), ArchiveError> {
            let html = export_pad(&snapshot, PadFormat::Html, &ExportOptions::default())
                .map_err(|e| ArchiveError::Export(e.to_string()))?;
            std::fs::create_dir_all(&dir)?;
            std::fs::write(&target, html)?;
            Ok(())
        })
        .await
        .map_err(|_| ArchiveError::Export("the export panicked".into()))??;
        Ok(Some(path))
    }
}

/// What became of one due document.
enum Outcome {
    Erased,
    Kept,
    Failed,
    Elsewhere,
}

/// Why an expired pad could not be archived.
#[derive(Debug, thiserror::Error)]
enum ArchiveError {
    #[error("document unavailable: {0}")]
    Hub(#[from] crate::sync::hub::HubError),
    #[error("export failed: {0}")]
    Export(String),
    #[error("cannot write the archive: {0}")]
    Io(#[from] std::io::Error),
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(StoreError::Panicked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::doc::lifetime::Lifetime;
    use crate::doc::meta::NewDoc;
    use crate::doc::secret::CreatorSecret;
    use crate::store::RedbStore;
    use crate::sync::inbound::Inbound;
    use crate::sync::outbox;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

    struct Setup {
        hub: Arc<Hub>,
        store: Arc<RedbStore>,
        sweeper: Sweeper,
        shutdown: CancellationToken,
        _dir: tempfile::TempDir,
    }

    fn setup(archive: Option<PathBuf>) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::load_from([
            "ardoise",
            "--retention-choices",
            "30s,forever",
            "--retention-default",
            "30s",
            "--unload-grace-secs",
            "1",
        ])
        .expect("config");
        let store = Arc::new(crate::store::open_for_tests(dir.path()));
        let shutdown = CancellationToken::new();
        let clock = Clock::following_tokio(1_700_000_000);
        let dyn_store: Arc<dyn Store> = store.clone();
        let hub =
            Arc::new(Hub::new(dyn_store.clone(), &config, shutdown.clone()).with_clock(clock));
        let sweeper = Sweeper {
            hub: hub.clone(),
            store: dyn_store,
            clock,
            archive,
        };
        Setup {
            hub,
            store,
            sweeper,
            shutdown,
            _dir: dir,
        }
    }

    impl Setup {
        /// Creates pad `doc` with `lifetime`, the way its first visit does.
        async fn create(&self, doc: &str, lifetime: Lifetime) -> DocName {
            let doc = name(doc);
            self.hub
                .open(&doc, Some(pad(lifetime)))
                .await
                .expect("create");
            doc
        }
    }

    fn pad(lifetime: Lifetime) -> NewDoc {
        NewDoc {
            kind: Kind::Pad,
            lifetime,
            creator: Some(CreatorSecret::generate().hash()),
            provisional: false,
        }
    }

    fn name(s: &str) -> DocName {
        DocName::parse(s).expect("name")
    }

    /// Writes `text` into document `doc` the way a connection does, and waits until the room
    /// has applied and persisted it (its answer to a later step 1).
    async fn edit(hub: &Hub, doc: &DocName, text: &str) {
        let (outbox, mut rx) = outbox::channel(64, 1 << 20);
        let room = hub.join(doc, 7, &outbox, false).await.expect("join");
        let local = Doc::new();
        local
            .get_or_insert_text("content")
            .insert(&mut local.transact_mut(), 0, text);
        let bytes = local
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let update = crate::sync::inbound::CheckedUpdate::decode(&bytes).expect("update");
        let now = std::time::Instant::now();
        room.inbound(7, Inbound::Update(Box::new(update)), now)
            .await
            .expect("send");
        room.inbound(7, Inbound::Step1(StateVector::default()), now)
            .await
            .expect("send");
        // step 1 and awareness on join, the broadcast update, then the answer to our step 1.
        for _ in 0..4 {
            rx.recv().await.expect("frame");
        }
        room.leave(7).await.expect("leave");
    }

    /// Every key and value of every table, as lossy text.
    fn everything(store: &RedbStore) -> Vec<String> {
        let mut out = Vec::new();
        for (_, k, v) in store.entries_for_tests() {
            out.push(String::from_utf8_lossy(&k).into_owned());
            out.push(String::from_utf8_lossy(&v).into_owned());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_document_live_on_another_node_is_left_to_it() {
        let (a_store, b_store) = crate::store::postgres_pair_for_tests();
        let (a_store, b_store): (Arc<dyn Store>, Arc<dyn Store>) =
            (Arc::new(a_store), Arc::new(b_store));
        let config = |id: &str| {
            Config::load_from([
                "ardoise",
                "--retention-choices",
                "30s,forever",
                "--retention-default",
                "30s",
                "--node-id",
                id,
            ])
            .expect("config")
        };
        let t0 = 1_700_000_000;
        let a = Hub::new(a_store, &config("a"), CancellationToken::new())
            .with_clock(Clock::following_tokio(t0));
        // b's clock is an hour later: the document is long due there.
        let b_clock = Clock::following_tokio(t0 + 3600);
        let b = Arc::new(
            Hub::new(b_store.clone(), &config("b"), CancellationToken::new()).with_clock(b_clock),
        );
        let doc = name("live-on-a");
        a.open(&doc, Some(pad(Lifetime::After(30))))
            .await
            .expect("create");
        let sweeper = Sweeper {
            hub: b.clone(),
            store: b_store,
            clock: b_clock,
            archive: None,
        };
        let pass = sweeper.pass(&CancellationToken::new()).await;
        assert_eq!((pass.erased, pass.elsewhere, pass.failed), (0, 1, 0));
        assert_eq!(a.exists(&doc).await, Ok(true));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_documents_are_erased_completely_and_edited_ones_survive() {
        let s = setup(None);
        let (old, edited, forever) = (name("old-pad"), name("edited-pad"), name("kept-pad"));
        for (doc, lifetime) in [
            (&old, Lifetime::After(30)),
            (&edited, Lifetime::After(30)),
            (&forever, Lifetime::Forever),
        ] {
            s.create(doc.as_str(), lifetime).await;
            edit(&s.hub, doc, &format!("text of {doc}")).await;
        }
        let token = s
            .hub
            .open(&old, None)
            .await
            .expect("open")
            .expect("exists")
            .read_token;
        let task = s
            .sweeper
            .clone()
            .spawn(Duration::from_secs(5), s.shutdown.clone());

        tokio::time::sleep(Duration::from_secs(20)).await;
        edit(&s.hub, &edited, "more ").await;
        // 40 s after creation: "old" is 10 s past due; "edited" is due at 50 s.
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(s.hub.exists(&old).await, Ok(false));
        assert_eq!(s.hub.exists(&edited).await, Ok(true));
        assert_eq!(s.hub.exists(&forever).await, Ok(true));
        let leftovers: Vec<String> = everything(&s.store)
            .into_iter()
            .filter(|entry| entry.contains("old-pad") || entry.contains(token.as_str()))
            .collect();
        assert!(leftovers.is_empty(), "still stored: {leftovers:?}");
        let kept = s
            .hub
            .snapshot(&edited)
            .await
            .expect("snapshot")
            .expect("doc");
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        doc.transact_mut()
            .apply_update(Update::decode_v1(&kept).expect("decode"))
            .expect("apply");
        assert!(text
            .get_string(&doc.transact())
            .contains("text of edited-pad"));

        // Nobody edits it again: it goes too, and the index is empty but for "forever" (none).
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(s.hub.exists(&edited).await, Ok(false));
        assert_eq!(s.hub.exists(&forever).await, Ok(true));
        assert!(s.store.expired(u64::MAX, None, 10).expect("due").is_empty());
        s.shutdown.cancel();
        task.await.expect("sweeper stops on shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn an_edit_that_reaches_the_room_first_wins() {
        let s = setup(None);
        let doc = s.create("raced", Lifetime::After(30)).await;
        tokio::time::sleep(Duration::from_secs(31)).await;
        // The sweeper read the index at 31 s; the edit lands before its delete request.
        let due_at = s.sweeper.clock.now();
        edit(&s.hub, &doc, "just in time").await;
        let erased = s
            .hub
            .delete_if(&doc, EXPIRED_REASON, DeleteIf::ExpiredAt(due_at))
            .await
            .expect("delete");
        assert!(!erased, "the edit moved the expiry past the sweep");
        assert_eq!(s.hub.exists(&doc).await, Ok(true));
        let pass = s.sweeper.pass(&s.shutdown).await;
        assert_eq!(pass, Pass::default(), "nothing is due any more");
    }

    #[tokio::test(start_paused = true)]
    async fn clients_are_told_only_once_the_document_is_gone() {
        let s = setup(None);
        let doc = s.create("told-late", Lifetime::After(30)).await;
        let (outbox, _frames) = outbox::channel(64, 1 << 20);
        let _room = s.hub.join(&doc, 9, &outbox, false).await.expect("join");
        // A client that reloads on the close must not find the document still stored.
        let store = s.store.clone();
        let closer = outbox.closer().clone();
        let told = tokio::spawn(async move {
            let reason = closer.closed().await;
            (reason, store.meta("told-late").expect("read"))
        });
        let erased = s
            .hub
            .delete_if(&doc, EXPIRED_REASON, DeleteIf::Always)
            .await
            .expect("delete");
        assert!(erased);
        let (reason, meta) = told.await.expect("watcher");
        assert_eq!(reason.code, outbox::code::GONE);
        assert_eq!(meta, None, "the close came before the erasure");
    }

    #[tokio::test(start_paused = true)]
    async fn expired_pads_can_be_archived_first() {
        let archive = tempfile::tempdir().expect("temp dir");
        let s = setup(Some(archive.path().join("expired")));
        let doc = s.create("archived", Lifetime::After(30)).await;
        edit(&s.hub, &doc, "worth keeping").await;
        tokio::time::sleep(Duration::from_secs(31)).await;
        let pass = s.sweeper.pass(&s.shutdown).await;
        assert_eq!(pass.erased, 1);
        assert_eq!(s.hub.exists(&doc).await, Ok(false));
        let files: Vec<_> = std::fs::read_dir(archive.path().join("expired"))
            .expect("archive dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1);
        let html = std::fs::read_to_string(&files[0]).expect("read");
        assert!(html.contains("worth keeping"));
        assert!(files[0].to_string_lossy().contains("archived."));
    }
}
