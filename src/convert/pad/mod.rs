//! Pad exports: turns a snapshot of a pad document into a file people open elsewhere (plain text,
//! Markdown, HTML, ODT, DOCX), with formatting and authors' colours.
//!
//! Everything here is a pure, synchronous function of the snapshot bytes: no HTTP, no tokio. The
//! caller runs it off the async workers. Work and output are linear in the snapshot's size, and
//! the snapshot itself is bounded by [`MAX_EXPORT_INPUT`].
//!
//! The pipeline is: [`model`] decodes the yrs update into paragraphs of formatted runs plus the
//! authors; one module per format renders that model.

use std::fmt;
use std::str::FromStr;

mod docx;
mod html;
pub mod import;
mod md;
mod model;
mod odt;
mod package;
mod txt;
mod xml;

#[cfg(test)]
mod testutil;

pub use model::LineKind;
use model::Pad;

use crate::doc::guard::GuardError;

/// The largest snapshot [`export_pad`] accepts, in bytes. A pad document is capped well below
/// this by the server; the bound is what keeps a single export's memory and time in check.
pub const MAX_EXPORT_INPUT: usize = 64 * 1024 * 1024;

/// The file formats a pad exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PadFormat {
    /// Plain text, no markup.
    Txt,
    /// CommonMark (with GFM `~~strike~~`).
    Md,
    /// One standalone HTML document with inline styles and no script.
    Html,
    /// OpenDocument Text (ODF 1.3).
    Odt,
    /// Office Open XML word processing document.
    Docx,
}

impl PadFormat {
    /// Every format, in the order menus list them.
    pub const ALL: [PadFormat; 5] = [
        PadFormat::Txt,
        PadFormat::Md,
        PadFormat::Html,
        PadFormat::Odt,
        PadFormat::Docx,
    ];

    /// The file extension, without the dot; also the name [`FromStr`] accepts.
    pub fn extension(self) -> &'static str {
        match self {
            PadFormat::Txt => "txt",
            PadFormat::Md => "md",
            PadFormat::Html => "html",
            PadFormat::Odt => "odt",
            PadFormat::Docx => "docx",
        }
    }

    /// The `Content-Type` of an export in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            PadFormat::Txt => "text/plain; charset=utf-8",
            PadFormat::Md => "text/markdown; charset=utf-8",
            PadFormat::Html => "text/html; charset=utf-8",
            PadFormat::Odt => "application/vnd.oasis.opendocument.text",
            PadFormat::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }
}

impl fmt::Display for PadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// A format name that is not one of [`PadFormat::ALL`]. Its message lists the formats and never
/// repeats the requested name, so it is safe to show as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format; available formats: txt, md, html, odt, docx")]
pub struct UnknownFormat;

impl FromStr for PadFormat {
    type Err = UnknownFormat;

    /// Parses a lowercase extension name (`"txt"`, `"md"`, `"html"`, `"odt"`, `"docx"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PadFormat::ALL
            .into_iter()
            .find(|f| f.extension() == s)
            .ok_or(UnknownFormat)
    }
}

/// What an export includes besides the text and its formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// Shade each author's text with a pale tint of their colour (html, odt, docx).
    pub colors: bool,
    /// End the document with the list of authors (md, html, odt, docx).
    pub authors_list: bool,
    /// The language of the words the export adds itself (the authors heading, "Anonymous").
    pub language: Language,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            colors: true,
            authors_list: true,
            language: Language::En,
        }
    }
}

/// The languages of the words an export adds to the pad's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
}

impl Language {
    /// The heading of the closing list of authors.
    pub fn authors_heading(self) -> &'static str {
        match self {
            Language::En => "Authors",
            Language::Fr => "Auteurs",
        }
    }

    /// The name shown for an author who gave none.
    pub fn anonymous(self) -> &'static str {
        match self {
            Language::En => "Anonymous",
            Language::Fr => "Anonyme",
        }
    }

    /// An author's name as the export shows it.
    pub(crate) fn name_of(self, author: &model::Author) -> &str {
        if author.name.is_empty() {
            self.anonymous()
        } else {
            &author.name
        }
    }
}

impl From<GuardError> for ExportError {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Malformed => ExportError::BadSnapshot,
            other => ExportError::TooComplex(other),
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The snapshot is not a yrs v1 update, or yrs could not apply it.
    #[error("the document snapshot cannot be decoded")]
    BadSnapshot,
    /// The snapshot has a shape that reading it would not survive in bounded time or stack:
    /// values nested too deeply or too many distinct formatting attributes.
    #[error("the document is too complex to export: {0}")]
    TooComplex(GuardError),
    /// The snapshot is larger than [`MAX_EXPORT_INPUT`].
    #[error("the document is too large to export ({size} bytes, limit {limit})")]
    TooLarge {
        /// The snapshot's size in bytes.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// Writing the ZIP container of an ODT or DOCX failed.
    #[error("cannot write the document package: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Writing an XML part failed.
    #[error("cannot write XML: {0}")]
    Xml(#[from] std::io::Error),
}

/// Exports a pad. `snapshot` is a yrs v1 update of the whole document (as
/// `encode_state_as_update_v1(&StateVector::default())` gives); the pad's text is its
/// `Y.Text "content"` and its authors its `Y.Map "authors"` (DESIGN.md §3).
pub fn export_pad(
    snapshot: &[u8],
    format: PadFormat,
    opts: &ExportOptions,
) -> Result<Vec<u8>, ExportError> {
    if snapshot.len() > MAX_EXPORT_INPUT {
        return Err(ExportError::TooLarge {
            size: snapshot.len(),
            limit: MAX_EXPORT_INPUT,
        });
    }
    let pad = Pad::from_snapshot(snapshot)?;
    render(&pad, format, opts)
}

/// Renders an already decoded pad.
fn render(pad: &Pad, format: PadFormat, opts: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    match format {
        PadFormat::Txt => Ok(txt::render(pad)),
        PadFormat::Md => Ok(md::render(pad, opts)),
        PadFormat::Html => Ok(html::render(pad, opts)),
        PadFormat::Odt => odt::render(pad, opts),
        PadFormat::Docx => docx::render(pad, opts),
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn formats_parse_from_their_extension_only() {
        for f in PadFormat::ALL {
            assert_eq!(f.extension().parse::<PadFormat>(), Ok(f));
            assert_eq!(f.to_string(), f.extension());
        }
        for bad in ["", "TXT", "pdf", "odt ", "<script>", "doc"] {
            let err = bad.parse::<PadFormat>().unwrap_err().to_string();
            assert!(err.contains("txt, md, html, odt, docx"), "{err}");
            assert!(!err.contains("script"));
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(PadFormat::Txt.content_type(), "text/plain; charset=utf-8");
        assert_eq!(PadFormat::Md.content_type(), "text/markdown; charset=utf-8");
        assert_eq!(PadFormat::Html.content_type(), "text/html; charset=utf-8");
        assert_eq!(
            PadFormat::Odt.content_type(),
            "application/vnd.oasis.opendocument.text"
        );
        assert_eq!(
            PadFormat::Docx.content_type(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
    }

    #[test]
    fn options_default_to_colours_and_authors() {
        let o = ExportOptions::default();
        assert!(o.colors && o.authors_list);
    }

    #[test]
    fn oversized_snapshots_are_refused_before_decoding() {
        let big = vec![0u8; MAX_EXPORT_INPUT + 1];
        for f in PadFormat::ALL {
            assert!(matches!(
                export_pad(&big, f, &ExportOptions::default()),
                Err(ExportError::TooLarge { .. })
            ));
        }
    }

    #[test]
    fn garbage_is_a_bad_snapshot_in_every_format() {
        for f in PadFormat::ALL {
            let r = export_pad(&[0xff, 0xff, 0xff, 0x7f, 3], f, &ExportOptions::default());
            assert!(matches!(r, Err(ExportError::BadSnapshot)), "{f}: {r:?}");
        }
    }

    #[test]
    fn every_format_exports_the_empty_pad() {
        let empty = PadBuilder::new().snapshot();
        for f in PadFormat::ALL {
            export_pad(&empty, f, &ExportOptions::default()).expect("empty pad exports");
            // A document that never had a "content" text at all.
            export_pad(&[0, 0], f, &ExportOptions::default()).expect("bare doc exports");
        }
        assert!(
            export_pad(&empty, PadFormat::Txt, &ExportOptions::default())
                .expect("txt")
                .is_empty()
        );
    }

    #[test]
    fn every_format_handles_a_run_per_character() {
        let snapshot = interleaved_pad(20_000);
        for f in PadFormat::ALL {
            export_pad(&snapshot, f, &ExportOptions::default()).expect("exports");
        }
    }

    #[test]
    fn every_format_exports_a_one_megabyte_pad() {
        let snapshot = big_pad(1024 * 1024);
        for f in PadFormat::ALL {
            for colors in [true, false] {
                let opts = ExportOptions {
                    colors,
                    authors_list: true,
                    ..ExportOptions::default()
                };
                let out = export_pad(&snapshot, f, &opts).expect("exports");
                assert!(!out.is_empty());
                if f == PadFormat::Txt {
                    assert!(out.len() >= 1024 * 1024);
                }
            }
        }
    }
}
