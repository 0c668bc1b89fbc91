//! One-time upgrades of a database written by an older version, run in the background after
//! start so that the server never scans its stored documents before listening.
//!
//! The only one so far: documents stored before the expiry index existed have no entry in it,
//! so the sweeper (which reads only the index) would never erase them. The migration pages
//! through the metadata once, indexes each such document from its own lifetime and last edit,
//! and records that it is done; later starts skip it with one key lookup.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::doc::meta::DocMeta;
use crate::store::{Store, StoreError};

/// Name of the expiry-index step in the store's record of completed steps.
pub const EXPIRY_INDEX: &str = "expiry-index";

/// Documents read per storage call: small enough that one call is short next to the editors'
/// own storage work on the blocking pool.
const PAGE: usize = 512;

/// What the expiry-index step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    /// Documents that had no entry and got one.
    pub indexed: usize,
    /// Documents whose metadata could not be read (logged; left as they are).
    pub unreadable: usize,
}

/// Runs the pending steps in the background, stopping early (to resume at the next start)
/// when `shutdown` is cancelled.
pub fn spawn(store: Arc<dyn Store>, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let pending = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.done(EXPIRY_INDEX)).await
        };
        match pending {
            Ok(Ok(true)) => tracing::debug!("no migration pending"),
            // A new database holds nothing an older version wrote.
            Ok(Ok(false)) if store.count() == 0 => {
                let store = store.clone();
                match tokio::task::spawn_blocking(move || store.mark_done(EXPIRY_INDEX)).await {
                    Ok(Ok(())) => tracing::debug!("new database: no migration needed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "cannot record the migration state"),
                    Err(_) => tracing::error!("the migration state write panicked"),
                }
            }
            Ok(Ok(false)) => match index_expiry(store, &shutdown).await {
                Ok(Some(done)) => tracing::info!(
                    indexed = done.indexed,
                    unreadable = done.unreadable,
                    "older documents now have an expiry"
                ),
                Ok(None) => tracing::info!("expiry migration paused by shutdown"),
                Err(e) => {
                    tracing::error!(error = %e, "expiry migration failed; retried at next start")
                }
            },
            Ok(Err(e)) => tracing::error!(error = %e, "cannot read the migration state"),
            Err(_) => tracing::error!("the migration state check panicked"),
        }
    })
}

/// Gives every stored document without an expiry entry the one its metadata implies, then
/// records the step as done. `None` if `shutdown` stopped it first.
pub async fn index_expiry(
    store: Arc<dyn Store>,
    shutdown: &CancellationToken,
) -> Result<Option<Indexed>, StoreError> {
    let mut done = Indexed::default();
    let mut after: Option<String> = None;
    loop {
        if shutdown.is_cancelled() {
            return Ok(None);
        }
        let store = store.clone();
        let from = after.clone();
        let page = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let listed = store.list("", from.as_deref(), PAGE)?;
            let mut step = Indexed::default();
            for doc in &listed {
                match DocMeta::from_bytes(&doc.meta) {
                    Ok(meta) => {
                        if let Some(at) = meta.expires_at() {
                            if store.index_if_missing(&doc.name, &doc.meta, at)? {
                                step.indexed += 1;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(doc = %doc.name, error = %e, "unreadable metadata");
                        step.unreadable += 1;
                    }
                }
            }
            Ok((listed.last().map(|d| d.name.clone()), step))
        })
        .await
        .map_err(|_| StoreError::Panicked)??;
        let (last, step) = page;
        done.indexed += step.indexed;
        done.unreadable += step.unreadable;
        match last {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.mark_done(EXPIRY_INDEX))
        .await
        .map_err(|_| StoreError::Panicked)??;
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::lifetime::Lifetime;
    use crate::doc::meta::{Kind, ReadToken};
    use crate::store::open_for_tests;

    fn meta(last_edit: u64, lifetime: Lifetime) -> DocMeta {
        DocMeta {
            kind: Kind::Pad,
            created: last_edit,
            last_edit,
            lifetime,
            read_token: ReadToken::generate(),
            creator: None,
            provisional: false,
        }
    }

    #[tokio::test]
    async fn older_documents_get_their_expiry_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(open_for_tests(dir.path()));
        let day = meta(1_000, Lifetime::After(86_400));
        let forever = meta(1_000, Lifetime::Forever);
        let indexed = meta(5_000, Lifetime::After(60));
        // As an older version stored them: metadata, and no index entry.
        store.put_meta("old", &day.to_bytes(), None).expect("meta");
        store
            .put_meta("kept", &forever.to_bytes(), None)
            .expect("meta");
        store.put_meta("junk", b"not json", None).expect("meta");
        // As this version stores them.
        store
            .put_meta("new", &indexed.to_bytes(), indexed.expires_at())
            .expect("meta");
        assert!(store.expired(u64::MAX, None, 10).expect("due").len() == 1);

        let token = CancellationToken::new();
        let done = index_expiry(store.clone(), &token).await.expect("migrate");
        assert_eq!(
            done,
            Some(Indexed {
                indexed: 1,
                unreadable: 1
            })
        );
        let due: Vec<_> = store
            .expired(u64::MAX, None, 10)
            .expect("due")
            .into_iter()
            .map(|d| (d.at, d.name))
            .collect();
        assert_eq!(due, [(5_060, "new".to_owned()), (87_400, "old".to_owned())]);
        assert!(store.done(EXPIRY_INDEX).expect("state"));
    }

    #[tokio::test]
    async fn metadata_rewritten_meanwhile_is_left_to_its_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_for_tests(dir.path());
        let old = meta(1_000, Lifetime::After(86_400));
        store.put_meta("a", &old.to_bytes(), None).expect("meta");
        let edited = meta(2_000, Lifetime::After(86_400));
        store.put_meta("a", &edited.to_bytes(), None).expect("meta");
        assert!(!store
            .index_if_missing("a", &old.to_bytes(), 87_400)
            .expect("index"));
        assert!(store
            .index_if_missing("a", &edited.to_bytes(), 88_400)
            .expect("index"));
        assert!(
            !store
                .index_if_missing("a", &edited.to_bytes(), 88_400)
                .expect("index"),
            "an entry is never added twice"
        );
        assert_eq!(store.expired(u64::MAX, None, 10).expect("due").len(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_migration_is_not_recorded_as_done() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> = Arc::new(open_for_tests(dir.path()));
        let token = CancellationToken::new();
        token.cancel();
        assert_eq!(
            index_expiry(store.clone(), &token).await.expect("run"),
            None
        );
        assert!(!store.done(EXPIRY_INDEX).expect("state"));
    }
}
