//! DOCX: an Office Open XML word processing package, written with `zip` and `quick-xml` (the
//! DOCX crates either lag behind or pull far more than this needs).
//!
//! Parts: `[Content_Types].xml`, `_rels/.rels`, `word/document.xml`, `word/styles.xml`
//! (Normal, Heading1–3, List Paragraph, Hyperlink), `word/numbering.xml` (one bullet list, and
//! one numbering instance per numbered list so each restarts at 1) and
//! `word/_rels/document.xml.rels` (styles, numbering, one relationship per link target).

use std::collections::HashMap;

use super::model::{link_groups, Color, LineKind, Pad, Paragraph, Run, INK, LINK};
use super::package::Package;
use super::xml::XmlWriter;
use super::{ExportError, ExportOptions};

const NS_W: (&str, &str) = (
    "xmlns:w",
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
);
const NS_R: (&str, &str) = (
    "xmlns:r",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
);
const NS_RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The numbering instance of bullet lists; numbered lists get 2, 3, …
const BULLET_NUM: usize = 1;

/// Renders the pad as a DOCX package.
pub fn render(pad: &Pad, opts: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    let mut doc = Document {
        pad,
        opts,
        links: HashMap::new(),
        link_targets: Vec::new(),
        numbered_lists: 0,
    };
    let document = doc.write()?;
    let mut package = Package::new();
    package.deflated("[Content_Types].xml", &content_types()?)?;
    package.deflated("_rels/.rels", &package_rels()?)?;
    package.deflated("word/document.xml", &document)?;
    package.deflated("word/styles.xml", &styles()?)?;
    package.deflated("word/numbering.xml", &numbering(doc.numbered_lists)?)?;
    package.deflated(
        "word/_rels/document.xml.rels",
        &document_rels(&doc.link_targets)?,
    )?;
    package.finish()
}

/// `word/document.xml` being written, with the relationships and lists it needs.
struct Document<'a> {
    pad: &'a Pad,
    opts: &'a ExportOptions,
    /// Link target → relationship id; one relationship per distinct target.
    links: HashMap<&'a str, String>,
    /// The link relationships in id order.
    link_targets: Vec<(String, &'a str)>,
    /// How many numbered lists the document has (each one its own numbering instance).
    numbered_lists: usize,
}

/// Formatting of one `w:r`.
#[derive(Default)]
struct RunLook {
    hyperlink: bool,
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    shade: Option<Color>,
}

impl<'a> Document<'a> {
    fn write(&mut self) -> Result<Vec<u8>, ExportError> {
        let mut w = XmlWriter::new()?;
        w.start("w:document", &[NS_W, NS_R])?;
        w.start("w:body", &[])?;
        let pad = self.pad;
        for block in pad.blocks() {
            let num = match block[0].kind {
                LineKind::Bullet => Some(BULLET_NUM),
                LineKind::Ordered => {
                    self.numbered_lists += 1;
                    Some(BULLET_NUM + self.numbered_lists)
                }
                _ => None,
            };
            for p in block {
                self.paragraph(&mut w, p, num)?;
            }
        }
        if self.opts.authors_list && !pad.authors.is_empty() {
            self.authors(&mut w)?;
        }
        // A4 with 2.5 cm margins, in twentieths of a point.
        w.start("w:sectPr", &[])?;
        w.empty("w:pgSz", &[("w:w", "11906"), ("w:h", "16838")])?;
        w.empty(
            "w:pgMar",
            &[
                ("w:top", "1417"),
                ("w:right", "1417"),
                ("w:bottom", "1417"),
                ("w:left", "1417"),
                ("w:header", "708"),
                ("w:footer", "708"),
                ("w:gutter", "0"),
            ],
        )?;
        w.end("w:sectPr")?;
        w.end("w:body")?;
        w.end("w:document")?;
        Ok(w.finish())
    }

    fn paragraph(
        &mut self,
        w: &mut XmlWriter,
        p: &'a Paragraph,
        num: Option<usize>,
    ) -> Result<(), ExportError> {
        w.start("w:p", &[])?;
        let style = match p.kind {
            LineKind::Heading(n) => Some(format!("Heading{n}")),
            LineKind::Bullet | LineKind::Ordered => Some("ListParagraph".to_owned()),
            LineKind::Paragraph => None,
        };
        paragraph_properties(w, style.as_deref(), num)?;
        for (link, group) in link_groups(&p.runs) {
            if let Some(url) = link {
                let id = self.link_id(url);
                w.start("w:hyperlink", &[("r:id", &id), ("w:history", "1")])?;
            }
            for run in group {
                let look = self.look(run, link.is_some());
                text_run(w, &look, &run.text)?;
            }
            if link.is_some() {
                w.end("w:hyperlink")?;
            }
        }
        w.end("w:p")?;
        Ok(())
    }

    fn look(&self, run: &Run, hyperlink: bool) -> RunLook {
        RunLook {
            hyperlink,
            bold: run.bold,
            italic: run.italic,
            underline: run.underline,
            strike: run.strike,
            shade: self.pad.color(run).filter(|_| self.opts.colors),
        }
    }

    fn link_id(&mut self, url: &'a str) -> String {
        if let Some(id) = self.links.get(url) {
            return id.clone();
        }
        // rId1 and rId2 are the styles and numbering parts.
        let id = format!("rId{}", self.link_targets.len() + 3);
        self.links.insert(url, id.clone());
        self.link_targets.push((id.clone(), url));
        id
    }

    /// The closing list of authors, each name shaded with its colour.
    fn authors(&self, w: &mut XmlWriter) -> Result<(), ExportError> {
        w.empty("w:p", &[])?;
        w.start("w:p", &[])?;
        let bold = RunLook {
            bold: true,
            ..RunLook::default()
        };
        text_run(w, &bold, self.opts.language.authors_heading())?;
        w.end("w:p")?;
        for author in &self.pad.authors {
            w.start("w:p", &[])?;
            paragraph_properties(w, Some("ListParagraph"), Some(BULLET_NUM))?;
            let look = RunLook {
                shade: author.color.filter(|_| self.opts.colors),
                ..RunLook::default()
            };
            text_run(w, &look, self.opts.language.name_of(author))?;
            w.end("w:p")?;
        }
        Ok(())
    }
}

fn paragraph_properties(
    w: &mut XmlWriter,
    style: Option<&str>,
    num: Option<usize>,
) -> Result<(), ExportError> {
    if style.is_none() && num.is_none() {
        return Ok(());
    }
    w.start("w:pPr", &[])?;
    if let Some(style) = style {
        w.empty("w:pStyle", &[("w:val", style)])?;
    }
    if let Some(num) = num {
        w.start("w:numPr", &[])?;
        w.empty("w:ilvl", &[("w:val", "0")])?;
        w.empty("w:numId", &[("w:val", &num.to_string())])?;
        w.end("w:numPr")?;
    }
    w.end("w:pPr")?;
    Ok(())
}

/// One `w:r`: properties in the order the schema requires, then the text with tabs as `w:tab`.
fn text_run(w: &mut XmlWriter, look: &RunLook, text: &str) -> Result<(), ExportError> {
    w.start("w:r", &[])?;
    let has_props = look.hyperlink
        || look.bold
        || look.italic
        || look.underline
        || look.strike
        || look.shade.is_some();
    if has_props {
        w.start("w:rPr", &[])?;
        if look.hyperlink {
            w.empty("w:rStyle", &[("w:val", "Hyperlink")])?;
        }
        if look.bold {
            w.empty("w:b", &[])?;
            w.empty("w:bCs", &[])?;
        }
        if look.italic {
            w.empty("w:i", &[])?;
            w.empty("w:iCs", &[])?;
        }
        if look.strike {
            w.empty("w:strike", &[])?;
        }
        if look.underline {
            w.empty("w:u", &[("w:val", "single")])?;
        }
        if let Some(shade) = look.shade {
            w.empty(
                "w:shd",
                &[
                    ("w:val", "clear"),
                    ("w:color", "auto"),
                    // The editor's pale tint: the ink and link colours read on every one.
                    ("w:fill", &shade.tint().ooxml()),
                ],
            )?;
        }
        w.end("w:rPr")?;
    }
    for (i, piece) in text.split('\t').enumerate() {
        if i > 0 {
            w.empty("w:tab", &[])?;
        }
        if !piece.is_empty() {
            w.element("w:t", &[("xml:space", "preserve")], piece)?;
        }
    }
    w.end("w:r")?;
    Ok(())
}

fn content_types() -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start(
        "Types",
        &[(
            "xmlns",
            "http://schemas.openxmlformats.org/package/2006/content-types",
        )],
    )?;
    w.empty(
        "Default",
        &[
            ("Extension", "rels"),
            (
                "ContentType",
                "application/vnd.openxmlformats-package.relationships+xml",
            ),
        ],
    )?;
    w.empty(
        "Default",
        &[("Extension", "xml"), ("ContentType", "application/xml")],
    )?;
    for (part, kind) in [
        ("/word/document.xml", "document.main"),
        ("/word/styles.xml", "styles"),
        ("/word/numbering.xml", "numbering"),
    ] {
        let content_type =
            format!("application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}+xml");
        w.empty(
            "Override",
            &[("PartName", part), ("ContentType", &content_type)],
        )?;
    }
    w.end("Types")?;
    Ok(w.finish())
}

fn package_rels() -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start("Relationships", &[("xmlns", NS_RELS)])?;
    w.empty(
        "Relationship",
        &[
            ("Id", "rId1"),
            ("Type", &format!("{REL}/officeDocument")),
            ("Target", "word/document.xml"),
        ],
    )?;
    w.end("Relationships")?;
    Ok(w.finish())
}

fn document_rels(links: &[(String, &str)]) -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start("Relationships", &[("xmlns", NS_RELS)])?;
    for (id, kind, target) in [
        ("rId1", "styles", "styles.xml"),
        ("rId2", "numbering", "numbering.xml"),
    ] {
        w.empty(
            "Relationship",
            &[
                ("Id", id),
                ("Type", &format!("{REL}/{kind}")),
                ("Target", target),
            ],
        )?;
    }
    let hyperlink = format!("{REL}/hyperlink");
    for (id, url) in links {
        w.empty(
            "Relationship",
            &[
                ("Id", id),
                ("Type", &hyperlink),
                ("Target", url),
                ("TargetMode", "External"),
            ],
        )?;
    }
    w.end("Relationships")?;
    Ok(w.finish())
}

fn styles() -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start("w:styles", &[NS_W])?;
    w.start("w:docDefaults", &[])?;
    w.start("w:rPrDefault", &[])?;
    w.start("w:rPr", &[])?;
    w.empty("w:color", &[("w:val", &INK.ooxml())])?;
    w.empty("w:sz", &[("w:val", "22")])?;
    w.empty("w:szCs", &[("w:val", "22")])?;
    w.end("w:rPr")?;
    w.end("w:rPrDefault")?;
    w.start("w:pPrDefault", &[])?;
    w.start("w:pPr", &[])?;
    // Pad lines are lines: no space between paragraphs.
    w.empty(
        "w:spacing",
        &[("w:after", "0"), ("w:line", "276"), ("w:lineRule", "auto")],
    )?;
    w.end("w:pPr")?;
    w.end("w:pPrDefault")?;
    w.end("w:docDefaults")?;

    w.start(
        "w:style",
        &[
            ("w:type", "paragraph"),
            ("w:default", "1"),
            ("w:styleId", "Normal"),
        ],
    )?;
    w.empty("w:name", &[("w:val", "Normal")])?;
    w.empty("w:qFormat", &[])?;
    w.end("w:style")?;

    for (level, size) in [(1, "36"), (2, "30"), (3, "26")] {
        let id = format!("Heading{level}");
        let name = format!("heading {level}");
        let outline = (level - 1).to_string();
        w.start("w:style", &[("w:type", "paragraph"), ("w:styleId", &id)])?;
        w.empty("w:name", &[("w:val", &name)])?;
        w.empty("w:basedOn", &[("w:val", "Normal")])?;
        w.empty("w:next", &[("w:val", "Normal")])?;
        w.empty("w:qFormat", &[])?;
        w.start("w:pPr", &[])?;
        w.empty("w:keepNext", &[])?;
        w.empty("w:spacing", &[("w:before", "240"), ("w:after", "120")])?;
        w.empty("w:outlineLvl", &[("w:val", &outline)])?;
        w.end("w:pPr")?;
        w.start("w:rPr", &[])?;
        w.empty("w:b", &[])?;
        w.empty("w:bCs", &[])?;
        w.empty("w:sz", &[("w:val", size)])?;
        w.empty("w:szCs", &[("w:val", size)])?;
        w.end("w:rPr")?;
        w.end("w:style")?;
    }

    w.start(
        "w:style",
        &[("w:type", "paragraph"), ("w:styleId", "ListParagraph")],
    )?;
    w.empty("w:name", &[("w:val", "List Paragraph")])?;
    w.empty("w:basedOn", &[("w:val", "Normal")])?;
    w.empty("w:qFormat", &[])?;
    w.end("w:style")?;

    w.start(
        "w:style",
        &[("w:type", "character"), ("w:styleId", "Hyperlink")],
    )?;
    w.empty("w:name", &[("w:val", "Hyperlink")])?;
    w.start("w:rPr", &[])?;
    w.empty("w:color", &[("w:val", &LINK.ooxml())])?;
    w.empty("w:u", &[("w:val", "single")])?;
    w.end("w:rPr")?;
    w.end("w:style")?;

    w.end("w:styles")?;
    Ok(w.finish())
}

/// Bullets (abstract 0, instance 1) and decimals (abstract 1, one instance per numbered list,
/// each restarting at 1: Word would otherwise continue the numbering across lists).
fn numbering(numbered_lists: usize) -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start("w:numbering", &[NS_W])?;
    for (id, format, text) in [("0", "bullet", "•"), ("1", "decimal", "%1.")] {
        w.start("w:abstractNum", &[("w:abstractNumId", id)])?;
        w.empty("w:multiLevelType", &[("w:val", "singleLevel")])?;
        w.start("w:lvl", &[("w:ilvl", "0")])?;
        w.empty("w:start", &[("w:val", "1")])?;
        w.empty("w:numFmt", &[("w:val", format)])?;
        w.empty("w:lvlText", &[("w:val", text)])?;
        w.empty("w:lvlJc", &[("w:val", "left")])?;
        w.start("w:pPr", &[])?;
        // Indented as in the editor: the label 0.635 cm in, the text 1.27 cm.
        w.empty("w:ind", &[("w:left", "720"), ("w:hanging", "360")])?;
        w.end("w:pPr")?;
        w.end("w:lvl")?;
        w.end("w:abstractNum")?;
    }
    w.start("w:num", &[("w:numId", &BULLET_NUM.to_string())])?;
    w.empty("w:abstractNumId", &[("w:val", "0")])?;
    w.end("w:num")?;
    for list in 1..=numbered_lists {
        w.start("w:num", &[("w:numId", &(BULLET_NUM + list).to_string())])?;
        w.empty("w:abstractNumId", &[("w:val", "1")])?;
        w.start("w:lvlOverride", &[("w:ilvl", "0")])?;
        w.empty("w:startOverride", &[("w:val", "1")])?;
        w.end("w:lvlOverride")?;
        w.end("w:num")?;
    }
    w.end("w:numbering")?;
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    type Entries = Vec<(String, Vec<u8>, zip::CompressionMethod)>;

    fn docx(b: &PadBuilder, opts: ExportOptions) -> Entries {
        let pad = Pad::from_snapshot(&b.snapshot()).expect("decodes");
        check_package(&render(&pad, &opts).expect("renders"))
    }

    fn part(entries: &Entries, name: &str) -> String {
        let (_, data, _) = entries
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"));
        String::from_utf8(data.clone()).expect("UTF-8")
    }

    /// Every XML part well-formed, every part typed, every internal relationship resolving.
    fn check_package(bytes: &[u8]) -> Entries {
        let entries = unzip(bytes);
        assert_eq!(entries[0].0, "[Content_Types].xml");
        for (name, data, _) in &entries {
            xml_text(data);
            assert!(name.ends_with(".xml") || name.ends_with(".rels"), "{name}");
        }
        let types = part(&entries, "[Content_Types].xml");
        for main in ["document.main", "styles", "numbering"] {
            assert!(types.contains(&format!("wordprocessingml.{main}+xml")));
        }
        for (rels, base) in [
            ("_rels/.rels", ""),
            ("word/_rels/document.xml.rels", "word/"),
        ] {
            let rels = part(&entries, rels);
            for rel in rels.split("<Relationship ").skip(1) {
                if rel.contains("TargetMode=\"External\"") {
                    continue;
                }
                let target = rel
                    .split("Target=\"")
                    .nth(1)
                    .and_then(|t| t.split('"').next())
                    .expect("a target");
                let path = format!("{base}{target}");
                assert!(entries.iter().any(|(n, _, _)| *n == path), "{path} missing");
            }
        }
        let document = part(&entries, "word/document.xml");
        let rels = part(&entries, "word/_rels/document.xml.rels");
        for id in document.split("r:id=\"").skip(1) {
            let id = id.split('"').next().expect("an id");
            assert!(
                rels.contains(&format!("Id=\"{id}\"")),
                "{id} has no relationship"
            );
        }
        entries
    }

    #[test]
    fn package_is_valid_for_every_pad() {
        docx(&rich_pad(), ExportOptions::default());
        docx(&PadBuilder::new(), ExportOptions::default());
        docx(
            &rich_pad(),
            ExportOptions {
                colors: false,
                authors_list: false,
                ..ExportOptions::default()
            },
        );
    }

    #[test]
    fn document_maps_every_format() {
        let entries = docx(&rich_pad(), ExportOptions::default());
        let document = part(&entries, "word/document.xml");
        let text = xml_text(document.as_bytes());
        let alice = "<w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"FFE1A6\"/>";
        for expected in [
            "<w:pStyle w:val=\"Heading1\"/></w:pPr><w:r><w:rPr>".to_owned(),
            "<w:pStyle w:val=\"Heading2\"/>".to_owned(),
            "<w:pStyle w:val=\"Heading3\"/>".to_owned(),
            format!("<w:r><w:rPr><w:b/><w:bCs/>{alice}</w:rPr><w:t xml:space=\"preserve\">bold</w:t></w:r>"),
            format!("<w:r><w:rPr><w:i/><w:iCs/>{alice}</w:rPr><w:t xml:space=\"preserve\">italic</w:t></w:r>"),
            format!("<w:r><w:rPr><w:u w:val=\"single\"/>{alice}</w:rPr><w:t xml:space=\"preserve\">underlined</w:t></w:r>"),
            format!("<w:r><w:rPr><w:strike/>{alice}</w:rPr><w:t xml:space=\"preserve\">struck</w:t></w:r>"),
            format!("<w:b/><w:bCs/><w:i/><w:iCs/><w:strike/><w:u w:val=\"single\"/>{alice}</w:rPr><w:t xml:space=\"preserve\">all four</w:t>"),
            "<w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"A6A6D3\"/></w:rPr><w:t xml:space=\"preserve\">Bob adds this</w:t>".to_owned(),
            "<w:hyperlink r:id=\"rId3\" w:history=\"1\"><w:r><w:rPr><w:rStyle w:val=\"Hyperlink\"/>".to_owned(),
            "<w:hyperlink r:id=\"rId4\"".to_owned(),
            "<w:t xml:space=\"preserve\">spaces:  two,   three, </w:t><w:tab/><w:t xml:space=\"preserve\">tab</w:t><w:tab/><w:t xml:space=\"preserve\">and</w:t><w:tab/><w:tab/><w:t xml:space=\"preserve\">two tabs  </w:t>".to_owned(),
            "<w:t xml:space=\"preserve\">  leading spaces</w:t>".to_owned(),
            "<w:numId w:val=\"1\"/>".to_owned(),
            "<w:numId w:val=\"2\"/>".to_owned(),
            "<w:numId w:val=\"3\"/>".to_owned(),
            "&lt;script&gt;alert(1)&lt;/script&gt;".to_owned(),
            "<w:p></w:p>".to_owned(),
        ] {
            assert!(document.contains(&expected), "missing {expected:?} in\n{document}");
        }
        for typed in [
            "Main <title> & more",
            "👩‍👩‍👧‍👦 漢字 עברית e\u{301}",
            "ctrl:end",
            "Alice <script>",
            "Bob & Co",
        ] {
            assert!(text.contains(typed), "{typed}");
        }
        assert!(!document.contains("javascript"));
        let rels = part(&entries, "word/_rels/document.xml.rels");
        assert!(rels.contains("Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" Target=\"https://example.org/?a=1&amp;b=2\" TargetMode=\"External\""));
        assert!(rels.contains("Target=\"mailto:pad@example.org\""));
        assert!(!rels.contains("javascript"));
        let numbering = part(&entries, "word/numbering.xml");
        assert_eq!(numbering.matches("<w:num w:numId=").count(), 3);
        assert_eq!(
            numbering.matches("<w:startOverride w:val=\"1\"/>").count(),
            2
        );
        let styles = part(&entries, "word/styles.xml");
        for level in 1..=3 {
            assert!(styles.contains(&format!("w:styleId=\"Heading{level}\"")));
        }
    }

    #[test]
    fn one_relationship_per_link_target() {
        let b = PadBuilder::new();
        for _ in 0..3 {
            b.alice_attrs("same", &[("link", "https://example.org/".into())])
                .alice(" gap ");
        }
        b.alice("\n");
        let entries = docx(&b, ExportOptions::default());
        let rels = part(&entries, "word/_rels/document.xml.rels");
        assert_eq!(rels.matches("/hyperlink\"").count(), 1);
        let document = part(&entries, "word/document.xml");
        assert_eq!(document.matches("<w:hyperlink r:id=\"rId3\"").count(), 3);
    }

    #[test]
    fn no_colours_means_no_shading() {
        let entries = docx(
            &rich_pad(),
            ExportOptions {
                colors: false,
                authors_list: true,
                ..ExportOptions::default()
            },
        );
        let document = part(&entries, "word/document.xml");
        assert!(!document.contains("w:shd"));
        assert!(document.contains("Bob &amp; Co"));
    }
}
