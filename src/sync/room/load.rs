//! Rebuilding a live document from storage (blocking), and the buffer its changes are
//! collected in until the room persists them.

use std::sync::{Arc, Mutex};

use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::doc::guard::{self, GuardError};
use crate::doc::meta::DocMeta;
use crate::doc::name::DocName;
use crate::doc::nesting::Nesting;
use crate::store::{Store, StoreError, Stored};
use crate::sync::room::core::Ledger;

/// Reads a document from storage and rebuilds it (blocking). Every stored update passes the
/// same checks as a client's before yrs sees it: one stored before those checks existed may
/// hold a shape yrs cannot apply without overflowing the stack, and the document is then
/// refused (logged) rather than the process aborted.
pub(super) fn load(store: &dyn Store, name: &DocName) -> Result<(Doc, Ledger), LoadError> {
    let Stored {
        meta,
        snapshot: checkpoint,
        log,
    } = store.load(name.as_str())?;
    let meta = meta
        .map(|m| DocMeta::from_bytes(&m))
        .transpose()
        .map_err(|_| LoadError::Corrupt("metadata"))?;
    let doc = Doc::new();
    let mut nesting = Nesting::default();
    let mut doc_bytes = 0;
    let mut log_bytes = 0;
    let checkpoint_bytes = checkpoint.as_ref().map_or(0, Vec::len);
    {
        let mut txn = doc.transact_mut();
        let mut apply = |bytes: &[u8]| -> Result<(), LoadError> {
            nesting.admit(&guard::document_shape(bytes)?)?;
            let update = Update::decode_v1(bytes).map_err(|_| LoadError::Corrupt("update"))?;
            txn.apply_update(update)
                .map_err(|_| LoadError::Corrupt("update"))
        };
        if let Some(checkpoint) = &checkpoint {
            apply(checkpoint)?;
            doc_bytes += checkpoint.len();
        }
        for (_, update) in &log {
            apply(update)?;
            log_bytes += update.len();
        }
    }
    let ledger = Ledger {
        meta,
        last_seq: log.last().map_or(0, |(seq, _)| *seq),
        log_entries: log.len(),
        log_bytes,
        checkpoint_bytes,
        doc_bytes: doc_bytes + log_bytes,
        nesting,
    };
    Ok((doc, ledger))
}

/// Why a document could not be rebuilt from storage.
#[derive(Debug, thiserror::Error)]
pub(super) enum LoadError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored bytes do not decode.
    #[error("stored {0} does not decode")]
    Corrupt(&'static str),
    /// A stored update fails the checks a client's must pass.
    #[error("stored update refused: {0}")]
    Refused(#[from] GuardError),
}

/// Makes the document file each committed transaction's delta into `deltas`, for the next
/// flush to persist and broadcast.
pub(super) fn observe(
    doc: &Doc,
    deltas: &Arc<Mutex<Vec<Vec<u8>>>>,
) -> Result<(), yrs::TransactionAcqError> {
    let sink = deltas.clone();
    doc.observe_update_v1("persist", move |_, event| {
        lock(&sink).push(event.update.clone());
    })
}

/// Locks the delta buffer; a panic while it was held (inside yrs) leaves plain data behind.
pub(super) fn lock(deltas: &Mutex<Vec<Vec<u8>>>) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
    deltas
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
