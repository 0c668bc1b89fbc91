//! Etherpad's export (`.etherpad`): the pad's database records as one JSON object.

use super::{ImportError, Imported};

/// Reads an `.etherpad` file: the final pad from `pad:ID`'s `atext` and pool, its authors with
/// their own clientIDs, its chat, and its revisions as history where they replay.
pub fn import(_bytes: &[u8]) -> Result<Imported, ImportError> {
    Err(ImportError::Invalid(
        "importing Etherpad files is not available yet".into(),
    ))
}
