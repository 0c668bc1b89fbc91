//! Pad imports: a file people have (plain text, Markdown, HTML, ODT, DOCX, an Etherpad export)
//! made into a pad document (DESIGN.md §3), natively: no LibreOffice, no network.
//!
//! Every reader is a pure function of the file's bytes into a [`Draft`] (lines of formatted text
//! with their authors, the authors' names and colours, chat), which [`Draft::finish`] writes as
//! one yrs v1 update of a whole pad. Everything a reader takes from a file is bounded before it
//! is kept ([`MAX_IMPORT_CHARS`], [`MAX_PIECES`], the XML and ZIP bounds of `convert::calc`), and
//! whatever the schema cannot hold (images, tables' structure, comments…) is dropped and counted
//! in [`Dropped`], so the answer can say what was left out.

use std::fmt;

mod draft;
pub mod etherpad;
mod html;
mod lines;
mod md;
#[cfg(test)]
mod roundtrip;
mod txt;

pub use draft::{ChatMessage, Draft, DraftAuthor, Inline};

use crate::doc::history::EntryInfo;

/// Most characters an imported pad may hold (its text, newlines included).
pub const MAX_IMPORT_CHARS: usize = 8 * 1024 * 1024;

/// Most pieces (stretches of one look and one author, newlines included) an imported pad may
/// hold: each costs a yrs item, and a change of author a sync between helper documents.
pub const MAX_PIECES: usize = 400_000;

/// Most lines an imported pad may hold.
pub const MAX_LINES: usize = 1_000_000;

/// The files a pad can be made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    /// Plain text (UTF-8, or UTF-16 with a byte order mark).
    Txt,
    /// CommonMark with GFM strikethrough and tables.
    Md,
    /// An HTML document or fragment.
    Html,
    /// OpenDocument Text.
    Odt,
    /// Office Open XML word processing document.
    Docx,
    /// Etherpad's own export (`/p/{id}/export/etherpad`): its database records as JSON.
    Etherpad,
}

impl ImportFormat {
    /// Every format, in the order forms list them.
    pub const ALL: [ImportFormat; 6] = [
        ImportFormat::Txt,
        ImportFormat::Md,
        ImportFormat::Html,
        ImportFormat::Odt,
        ImportFormat::Docx,
        ImportFormat::Etherpad,
    ];

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImportFormat::Txt => "txt",
            ImportFormat::Md => "md",
            ImportFormat::Html => "html",
            ImportFormat::Odt => "odt",
            ImportFormat::Docx => "docx",
            ImportFormat::Etherpad => "etherpad",
        }
    }

    /// The format of an uploaded file from its name's extension (`.markdown`, `.htm`,
    /// `.xhtml` too; any case); `None` when the name names no pad format.
    pub fn from_file_name(file_name: &str) -> Option<ImportFormat> {
        let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" => ImportFormat::Txt,
            "md" | "markdown" => ImportFormat::Md,
            "html" | "htm" | "xhtml" => ImportFormat::Html,
            "odt" => ImportFormat::Odt,
            "docx" => ImportFormat::Docx,
            "etherpad" => ImportFormat::Etherpad,
            _ => return None,
        })
    }

    /// The format named by an API's `format` parameter (an extension, as [`Self::extension`]).
    pub fn from_name(name: &str) -> Option<ImportFormat> {
        ImportFormat::ALL
            .into_iter()
            .find(|f| f.extension() == name)
    }
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// What a file held that the pad schema cannot: left out, and counted for the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// Pictures, drawings, embedded objects.
    pub images: u32,
    /// Links whose scheme is not http, https or mailto (their text is kept, plain).
    pub links: u32,
    /// Anything else: comments, footnotes, fields, scripts, forms, unknown elements.
    pub other: u32,
}

impl Dropped {
    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        *self == Dropped::default()
    }

    /// Everything dropped.
    pub fn total(&self) -> u64 {
        u64::from(self.images) + u64::from(self.links) + u64::from(self.other)
    }
}

/// One log entry of an imported document's history (an Etherpad revision), in order.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The change, a yrs v1 update that applies after the entries before it.
    pub update: Vec<u8>,
    /// When it was made and by whom (origin [`crate::doc::history::Origin::Import`]).
    pub info: EntryInfo,
}

/// A pad made from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The whole pad as one yrs v1 update: `content`, `authors`, `chat` (DESIGN.md §3).
    pub state: Vec<u8>,
    /// The file's own history, oldest first, when it had one (Etherpad); applying every
    /// update in order to an empty document gives exactly `state`. Empty otherwise.
    pub history: Vec<HistoryEntry>,
    /// The authors' names the file knew (Etherpad), for history's record of the import.
    pub authors: Vec<String>,
    /// What was left out.
    pub dropped: Dropped,
}

/// Why a file could not become a pad. Messages name the problem and are safe to show: they
/// never repeat the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file is not what its format says, or breaks one of its rules (400).
    #[error("{0}")]
    Invalid(String),
    /// The file, or what it expands to, is past a bound (413).
    #[error("{0}")]
    TooLarge(String),
}

impl ImportError {
    /// Whether the error is the file's size (413) rather than its content (400).
    pub fn is_too_large(&self) -> bool {
        matches!(self, ImportError::TooLarge(_))
    }
}

/// Reads `bytes` as a `format` file into a pad. Pure and synchronous: the caller runs it off
/// the async workers, with the file already bounded by the server's import limit.
pub fn import_pad(bytes: &[u8], format: ImportFormat) -> Result<Imported, ImportError> {
    match format {
        ImportFormat::Etherpad => etherpad::import(bytes),
        ImportFormat::Txt => txt::import(bytes),
        ImportFormat::Md => md::import(bytes),
        ImportFormat::Html => html::import(bytes),
        other => Err(ImportError::Invalid(format!(
            "importing {other} files is not available yet"
        ))),
    }
}
