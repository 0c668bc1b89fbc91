//! Making a live document's content that of an earlier version, as forward edits: what a
//! restore from history applies through the room.

use yrs::{Doc, GetString, Transact};

use crate::doc::edit::{self, TextEdit, CONTENT};

/// Why a version could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// yrs refused an update made from the version.
    #[error("the version could not be applied")]
    Apply,
}

/// Changes `live` so that its content is `target`'s, in one or more transactions on `live`
/// (whose observers see them as ordinary changes).
pub fn restore(live: &Doc, target: &Doc) -> Result<(), RestoreError> {
    // The whole algorithm (formatting, authors, calcs) is built by the restore work of issue
    // 20; until then the pad's plain text is set.
    let text = target
        .get_or_insert_text(CONTENT)
        .get_string(&target.transact());
    edit::apply(live, &TextEdit::Set(text));
    Ok(())
}
