//! ODT: an OpenDocument Text 1.3 package, written by hand (no maintained crate writes ODF).
//!
//! The package is `mimetype` (first, stored, so tools can sniff it at a fixed offset), then
//! `content.xml`, `styles.xml`, `meta.xml` and `META-INF/manifest.xml` listing them. Headings
//! use the `Heading_20_n` styles of `styles.xml`; every combination of bold, italic, underline,
//! strike and author colour that the pad uses becomes one automatic text style `Tn`.

use std::collections::HashMap;

use super::model::{link_groups, Color, LineKind, Pad, Paragraph, Run, INK, LINK};
use super::package::Package;
use super::xml::XmlWriter;
use super::{ExportError, ExportOptions};

/// The package's media type, also the content of `mimetype`.
const MIMETYPE: &str = "application/vnd.oasis.opendocument.text";
/// The ODF version written.
const VERSION: &str = "1.3";
/// The XML parts, all listed in the manifest.
const PARTS: [&str; 3] = ["content.xml", "styles.xml", "meta.xml"];

const NS_OFFICE: (&str, &str) = (
    "xmlns:office",
    "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
);
const NS_STYLE: (&str, &str) = (
    "xmlns:style",
    "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
);
const NS_TEXT: (&str, &str) = (
    "xmlns:text",
    "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
);
const NS_FO: (&str, &str) = (
    "xmlns:fo",
    "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
);
const NS_XLINK: (&str, &str) = ("xmlns:xlink", "http://www.w3.org/1999/xlink");
const NS_DC: (&str, &str) = ("xmlns:dc", "http://purl.org/dc/elements/1.1/");
const NS_META: (&str, &str) = (
    "xmlns:meta",
    "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
);

/// Automatic list styles: bullets and decimal numbers.
const BULLET_LIST: &str = "L1";
const NUMBER_LIST: &str = "L2";

/// Renders the pad as an ODT package.
pub fn render(pad: &Pad, opts: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    let styles = TextStyles::collect(pad, opts);
    let mut package = Package::new();
    package.stored("mimetype", MIMETYPE.as_bytes())?;
    package.deflated(PARTS[0], &content(pad, opts, &styles)?)?;
    package.deflated(PARTS[1], &styles_xml()?)?;
    package.deflated(PARTS[2], &meta(pad)?)?;
    package.deflated("META-INF/manifest.xml", &manifest()?)?;
    package.finish()
}

/// How a run looks, as far as its automatic style goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Look {
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    shade: Option<Color>,
}

impl Look {
    fn of(run: &Run, pad: &Pad, opts: &ExportOptions) -> Look {
        Look {
            bold: run.bold,
            italic: run.italic,
            underline: run.underline,
            strike: run.strike,
            shade: pad.color(run).filter(|_| opts.colors),
        }
    }
}

/// The automatic text styles, `T1`, `T2`, … in order of first use. There are at most 16 per
/// author colour, so the table stays small whatever the pad's size.
struct TextStyles {
    looks: Vec<Look>,
    index: HashMap<Look, usize>,
}

impl TextStyles {
    fn collect(pad: &Pad, opts: &ExportOptions) -> Self {
        let mut styles = TextStyles {
            looks: Vec::new(),
            index: HashMap::new(),
        };
        for run in pad.paragraphs.iter().flat_map(|p| &p.runs) {
            styles.add(Look::of(run, pad, opts));
        }
        if opts.authors_list {
            styles.add(Look {
                bold: true,
                ..Look::default()
            });
            for author in &pad.authors {
                styles.add(Look {
                    shade: author.color.filter(|_| opts.colors),
                    ..Look::default()
                });
            }
        }
        styles
    }

    fn add(&mut self, look: Look) {
        if look != Look::default() && !self.index.contains_key(&look) {
            self.index.insert(look, self.looks.len());
            self.looks.push(look);
        }
    }

    /// The style name for a look; `None` for plain text, which needs no span.
    fn name(&self, look: &Look) -> Option<String> {
        self.index.get(look).map(|i| format!("T{}", i + 1))
    }

    fn write(&self, w: &mut XmlWriter) -> Result<(), ExportError> {
        for (i, look) in self.looks.iter().enumerate() {
            let name = format!("T{}", i + 1);
            w.start(
                "style:style",
                &[("style:name", &name), ("style:family", "text")],
            )?;
            let mut props: Vec<(&str, String)> = Vec::new();
            if look.bold {
                for key in [
                    "fo:font-weight",
                    "style:font-weight-asian",
                    "style:font-weight-complex",
                ] {
                    props.push((key, "bold".into()));
                }
            }
            if look.italic {
                for key in [
                    "fo:font-style",
                    "style:font-style-asian",
                    "style:font-style-complex",
                ] {
                    props.push((key, "italic".into()));
                }
            }
            if look.underline {
                props.push(("style:text-underline-style", "solid".into()));
                props.push(("style:text-underline-width", "auto".into()));
                props.push(("style:text-underline-color", "font-color".into()));
            }
            if look.strike {
                props.push(("style:text-line-through-style", "solid".into()));
                props.push(("style:text-line-through-type", "single".into()));
            }
            if let Some(color) = look.shade {
                // The editor's pale tint: the ink and link colours read on every one.
                props.push(("fo:background-color", color.tint().hex()));
            }
            let attrs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.empty("style:text-properties", &attrs)?;
            w.end("style:style")?;
        }
        Ok(())
    }
}

fn content(pad: &Pad, opts: &ExportOptions, styles: &TextStyles) -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start(
        "office:document-content",
        &[
            NS_OFFICE,
            NS_STYLE,
            NS_TEXT,
            NS_FO,
            NS_XLINK,
            ("office:version", VERSION),
        ],
    )?;
    w.start("office:automatic-styles", &[])?;
    list_style(&mut w, BULLET_LIST, false)?;
    list_style(&mut w, NUMBER_LIST, true)?;
    styles.write(&mut w)?;
    w.end("office:automatic-styles")?;
    w.start("office:body", &[])?;
    w.start("office:text", &[])?;
    for block in pad.blocks() {
        match block[0].kind {
            LineKind::Bullet | LineKind::Ordered => {
                let style = if block[0].kind == LineKind::Bullet {
                    BULLET_LIST
                } else {
                    NUMBER_LIST
                };
                // A new text:list restarts its numbering, as a new list does in the pad.
                w.start("text:list", &[("text:style-name", style)])?;
                for item in block {
                    w.start("text:list-item", &[])?;
                    paragraph(&mut w, item, pad, opts, styles)?;
                    w.end("text:list-item")?;
                }
                w.end("text:list")?;
            }
            _ => paragraph(&mut w, &block[0], pad, opts, styles)?,
        }
    }
    if pad.paragraphs.is_empty() {
        w.empty("text:p", &[("text:style-name", "Standard")])?;
    }
    if opts.authors_list && !pad.authors.is_empty() {
        authors(&mut w, pad, opts, styles)?;
    }
    w.end("office:text")?;
    w.end("office:body")?;
    w.end("office:document-content")?;
    Ok(w.finish())
}

fn list_style(w: &mut XmlWriter, name: &str, numbered: bool) -> Result<(), ExportError> {
    w.start("text:list-style", &[("style:name", name)])?;
    let level = if numbered {
        "text:list-level-style-number"
    } else {
        "text:list-level-style-bullet"
    };
    if numbered {
        w.start(
            level,
            &[
                ("text:level", "1"),
                ("style:num-suffix", "."),
                ("style:num-format", "1"),
            ],
        )?;
    } else {
        w.start(level, &[("text:level", "1"), ("text:bullet-char", "•")])?;
    }
    w.start(
        "style:list-level-properties",
        &[("text:list-level-position-and-space-mode", "label-alignment")],
    )?;
    w.empty(
        "style:list-level-label-alignment",
        &[
            ("text:label-followed-by", "listtab"),
            // Indented as in the editor: the label sits 0.635 cm in, the text 1.27 cm.
            ("text:list-tab-stop-position", "1.27cm"),
            ("fo:text-indent", "-0.635cm"),
            ("fo:margin-left", "1.27cm"),
        ],
    )?;
    w.end("style:list-level-properties")?;
    w.end(level)?;
    w.end("text:list-style")?;
    Ok(())
}

fn paragraph(
    w: &mut XmlWriter,
    p: &Paragraph,
    pad: &Pad,
    opts: &ExportOptions,
    styles: &TextStyles,
) -> Result<(), ExportError> {
    let (tag, level) = match p.kind {
        LineKind::Heading(n) => ("text:h", Some(n.to_string())),
        _ => ("text:p", None),
    };
    let style = level
        .as_ref()
        .map_or_else(|| "Standard".to_owned(), |n| format!("Heading_20_{n}"));
    let mut attrs = vec![("text:style-name", style.as_str())];
    if let Some(n) = &level {
        attrs.push(("text:outline-level", n));
    }
    w.start(tag, &attrs)?;
    // Leading spaces of a paragraph would be dropped by a reader: start as if after a space.
    let mut after_space = true;
    for (link, group) in link_groups(&p.runs) {
        if let Some(url) = link {
            w.start(
                "text:a",
                &[
                    ("xlink:type", "simple"),
                    ("xlink:href", url),
                    ("text:style-name", "Internet_20_link"),
                    ("text:visited-style-name", "Visited_20_Internet_20_Link"),
                ],
            )?;
        }
        for run in group {
            let style = styles.name(&Look::of(run, pad, opts));
            if let Some(style) = &style {
                w.start("text:span", &[("text:style-name", style)])?;
            }
            spaced(w, &run.text, &mut after_space)?;
            if style.is_some() {
                w.end("text:span")?;
            }
        }
        if link.is_some() {
            w.end("text:a")?;
        }
    }
    w.end(tag)?;
    Ok(())
}

/// Writes text the way ODF keeps whitespace: readers collapse runs of spaces and drop leading
/// ones, so every space but a single one between two other characters becomes `<text:s/>`, and
/// tabs become `<text:tab/>`.
fn spaced(w: &mut XmlWriter, text: &str, after_space: &mut bool) -> Result<(), ExportError> {
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {
                let mut count = 1;
                while chars.next_if_eq(&' ').is_some() {
                    count += 1;
                }
                let followed = chars.peek().is_some_and(|&n| n != '\t');
                if !*after_space && followed {
                    plain.push(' ');
                    count -= 1;
                }
                if count > 0 {
                    w.text(&plain)?;
                    plain.clear();
                    if count == 1 {
                        w.empty("text:s", &[])?;
                    } else {
                        w.empty("text:s", &[("text:c", &count.to_string())])?;
                    }
                }
                *after_space = true;
            }
            '\t' => {
                w.text(&plain)?;
                plain.clear();
                w.empty("text:tab", &[])?;
                *after_space = true;
            }
            _ => {
                plain.push(c);
                *after_space = false;
            }
        }
    }
    w.text(&plain)?;
    Ok(())
}

/// The closing list of authors, each name shaded with its colour.
fn authors(
    w: &mut XmlWriter,
    pad: &Pad,
    opts: &ExportOptions,
    styles: &TextStyles,
) -> Result<(), ExportError> {
    w.empty("text:p", &[("text:style-name", "Standard")])?;
    w.start("text:p", &[("text:style-name", "Standard")])?;
    let bold = styles.name(&Look {
        bold: true,
        ..Look::default()
    });
    let heading = opts.language.authors_heading();
    match bold {
        Some(style) => w.element("text:span", &[("text:style-name", &style)], heading)?,
        None => w.text(heading)?,
    }
    w.end("text:p")?;
    w.start("text:list", &[("text:style-name", BULLET_LIST)])?;
    for author in &pad.authors {
        w.start("text:list-item", &[])?;
        w.start("text:p", &[("text:style-name", "Standard")])?;
        let look = Look {
            shade: author.color.filter(|_| opts.colors),
            ..Look::default()
        };
        let mut after_space = true;
        match styles.name(&look) {
            Some(style) => {
                w.start("text:span", &[("text:style-name", &style)])?;
                spaced(w, opts.language.name_of(author), &mut after_space)?;
                w.end("text:span")?;
            }
            None => spaced(w, opts.language.name_of(author), &mut after_space)?,
        }
        w.end("text:p")?;
        w.end("text:list-item")?;
    }
    w.end("text:list")?;
    Ok(())
}

fn styles_xml() -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start(
        "office:document-styles",
        &[
            NS_OFFICE,
            NS_STYLE,
            NS_TEXT,
            NS_FO,
            ("office:version", VERSION),
        ],
    )?;
    w.start("office:styles", &[])?;
    w.start("style:default-style", &[("style:family", "paragraph")])?;
    let ink = INK.hex();
    w.empty(
        "style:text-properties",
        &[
            ("fo:color", &ink),
            ("fo:font-size", "11pt"),
            ("style:font-size-asian", "11pt"),
            ("style:font-size-complex", "11pt"),
        ],
    )?;
    w.end("style:default-style")?;
    w.empty(
        "style:style",
        &[
            ("style:name", "Standard"),
            ("style:family", "paragraph"),
            ("style:class", "text"),
        ],
    )?;
    // Each heading style is complete in itself: LibreOffice drops `style:parent-style-name`
    // towards its built-in "Heading" on import, and the headings would lose their bold.
    for (level, size) in [("1", "18pt"), ("2", "15pt"), ("3", "13pt")] {
        let name = format!("Heading_20_{level}");
        let display = format!("Heading {level}");
        w.start(
            "style:style",
            &[
                ("style:name", &name),
                ("style:display-name", &display),
                ("style:family", "paragraph"),
                ("style:next-style-name", "Standard"),
                ("style:default-outline-level", level),
                ("style:class", "text"),
            ],
        )?;
        w.empty(
            "style:paragraph-properties",
            &[
                ("fo:margin-top", "0.42cm"),
                ("fo:margin-bottom", "0.21cm"),
                ("fo:keep-with-next", "always"),
            ],
        )?;
        w.empty(
            "style:text-properties",
            &[
                ("fo:font-size", size),
                ("style:font-size-asian", size),
                ("style:font-size-complex", size),
                ("fo:font-weight", "bold"),
                ("style:font-weight-asian", "bold"),
                ("style:font-weight-complex", "bold"),
            ],
        )?;
        w.end("style:style")?;
    }
    // One link colour, visited or not: it reads on white and on every author's tint.
    let link = LINK.hex();
    for (name, display) in [
        ("Internet_20_link", "Internet link"),
        ("Visited_20_Internet_20_Link", "Visited Internet Link"),
    ] {
        w.start(
            "style:style",
            &[
                ("style:name", name),
                ("style:display-name", display),
                ("style:family", "text"),
            ],
        )?;
        w.empty(
            "style:text-properties",
            &[
                ("fo:color", &link),
                ("style:text-underline-style", "solid"),
                ("style:text-underline-width", "auto"),
                ("style:text-underline-color", "font-color"),
            ],
        )?;
        w.end("style:style")?;
    }
    w.end("office:styles")?;
    w.end("office:document-styles")?;
    Ok(w.finish())
}

fn meta(pad: &Pad) -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start(
        "office:document-meta",
        &[NS_OFFICE, NS_META, NS_DC, ("office:version", VERSION)],
    )?;
    w.start("office:meta", &[])?;
    w.element("meta:generator", &[], "ardoise")?;
    w.element("dc:title", &[], &pad.title())?;
    w.end("office:meta")?;
    w.end("office:document-meta")?;
    Ok(w.finish())
}

fn manifest() -> Result<Vec<u8>, ExportError> {
    let mut w = XmlWriter::new()?;
    w.start(
        "manifest:manifest",
        &[
            (
                "xmlns:manifest",
                "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
            ),
            ("manifest:version", VERSION),
        ],
    )?;
    w.empty(
        "manifest:file-entry",
        &[
            ("manifest:full-path", "/"),
            ("manifest:version", VERSION),
            ("manifest:media-type", MIMETYPE),
        ],
    )?;
    for part in PARTS {
        w.empty(
            "manifest:file-entry",
            &[
                ("manifest:full-path", part),
                ("manifest:media-type", "text/xml"),
            ],
        )?;
    }
    w.end("manifest:manifest")?;
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn odt(b: &PadBuilder, opts: ExportOptions) -> Vec<u8> {
        let pad = Pad::from_snapshot(&b.snapshot()).expect("decodes");
        render(&pad, &opts).expect("renders")
    }

    fn part(entries: &[(String, Vec<u8>, zip::CompressionMethod)], name: &str) -> String {
        let (_, data, _) = entries
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"));
        String::from_utf8(data.clone()).expect("UTF-8")
    }

    /// Checks the package layout ODF requires and that every XML part is well-formed.
    fn check_package(bytes: &[u8]) -> Vec<(String, Vec<u8>, zip::CompressionMethod)> {
        // The magic that sniffers read: the first local header names `mimetype`, has no extra
        // field, and its stored content follows at offset 38.
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 0, "stored");
        assert_eq!(u16::from_le_bytes([bytes[26], bytes[27]]), 8, "name length");
        assert_eq!(
            u16::from_le_bytes([bytes[28], bytes[29]]),
            0,
            "no extra field"
        );
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..38 + MIMETYPE.len()], MIMETYPE.as_bytes());

        let entries = unzip(bytes);
        let (name, data, method) = &entries[0];
        assert_eq!(name, "mimetype");
        assert_eq!(data, MIMETYPE.as_bytes());
        assert_eq!(*method, zip::CompressionMethod::Stored);

        let manifest = part(&entries, "META-INF/manifest.xml");
        xml_text(manifest.as_bytes());
        assert!(manifest.contains(&format!(
            "<manifest:file-entry manifest:full-path=\"/\" manifest:version=\"1.3\" \
             manifest:media-type=\"{MIMETYPE}\"/>"
        )));
        for (name, data, _) in &entries[1..] {
            if name != "META-INF/manifest.xml" {
                assert!(
                    manifest.contains(&format!("manifest:full-path=\"{name}\"")),
                    "{name} not in the manifest"
                );
            }
            assert!(name.ends_with(".xml"));
            xml_text(data);
        }
        for part in PARTS {
            assert!(entries.iter().any(|(n, _, _)| n == part), "{part} missing");
        }
        entries
    }

    #[test]
    fn package_is_valid_for_every_pad() {
        check_package(&odt(&rich_pad(), ExportOptions::default()));
        check_package(&odt(&PadBuilder::new(), ExportOptions::default()));
        check_package(&odt(
            &rich_pad(),
            ExportOptions {
                colors: false,
                authors_list: false,
                ..ExportOptions::default()
            },
        ));
    }

    #[test]
    fn content_maps_every_format() {
        let entries = check_package(&odt(&rich_pad(), ExportOptions::default()));
        let content = part(&entries, "content.xml");
        let text = xml_text(content.as_bytes());
        for expected in [
            "<text:h text:style-name=\"Heading_20_1\" text:outline-level=\"1\">",
            "<text:h text:style-name=\"Heading_20_2\" text:outline-level=\"2\">",
            "<text:h text:style-name=\"Heading_20_3\" text:outline-level=\"3\">",
            "<text:list text:style-name=\"L1\"><text:list-item><text:p text:style-name=\"Standard\">",
            "<text:list text:style-name=\"L2\">",
            "<text:list-level-style-number text:level=\"1\" style:num-suffix=\".\" style:num-format=\"1\">",
            "<text:a xlink:type=\"simple\" xlink:href=\"https://example.org/?a=1&amp;b=2\"",
            "xlink:href=\"mailto:pad@example.org\"",
            "Main &lt;title&gt; &amp; more",
            "spaces: <text:s/>two, <text:s text:c=\"2\"/>three,<text:s/><text:tab/>tab<text:tab/>and<text:tab/><text:tab/>two tabs<text:s text:c=\"2\"/>",
            "<text:s text:c=\"2\"/>leading spaces",
            "fo:background-color=\"#ffe1a6\"",
            "fo:background-color=\"#a6a6d3\"",
            "fo:font-weight=\"bold\"",
            "fo:font-style=\"italic\"",
            "style:text-underline-style=\"solid\"",
            "style:text-line-through-style=\"solid\"",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "Alice &lt;script&gt;",
        ] {
            assert!(content.contains(expected), "missing {expected:?} in\n{content}");
        }
        assert!(!content.contains("javascript"));
        for typed in [
            "Bob adds this",
            "👩‍👩‍👧‍👦 漢字 עברית e\u{301}",
            "ctrl:end",
            "restarted number",
        ] {
            assert!(text.contains(typed), "{typed}");
        }
        // The shaded, bold run: one automatic style combining both.
        let bold_style = content
            .split("<style:style style:name=\"")
            .find(|s| {
                s.contains("fo:font-weight=\"bold\" ")
                    && s.contains("#ffe1a6")
                    && !s.contains("italic")
            })
            .and_then(|s| s.split('"').next())
            .expect("a bold + Alice style")
            .to_owned();
        assert!(content.contains(&format!(
            "<text:span text:style-name=\"{bold_style}\">bold</text:span>"
        )));
    }

    #[test]
    fn no_colours_means_no_shading() {
        let entries = check_package(&odt(
            &rich_pad(),
            ExportOptions {
                colors: false,
                authors_list: true,
                ..ExportOptions::default()
            },
        ));
        let content = part(&entries, "content.xml");
        assert!(!content.contains("background-color"));
        assert!(content.contains("Bob &amp; Co"));
    }

    #[test]
    fn styles_and_meta() {
        let entries = check_package(&odt(&rich_pad(), ExportOptions::default()));
        let styles = part(&entries, "styles.xml");
        for level in 1..=3 {
            assert!(styles.contains(&format!(
                "style:name=\"Heading_20_{level}\" style:display-name=\"Heading {level}\""
            )));
        }
        assert!(styles.contains("style:name=\"Standard\""));
        let meta = part(&entries, "meta.xml");
        assert!(meta.contains("<dc:title>Main &lt;title&gt; &amp; more</dc:title>"));
    }

    #[test]
    fn whitespace_encoding() {
        let cases = [
            ("a b", "a b"),
            ("a  b", "a <text:s/>b"),
            (" a", "<text:s/>a"),
            ("a ", "a<text:s/>"),
            ("a\tb", "a<text:tab/>b"),
            ("a \tb", "a<text:s/><text:tab/>b"),
            ("a\t b", "a<text:tab/><text:s/>b"),
            ("     ", "<text:s text:c=\"5\"/>"),
        ];
        for (input, expected) in cases {
            let mut w = XmlWriter::new().expect("writer");
            let mut after_space = true;
            spaced(&mut w, input, &mut after_space).expect("writes");
            let out = String::from_utf8(w.finish()).expect("UTF-8");
            assert!(
                out.ends_with(&format!("?>{expected}")),
                "{input:?} gave {out}"
            );
        }
    }
}
