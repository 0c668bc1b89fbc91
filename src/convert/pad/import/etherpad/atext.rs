//! An Etherpad attributed text (`atext` and its pool) as pad lines: what each attribute set
//! means in the pad schema, and the whole text written into a [`Draft`].
//!
//! Etherpad keeps a line's attributes (list, heading) on a marker character (`*`, with the
//! `lmkr` attribute) at the start of the line; the pad schema keeps them on the newline that
//! ends it (Quill), so markers are not text here.

use std::collections::HashMap;

use super::changeset::{EasyError, Pool, Sets, Text};
use crate::convert::pad::import::{Draft, ImportError, Inline};
use crate::convert::pad::model::LineKind;

/// What one attribute set means for the pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// The clientID of its author, if known.
    pub author: Option<u64>,
    /// Bold, italic, underline, strike (Etherpad stores links as plain text).
    pub inline: Inline,
    /// A line marker (`lmkr`): not text; its line is a `line` line.
    pub marker: bool,
    /// The kind of line a marker makes: `list` = `bulletN` → bullet, `numberN` → numbered,
    /// `indentN` → paragraph (the schema has no indent); `heading` = `hN` → heading (at most 3).
    pub line: LineKind,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            author: None,
            inline: Inline::default(),
            marker: false,
            line: LineKind::Paragraph,
        }
    }
}

/// The styles of attribute sets, worked out once per set.
#[derive(Debug, Default)]
pub struct Styles {
    /// Author id (`a.X`) → their clientID.
    authors: HashMap<String, u64>,
    styles: Vec<Option<Style>>,
}

impl Styles {
    /// Styles resolving authors through `authors` (author id → clientID).
    pub fn new(authors: HashMap<String, u64>) -> Self {
        Self {
            authors,
            styles: Vec::new(),
        }
    }

    /// The style of set `id`.
    pub fn get(&mut self, id: u32, pool: &Pool, sets: &Sets) -> Result<&Style, EasyError> {
        let i = id as usize;
        if self.styles.len() <= i {
            self.styles.resize(i + 1, None);
        }
        if self.styles[i].is_none() {
            let mut style = Style::default();
            for &n in sets.get(id) {
                let (key, value) = pool.get(n)?;
                match key {
                    "author" => style.author = self.authors.get(value).copied(),
                    "bold" => style.inline.bold = true,
                    "italic" => style.inline.italic = true,
                    "underline" => style.inline.underline = true,
                    "strikethrough" => style.inline.strike = true,
                    "lmkr" => style.marker = true,
                    "list" if value.starts_with("bullet") => style.line = LineKind::Bullet,
                    "list" if value.starts_with("number") => style.line = LineKind::Ordered,
                    "heading" => {
                        if let Some(level) = value
                            .strip_prefix('h')
                            .and_then(|l| l.parse::<u8>().ok())
                            .filter(|l| (1..=6).contains(l))
                        {
                            style.line = LineKind::Heading(level.min(3));
                        }
                    }
                    _ => {}
                }
            }
            self.styles[i] = Some(style);
        }
        Ok(self.styles[i].get_or_insert_with(Style::default))
    }

    /// Whether unit `i` of `text` is a line marker: at a line's start, with `lmkr`.
    pub fn is_marker(
        &mut self,
        text: &Text,
        i: usize,
        pool: &Pool,
        sets: &Sets,
    ) -> Result<bool, EasyError> {
        Ok(text.line_start(i) && self.get(text.sets[i], pool, sets)?.marker)
    }
}

/// The text of UTF-16 `units`, or an error naming a broken surrogate pair.
pub fn utf16(units: &[u16]) -> Result<String, EasyError> {
    String::from_utf16(units)
        .map(|s| s.replace('\r', ""))
        .map_err(|_| EasyError("the text has a broken UTF-16 surrogate pair".into()))
}

/// Writes `text` into `draft`: each line's text by its authors with its look, each line ended
/// with the kind its marker gives (plain without one).
pub fn write(
    text: &Text,
    pool: &Pool,
    sets: &Sets,
    styles: &mut Styles,
    draft: &mut Draft,
) -> Result<(), ImportError> {
    let invalid = |e: EasyError| ImportError::Invalid(e.0);
    let mut at = 0;
    while at < text.len() {
        let end = text.units[at..]
            .iter()
            .position(|&u| u == u16::from(b'\n'))
            .map_or(text.len(), |p| at + p);
        let mut kind = LineKind::Paragraph;
        let mut from = at;
        if styles.is_marker(text, at, pool, sets).map_err(invalid)? && at < end {
            kind = styles.get(text.sets[at], pool, sets).map_err(invalid)?.line;
            from += 1;
        }
        for run in text.sets[from..end].chunk_by(|a, b| a == b) {
            let style = styles.get(run[0], pool, sets).map_err(invalid)?;
            let piece = utf16(&text.units[from..from + run.len()]).map_err(invalid)?;
            draft.set_author(style.author);
            draft.text(&piece, &style.inline)?;
            from += run.len();
        }
        if end < text.len() {
            let style = styles.get(text.sets[end], pool, sets).map_err(invalid)?;
            draft.set_author(style.author);
            draft.end_line(kind)?;
        }
        at = end + 1;
    }
    draft.set_author(None);
    Ok(())
}
