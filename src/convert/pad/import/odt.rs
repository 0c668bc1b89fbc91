//! OpenDocument Text import: `content.xml` streamed (after the named styles of `styles.xml`
//! and the automatic ones that open `content.xml`), into headings (`text:h` and its outline
//! level, or a paragraph whose style is, or is based on, "Heading N" or has a default outline
//! level: LibreOffice writes some headings so), lists (bullet or number by the list style's level), paragraphs, formatting from
//! styles (bold: weight bold or 600 and more; italic; underline and line-through styles other
//! than none) and links (`text:a`).
//!
//! A heading's own look comes from its heading style, so a heading style's boldness is not
//! copied onto its text; a paragraph style's formatting is. Tables are one line per row,
//! cells separated by a tab; frames and shapes (pictures, text boxes) are dropped and counted,
//! notes, annotations and tracked changes skipped.

use std::collections::HashMap;

use quick_xml::events::BytesStart;

use super::lines::Lines;
use super::office::{attribute, heading_of_name, read_xml, Handler, Package, Props, Style, Styles};
use super::{ImportError, Imported, Inline};
use crate::convert::pad::model::LineKind;

/// Most spaces one `text:s` gives.
const MAX_SPACES: usize = 1_000;

/// Reads an ODT file into a pad.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    let mut package = Package::open(bytes, "ODT")?;
    let content = package.required("content.xml")?;
    let styles = package.part("styles.xml")?;
    let mut reader = Reader::default();
    if let Some(styles) = styles {
        read_xml("styles.xml", &styles, &mut package.elements, &mut reader)?;
    }
    read_xml("content.xml", &content, &mut package.elements, &mut reader)?;
    reader.lines.finish()
}

/// One open element of the body.
#[derive(Debug, Clone, Default)]
struct Frame {
    look: Inline,
    /// The kind of a line ending inside it.
    line: Option<LineKind>,
    /// The list style of the nearest list, and how deep lists are nested here.
    list_style: Option<String>,
    list_depth: u8,
    cell: bool,
}

#[derive(Default)]
struct Reader {
    lines: Lines,
    /// Paragraph and text styles, by family.
    paragraph_styles: Styles,
    text_styles: Styles,
    /// List styles: the kind of each level.
    list_styles: HashMap<String, Vec<(u8, LineKind)>>,
    /// The style being read, with its family, and the list style being read.
    style: Option<(String, String, Style)>,
    list_style: Option<(String, Vec<(u8, LineKind)>)>,
    in_body: bool,
    stack: Vec<Frame>,
    /// Elements still to close of skipped content (frames, notes…).
    skip: usize,
    /// What a skipped frame held: a picture.
    frame_image: bool,
    /// Inside a paragraph; and whether the last character written was collapsible space.
    in_paragraph: bool,
    after_space: bool,
    /// Cells of the current table row so far.
    cells: u32,
    /// Paragraphs of the current cell so far.
    cell_paragraphs: u32,
}

impl Reader {
    fn top(&self) -> Frame {
        self.stack.last().cloned().unwrap_or_default()
    }

    fn write(&mut self, text: &str, look: &Inline) -> Result<(), ImportError> {
        self.lines.text(text, look)
    }

    fn style_start(&mut self, name: &str, e: &BytesStart<'_>) {
        match name {
            "style:style" => {
                let Some(style_name) = attribute(e, "name") else {
                    return;
                };
                let family = attribute(e, "family").unwrap_or_default();
                let style = Style {
                    parent: attribute(e, "parent-style-name"),
                    heading: attribute(e, "default-outline-level")
                        .and_then(|l| l.trim().parse::<u8>().ok())
                        .filter(|&l| l > 0)
                        .or_else(|| heading_of_name(&style_name)),
                    list: attribute(e, "list-style-name").filter(|l| !l.is_empty()),
                    ..Style::default()
                };
                self.style = Some((style_name, family, style));
            }
            "style:text-properties" => {
                if let Some((_, _, style)) = &mut self.style {
                    style.props = text_props(e);
                }
            }
            "text:list-style" => {
                if let Some(list_name) = attribute(e, "name") {
                    self.list_style = Some((list_name, Vec::new()));
                }
            }
            "text:list-level-style-number"
            | "text:list-level-style-bullet"
            | "text:list-level-style-image" => {
                if let Some((_, levels)) = &mut self.list_style {
                    let level = attribute(e, "level")
                        .and_then(|l| l.trim().parse::<u8>().ok())
                        .unwrap_or(1);
                    let kind = if name.ends_with("number") {
                        LineKind::Ordered
                    } else {
                        LineKind::Bullet
                    };
                    if levels.len() < 10 {
                        levels.push((level, kind));
                    }
                }
            }
            _ => {}
        }
    }

    fn style_end(&mut self, name: &str) {
        match name {
            "style:style" => {
                if let Some((style_name, family, style)) = self.style.take() {
                    let styles = match family.as_str() {
                        "paragraph" => &mut self.paragraph_styles,
                        "text" => &mut self.text_styles,
                        _ => return,
                    };
                    styles.0.insert(style_name, style);
                }
            }
            "text:list-style" => {
                if let Some((list_name, levels)) = self.list_style.take() {
                    self.list_styles.insert(list_name, levels);
                }
            }
            _ => {}
        }
    }

    /// The kind of an item at `depth` of a list of style `style`.
    fn list_kind(&self, style: Option<&str>, depth: u8) -> LineKind {
        let levels = style.and_then(|s| self.list_styles.get(s));
        levels
            .and_then(|l| {
                l.iter()
                    .find(|(level, _)| *level == depth)
                    .or_else(|| l.first())
            })
            .map_or(LineKind::Bullet, |(_, kind)| *kind)
    }

    fn body_start(&mut self, name: &str, e: &BytesStart<'_>) -> Result<(), ImportError> {
        let top = self.top();
        let mut frame = top.clone();
        match name {
            "text:p" | "text:h" => {
                if top.cell {
                    if self.cell_paragraphs > 0 {
                        self.write(" ", &Inline::default())?;
                    }
                    self.cell_paragraphs += 1;
                } else {
                    self.lines.close(top.line.unwrap_or(LineKind::Paragraph))?;
                }
                let style = attribute(e, "style-name");
                if name == "text:h" {
                    let level = attribute(e, "outline-level")
                        .and_then(|l| l.trim().parse::<u8>().ok())
                        .or_else(|| {
                            style
                                .as_deref()
                                .and_then(|s| self.paragraph_styles.heading(s))
                        })
                        .unwrap_or(1);
                    frame.line = Some(LineKind::Heading(level.clamp(1, 3)));
                } else if let Some(level) = style
                    .as_deref()
                    .and_then(|s| self.paragraph_styles.heading(s))
                {
                    // A paragraph in a heading style (LibreOffice writes some headings so).
                    frame.line = Some(LineKind::Heading(level.clamp(1, 3)));
                } else if let Some(style) = &style {
                    self.paragraph_styles.props(style).apply(&mut frame.look);
                    if top.line.is_none() {
                        if let Some(list) = self.paragraph_styles.list(style) {
                            frame.line = Some(self.list_kind(Some(list), 1));
                        }
                    }
                }
                self.in_paragraph = true;
                self.after_space = true;
            }
            "text:span" => {
                if let Some(style) = attribute(e, "style-name") {
                    self.text_styles.props(&style).apply(&mut frame.look);
                }
            }
            "text:a" => {
                // Its style is how links look (underlined), not formatting of its text.
                frame.look.link = attribute(e, "href").and_then(|h| self.lines.draft.link(&h));
            }
            "text:s" => {
                let count = attribute(e, "c")
                    .and_then(|c| c.trim().parse::<usize>().ok())
                    .unwrap_or(1)
                    .clamp(1, MAX_SPACES);
                self.write(&" ".repeat(count), &top.look)?;
                self.after_space = true;
            }
            "text:tab" => {
                self.write("\t", &top.look)?;
                self.after_space = true;
            }
            "text:line-break" => {
                if top.cell {
                    self.write(" ", &top.look)?;
                } else {
                    self.lines.end(top.line.unwrap_or(LineKind::Paragraph))?;
                }
                self.after_space = true;
            }
            "text:list" => {
                frame.list_depth = top.list_depth.saturating_add(1);
                if let Some(style) = attribute(e, "style-name") {
                    frame.list_style = Some(style);
                }
            }
            "text:list-item" | "text:list-header" => {
                frame.line = Some(self.list_kind(top.list_style.as_deref(), top.list_depth));
            }
            "table:table-row" => {
                if !top.cell {
                    self.lines.close(top.line.unwrap_or(LineKind::Paragraph))?;
                }
                self.cells = 0;
            }
            "table:table-cell" | "table:covered-table-cell" => {
                if self.cells > 0 {
                    self.write("\t", &Inline::default())?;
                }
                self.cells += 1;
                self.cell_paragraphs = 0;
                frame.cell = true;
            }
            "draw:a" => {}
            "draw:frame" => {
                self.skip = 1;
                self.frame_image = false;
                return Ok(());
            }
            "text:note" | "office:annotation" | "text:tracked-changes" | "office:forms" => {
                self.lines.draft.dropped.other = self.lines.draft.dropped.other.saturating_add(
                    u32::from(name == "text:note" || name == "office:annotation"),
                );
                self.skip = 1;
                return Ok(());
            }
            // A numbered heading's label, an index's templates: not the document's text.
            "text:number" => {
                self.skip = 1;
                return Ok(());
            }
            _ if name.starts_with("text:") && name.ends_with("-source") => {
                self.skip = 1;
                return Ok(());
            }
            _ if name.starts_with("draw:") => {
                self.lines.draft.dropped.other = self.lines.draft.dropped.other.saturating_add(1);
                self.skip = 1;
                return Ok(());
            }
            _ => {}
        }
        self.stack.push(frame);
        Ok(())
    }

    fn body_end(&mut self, name: &str) -> Result<(), ImportError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        match name {
            "text:p" | "text:h" => {
                self.in_paragraph = false;
                if !frame.cell {
                    self.lines.end(frame.line.unwrap_or(LineKind::Paragraph))?;
                }
            }
            "table:table-row" => self.lines.close(LineKind::Paragraph)?,
            _ => {}
        }
        Ok(())
    }
}

impl Handler for Reader {
    fn start(&mut self, name: &str, e: &BytesStart<'_>) -> Result<(), ImportError> {
        if self.skip > 0 {
            self.skip += 1;
            if name == "draw:image" {
                self.frame_image = true;
            }
            return Ok(());
        }
        if self.in_body {
            return self.body_start(name, e);
        }
        if name == "office:body" {
            self.in_body = true;
            return Ok(());
        }
        self.style_start(name, e);
        Ok(())
    }

    fn end(&mut self, name: &str) -> Result<(), ImportError> {
        if self.skip > 0 {
            self.skip -= 1;
            if self.skip == 0 && name == "draw:frame" {
                let d = &mut self.lines.draft.dropped;
                if self.frame_image {
                    d.images = d.images.saturating_add(1);
                } else {
                    d.other = d.other.saturating_add(1);
                }
            }
            return Ok(());
        }
        if self.in_body {
            if name == "office:body" {
                self.in_body = false;
                return Ok(());
            }
            return self.body_end(name);
        }
        self.style_end(name);
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), ImportError> {
        if self.skip > 0 || !self.in_body || !self.in_paragraph {
            return Ok(());
        }
        // ODF collapses white space like HTML: runs become one space, none at a line's start.
        let look = self.top().look;
        let mut collapsed = String::with_capacity(text.len());
        for c in text.chars() {
            if matches!(c, ' ' | '\t' | '\n' | '\r') {
                if !self.after_space {
                    collapsed.push(' ');
                    self.after_space = true;
                }
            } else {
                collapsed.push(c);
                self.after_space = false;
            }
        }
        self.write(&collapsed, &look)
    }
}

/// Formatting from a `style:text-properties` element.
fn text_props(e: &BytesStart<'_>) -> Props {
    let weight = attribute(e, "font-weight").map(|w| {
        let w = w.trim();
        w == "bold" || w.parse::<u32>().is_ok_and(|n| n >= 600)
    });
    let style_on = |local: &str| attribute(e, local).map(|v| v.trim() != "none");
    Props {
        bold: weight,
        italic: attribute(e, "font-style").map(|s| matches!(s.trim(), "italic" | "oblique")),
        underline: style_on("text-underline-style"),
        strike: style_on("text-line-through-style"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::office::zip;
    use super::*;
    use crate::convert::pad::model::Pad;

    const STYLES: &str = r#"<office:document-styles xmlns:office="o" xmlns:style="s" xmlns:fo="f" xmlns:text="t"><office:styles>
<style:style style:name="Strong" style:family="text"><style:text-properties fo:font-weight="700"/></style:style>
<style:style style:name="Em" style:family="text" style:parent-style-name="Strong"><style:text-properties fo:font-style="italic"/></style:style>
<style:style style:name="Heading_20_1" style:family="paragraph"><style:text-properties fo:font-weight="bold"/></style:style>
</office:styles></office:document-styles>"#;

    const CONTENT: &str = r#"<office:document-content xmlns:office="o" xmlns:style="s" xmlns:fo="f" xmlns:text="t" xmlns:table="tb" xmlns:draw="d" xmlns:xlink="x">
<office:automatic-styles>
<style:style style:name="T1" style:family="text" style:parent-style-name="Em"><style:text-properties style:text-underline-style="solid"/></style:style>
<style:style style:name="T2" style:family="text"><style:text-properties style:text-line-through-style="solid" fo:font-weight="normal"/></style:style>
<text:list-style style:name="L1"><text:list-level-style-number text:level="1"/><text:list-level-style-bullet text:level="2"/></text:list-style>
</office:automatic-styles>
<office:body><office:text>
<text:h text:style-name="Heading_20_1" text:outline-level="5"><text:number>1.</text:number>Deep  heading</text:h>
<text:table-of-content><text:table-of-content-source><text:index-title-template>Contents</text:index-title-template></text:table-of-content-source></text:table-of-content>
<text:p text:style-name="Heading_20_1">Styled heading</text:p>
<text:p>  a <text:s text:c="2"/>b<text:tab/>c<text:line-break/>d <text:span text:style-name="T1">bi</text:span><text:span text:style-name="T2">s</text:span></text:p>
<text:p/>
<text:list text:style-name="L1"><text:list-item><text:p>one</text:p><text:list><text:list-item><text:p>sub</text:p></text:list-item></text:list></text:list-item></text:list>
<table:table><table:table-row><table:table-cell><text:p>c1</text:p><text:p>more</text:p></table:table-cell><table:table-cell><text:p>c2</text:p></table:table-cell></table:table-row></table:table>
<text:p>x<draw:frame><draw:image/></draw:frame>y<text:note><text:note-body><text:p>note</text:p></text:note-body></text:note><text:a xlink:href="javascript:alert(1)">j</text:a><text:a xlink:href="https://e.org">l</text:a></text:p>
</office:text></office:body></office:document-content>"#;

    #[test]
    fn reads_styles_lists_tables_and_drops_frames() {
        let file = zip(&[
            ("content.xml", CONTENT.as_bytes()),
            ("styles.xml", STYLES.as_bytes()),
        ]);
        let imported = import(&file).unwrap();
        let pad = Pad::from_snapshot(&imported.state).unwrap();
        let lines = pad.lines();
        let p = LineKind::Paragraph;
        let want: Vec<(LineKind, String)> = [
            (LineKind::Heading(3), "Deep heading"),
            (LineKind::Heading(1), "Styled heading"),
            (p, "a   b\tc"),
            (p, "d bis"),
            (p, ""),
            (LineKind::Ordered, "one"),
            (LineKind::Bullet, "sub"),
            (p, "c1 more\tc2"),
            (p, "xyjl"),
        ]
        .into_iter()
        .map(|(k, t)| (k, t.to_owned()))
        .collect();
        assert_eq!(lines, want);
        let heading = &pad.paragraphs[0].runs[0];
        assert!(!heading.bold, "a heading style's weight is not the text's");
        assert!(!pad.paragraphs[1].runs[0].bold);
        let runs = &pad.paragraphs[3].runs;
        let bi = runs.iter().find(|r| r.text == "bi").unwrap();
        assert!(bi.bold && bi.italic && bi.underline && !bi.strike);
        let s = runs.iter().find(|r| r.text == "s").unwrap();
        assert!(s.strike && !s.bold);
        let last = &pad.paragraphs[8].runs;
        assert_eq!(last.last().unwrap().link.as_deref(), Some("https://e.org"));
        assert_eq!(imported.dropped.images, 1);
        assert_eq!(imported.dropped.links, 1);
        assert_eq!(imported.dropped.other, 1);
    }
}
