//! What exports look like to a reader (issue 18): every text colour the HTML, ODT and DOCX
//! exports produce reads at 4.5:1 or more (WCAG AA) on every background they produce, with one
//! author for each colour of the editor's palette; list items are indented; the Markdown shows
//! no `&nbsp;` nor colour codes; the words an export adds follow the request's language.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use yrs::types::Attrs;
use yrs::{Any, Doc, Map, Text};
use zip::ZipArchive;

use crate::client::Client;
use crate::server::TestServer;

/// The editor's palette, read from the client's source so the test follows it.
fn palette() -> Vec<String> {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/src/common/identity.js"),
    )
    .expect("web/src/common/identity.js");
    let start = source.find("PALETTE = [").expect("the PALETTE array");
    let block = &source[start..start + source[start..].find(']').expect("its end")];
    let colours: Vec<String> = block
        .split('\'')
        .filter(|s| s.len() == 7 && s.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert!(colours.len() >= 8, "palette read: {colours:?}");
    colours
}

/// A pad written by one author per palette colour (each its own clientID): paragraphs, an empty
/// line, runs of spaces, a link inside each author's text, a bulleted and a numbered list.
async fn pad_by_every_colour(server: &TestServer, name: &str) {
    for (i, colour) in palette().iter().enumerate() {
        let doc = Doc::with_client_id(1000 + i as u64);
        let mut c = Client::connect_doc(server, name, doc).await;
        let authors = c.doc.get_or_insert_map("authors");
        let colour = colour.clone();
        c.edit(move |txn, text| {
            authors.insert(
                txn,
                (1000 + i).to_string(),
                Any::from(std::collections::HashMap::from([
                    ("id".to_owned(), Any::from(format!("person-{i}"))),
                    ("name".to_owned(), Any::from(format!("Élève {i}"))),
                    ("color".to_owned(), Any::from(colour)),
                ])),
            );
            let end = text.len(txn);
            text.insert(txn, end, &format!("Texte  de l'élève {i}, avec "));
            let end = text.len(txn);
            text.insert_with_attributes(
                txn,
                end,
                "un lien",
                Attrs::from([("link".into(), Any::from(format!("https://example.org/{i}")))]),
            );
            let end = text.len(txn);
            text.insert(txn, end, ".\n\n");
            let end = text.len(txn);
            let list = if i % 2 == 0 { "bullet" } else { "ordered" };
            text.insert(txn, end, &format!("point {i}"));
            let end = text.len(txn);
            text.insert_with_attributes(
                txn,
                end,
                "\n",
                Attrs::from([("list".into(), Any::from(list))]),
            );
        })
        .await;
        c.barrier().await;
    }
}

/// Every `#rrggbb` (or `rrggbb` for OOXML) captured after `prefix`.
fn colours_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let hex = rest.strip_prefix('#').unwrap_or(rest);
            let hex = hex.get(..6)?;
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| hex.to_ascii_lowercase())
        })
        .collect()
}

/// WCAG 2 relative luminance of `rrggbb`.
fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// Every text colour against every background (the white page included): at least 4.5:1.
fn assert_readable(format: &str, texts: &BTreeSet<String>, backgrounds: &BTreeSet<String>) {
    let authors = palette().len();
    assert!(
        backgrounds.len() >= authors,
        "{format}: one shade per author expected, found {backgrounds:?}"
    );
    assert!(
        texts.len() >= 2,
        "{format}: a text and a link colour, found {texts:?}"
    );
    let mut backgrounds = backgrounds.clone();
    backgrounds.insert("ffffff".to_owned());
    for text in texts {
        for background in &backgrounds {
            let ratio = contrast(text, background);
            assert!(
                ratio >= 4.5,
                "{format}: text #{text} on #{background} has contrast {ratio:.2}:1 (< 4.5)"
            );
        }
    }
}

fn unzip(bytes: &[u8], part: &str) -> String {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).expect("a package");
    let mut out = String::new();
    archive
        .by_name(part)
        .unwrap_or_else(|_| panic!("{part} in the package"))
        .read_to_string(&mut out)
        .expect("UTF-8 XML");
    out
}

/// The value of `attr="…"` on the first element that has it, as a number of the given unit.
fn length_attr(xml: &str, attr: &str, unit: &str) -> f64 {
    let start = xml
        .find(&format!("{attr}=\""))
        .unwrap_or_else(|| panic!("{attr} present"))
        + attr.len()
        + 2;
    let value = &xml[start..start + xml[start..].find('"').expect("closing quote")];
    value
        .strip_suffix(unit)
        .unwrap_or(value)
        .parse()
        .unwrap_or_else(|_| panic!("{attr}={value} is a length"))
}

#[tokio::test]
async fn exports_read_on_every_author_colour_with_indented_lists() {
    let server = TestServer::start().await;
    pad_by_every_colour(&server, "palette").await;

    let html = server.get("/p/palette/export/html").await;
    assert_eq!(html.0, 200);
    let html = html.1;
    let backgrounds = colours_after(&html, "background-color:");
    // `color:` not preceded by `background-`: the text colours (body, links, any span).
    let texts: BTreeSet<String> = html
        .match_indices("color:")
        .filter(|(i, _)| !html[..*i].ends_with("background-"))
        .filter_map(|(i, _)| {
            let hex = html[i + "color:".len()..].strip_prefix('#')?.get(..6)?;
            Some(hex.to_ascii_lowercase())
        })
        .collect();
    assert_readable("html", &texts, &backgrounds);
    let list_style = html
        .split("ul,ol{")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .expect("a list rule");
    assert!(
        list_style.contains("padding-left:") && !list_style.contains("padding-left:0"),
        "HTML lists are indented: {list_style}"
    );

    let odt = server
        .request("GET", "/p/palette/export/odt", &[], "")
        .await;
    assert_eq!(odt.status, 200);
    let xml = unzip(&odt.bytes, "content.xml") + &unzip(&odt.bytes, "styles.xml");
    let backgrounds = colours_after(&xml, "fo:background-color=\"");
    let texts = colours_after(&xml, "fo:color=\"");
    assert_readable("odt", &texts, &backgrounds);
    let content = unzip(&odt.bytes, "content.xml");
    for list in [
        "text:list-level-style-bullet",
        "text:list-level-style-number",
    ] {
        let level = &content[content.find(list).expect("list style")..];
        let margin = length_attr(level, "fo:margin-left", "cm");
        let indent = length_attr(level, "fo:text-indent", "cm");
        assert!(
            margin + indent >= 0.5,
            "ODT {list}: the label sits {}cm in",
            margin + indent
        );
    }

    let docx = server
        .request("GET", "/p/palette/export/docx", &[], "")
        .await;
    assert_eq!(docx.status, 200);
    let xml = unzip(&docx.bytes, "word/document.xml") + &unzip(&docx.bytes, "word/styles.xml");
    let backgrounds = colours_after(&xml, "w:fill=\"");
    let texts = colours_after(&xml, "<w:color w:val=\"");
    assert_readable("docx", &texts, &backgrounds);
    let numbering = unzip(&docx.bytes, "word/numbering.xml");
    for level in numbering.split("<w:abstractNum ").skip(1) {
        let left = length_attr(level, "w:left", "");
        let hanging = length_attr(level, "w:hanging", "");
        assert!(
            left - hanging >= 280.0,
            "DOCX list label sits {} twips in",
            left - hanging
        );
    }

    let md = server.get("/p/palette/export/md").await.1;
    assert!(md.contains("Texte \u{a0}de l'élève 0"), "spaces kept: {md}");
    assert!(!md.contains("&nbsp;"), "no &nbsp; in Markdown:\n{md}");
    let hex = md.match_indices('#').any(|(i, _)| {
        md[i + 1..].len() >= 6 && md[i + 1..i + 7].bytes().all(|b| b.is_ascii_hexdigit())
    });
    assert!(!hex, "no colour codes in Markdown:\n{md}");
    assert!(md.contains("- Élève 0\n"), "authors by name: {md}");
}

#[tokio::test]
async fn export_headings_follow_the_request_language() {
    let server = TestServer::start().await;
    let doc = Doc::with_client_id(77);
    let mut c = Client::connect_doc(&server, "langue", doc).await;
    let authors = c.doc.get_or_insert_map("authors");
    c.edit(move |txn, text| {
        authors.insert(
            txn,
            "77",
            Any::from(std::collections::HashMap::from([(
                "color".to_owned(),
                Any::from("#4363d8"),
            )])),
        );
        text.insert(txn, 0, "Bonjour\n");
    })
    .await;
    c.barrier().await;

    let french = [
        ("?lang=fr", &[][..]),
        ("", &[("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")][..]),
    ];
    for (query, headers) in french {
        for format in ["html", "md", "odt", "docx"] {
            let r = server
                .request(
                    "GET",
                    &format!("/p/langue/export/{format}{query}"),
                    headers,
                    "",
                )
                .await;
            assert_eq!(r.status, 200);
            let text = match format {
                "odt" => unzip(&r.bytes, "content.xml"),
                "docx" => unzip(&r.bytes, "word/document.xml"),
                _ => r.body.clone(),
            };
            assert!(
                text.contains("Auteurs") && text.contains("Anonyme"),
                "{format}{query}"
            );
            assert!(
                !text.contains("Authors") && !text.contains("Anonymous"),
                "{format}{query}: English left"
            );
        }
    }
    let english = server.get("/p/langue/export/html?lang=en").await.1;
    assert!(english.contains("Authors") && english.contains("Anonymous"));
    assert!(english.contains("<html lang=\"en\">"));
    let french = server.get("/p/langue/export/html?lang=fr").await.1;
    assert!(french.contains("<html lang=\"fr\">"));
}
