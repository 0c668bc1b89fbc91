//! Word (DOCX) import: `word/document.xml` streamed, with `word/styles.xml` (headings: styles
//! named "heading N" or "Title", or with an outline level, through `basedOn` chains; run
//! formatting of paragraph and character styles), `word/numbering.xml` (a list is bullets when
//! its level's format is `bullet`, plain paragraphs when `none`, numbered otherwise) and `word/_rels/document.xml.rels`
//! (hyperlink targets).
//!
//! Runs keep bold, italic, underline and strike (single or double), each switched off by a
//! `w:val` of false, 0, off or none; tabs and breaks are kept; a table is one line per row,
//! cells separated by a tab. Drawings and pictures are dropped and counted; deleted text of
//! tracked changes, field codes and the marks of footnotes and comments are left out.

use std::collections::HashMap;

use quick_xml::events::BytesStart;

use super::lines::Lines;
use super::office::{
    attribute, heading_of_name, read_xml, switch, Handler, Package, Props, Style, Styles,
};
use super::{ImportError, Imported, Inline};
use crate::convert::pad::model::LineKind;

/// Reads a DOCX file into a pad.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    let mut package = Package::open(bytes, "DOCX")?;
    let document = package.required("word/document.xml")?;
    let mut reader = Reader::default();
    if let Some(rels) = package.part("word/_rels/document.xml.rels")? {
        let mut rels_reader = Rels::default();
        read_xml(
            "word/_rels/document.xml.rels",
            &rels,
            &mut package.elements,
            &mut rels_reader,
        )?;
        reader.links = rels_reader.0;
    }
    if let Some(numbering) = package.part("word/numbering.xml")? {
        let mut numbering_reader = Numbering::default();
        read_xml(
            "word/numbering.xml",
            &numbering,
            &mut package.elements,
            &mut numbering_reader,
        )?;
        reader.lists = numbering_reader.kinds();
    }
    if let Some(styles) = package.part("word/styles.xml")? {
        let mut styles_reader = StylesReader::default();
        read_xml(
            "word/styles.xml",
            &styles,
            &mut package.elements,
            &mut styles_reader,
        )?;
        reader.styles = styles_reader.styles;
    }
    read_xml(
        "word/document.xml",
        &document,
        &mut package.elements,
        &mut reader,
    )?;
    reader.lines.finish()
}

/// Relationship ids to external targets.
#[derive(Default)]
struct Rels(HashMap<String, String>);

impl Handler for Rels {
    fn start(&mut self, name: &str, e: &BytesStart<'_>) -> Result<(), ImportError> {
        if name == "Relationship" {
            if let (Some(id), Some(target)) = (attribute(e, "Id"), attribute(e, "Target")) {
                self.0.insert(id, target);
            }
        }
        Ok(())
    }
    fn end(&mut self, _: &str) -> Result<(), ImportError> {
        Ok(())
    }
    fn text(&mut self, _: &str) -> Result<(), ImportError> {
        Ok(())
    }
}

/// `word/numbering.xml`: abstract lists' level formats and the lists using them.
#[derive(Default)]
struct Numbering {
    /// abstractNumId → (level, its kind: a list without a label is plain paragraphs).
    abstracts: HashMap<String, Vec<(u8, LineKind)>>,
    /// numId → abstractNumId.
    nums: HashMap<String, String>,
    abstract_id: Option<String>,
    level: Option<u8>,
    num_id: Option<String>,
}

impl Numbering {
    /// numId → the kind of each level.
    fn kinds(self) -> HashMap<String, Vec<(u8, LineKind)>> {
        self.nums
            .into_iter()
            .filter_map(|(num, abs)| {
                let levels = self.abstracts.get(&abs)?;
                Some((num, levels.clone()))
            })
            .collect()
    }
}

impl Handler for Numbering {
    fn start(&mut self, name: &str, e: &BytesStart<'_>) -> Result<(), ImportError> {
        match name {
            "w:abstractNum" => self.abstract_id = attribute(e, "abstractNumId"),
            "w:lvl" => self.level = attribute(e, "ilvl").and_then(|l| l.trim().parse().ok()),
            "w:numFmt" => {
                if let (Some(abs), Some(level)) = (&self.abstract_id, self.level) {
                    let kind = match attribute(e, "val").as_deref() {
                        Some("bullet") => LineKind::Bullet,
                        Some("none") => LineKind::Paragraph,
                        _ => LineKind::Ordered,
                    };
                    let levels = self.abstracts.entry(abs.clone()).or_default();
                    if levels.len() < 10 {
                        levels.push((level, kind));
                    }
                }
            }
            "w:num" => self.num_id = attribute(e, "numId"),
            "w:abstractNumId" => {
                if let (Some(num), Some(abs)) = (&self.num_id, attribute(e, "val")) {
                    self.nums.insert(num.clone(), abs);
                }
            }
            _ => {}
        }
        Ok(())
    }
    fn end(&mut self, name: &str) -> Result<(), ImportError> {
        match name {
            "w:abstractNum" => self.abstract_id = None,
            "w:lvl" => self.level = None,
            "w:num" => self.num_id = None,
            _ => {}
        }
        Ok(())
    }
    fn text(&mut self, _: &str) -> Result<(), ImportError> {
        Ok(())
    }
}

/// `word/styles.xml`: paragraph and character styles.
#[derive(Default)]
struct StylesReader {
    styles: Styles,
    current: Option<(String, Style)>,
    in_ppr: bool,
    in_rpr: bool,
}

impl Handler for StylesReader {
    fn start(&mut self, name: &str, e: &BytesStart<'_>) -> Result<(), ImportError> {
        if name == "w:style" {
            self.current = attribute(e, "styleId").map(|id| {
                let heading = heading_of_name(&id);
                (
                    id,
                    Style {
                        heading,
                        ..Style::default()
                    },
                )
            });
            return Ok(());
        }
        let Some((_, style)) = &mut self.current else {
            return Ok(());
        };
        match name {
            "w:name" => {
                if let Some(level) = attribute(e, "val").and_then(|n| heading_of_name(&n)) {
                    style.heading = Some(level);
                }
            }
            "w:basedOn" => style.parent = attribute(e, "val"),
            "w:pPr" => self.in_ppr = true,
            "w:rPr" => self.in_rpr = true,
            "w:outlineLvl" if self.in_ppr => {
                let level = attribute(e, "val").and_then(|l| l.trim().parse::<u8>().ok());
                if let Some(level) = level.filter(|&l| l < 9) {
                    style.heading.get_or_insert(level + 1);
                }
            }
            "w:numId" if self.in_ppr => style.list = attribute(e, "val"),
            _ if self.in_rpr => run_prop(name, e, &mut style.props),
            _ => {}
        }
        Ok(())
    }
    fn end(&mut self, name: &str) -> Result<(), ImportError> {
        match name {
            "w:style" => {
                if let Some((id, style)) = self.current.take() {
                    self.styles.0.insert(id, style);
                }
            }
            "w:pPr" => self.in_ppr = false,
            "w:rPr" => self.in_rpr = false,
            _ => {}
        }
        Ok(())
    }
    fn text(&mut self, _: &str) -> Result<(), ImportError> {
        Ok(())
    }
}

/// A run property element (`w:b`, `w:i`, `w:u`, `w:strike`, `w:dstrike`) applied to `props`.
fn run_prop(name: &str, e: &BytesStart<'_>, props: &mut Props) {
    let val = attribute(e, "val");
    let on = switch(val.as_deref());
    match name {
        "w:b" => props.bold = Some(on),
        "w:i" => props.italic = Some(on),
        "w:u" => props.underline = Some(on),
        "w:strike" | "w:dstrike" => props.strike = Some(on || props.strike == Some(true)),
        _ => {}
    }
}

/// `word/document.xml`.
#[derive(Default)]
struct Reader {
    lines: Lines,
    styles: Styles,
    lists: HashMap<String, Vec<(u8, LineKind)>>,
    links: HashMap<String, String>,
    in_body: bool,
    /// Elements still to close of skipped content.
    skip: usize,
    /// The paragraph being read: its style, list, level, and whether its properties are
    /// being read.
    style: Option<String>,
    num_id: Option<String>,
    level: u8,
    in_ppr: bool,
    /// The run being read: its look, and whether its properties or text are being read.
    run: Option<Inline>,
    in_rpr: bool,
    in_text: bool,
    link: Option<std::sync::Arc<str>>,
    /// Table cells open (nested tables count), cells of the current row, paragraphs of the
    /// current cell.
    cell_depth: u32,
    cells: u32,
    cell_paragraphs: u32,
}

impl Reader {
    /// The kind of the paragraph being read.
    fn kind(&self) -> LineKind {
        if let Some(level) = self.style.as_deref().and_then(|s| self.styles.heading(s)) {
            return LineKind::Heading(level.clamp(1, 3));
        }
        let num = self
            .num_id
            .as_deref()
            .or_else(|| self.style.as_deref().and_then(|s| self.styles.list(s)));
        match num.filter(|n| *n != "0") {
            None => LineKind::Paragraph,
            Some(num) => self
                .lists
                .get(num)
                .and_then(|levels| {
                    levels
                        .iter()
                        .find(|(l, _)| *l == self.level)
                        .or_else(|| levels.first())
                })
                .map_or(LineKind::Bullet, |(_, kind)| *kind),
        }
    }

    /// The look a run starts with: its paragraph style's formatting (not a heading's), and
    /// the link it is in.
    fn base_look(&self) -> Inline {
        let mut look = Inline {
            link: self.link.clone(),
            ..Inline::default()
        };
        if let Some(style) = &self.style {
            if self.styles.heading(style).is_none() {
                self.styles.props(style).apply(&mut look);
            }
        }
        look
    }

    fn count_image(&mut self) {
        let d = &mut self.lines.draft.dropped;
        d.images = d.images.saturating_add(1);
    }

    fn count_other(&mut self) {
        let d = &mut self.lines.draft.dropped;
        d.other = d.other.saturating_add(1);
    }

    fn line_break(&mut self) -> Result<(), ImportError> {
        if self.cell_depth > 0 {
            let look = self.run.clone().unwrap_or_default();
            self.lines.text(" ", &look)
        } else {
            self.lines.end(self.kind())
        }
    }
}

impl Handler for Reader {
    fn start(&mut self, name: &str, e: &BytesStart<'_>) -> Result<(), ImportError> {
        if self.skip > 0 {
            self.skip += 1;
            return Ok(());
        }
        if !self.in_body {
            self.in_body = name == "w:body";
            return Ok(());
        }
        match name {
            "w:p" => {
                if self.cell_depth > 0 {
                    if self.cell_paragraphs > 0 {
                        self.lines.text(" ", &Inline::default())?;
                    }
                    self.cell_paragraphs += 1;
                }
                self.style = None;
                self.num_id = None;
                self.level = 0;
            }
            "w:pPr" => self.in_ppr = true,
            "w:pStyle" if self.in_ppr => self.style = attribute(e, "val"),
            "w:ilvl" if self.in_ppr => {
                self.level = attribute(e, "val")
                    .and_then(|l| l.trim().parse().ok())
                    .unwrap_or(0);
            }
            "w:numId" if self.in_ppr => self.num_id = attribute(e, "val"),
            "w:rPr" if self.in_ppr => {
                // The paragraph mark's own formatting: nothing of the text's.
                self.skip = 1;
            }
            "w:r" => self.run = Some(self.base_look()),
            "w:rPr" => self.in_rpr = true,
            "w:rStyle" if self.in_rpr => {
                if let (Some(run), Some(style)) = (&mut self.run, attribute(e, "val")) {
                    let mut props = self.styles.props(&style);
                    if self.link.is_some() {
                        // The underline of a link's character style is how links look, not
                        // formatting of its text.
                        props.underline = None;
                    }
                    props.apply(run);
                }
            }
            _ if self.in_rpr => {
                if let Some(run) = &mut self.run {
                    let mut props = Props::default();
                    run_prop(name, e, &mut props);
                    props.apply(run);
                }
            }
            "w:t" => self.in_text = true,
            "w:tab" if !self.in_ppr => {
                let look = self.run.clone().unwrap_or_default();
                self.lines.text("\t", &look)?;
            }
            "w:br" | "w:cr" => {
                let kind = attribute(e, "type");
                if matches!(kind.as_deref(), None | Some("textWrapping")) {
                    self.line_break()?;
                }
            }
            "w:hyperlink" => {
                let target = attribute(e, "id").and_then(|id| self.links.get(&id).cloned());
                self.link = target.and_then(|t| self.lines.draft.link(&t));
            }
            "w:tr" => {
                if self.cell_depth == 0 {
                    self.lines.close(LineKind::Paragraph)?;
                }
                self.cells = 0;
            }
            "w:tc" => {
                if self.cells > 0 {
                    self.lines.text("\t", &Inline::default())?;
                }
                self.cells += 1;
                self.cell_depth += 1;
                self.cell_paragraphs = 0;
            }
            "w:drawing" | "w:pict" | "w:object" => {
                self.count_image();
                self.skip = 1;
            }
            "w:footnoteReference" | "w:endnoteReference" | "w:commentReference" => {
                self.count_other();
            }
            "w:del" | "w:delText" | "w:moveFrom" | "w:instrText" | "mc:Fallback" | "w:sdtPr"
            | "w:sectPr" | "w:pPrChange" | "w:rPrChange" => self.skip = 1,
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &str) -> Result<(), ImportError> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        match name {
            "w:body" => self.in_body = false,
            "w:p" => {
                if self.cell_depth == 0 {
                    self.lines.end(self.kind())?;
                }
                self.style = None;
                self.num_id = None;
            }
            "w:pPr" => self.in_ppr = false,
            "w:r" => self.run = None,
            "w:rPr" => self.in_rpr = false,
            "w:t" => self.in_text = false,
            "w:hyperlink" => self.link = None,
            "w:tc" => self.cell_depth = self.cell_depth.saturating_sub(1),
            "w:tr" if self.cell_depth == 0 => self.lines.close(LineKind::Paragraph)?,
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), ImportError> {
        if self.skip > 0 || !self.in_text {
            return Ok(());
        }
        let look = self.run.clone().unwrap_or_else(|| self.base_look());
        self.lines.text(&text.replace(['\n', '\r'], " "), &look)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_names() {
        assert_eq!(heading_of_name("heading 2"), Some(2));
        assert_eq!(heading_of_name("Heading5"), Some(5));
        assert_eq!(heading_of_name("Heading_20_3"), Some(3));
        assert_eq!(heading_of_name("Title"), Some(1));
        assert_eq!(heading_of_name("Heading"), None);
        assert_eq!(heading_of_name("Normal"), None);
    }
}

#[cfg(test)]
mod reading {
    use super::super::office::zip;
    use super::*;
    use crate::convert::pad::model::Pad;

    const STYLES: &str = r#"<w:styles xmlns:w="w">
<w:style w:type="paragraph" w:styleId="Titre1"><w:name w:val="heading 1"/><w:rPr><w:b/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Sub"><w:name w:val="My sub"/><w:basedOn w:val="Titre1"/></w:style>
<w:style w:type="paragraph" w:styleId="Outline"><w:name w:val="x"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Bul"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="2"/></w:numPr></w:pPr></w:style>
<w:style w:type="character" w:styleId="Strong"><w:name w:val="Strong"/><w:rPr><w:b/><w:i/></w:rPr></w:style>
</w:styles>"#;

    const NUMBERING: &str = r#"<w:numbering xmlns:w="w">
<w:abstractNum w:abstractNumId="10"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl><w:lvl w:ilvl="1"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>
<w:abstractNum w:abstractNumId="11"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="10"/></w:num><w:num w:numId="2"><w:abstractNumId w:val="11"/></w:num>
</w:numbering>"#;

    const RELS: &str = r#"<Relationships xmlns="r"><Relationship Id="rId5" Target="https://e.org/" TargetMode="External"/><Relationship Id="rId6" Target="javascript:x()" TargetMode="External"/></Relationships>"#;

    const DOCUMENT: &str = r#"<w:document xmlns:w="w" xmlns:r="r" xmlns:mc="m"><w:body>
<w:p><w:pPr><w:pStyle w:val="Sub"/><w:rPr><w:i/></w:rPr></w:pPr><w:r><w:t>Head</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Outline"/></w:pPr><w:r><w:t>Two</w:t></w:r></w:p>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="100"/></w:tabs></w:pPr><w:r><w:rPr><w:b/><w:i w:val="0"/><w:u w:val="single"/><w:dstrike/></w:rPr><w:t xml:space="preserve">b </w:t></w:r><w:r><w:rPr><w:rStyle w:val="Strong"/><w:b w:val="false"/></w:rPr><w:t>i</w:t><w:tab/><w:t>t</w:t><w:br/><w:t>n</w:t></w:r></w:p>
<w:p/>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>one</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>sub</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Bul"/></w:pPr><w:r><w:t>styled</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>c1</w:t></w:r></w:p><w:p><w:r><w:t>more</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>c2</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:p><w:r><w:t>x</w:t></w:r><w:r><mc:AlternateContent><mc:Choice><w:drawing/></mc:Choice><mc:Fallback><w:pict/></mc:Fallback></mc:AlternateContent></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del><w:r><w:instrText>HYPERLINK</w:instrText><w:footnoteReference w:id="1"/></w:r><w:hyperlink r:id="rId6"><w:r><w:t>j</w:t></w:r></w:hyperlink><w:hyperlink r:id="rId5"><w:r><w:t>l</w:t></w:r></w:hyperlink></w:p>
<w:sectPr><w:pgSz/></w:sectPr>
</w:body></w:document>"#;

    #[test]
    fn reads_styles_numbering_links_and_tables() {
        let file = zip(&[
            ("word/document.xml", DOCUMENT.as_bytes()),
            ("word/styles.xml", STYLES.as_bytes()),
            ("word/numbering.xml", NUMBERING.as_bytes()),
            ("word/_rels/document.xml.rels", RELS.as_bytes()),
        ]);
        let imported = import(&file).unwrap();
        let pad = Pad::from_snapshot(&imported.state).unwrap();
        let lines = pad.lines();
        let p = LineKind::Paragraph;
        let want: Vec<(LineKind, String)> = [
            (LineKind::Heading(1), "Head"),
            (LineKind::Heading(2), "Two"),
            (p, "b i\tt"),
            (p, "n"),
            (p, ""),
            (LineKind::Ordered, "one"),
            (LineKind::Bullet, "sub"),
            (LineKind::Bullet, "styled"),
            (p, "c1 more\tc2"),
            (p, "xjl"),
        ]
        .into_iter()
        .map(|(k, t)| (k, t.to_owned()))
        .collect();
        assert_eq!(lines, want);
        let head = &pad.paragraphs[0].runs[0];
        assert!(!head.bold && !head.italic, "{head:?}");
        let runs = &pad.paragraphs[2].runs;
        let b = runs.iter().find(|r| r.text == "b ").unwrap();
        assert!(b.bold && !b.italic && b.underline && b.strike, "{b:?}");
        let i = runs.iter().find(|r| r.text.starts_with('i')).unwrap();
        assert!(!i.bold && i.italic, "{i:?}");
        let last = &pad.paragraphs[9].runs;
        assert_eq!(last.last().unwrap().link.as_deref(), Some("https://e.org/"));
        assert_eq!(imported.dropped.images, 1);
        assert_eq!(imported.dropped.links, 1);
        assert_eq!(imported.dropped.other, 1);
    }
}
