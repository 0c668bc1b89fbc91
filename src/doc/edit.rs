//! Text edits asked through the HTTP API, applied by a pad's room to its `Y.Text "content"`
//! (DESIGN.md §3). Pure document code: no storage, no HTTP.

use yrs::types::text::{Diff, YChange};
use yrs::types::Attrs;
use yrs::{Any, Doc, Out, Text, Transact};

/// The root text of a pad.
pub const CONTENT: &str = "content";

/// A change to a pad's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextEdit {
    /// Replace the whole text. Only the part that differs is rewritten (the common prefix and
    /// suffix are kept, with their formatting and authors), so concurrent editors keep their
    /// cursors and a no-op set changes nothing.
    Set(String),
    /// Add text at the end of the pad.
    Append(String),
}

/// Why a room refused an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EditRefused {
    /// The document does not exist.
    #[error("no such document")]
    NotFound,
    /// The document is not a pad.
    #[error("the document is not a pad")]
    WrongKind,
    /// The edit would take the document past the size limit.
    #[error("the document would exceed its size limit")]
    TooBig,
    /// Storage failed (details are in the log).
    #[error("document unavailable")]
    Unavailable,
}

impl TextEdit {
    /// Bytes of text the edit inserts at most: what counts against the document size limit.
    pub fn inserted_bytes(&self) -> usize {
        match self {
            TextEdit::Set(text) | TextEdit::Append(text) => text.len(),
        }
    }
}

/// One unit of the pad's text as yrs counts offsets (UTF-8 bytes in a default `Doc`): a
/// character, or an embed, which counts as 1.
#[derive(Debug, PartialEq, Eq)]
enum Unit {
    Char(char),
    Embed,
}

impl Unit {
    fn len(&self) -> u32 {
        match self {
            Unit::Char(c) => c.len_utf8() as u32,
            Unit::Embed => 1,
        }
    }
}

/// Applies `edit` to `doc` in one transaction; the document's update observer sees the delta.
/// `doc` must use yrs's default byte offsets, as every room's does.
pub fn apply(doc: &Doc, edit: &TextEdit) {
    // Before the transaction: getting a root type opens its own.
    let text = doc.get_or_insert_text(CONTENT);
    let mut txn = doc.transact_mut();
    match edit {
        TextEdit::Append(new) => {
            let end = text.len(&txn);
            // Explicitly empty attributes: the new text is plain, not a continuation of
            // whatever formatting the pad ends with.
            text.insert_with_attributes(&mut txn, end, new, Attrs::new());
        }
        TextEdit::Set(new) => {
            let old: Vec<Unit> = text
                .diff(&txn, YChange::identity)
                .into_iter()
                .flat_map(|Diff { insert, .. }| match insert {
                    Out::Any(Any::String(s)) => s.chars().map(Unit::Char).collect::<Vec<_>>(),
                    _ => vec![Unit::Embed],
                })
                .collect();
            let new_chars: Vec<char> = new.chars().collect();
            let prefix = old
                .iter()
                .zip(&new_chars)
                .take_while(|(o, n)| **o == Unit::Char(**n))
                .count();
            let suffix = old[prefix..]
                .iter()
                .rev()
                .zip(new_chars[prefix..].iter().rev())
                .take_while(|(o, n)| **o == Unit::Char(**n))
                .count();
            let at: u32 = old[..prefix].iter().map(Unit::len).sum();
            let removed: u32 = old[prefix..old.len() - suffix].iter().map(Unit::len).sum();
            let inserted: String = new_chars[prefix..new_chars.len() - suffix].iter().collect();
            if removed > 0 {
                text.remove_range(&mut txn, at, removed);
            }
            if !inserted.is_empty() {
                text.insert_with_attributes(&mut txn, at, &inserted, Attrs::new());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use yrs::GetString;

    fn pad(content: &str) -> Doc {
        let doc = Doc::new();
        let text = doc.get_or_insert_text(CONTENT);
        text.push(&mut doc.transact_mut(), content);
        doc
    }

    fn content(doc: &Doc) -> String {
        doc.get_or_insert_text(CONTENT).get_string(&doc.transact())
    }

    #[test]
    fn set_replaces_and_append_adds() {
        let doc = pad("héllo wörld\n");
        apply(&doc, &TextEdit::Set("héllo brave wörld\n".into()));
        assert_eq!(content(&doc), "héllo brave wörld\n");
        apply(&doc, &TextEdit::Set("ça".into()));
        assert_eq!(content(&doc), "ça");
        apply(&doc, &TextEdit::Append(" va\n".into()));
        assert_eq!(content(&doc), "ça va\n");
        apply(&doc, &TextEdit::Set(String::new()));
        assert_eq!(content(&doc), "");
    }

    #[test]
    fn set_rewrites_only_what_differs() {
        let doc = pad("aaaa");
        let text = doc.get_or_insert_text(CONTENT);
        let bold = Attrs::from([("bold".into(), Any::Bool(true))]);
        text.format(&mut doc.transact_mut(), 0, 2, bold);
        let deltas = Arc::new(Mutex::new(0usize));
        let seen = deltas.clone();
        doc.observe_update_v1("test", move |_, _| *seen.lock().expect("lock") += 1)
            .expect("observer");
        apply(&doc, &TextEdit::Set("aaaa".into()));
        assert_eq!(
            *deltas.lock().expect("lock"),
            0,
            "a no-op set writes nothing"
        );
        apply(&doc, &TextEdit::Set("aaXaa".into()));
        assert_eq!(content(&doc), "aaXaa");
        let chunks = text.diff(&doc.transact(), YChange::identity);
        assert!(
            chunks[0].attributes.is_some(),
            "the kept prefix keeps its formatting"
        );
    }

    #[test]
    fn appended_text_is_plain() {
        let doc = pad("title");
        let text = doc.get_or_insert_text(CONTENT);
        let bold = Attrs::from([("bold".into(), Any::Bool(true))]);
        text.format(&mut doc.transact_mut(), 0, 5, bold);
        apply(&doc, &TextEdit::Append(" more".into()));
        let chunks = text.diff(&doc.transact(), YChange::identity);
        assert_eq!(chunks.len(), 2);
        assert!(chunks[1].attributes.is_none(), "{chunks:?}");
    }
}
