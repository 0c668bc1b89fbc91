//! Test helpers: pads built with yrs by two authors, and checks of the produced packages.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use yrs::types::{Attrs, Delta};
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, GetString, In, Map, MapPrelim, ReadTxn, StateVector, Text, TextRef, Transact, Update,
};

/// Alice's clientID.
pub const ALICE: u64 = 1;
/// Bob's clientID.
pub const BOB: u64 = 2;

/// Two replicas of one pad, kept in sync after every edit, so that each item keeps the
/// clientID of the replica that typed it.
pub struct PadBuilder {
    alice: Doc,
    bob: Doc,
}

fn attrs(pairs: &[(&str, Any)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (Arc::from(*k), v.clone()))
        .collect()
}

fn sync(from: &Doc, to: &Doc) {
    let sv = to.transact().state_vector();
    let update = from.transact().encode_state_as_update_v1(&sv);
    let update = Update::decode_v1(&update).expect("own update decodes");
    to.transact_mut()
        .apply_update(update)
        .expect("own update applies");
}

impl PadBuilder {
    /// An empty pad with its text and authors map created.
    pub fn new() -> Self {
        let b = Self {
            alice: Doc::with_client_id(ALICE),
            bob: Doc::with_client_id(BOB),
        };
        b.alice.get_or_insert_text("content");
        b.alice.get_or_insert_map("authors");
        b.bob.get_or_insert_text("content");
        b.bob.get_or_insert_map("authors");
        b
    }

    fn text(doc: &Doc) -> TextRef {
        doc.get_or_insert_text("content")
    }

    fn append(&self, doc: &Doc, other: &Doc, s: &str, pairs: &[(&str, Any)]) -> &Self {
        let text = Self::text(doc);
        {
            let mut txn = doc.transact_mut();
            let end = text.len(&txn);
            text.insert_with_attributes(&mut txn, end, s, attrs(pairs));
        }
        sync(doc, other);
        self
    }

    /// Alice types `s` at the end, unformatted.
    pub fn alice(&self, s: &str) -> &Self {
        self.append(&self.alice, &self.bob, s, &[])
    }

    /// Alice types `s` at the end with these attributes.
    pub fn alice_attrs(&self, s: &str, pairs: &[(&str, Any)]) -> &Self {
        self.append(&self.alice, &self.bob, s, pairs)
    }

    /// Bob types `s` at the end, unformatted.
    pub fn bob(&self, s: &str) -> &Self {
        self.append(&self.bob, &self.alice, s, &[])
    }

    /// Bob types `s` at the end with these attributes.
    pub fn bob_attrs(&self, s: &str, pairs: &[(&str, Any)]) -> &Self {
        self.append(&self.bob, &self.alice, s, pairs)
    }

    /// Alice formats a byte range.
    pub fn format_alice(&self, index: u32, len: u32, pairs: &[(&str, Any)]) {
        let text = Self::text(&self.alice);
        text.format(&mut self.alice.transact_mut(), index, len, attrs(pairs));
        sync(&self.alice, &self.bob);
    }

    /// Alice deletes a byte range.
    pub fn delete_alice(&self, index: u32, len: u32) {
        let text = Self::text(&self.alice);
        text.remove_range(&mut self.alice.transact_mut(), index, len);
        sync(&self.alice, &self.bob);
    }

    /// Alice inserts an embed (an image, say), which the pad schema does not have.
    pub fn embed_alice(&self, index: u32) {
        let text = Self::text(&self.alice);
        text.insert_embed(
            &mut self.alice.transact_mut(),
            index,
            Any::from(HashMap::from([("image".to_owned(), Any::from("x.png"))])),
        );
        sync(&self.alice, &self.bob);
    }

    /// Alice records an author as a plain object, the way the browser does.
    pub fn set_author(&self, client: u64, id: &str, name: &str, color: &str) {
        let value = Any::from(HashMap::from([
            ("id".to_owned(), Any::from(id)),
            ("name".to_owned(), Any::from(name)),
            ("color".to_owned(), Any::from(color)),
        ]));
        self.raw_author(&client.to_string(), value);
    }

    /// Alice writes any value into the authors map.
    pub fn raw_author(&self, key: &str, value: Any) {
        let map = self.alice.get_or_insert_map("authors");
        map.insert(&mut self.alice.transact_mut(), key, value);
        sync(&self.alice, &self.bob);
    }

    /// Alice records an author as a nested `Y.Map`.
    pub fn nested_author(&self, client: u64, name: &str, color: &str) {
        let map = self.alice.get_or_insert_map("authors");
        let prelim = MapPrelim::from([("name", name), ("color", color)]);
        map.insert(&mut self.alice.transact_mut(), client.to_string(), prelim);
        sync(&self.alice, &self.bob);
    }

    /// The pad's plain text.
    pub fn plain(&self) -> String {
        Self::text(&self.alice).get_string(&self.alice.transact())
    }

    /// The whole document as the server would hand it to an export.
    pub fn snapshot(&self) -> Vec<u8> {
        self.alice
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }
}

/// A pad with every formatting case, two authors and tricky text.
pub fn rich_pad() -> PadBuilder {
    let b = PadBuilder::new();
    b.alice("Main <title> & more")
        .alice_attrs("\n", &[("header", 1.into())]);
    b.alice("Second level")
        .alice_attrs("\n", &[("header", 2.into())]);
    b.alice("Third level")
        .alice_attrs("\n", &[("header", 3.into())]);
    b.alice("Some ")
        .alice_attrs("bold", &[("bold", true.into())])
        .alice(", ")
        .alice_attrs("italic", &[("italic", true.into())])
        .alice(", ")
        .alice_attrs("underlined", &[("underline", true.into())])
        .alice(", ")
        .alice_attrs("struck", &[("strike", true.into())])
        .alice(" and ")
        .alice_attrs(
            "all four",
            &[
                ("bold", true.into()),
                ("italic", true.into()),
                ("underline", true.into()),
                ("strike", true.into()),
            ],
        )
        .alice(" text; ")
        .bob("Bob adds this")
        .alice(".\n");
    b.alice("A ")
        .alice_attrs(
            "web link",
            &[("link", "https://example.org/?a=1&b=2".into())],
        )
        .alice(", a ")
        .alice_attrs("mail link", &[("link", "mailto:pad@example.org".into())])
        .alice(" and a ")
        .alice_attrs("bad link", &[("link", "javascript:alert(1)".into())])
        .alice(".\n");
    b.alice("\n");
    b.alice("spaces:  two,   three, \ttab\tand\t\ttwo tabs  \n");
    b.alice("  leading spaces\n");
    b.alice("first bullet")
        .alice_attrs("\n", &[("list", "bullet".into())]);
    b.bob("second bullet by Bob")
        .bob_attrs("\n", &[("list", "bullet".into())]);
    b.alice("first number")
        .alice_attrs("\n", &[("list", "ordered".into())]);
    b.alice("second number")
        .alice_attrs("\n", &[("list", "ordered".into())]);
    b.alice("between lists\n");
    b.alice("restarted number")
        .alice_attrs("\n", &[("list", "ordered".into())]);
    b.alice(
        "Unicode: 👩‍👩‍👧‍👦 漢字 עברית e\u{301} <script>alert(1)</script> *not bold* _x_ [y](z) # h\n",
    );
    b.alice("ctrl:\u{1}\u{8}\u{1b}end\n");
    b.set_author(ALICE, "alice-id", "Alice <script>", "#ffaa00");
    b.set_author(BOB, "bob-id", "Bob & Co", "#000080");
    b
}

/// A pad of at least `bytes` bytes of text, alternating authors line by line, with formatting.
/// Built with two deltas (Alice's lines, then Bob's between them) rather than edit by edit,
/// which would cost a sync per edit.
pub fn big_pad(bytes: usize) -> Vec<u8> {
    let b = PadBuilder::new();
    let filler = "lorem ipsum dolor sit amet, consectetur adipiscing elit ".repeat(4);
    let line_count = bytes.div_ceil(filler.len());
    let line = |i: usize| -> (String, Vec<Delta<In>>) {
        let head = format!("Line {i} ");
        let kind: &[(&str, Any)] = match i % 7 {
            0 => &[("header", 2.into())],
            1 | 2 => &[("list", "bullet".into())],
            3 => &[("list", "ordered".into())],
            _ => &[],
        };
        let chunks = vec![
            Delta::Inserted(
                In::from(head.as_str()),
                Some(Box::new(attrs(&[("bold", true.into())]))),
            ),
            Delta::Inserted(In::from(filler.as_str()), Some(Box::new(Attrs::new()))),
            Delta::Inserted(In::from("\n"), Some(Box::new(attrs(kind)))),
        ];
        (format!("{head}{filler}\n"), chunks)
    };
    let alice_lines = (0..line_count).step_by(2).flat_map(|i| line(i).1);
    PadBuilder::text(&b.alice).apply_delta(&mut b.alice.transact_mut(), alice_lines);
    sync(&b.alice, &b.bob);
    let mut bob_delta = Vec::new();
    for i in (0..line_count).step_by(2) {
        let (alice_line, _) = line(i);
        let len = u32::try_from(alice_line.len()).expect("short line");
        bob_delta.push(Delta::Retain(len, None));
        if i + 1 < line_count {
            bob_delta.extend(line(i + 1).1);
        }
    }
    PadBuilder::text(&b.bob).apply_delta(&mut b.bob.transact_mut(), bob_delta);
    sync(&b.bob, &b.alice);
    b.set_author(ALICE, "a", "Alice", "#ffaa00");
    b.set_author(BOB, "b", "Bob", "#00aaff");
    b.snapshot()
}

/// A pad where Alice and Bob alternate every character, over `chars` characters: the worst
/// case for runs, spans and styles.
pub fn interleaved_pad(chars: usize) -> Vec<u8> {
    let b = PadBuilder::new();
    let half = chars / 2;
    let alice = "a".repeat(half);
    PadBuilder::text(&b.alice).insert(&mut b.alice.transact_mut(), 0, &alice);
    sync(&b.alice, &b.bob);
    let link = Some(Box::new(attrs(&[("link", "https://example.org/".into())])));
    let bob_delta = (0..half).flat_map(|i| {
        let style = if i % 3 == 0 { link.clone() } else { None };
        [
            Delta::Retain(1, None),
            Delta::Inserted(In::from(" "), style),
        ]
    });
    PadBuilder::text(&b.bob).apply_delta(&mut b.bob.transact_mut(), bob_delta);
    sync(&b.bob, &b.alice);
    b.set_author(ALICE, "a", "Alice", "#ffaa00");
    b.set_author(BOB, "b", "Bob", "#00aaff");
    b.snapshot()
}

/// The entries of a ZIP archive, by name, in archive order.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>, zip::CompressionMethod)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a ZIP archive");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).expect("entry");
            let mut data = Vec::new();
            file.read_to_end(&mut data).expect("entry reads");
            (
                file.name().expect("entry name").into_owned(),
                data,
                file.compression(),
            )
        })
        .collect()
}

/// Parses an XML document completely and returns its character data. Fails the test on
/// anything not well-formed: bad syntax, mismatched or unclosed tags, bad or duplicate
/// attributes, undeclared namespace prefixes, unknown entities.
pub fn xml_text(xml: &[u8]) -> String {
    let src = std::str::from_utf8(xml).expect("XML is UTF-8");
    let mut reader = NsReader::from_str(src);
    let mut depth = 0usize;
    let mut roots = 0;
    let mut text = String::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("not well-formed: {e}"));
        assert!(
            !matches!(ns, ResolveResult::Unknown(_)),
            "undeclared prefix: {ns:?}"
        );
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if depth == 0 {
                    roots += 1;
                }
                for attr in e.attributes().with_checks(true) {
                    let attr = attr.expect("well-formed attribute");
                    let (ns, _) = reader.resolver().resolve_attribute(attr.key);
                    assert!(
                        !matches!(ns, ResolveResult::Unknown(_)),
                        "undeclared attribute prefix in {:?}",
                        attr.key
                    );
                    attr.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .expect("attribute value unescapes");
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) => {
                let t = t.xml10_content();
                assert!(depth > 0 || t.trim().is_empty(), "text outside the root");
                text.push_str(&t);
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().expect("valid character reference") {
                    Some(c) => c,
                    None => match &*r.xml10_content() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity &{other};"),
                    },
                };
                text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    assert_eq!(roots, 1, "exactly one root element");
    text
}
