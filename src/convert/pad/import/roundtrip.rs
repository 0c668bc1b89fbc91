//! Round trips: a pad exported by our own exporters and imported back keeps its text, line
//! kinds and inline formatting (what each format can hold).

use std::sync::Arc;

use yrs::Any;

use super::{import_pad, ImportFormat};
use crate::convert::pad::model::{LineKind, Pad};
use crate::convert::pad::testutil::{rich_pad, PadBuilder};
use crate::convert::pad::{export_pad, ExportOptions, PadFormat};

/// One character's look: bold, italic, underline, strike, link.
type Look = (bool, bool, bool, bool, Option<Arc<str>>);

/// Each line's kind and text with the look of each character (underline left out where the
/// format cannot hold it).
fn shape(pad: &Pad, underline: bool) -> Vec<(LineKind, String, Vec<Look>)> {
    pad.paragraphs
        .iter()
        .map(|p| {
            let text: String = p.runs.iter().map(|r| r.text.as_str()).collect();
            let looks = p
                .runs
                .iter()
                .flat_map(|r| {
                    let look = (
                        r.bold,
                        r.italic,
                        r.underline && underline,
                        r.strike,
                        r.link.clone(),
                    );
                    r.text.chars().map(move |_| look.clone())
                })
                .collect();
            (p.kind, text, looks)
        })
        .collect()
}

/// A pad with every kind of line and look the schema has, and emoji.
fn sample() -> PadBuilder {
    let b = rich_pad();
    b.alice("deep emoji 🧑🏽‍🚀 ")
        .alice_attrs("🎉 bold", &[("bold", Any::Bool(true))])
        .alice("\n");
    b
}

pub(super) fn round_trip(from: PadFormat, to: ImportFormat) {
    let snapshot = sample().snapshot();
    let opts = ExportOptions {
        authors_list: false,
        ..ExportOptions::default()
    };
    let file = export_pad(&snapshot, from, &opts).expect("exports");
    let imported = import_pad(&file, to).unwrap_or_else(|e| panic!("{to}: {e}"));
    let before = Pad::from_snapshot(&snapshot).expect("decodes");
    let after = Pad::from_snapshot(&imported.state).expect("decodes");
    let underline = from != PadFormat::Md;
    let (before, after) = (shape(&before, underline), shape(&after, underline));
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "{to}: line {i}");
    }
    assert_eq!(before.len(), after.len(), "{to}: line count");
}

#[test]
fn markdown_round_trips() {
    round_trip(PadFormat::Md, ImportFormat::Md);
}

#[test]
fn html_round_trips() {
    round_trip(PadFormat::Html, ImportFormat::Html);
}

#[test]
fn text_round_trips() {
    let snapshot = sample().snapshot();
    let file = export_pad(&snapshot, PadFormat::Txt, &ExportOptions::default()).unwrap();
    let after = Pad::from_snapshot(&import_pad(&file, ImportFormat::Txt).unwrap().state).unwrap();
    let before = Pad::from_snapshot(&snapshot).unwrap();
    let text = |p: &Pad| -> Vec<String> {
        p.paragraphs
            .iter()
            .map(|l| l.runs.iter().map(|r| r.text.as_str()).collect())
            .collect()
    };
    assert_eq!(text(&before), text(&after));
}
