//! Real readers: LibreOffice opens the ODT and DOCX exports and finds the pad's text in them.
//!
//! Needs `soffice` on PATH (Debian: `libreoffice-writer-nogui`); the test fails, rather than
//! skips, without it, so a machine that lacks it cannot pass unnoticed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use ardoise::convert::pad::{export_pad, ExportOptions, PadFormat};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, Map, ReadTxn, StateVector, Text, Transact, Update};

/// One conversion may take this long (the first run creates the LibreOffice profile).
const CONVERT_TIMEOUT: Duration = Duration::from_secs(180);

/// Lines the converted text must contain, as typed in the pad.
const EXPECTED: [&str; 9] = [
    "Quarterly notes",
    "Agenda",
    "Plain text with bold, italic, underline and strike.",
    "first point",
    "second point by Bob",
    "step one",
    "step two",
    "a link to the site",
    "Unicode: 漢字 עברית e\u{301} 👍",
];

fn attrs(pairs: &[(&str, Any)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (Arc::from(*k), v.clone()))
        .collect()
}

/// Appends on `doc` then syncs it to `other`, so each replica keeps its own clientID.
fn type_in(doc: &Doc, other: &Doc, s: &str, pairs: &[(&str, Any)]) {
    let text = doc.get_or_insert_text("content");
    {
        let mut txn = doc.transact_mut();
        let end = text.len(&txn);
        text.insert_with_attributes(&mut txn, end, s, attrs(pairs));
    }
    let sv = other.transact().state_vector();
    let update = doc.transact().encode_state_as_update_v1(&sv);
    let update = Update::decode_v1(&update).expect("decodes");
    other.transact_mut().apply_update(update).expect("applies");
}

/// A pad by two authors with headings, formatting, both kinds of list, a link and unicode.
fn snapshot() -> Vec<u8> {
    let alice = Doc::with_client_id(101);
    let bob = Doc::with_client_id(202);
    let a = |s: &str, pairs: &[(&str, Any)]| type_in(&alice, &bob, s, pairs);
    let b = |s: &str, pairs: &[(&str, Any)]| type_in(&bob, &alice, s, pairs);
    a("Quarterly notes", &[]);
    a("\n", &[("header", 1.into())]);
    a("Agenda", &[]);
    a("\n", &[("header", 2.into())]);
    a("Plain text with ", &[]);
    a("bold", &[("bold", true.into())]);
    a(", ", &[]);
    a("italic", &[("italic", true.into())]);
    a(", ", &[]);
    a("underline", &[("underline", true.into())]);
    a(" and ", &[]);
    a("strike", &[("strike", true.into())]);
    a(".\n", &[]);
    a("first point", &[]);
    a("\n", &[("list", "bullet".into())]);
    b("second point by Bob", &[]);
    b("\n", &[("list", "bullet".into())]);
    a("step one", &[]);
    a("\n", &[("list", "ordered".into())]);
    b("step two", &[]);
    b("\n", &[("list", "ordered".into())]);
    a("a link to ", &[]);
    a("the site", &[("link", "https://example.org/".into())]);
    a("\n\tindented  twice\n", &[]);
    a("Unicode: 漢字 עברית e\u{301} 👍\n", &[]);
    let authors = alice.get_or_insert_map("authors");
    for (client, name, color) in [(101, "Alice", "#ffd966"), (202, "Bob", "#9fc5e8")] {
        let entry = Any::from(HashMap::from([
            ("id".to_owned(), Any::from(format!("person-{client}"))),
            ("name".to_owned(), Any::from(name)),
            ("color".to_owned(), Any::from(color)),
        ]));
        authors.insert(&mut alice.transact_mut(), client.to_string(), entry);
    }
    let snapshot = alice
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    snapshot
}

/// Runs `soffice --convert-to` with a private profile and returns the converted file.
pub async fn convert(input: &Path, filter: &str, extension: &str, profile: &Path) -> PathBuf {
    let outdir = input.parent().expect("input has a directory");
    let spawned = tokio::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            filter,
            "--outdir",
        ])
        .arg(outdir)
        .arg(input)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = match tokio::time::timeout(CONVERT_TIMEOUT, spawned).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => panic!(
            "cannot run `soffice` ({e}): install LibreOffice, e.g. \
             `apt-get install -y --no-install-recommends libreoffice-writer-nogui`"
        ),
        Err(_) => panic!(
            "soffice took over {CONVERT_TIMEOUT:?} to convert {}",
            input.display()
        ),
    };
    assert!(
        status.success(),
        "soffice failed on {}: {status}",
        input.display()
    );
    let output = input.with_extension(extension);
    assert!(
        output.exists(),
        "soffice produced no {extension} for {}",
        input.display()
    );
    output
}

#[tokio::test]
async fn libreoffice_reads_odt_and_docx_exports() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A profile of its own, so parallel runs (and a desktop LibreOffice) do not clash.
    let profile = dir.path().join("profile");
    let snapshot = snapshot();
    for format in [PadFormat::Odt, PadFormat::Docx] {
        let bytes = export_pad(&snapshot, format, &ExportOptions::default()).expect("exports");
        let file = dir.path().join(format!("pad.{}", format.extension()));
        std::fs::write(&file, bytes).expect("writes the export");

        let txt = convert(&file, "txt:Text (encoded):UTF8", "txt", &profile).await;
        let text = std::fs::read_to_string(&txt).expect("converted text is UTF-8");
        for line in EXPECTED {
            assert!(
                text.contains(line),
                "{format}: {line:?} missing from LibreOffice's text:\n{text}"
            );
        }
        assert!(
            text.contains("\tindented  twice"),
            "{format}: tab and spaces kept:\n{text}"
        );
        assert!(
            text.contains("Alice") && text.contains("Bob"),
            "{format}: authors list"
        );
        std::fs::remove_file(&txt).expect("removes the text");

        let pdf = convert(&file, "pdf", "pdf", &profile).await;
        let pdf = std::fs::read(&pdf).expect("reads the PDF");
        assert!(pdf.starts_with(b"%PDF"), "{format}: not a PDF");
        assert!(pdf.len() > 2000, "{format}: PDF suspiciously small");
    }
}
