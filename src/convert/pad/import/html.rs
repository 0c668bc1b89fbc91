//! HTML import: html5ever's tokenizer (no tree builder, no DOM) and a stack of open elements
//! of our own, bounded in depth, that says what each piece of text is inside of.
//!
//! Headings (h4–h6 become 3), lists (a line's kind is its nearest list's), paragraphs and
//! other blocks become lines; `b`/`strong`, `i`/`em`, `u`, `s`/`strike`/`del` and `a href`
//! become inline formatting and checked links; a table is one line per row, cells separated
//! by a tab; images are dropped and counted. The content of `script`, `style`, `template`,
//! `noscript`, `iframe`, `object` (and `title`, `textarea`, `svg`, `math`, `select`) is skipped
//! whole, and no attribute other than `href` and `style` (its `font-weight`, `font-style` and
//! `text-decoration`, how Google Docs marks bold and italic) is ever read, so event handlers
//! cannot come in.
//!
//! White space: a run that holds a line break collapses to one space (dropped at a line's
//! start or end), as a browser shows it; a run of spaces and tabs alone is kept, so the pad
//! lines our own export writes with `white-space: pre-wrap` come back as they were.

use std::cell::RefCell;
use std::sync::Arc;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::TokenizerResult;

use super::lines::Lines;
use super::txt::decode;
use super::{ImportError, Imported, Inline};
use crate::convert::pad::model::LineKind;

/// Deepest nesting of open elements accepted.
pub const MAX_DEPTH: usize = 256;

/// Most tokens (tags, comments, stretches of text) a file may hold.
pub const MAX_TOKENS: usize = 1_000_000;

/// Bytes handed to the tokenizer at a time, so an error stops the reading soon.
const CHUNK: usize = 64 * 1024;

/// Elements that never have content or an end tag.
const VOID: [&str; 16] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr", "image",
];

/// Elements whose lines are lines of the pad.
const BLOCKS: [&str; 39] = [
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "menu",
    "dir",
    "blockquote",
    "pre",
    "listing",
    "table",
    "tr",
    "dl",
    "dt",
    "dd",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "figure",
    "figcaption",
    "address",
    "center",
    "form",
    "fieldset",
    "details",
    "summary",
    "caption",
    "legend",
    "body",
];

/// One open element and what its content is inside of.
#[derive(Debug, Clone, Default)]
struct Frame {
    name: String,
    look: Inline,
    /// The kind of a line ending inside it.
    line: Option<LineKind>,
    /// The kind of the nearest list.
    list: Option<LineKind>,
    /// Inside a table cell: blocks do not end lines, breaks are spaces.
    cell: bool,
    /// Inside `pre`: white space and line breaks are kept.
    pre: bool,
    /// Inside skipped content.
    skip: bool,
    /// For a `tr`: cells so far.
    cells: u32,
    block: bool,
}

impl Frame {
    fn kind(&self) -> LineKind {
        self.line.unwrap_or(LineKind::Paragraph)
    }
}

/// The reader's state, fed token by token.
struct Reader {
    lines: Lines,
    stack: Vec<Frame>,
    root: Frame,
    tokens: usize,
    /// A collapsed run of white space holding a line break waits for the next word.
    space: bool,
    error: Option<ImportError>,
}

/// html5ever hands tokens to a sink by shared reference.
struct Sink(RefCell<Reader>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut reader = self.0.borrow_mut();
        if reader.error.is_some() {
            return TokenSinkResult::Continue;
        }
        match reader.token(token) {
            Ok(result) => result,
            Err(e) => {
                reader.error = Some(e);
                TokenSinkResult::Continue
            }
        }
    }
}

/// Reads an HTML document or fragment into a pad.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    let source = decode(bytes)?;
    let sink = Sink(RefCell::new(Reader {
        lines: Lines::new(),
        stack: Vec::new(),
        root: Frame::default(),
        tokens: 0,
        space: false,
        error: None,
    }));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    let mut rest = source.as_str();
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        input.push_back(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
        while let TokenizerResult::Script(()) = tokenizer.feed(&input) {}
        if tokenizer.sink.0.borrow().error.is_some() {
            break;
        }
    }
    tokenizer.end();
    let reader = tokenizer.sink.0.into_inner();
    if let Some(e) = reader.error {
        return Err(e);
    }
    reader.lines.finish()
}

impl Reader {
    fn top(&self) -> &Frame {
        self.stack.last().unwrap_or(&self.root)
    }

    fn token(&mut self, token: Token) -> Result<TokenSinkResult<()>, ImportError> {
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return Err(ImportError::TooLarge(format!(
                "the file holds more than {MAX_TOKENS} HTML tags and texts"
            )));
        }
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => return self.start(&tag),
            Token::TagToken(tag) => self.end(&tag.name)?,
            Token::CharacterTokens(text) => self.text(&text)?,
            _ => {}
        }
        Ok(TokenSinkResult::Continue)
    }

    fn start(&mut self, tag: &Tag) -> Result<TokenSinkResult<()>, ImportError> {
        let name: &str = &tag.name;
        let top = self.top();
        if top.skip {
            if !VOID.contains(&name) && !tag.self_closing {
                let frame = Frame {
                    name: name.to_owned(),
                    ..top.clone()
                };
                self.push(frame)?;
            }
            return Ok(TokenSinkResult::Continue);
        }
        let raw = match name {
            "script" => Some(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                Some(RawKind::Rawtext)
            }
            "title" | "textarea" => Some(RawKind::Rcdata),
            _ => None,
        };
        match name {
            "br" => {
                self.line_break()?;
                return Ok(TokenSinkResult::Continue);
            }
            "img" | "image" => {
                self.count_image();
                return Ok(TokenSinkResult::Continue);
            }
            "hr" => {
                self.close_line()?;
                return Ok(TokenSinkResult::Continue);
            }
            "embed" => {
                self.count_other();
                return Ok(TokenSinkResult::Continue);
            }
            _ if VOID.contains(&name) => return Ok(TokenSinkResult::Continue),
            "script" | "template" | "noscript" | "iframe" | "object" | "textarea" | "select"
            | "math" | "applet" | "noembed" | "noframes" => self.count_other(),
            "svg" => self.count_image(),
            _ => {}
        }
        let skipped = raw.is_some()
            || matches!(
                name,
                "template" | "object" | "select" | "svg" | "math" | "applet"
            );
        if skipped {
            if tag.self_closing && raw.is_none() {
                // `<svg/>`: foreign elements may close themselves; it has no content.
                return Ok(TokenSinkResult::Continue);
            }
            let frame = Frame {
                name: name.to_owned(),
                skip: true,
                ..self.top().clone()
            };
            self.push(frame)?;
            return Ok(raw.map_or(TokenSinkResult::Continue, TokenSinkResult::RawData));
        }
        self.implied_ends(name)?;
        let block = BLOCKS.contains(&name) || matches!(name, "td" | "th");
        if block && !matches!(name, "td" | "th") && !self.top().cell {
            self.close_line()?;
        }
        if matches!(name, "td" | "th") {
            if let Some(row) = self.stack.iter_mut().rev().find(|f| f.name == "tr") {
                row.cells += 1;
                if row.cells > 1 {
                    let look = Inline::default();
                    self.space = false;
                    self.lines.text("\t", &look)?;
                }
            }
        }
        let mut frame = Frame {
            name: name.to_owned(),
            cells: 0,
            block,
            ..self.top().clone()
        };
        match name {
            "b" | "strong" => frame.look.bold = true,
            "i" | "em" | "cite" | "var" | "dfn" => frame.look.italic = true,
            "u" | "ins" => frame.look.underline = true,
            "s" | "strike" | "del" => frame.look.strike = true,
            "a" => {
                if let Some(href) = attribute(tag, "href") {
                    frame.look.link = self.lines.draft.link(&href);
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name.as_bytes()[1] - b'0';
                frame.line = Some(LineKind::Heading(level.min(3)));
            }
            "ul" | "menu" | "dir" => frame.list = Some(LineKind::Bullet),
            "ol" => frame.list = Some(LineKind::Ordered),
            "li" => frame.line = Some(frame.list.unwrap_or(LineKind::Bullet)),
            "td" | "th" => frame.cell = true,
            "pre" | "listing" => frame.pre = true,
            _ => {}
        }
        // After the tag's own meaning: Google Docs wraps a whole copy in
        // `<b style="font-weight:normal">`.
        if let Some(style) = attribute(tag, "style") {
            inline_style(&style, &mut frame.look);
        }
        self.push(frame)?;
        Ok(TokenSinkResult::Continue)
    }

    /// The end tags HTML implies: a new block ends an open `p`, a list item the previous
    /// item of its list, a row or cell the previous one of its table.
    fn implied_ends(&mut self, name: &str) -> Result<(), ImportError> {
        let (closes, stops): (&[&str], &[&str]) = match name {
            "li" => (&["li"], &["ul", "ol", "menu", "dir"]),
            "dt" | "dd" => (&["dt", "dd"], &["dl"]),
            "tr" => (&["tr", "td", "th"], &["table"]),
            "td" | "th" => (&["td", "th"], &["tr", "table"]),
            _ if BLOCKS.contains(&name) => (&["p"], &[]),
            _ => return Ok(()),
        };
        let open = self
            .stack
            .iter()
            .rposition(|f| closes.contains(&f.name.as_str()) || stops.contains(&f.name.as_str()));
        match open {
            Some(i) if closes.contains(&self.stack[i].name.as_str()) => self.pop_to(i),
            _ => Ok(()),
        }
    }

    fn end(&mut self, name: &str) -> Result<(), ImportError> {
        if name == "br" && !self.top().skip {
            return self.line_break();
        }
        match self.stack.iter().rposition(|f| f.name == name) {
            Some(i) => self.pop_to(i),
            None => Ok(()),
        }
    }

    /// Closes the element at `index` and every element opened inside it.
    fn pop_to(&mut self, index: usize) -> Result<(), ImportError> {
        while self.stack.len() > index {
            let Some(frame) = self.stack.pop() else { break };
            if frame.block && !frame.cell && !frame.skip {
                self.space = false;
                self.lines.close(frame.kind())?;
            }
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame) -> Result<(), ImportError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(ImportError::Invalid(format!(
                "the HTML is nested deeper than {MAX_DEPTH} elements"
            )));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close_line(&mut self) -> Result<(), ImportError> {
        self.space = false;
        let kind = self.top().kind();
        self.lines.close(kind)
    }

    fn line_break(&mut self) -> Result<(), ImportError> {
        let top = self.top();
        if top.skip {
            return Ok(());
        }
        let (cell, look, kind) = (top.cell, top.look.clone(), top.kind());
        self.space = false;
        if cell {
            return self.lines.text(" ", &look);
        }
        self.lines.end(kind)
    }

    fn text(&mut self, text: &str) -> Result<(), ImportError> {
        let top = self.top();
        if top.skip {
            return Ok(());
        }
        let look = top.look.clone();
        if top.pre {
            return self.lines.text(text, &look);
        }
        let mut rest = text;
        while !rest.is_empty() {
            let ws = rest.find(|c: char| !is_space(c)).unwrap_or(rest.len());
            if ws > 0 {
                let run = &rest[..ws];
                if run.contains(['\n', '\r', '\x0c']) {
                    self.space = true;
                } else {
                    self.space = false;
                    self.lines.text(run, &look)?;
                }
                rest = &rest[ws..];
                continue;
            }
            let word = rest.find(is_space).unwrap_or(rest.len());
            if std::mem::take(&mut self.space) && !self.lines.is_empty() {
                self.lines.text(" ", &look)?;
            }
            self.lines.text(&rest[..word], &look)?;
            rest = &rest[word..];
        }
        Ok(())
    }

    fn count_image(&mut self) {
        let d = &mut self.lines.draft.dropped;
        d.images = d.images.saturating_add(1);
    }

    fn count_other(&mut self) {
        let d = &mut self.lines.draft.dropped;
        d.other = d.other.saturating_add(1);
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// The formatting a `style` attribute sets (`font-weight`, `font-style`, `text-decoration`),
/// as Google Docs and word processors write their HTML with spans rather than `<b>`.
fn inline_style(style: &str, look: &mut Inline) {
    for declaration in style.split(';') {
        let Some((property, value)) = declaration.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        match property.trim().to_ascii_lowercase().as_str() {
            "font-weight" => {
                look.bold = value.starts_with("bold")
                    || value.parse::<u32>().is_ok_and(|w| w >= 600)
                    || (look.bold && value.starts_with("inherit"));
            }
            "font-style" => {
                look.italic = value.starts_with("italic")
                    || value.starts_with("oblique")
                    || (look.italic && value.starts_with("inherit"));
            }
            "text-decoration" | "text-decoration-line" => {
                look.underline |= value.contains("underline");
                look.strike |= value.contains("line-through");
            }
            _ => {}
        }
    }
}

/// The value of attribute `name` of a tag.
fn attribute(tag: &Tag, name: &str) -> Option<Arc<str>> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| Arc::from(&*a.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::pad::model::Pad;

    fn read(html: &str) -> (Vec<(LineKind, String)>, Pad, super::super::Dropped) {
        let imported = import(html.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let pad = Pad::from_snapshot(&imported.state).unwrap();
        let lines = pad.lines();
        (lines, pad, imported.dropped)
    }

    #[test]
    fn blocks_lists_and_tables() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\n\
            <h1>One</h1><h5>Deep</h5>\n<p>  a  \n   b <br>c</p>\n\
            <ul><li>x<ol><li>y<li>z</ol><li>w</ul>\n\
            <table><tr><th>h1<th>h2<tr><td>c1</td><td><p>c2</p></td></table>\n\
            <div>d<img src=x.png alt=i>e</div><pre>  p\n  q</pre>&amp;&lt;&eacute;</body>";
        let (got, _, dropped) = read(html);
        let p = LineKind::Paragraph;
        let want: Vec<(LineKind, String)> = [
            (LineKind::Heading(1), "One"),
            (LineKind::Heading(3), "Deep"),
            // Spaces alone are kept (pre-wrap); a run with a line break collapses.
            (p, "  a b "),
            (p, "c"),
            (LineKind::Bullet, "x"),
            (LineKind::Ordered, "y"),
            (LineKind::Ordered, "z"),
            (LineKind::Bullet, "w"),
            (p, "h1\th2"),
            (p, "c1\tc2"),
            (p, "de"),
            (p, "  p"),
            (p, "  q"),
            (p, "&<é"),
        ]
        .into_iter()
        .map(|(k, t)| (k, t.to_owned()))
        .collect();
        assert_eq!(got, want);
        assert_eq!(dropped.images, 1);
    }

    #[test]
    fn scripts_handlers_and_unsafe_links_stay_out() {
        let html = "<p onclick=\"steal()\">a<script>alert('<b>x</b>')</script>\
            <a href=\"javascript:alert(1)\">j</a><a href=\"https://e.org/\" \
            onmouseover=\"x()\"><b>l</b></a><iframe src=x>if</iframe>\
            <template><p>tp</p></template><noscript>ns</noscript><svg/><u>u</u><del>s</del></p>";
        let (got, pad, dropped) = read(html);
        assert_eq!(got, [(LineKind::Paragraph, "ajlus".to_owned())]);
        let runs = &pad.paragraphs[0].runs;
        assert!(runs
            .iter()
            .all(|r| r.link.as_deref() != Some("javascript:alert(1)")));
        let l = runs.iter().find(|r| r.text == "l").unwrap();
        assert!(l.bold && l.link.as_deref() == Some("https://e.org/"));
        assert!(runs.iter().find(|r| r.text == "u").unwrap().underline);
        assert!(runs.iter().find(|r| r.text == "s").unwrap().strike);
        assert_eq!(dropped.links, 1);
        assert_eq!(dropped.other, 4, "{dropped:?}");
        assert_eq!(dropped.images, 1, "{dropped:?}");
    }

    #[test]
    fn inline_styles_format_like_tags() {
        let html = "<b style=\"font-weight:normal\"><p>\
            <span style=\"font-weight:700;font-style:italic\">a</span>\
            <b><span style=\"font-weight: normal\">b</span></b>\
            <span style=\"text-decoration: underline line-through\">c</span>d</p></b>";
        let (_, pad, _) = read(html);
        let runs = &pad.paragraphs[0].runs;
        let find = |t: &str| runs.iter().find(|r| r.text == t).unwrap();
        assert!(find("a").bold && find("a").italic);
        assert!(!find("b").bold);
        assert!(find("c").underline && find("c").strike);
        assert!(!find("d").bold);
    }

    #[test]
    fn deep_nesting_and_too_many_tokens_are_refused() {
        let deep = "<div>".repeat(10_000);
        let err = import(deep.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ImportError::Invalid(format!(
                "the HTML is nested deeper than {MAX_DEPTH} elements"
            ))
        );
        // Unclosed inline elements nest too.
        assert!(import("<b>".repeat(MAX_DEPTH + 1).as_bytes()).is_err());
        assert!(import("<b>x</b>".repeat(MAX_DEPTH + 1).as_bytes()).is_ok());
        let many = "<br>".repeat(MAX_TOKENS + 1);
        assert!(import(many.as_bytes()).unwrap_err().is_too_large());
        let err = import(b"<p>\xff</p>").unwrap_err();
        assert!(err.to_string().contains("UTF-8 at byte 3"), "{err}");
    }
}
