//! The line builder the structured readers (md, html, odt, docx) share: they hand it text with
//! its look and say where lines end and what kind they are; it holds the current line until it
//! ends, so a line of nothing but no-break spaces (how Markdown and HTML keep an empty line)
//! becomes an empty line, and a block that held no text makes no line at all.

use super::{Draft, ImportError, Imported, Inline, MAX_IMPORT_CHARS};
use crate::convert::pad::model::LineKind;

/// A pad being read line by line.
#[derive(Debug, Default)]
pub struct Lines {
    /// Where finished lines go; readers count what they drop in its `dropped`.
    pub draft: Draft,
    line: Vec<(String, Inline)>,
    /// Bytes held in `line`, bounded like the Draft's characters.
    held: usize,
}

impl Lines {
    /// An empty pad.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends text to the current line; a newline in it (`\n`, `\r\n`, `\r`) ends the line as
    /// a plain paragraph.
    pub fn text(&mut self, text: &str, look: &Inline) -> Result<(), ImportError> {
        let mut rest = text;
        while let Some(i) = rest.find(['\n', '\r']) {
            self.push(&rest[..i], look)?;
            self.end(LineKind::Paragraph)?;
            let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
            rest = &rest[i + skip..];
        }
        self.push(rest, look)
    }

    /// Appends text that holds no newline.
    fn push(&mut self, text: &str, look: &Inline) -> Result<(), ImportError> {
        if text.is_empty() {
            return Ok(());
        }
        self.held += text.len();
        if self.draft.chars().saturating_add(self.held / 4) > MAX_IMPORT_CHARS {
            return Err(ImportError::TooLarge(format!(
                "the text is longer than {} million characters",
                MAX_IMPORT_CHARS / (1024 * 1024)
            )));
        }
        match self.line.last_mut() {
            Some((last, last_look)) if last_look == look => last.push_str(text),
            _ => self.line.push((text.to_owned(), look.clone())),
        }
        Ok(())
    }

    /// Whether the current line has no text yet.
    pub fn is_empty(&self) -> bool {
        self.line.is_empty()
    }

    /// Ends the current line as a `kind` line, even if it is empty.
    pub fn end(&mut self, kind: LineKind) -> Result<(), ImportError> {
        let blank = self
            .line
            .iter()
            .all(|(t, _)| t.chars().all(|c| c == '\u{a0}'));
        if !blank {
            for (text, look) in std::mem::take(&mut self.line) {
                self.draft.text(&text, &look)?;
            }
        }
        self.line.clear();
        self.held = 0;
        self.draft.end_line(kind)
    }

    /// Ends the current line as a `kind` line if it has text.
    pub fn close(&mut self, kind: LineKind) -> Result<(), ImportError> {
        if self.is_empty() {
            return Ok(());
        }
        self.end(kind)
    }

    /// The pad, the last line ended as a paragraph if it had text.
    pub fn finish(mut self) -> Result<Imported, ImportError> {
        self.close(LineKind::Paragraph)?;
        self.draft.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_and_newlines() {
        let mut l = Lines::new();
        let plain = Inline::default();
        l.text("a\r\nb\rc\n", &plain).unwrap();
        l.text("\u{a0}", &plain).unwrap();
        l.end(LineKind::Bullet).unwrap();
        l.close(LineKind::Paragraph).unwrap();
        l.text("d", &plain).unwrap();
        l.close(LineKind::Heading(2)).unwrap();
        assert_eq!(l.draft.plain(), "a\nb\nc\n\nd\n");
    }
}
