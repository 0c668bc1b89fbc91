//! A thin XML writer over quick-xml for the ODT and DOCX parts: escaping is quick-xml's, and
//! every element name is a literal in the exporters, so the output is well-formed by
//! construction.

use std::io;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// Writes one XML document into memory.
pub struct XmlWriter {
    w: Writer<Vec<u8>>,
}

impl XmlWriter {
    /// Starts a document with its `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`.
    pub fn new() -> io::Result<Self> {
        let mut w = Writer::new(Vec::new());
        w.write_event(Event::Decl(BytesDecl::new(
            "1.0",
            Some("UTF-8"),
            Some("yes"),
        )))?;
        Ok(Self { w })
    }

    /// Opens `<name attrs…>`.
    pub fn start(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.w.write_event(Event::Start(tag(name, attrs)))
    }

    /// Writes `<name attrs…/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.w.write_event(Event::Empty(tag(name, attrs)))
    }

    /// Closes `</name>`.
    pub fn end(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    /// Writes escaped character data.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.w.write_event(Event::Text(BytesText::new(text)))
    }

    /// Writes `<name attrs…>text</name>`.
    pub fn element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.start(name, attrs)?;
        self.text(text)?;
        self.end(name)
    }

    /// The document's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.w.into_inner()
    }
}

fn tag<'a>(name: &'a str, attrs: &[(&'a str, &'a str)]) -> BytesStart<'a> {
    // quick-xml escapes attribute values (including quotes) when it builds the attribute.
    BytesStart::new(name).with_attributes(attrs.iter().copied())
}
