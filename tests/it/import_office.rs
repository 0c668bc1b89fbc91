//! Pad import of files LibreOffice wrote: an HTML lesson converted by `soffice --convert-to`
//! to ODT and to DOCX imports with its headings, lists, bold and italic.
//!
//! Needs `soffice` on PATH, like `export_readers` (whose `convert` it uses): it fails, rather
//! than skips, without it.

use ardoise::convert::pad::import::{import_pad, ImportFormat};
use ardoise::convert::pad::{export_pad, ExportOptions, PadFormat};

use crate::export_readers::convert;

/// The lesson, as a teacher's editor would save it.
const LESSON: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Lesson</title>\
    </head><body><h1>Lesson title</h1><h2>Part one</h2>\
    <p>Some <b>bold</b> and <i>italic</i> words.</p>\
    <ul><li>first bullet</li><li>second bullet</li></ul>\
    <ol><li>step one</li><li>step two</li></ol>\
    <p>End 漢字 👍</p></body></html>";

/// Lines the imported pad's Markdown export must hold: the pad's structure as Markdown
/// writes it (headings, bullets, numbers, emphasis).
const EXPECTED: [&str; 6] = [
    "# Lesson title\n",
    "## Part one\n",
    "Some **bold** and *italic* words.\n",
    "- first bullet\n- second bullet\n",
    "1. step one\n2. step two\n",
    "End 漢字 👍\n",
];

#[tokio::test]
async fn libreoffice_odt_and_docx_import_with_headings_and_lists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("profile");
    let html = dir.path().join("lesson.html");
    std::fs::write(&html, LESSON).expect("writes the lesson");
    for (filter, extension, format) in [
        ("odt", "odt", ImportFormat::Odt),
        ("docx:MS Word 2007 XML", "docx", ImportFormat::Docx),
    ] {
        let file = convert(&html, filter, extension, &profile).await;
        let bytes = std::fs::read(&file).expect("reads the conversion");
        let imported = import_pad(&bytes, format).unwrap_or_else(|e| panic!("{format}: {e}"));
        let md = export_pad(
            &imported.state,
            PadFormat::Md,
            &ExportOptions {
                authors_list: false,
                ..ExportOptions::default()
            },
        )
        .expect("exports");
        let md = String::from_utf8(md).expect("UTF-8");
        for line in EXPECTED {
            assert!(md.contains(line), "{format}: {line:?} missing from:\n{md}");
        }
        assert!(
            !md.contains("Lesson\n"),
            "{format}: the title is no line:\n{md}"
        );
        assert!(
            imported.dropped.is_empty(),
            "{format}: {:?}",
            imported.dropped
        );
    }
}
