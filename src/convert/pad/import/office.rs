//! What the ODT and DOCX readers share: the package opened with bounds (entries, unzipped
//! bytes of the parts read), its XML parts streamed through `convert::calc::xmlscan` (quick-xml,
//! no tree, no recursion, depth and element bounds) with DTDs refused, and formatting
//! properties resolved through chains of named styles.
//!
//! Only the XML parts a reader needs are inflated, so pictures in a document cost nothing
//! against [`MAX_UNZIPPED_BYTES`]: that cap (32 MiB, the calc imports' own) is the memory
//! budget of one import's XML, and the element budget (`xmlscan::MAX_XML_ELEMENTS`) the work.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::events::BytesStart;
use zip::ZipArchive;

use super::{ImportError, Inline};
use crate::convert::calc::xmlscan::{self, ElementBudget, Visitor};
use crate::convert::calc::{CalcIoError, MAX_UNZIPPED_BYTES};

/// Most entries a package may list.
pub const MAX_ENTRIES: usize = 10_000;

/// Longest chain of styles based on one another that is followed.
pub const MAX_STYLE_CHAIN: usize = 32;

/// An opened ODT or DOCX package.
pub struct Package<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    kind: &'static str,
    /// Unzipped bytes the parts still to be read may take.
    budget: u64,
    /// Elements the parts still to be read may hold.
    pub elements: ElementBudget,
}

impl<'a> Package<'a> {
    /// Opens `bytes` as a ZIP package of the named kind (`"ODT"`, `"DOCX"`).
    pub fn open(bytes: &'a [u8], kind: &'static str) -> Result<Self, ImportError> {
        let archive = ZipArchive::new(Cursor::new(bytes))
            .map_err(|_| ImportError::Invalid(format!("the file is not a valid {kind} package")))?;
        if archive.len() > MAX_ENTRIES {
            return Err(ImportError::TooLarge(format!(
                "the {kind} package holds more than {MAX_ENTRIES} files"
            )));
        }
        Ok(Package {
            archive,
            kind,
            budget: MAX_UNZIPPED_BYTES,
            elements: ElementBudget::default(),
        })
    }

    /// The inflated bytes of the entry `name`, `None` when the package has none; inflating
    /// stops at the budget.
    pub fn part(&mut self, name: &str) -> Result<Option<Vec<u8>>, ImportError> {
        let kind = self.kind;
        let invalid = || ImportError::Invalid(format!("{name} in the {kind} package is damaged"));
        let entry = match self.archive.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(_) => return Err(invalid()),
        };
        let mut data = Vec::new();
        let read = entry
            .take(self.budget + 1)
            .read_to_end(&mut data)
            .map_err(|_| invalid())?;
        if read as u64 > self.budget {
            return Err(ImportError::TooLarge(format!(
                "the {kind} file expands to more than {} MiB of text",
                MAX_UNZIPPED_BYTES / (1024 * 1024)
            )));
        }
        self.budget -= read as u64;
        Ok(Some(data))
    }

    /// The entry `name`, which the format requires.
    pub fn required(&mut self, name: &str) -> Result<Vec<u8>, ImportError> {
        let kind = self.kind;
        self.part(name)?.ok_or_else(|| {
            ImportError::Invalid(format!("the file is not a {kind} document (no {name})"))
        })
    }
}

/// What a reader does with a part's elements, by qualified name (`text:p`, `w:r`: both
/// formats' producers use these conventional prefixes).
pub trait Handler {
    /// An element opens (an empty one is then closed at once).
    fn start(&mut self, name: &str, element: &BytesStart<'_>) -> Result<(), ImportError>;
    /// An element closes.
    fn end(&mut self, name: &str) -> Result<(), ImportError>;
    /// Character data of the innermost open element, entities resolved.
    fn text(&mut self, text: &str) -> Result<(), ImportError>;
}

/// Streams the XML part `part` to `handler` within the package's element budget. A part
/// that declares entities (a DTD with `<!ENTITY`) is refused before it is read: nothing here
/// processes DTDs, and none of these formats has one.
pub fn read_xml(
    part: &str,
    xml: &[u8],
    elements: &mut ElementBudget,
    handler: &mut impl Handler,
) -> Result<(), ImportError> {
    if contains(xml, b"<!ENTITY") || contains(xml, b"<!DOCTYPE") {
        return Err(ImportError::Invalid(format!(
            "{part} has a document type declaration, which is refused"
        )));
    }
    let mut adapter = Adapter {
        handler,
        open: Vec::new(),
        error: None,
    };
    let result = xmlscan::scan(part, xml, elements, &mut adapter);
    if let Some(e) = adapter.error {
        return Err(e);
    }
    result.map_err(|e| match e {
        CalcIoError::TooLarge(m) => ImportError::TooLarge(m),
        CalcIoError::Invalid(m) | CalcIoError::Engine(m) => ImportError::Invalid(m),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Turns the scan's visits into a handler's calls, keeping the handler's own error.
struct Adapter<'h, H> {
    handler: &'h mut H,
    /// Qualified names of the open elements (the scan bounds their depth and checks that ends
    /// match starts; it hands ends only the local name).
    open: Vec<String>,
    error: Option<ImportError>,
}

impl<H> Adapter<'_, H> {
    fn keep(&mut self, result: Result<(), ImportError>) -> Result<(), CalcIoError> {
        if self.error.is_some() {
            return Err(CalcIoError::Invalid(String::new()));
        }
        result.map_err(|e| {
            self.error = Some(e);
            CalcIoError::Invalid(String::new())
        })
    }
}

impl<H: Handler> Visitor for Adapter<'_, H> {
    fn start(&mut self, element: &BytesStart<'_>, _empty: bool) -> Result<(), CalcIoError> {
        let name = element.name().into_inner().to_owned();
        let result = self.handler.start(&name, element);
        self.open.push(name);
        self.keep(result)
    }

    fn end(&mut self, _local: &str) -> Result<(), CalcIoError> {
        let name = self.open.pop().unwrap_or_default();
        let result = self.handler.end(&name);
        self.keep(result)
    }

    fn text(&mut self, text: &str) {
        if self.error.is_none() {
            if let Err(e) = self.handler.text(text) {
                self.error = Some(e);
            }
        }
    }
}

/// The value of an attribute by local name (any prefix).
pub fn attribute(element: &BytesStart<'_>, local: &str) -> Option<String> {
    xmlscan::attribute(element, local)
}

/// Formatting a style sets (`None`: inherited from its parent).
#[derive(Debug, Clone, Default)]
pub struct Props {
    /// Bold.
    pub bold: Option<bool>,
    /// Italic.
    pub italic: Option<bool>,
    /// Underlined.
    pub underline: Option<bool>,
    /// Struck through.
    pub strike: Option<bool>,
}

impl Props {
    /// `look` with these properties applied over it.
    pub fn apply(&self, look: &mut Inline) {
        for (on, field) in [
            (self.bold, &mut look.bold),
            (self.italic, &mut look.italic),
            (self.underline, &mut look.underline),
            (self.strike, &mut look.strike),
        ] {
            if let Some(on) = on {
                *field = on;
            }
        }
    }

    /// These properties, with the ones they leave unset taken from `base`.
    fn or(&self, base: &Props) -> Props {
        Props {
            bold: self.bold.or(base.bold),
            italic: self.italic.or(base.italic),
            underline: self.underline.or(base.underline),
            strike: self.strike.or(base.strike),
        }
    }
}

/// A named style: its parent and what it sets itself.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// The style it is based on.
    pub parent: Option<String>,
    /// Formatting it sets.
    pub props: Props,
    /// A heading level it makes its paragraphs.
    pub heading: Option<u8>,
    /// A list (style name or numbering id) it puts its paragraphs in.
    pub list: Option<String>,
}

/// Styles by name, resolved through their parents iteratively, at most [`MAX_STYLE_CHAIN`]
/// deep (a loop ends there too).
#[derive(Debug, Default)]
pub struct Styles(pub HashMap<String, Style>);

impl Styles {
    /// The chain of `name` and its parents, nearest first.
    fn chain<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s Style> + 's {
        let mut next = self.0.get(name);
        std::iter::from_fn(move || {
            let style = next?;
            next = style.parent.as_deref().and_then(|p| self.0.get(p));
            Some(style)
        })
        .take(MAX_STYLE_CHAIN)
    }

    /// The formatting `name` sets, its parents' included.
    pub fn props(&self, name: &str) -> Props {
        self.chain(name)
            .fold(Props::default(), |acc, s| acc.or(&s.props))
    }

    /// The heading level of `name` or its nearest parent that has one.
    pub fn heading(&self, name: &str) -> Option<u8> {
        self.chain(name).find_map(|s| s.heading)
    }

    /// The list of `name` or its nearest parent that has one.
    pub fn list(&self, name: &str) -> Option<&str> {
        self.chain(name).find_map(|s| s.list.as_deref())
    }
}

/// A heading level from a style's name or id: "heading 1", `Heading1`, `Heading_20_1` (ODF's
/// encoded space), any case, levels 1 to 9; "Title" is 1.
pub fn heading_of_name(name: &str) -> Option<u8> {
    let name = name.trim().to_ascii_lowercase().replace("_20_", " ");
    if name == "title" {
        return Some(1);
    }
    let level = name.strip_prefix("heading")?.trim().parse::<u8>().ok()?;
    (1..=9).contains(&level).then_some(level)
}

/// A value that switches a property: absent, `true`, `1`, `on` are on; `false`, `0`, `off`,
/// `none` are off.
pub fn switch(value: Option<&str>) -> bool {
    !matches!(value, Some("false" | "0" | "off" | "none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_chains_end_even_in_a_loop() {
        let mut styles = Styles::default();
        for (name, parent) in [("a", "b"), ("b", "a")] {
            styles.0.insert(
                name.into(),
                Style {
                    parent: Some(parent.into()),
                    ..Style::default()
                },
            );
        }
        styles.0.get_mut("b").unwrap().props.bold = Some(true);
        assert_eq!(styles.props("a").bold, Some(true));
        assert_eq!(styles.heading("a"), None);
    }
}

/// Packages for tests: entries written with deflate.
#[cfg(test)]
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflate = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in entries {
        zip.start_file(*name, deflate).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[cfg(test)]
mod hostile {
    use super::super::{import_pad, ImportFormat};
    use super::*;

    const DTD: &[u8] = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY lol \"lol\">\
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><x>&lol2;</x>";

    #[test]
    fn bombs_entities_and_broken_packages_are_refused() {
        let big = vec![b' '; (MAX_UNZIPPED_BYTES + 1) as usize];
        for (format, part) in [
            (ImportFormat::Odt, "content.xml"),
            (ImportFormat::Docx, "word/document.xml"),
        ] {
            let bomb = zip(&[(part, &big)]);
            assert!(bomb.len() < 1 << 20, "small: {}", bomb.len());
            let err = import_pad(&bomb, format).unwrap_err();
            assert!(err.is_too_large(), "{format}: {err}");

            let err = import_pad(&zip(&[(part, DTD)]), format).unwrap_err();
            assert!(!err.is_too_large(), "{format}: {err}");
            assert!(err.to_string().contains("document type"), "{err}");

            let good = zip(&[(part, b"<x/>")]);
            let err = import_pad(&good[..good.len() - 10], format).unwrap_err();
            assert!(matches!(err, ImportError::Invalid(_)), "{format}: {err}");
            let err = import_pad(b"PK\x03\x04junk", format).unwrap_err();
            assert!(err.to_string().contains("not a valid"), "{err}");
            let err = import_pad(&zip(&[("other.xml", b"<x/>")]), format).unwrap_err();
            assert!(err.to_string().contains("is not a"), "{err}");

            let deep = format!("{}{}", "<x>".repeat(10_000), "</x>".repeat(10_000));
            let err = import_pad(&zip(&[(part, deep.as_bytes())]), format).unwrap_err();
            assert!(err.to_string().contains("levels deep"), "{err}");
        }
    }
}
