//! The one error type of the use cases; each edge maps it to its own answers.

use crate::convert::pad::import::ImportError;
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::sync::hub::HubError;

/// Why a use case gave no result. Causes worth an operator's attention are logged where they
/// happen; this says only what a client may be told.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such document.
    #[error("not found")]
    NotFound,
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
    /// Storage failed.
    #[error("document unavailable, try again later")]
    Unavailable,
    /// Creating this document (of this kind) was refused: the server is shedding load.
    #[error("new documents are paused while the server is busy; existing ones work")]
    CreationClosed(DocName, Kind),
    /// The document exists but has no such revision.
    #[error("no such revision")]
    NoRevision,
    /// A file job (export, import, backup) failed, found no free slot or ran out of time.
    #[error("the export could not be produced, try again later")]
    FileJobFailed,
    /// The document is past a limit of the file work asked for; the text says which.
    #[error("{0}")]
    TooLarge(String),
    /// An uploaded file could not become a pad; the message names the problem (400, or 413
    /// when [`ImportError::is_too_large`]).
    #[error("{0}")]
    Import(ImportError),
    /// The change would take the document past `max_doc_bytes`.
    #[error("the document would exceed its size limit")]
    DocumentTooLarge,
}

impl From<HubError> for ServiceError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::ShuttingDown => ServiceError::ShuttingDown,
            HubError::Unavailable => ServiceError::Unavailable,
        }
    }
}
