//! Pad imports as use cases: a file read into a pad off the async workers (within the file-job
//! bounds), then made a pad's content through its room, so live editors see it and it is
//! persisted before it is broadcast. The edge decides first whether the pad may be created
//! (`service::creation`); a file that does not read creates nothing.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::convert::pad::import::{import_pad, Dropped, ImportFormat, Imported};
use crate::doc::history::Origin;
use crate::doc::name::DocName;
use crate::service::export::bounded;
use crate::service::ServiceError;
use crate::sync::hub::Hub;
use crate::sync::room::{Replacement, Restored};

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PadImported {
    /// The log entry that made the content (its revision number).
    pub rev: u64,
    /// What the file held that the pad cannot.
    pub dropped: Dropped,
}

/// Reads `bytes` as a `format` file into a pad, on the blocking pool within the file-job
/// bounds (`slots`). A file that does not read is [`ServiceError::Import`].
pub async fn read_pad(
    slots: &Arc<Semaphore>,
    name: &DocName,
    bytes: Bytes,
    format: ImportFormat,
) -> Result<Imported, ServiceError> {
    bounded(slots, name, "pad import", move || {
        import_pad(&bytes, format)
    })
    .await?
    .map_err(ServiceError::Import)
}

/// Makes `imported` the content of pad `name` (which exists: the caller opened or created
/// it) through its room. Into an empty pad its own history is kept as history; into a pad
/// with content it is one new revision, and the content before it stays a revision.
pub async fn into_pad(
    hub: &Hub,
    name: &DocName,
    imported: Imported,
) -> Result<PadImported, ServiceError> {
    let dropped = imported.dropped;
    let replacement = Replacement {
        state: imported.state,
        origin: Origin::Import {
            authors: imported.authors,
        },
        history: imported
            .history
            .into_iter()
            .map(|e| (e.update, e.info))
            .collect(),
    };
    match hub.replace(name, replacement).await? {
        Restored::Done { rev } => Ok(PadImported { rev, dropped }),
        Restored::Missing => Err(ServiceError::NotFound),
        Restored::TooBig => Err(ServiceError::DocumentTooLarge),
    }
}
