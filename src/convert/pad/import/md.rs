//! Markdown import: CommonMark with GFM strikethrough and tables, read as pulldown-cmark's flat
//! event stream (no tree, no recursion of ours), into headings, lists, paragraphs and inline
//! formatting.
//!
//! What Markdown has and the pad has not: images are dropped and counted (their alt text too);
//! code is plain text; block quotes are paragraphs; a table is one line per row, cells
//! separated by a tab; nested list items are lines of their own, of their own list's kind. Of
//! HTML inside Markdown only the text is kept, except the tags our own export writes where
//! delimiters cannot work (`<strong>`, `<b>`, `<em>`, `<i>`, `<del>`, `<s>`, `<u>`), which keep
//! their meaning. Our export keeps empty lines and runs of spaces with no-break spaces; they
//! come back as empty lines and spaces.

use std::collections::HashSet;
use std::sync::Arc;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::lines::Lines;
use super::txt::decode;
use super::{ImportError, Imported, Inline};
use crate::convert::pad::model::LineKind;

/// Most distinct kinds of HTML tag counted as dropped (one count per kind).
const MAX_TAG_KINDS: usize = 64;

/// What the reader is inside of.
#[derive(Default)]
struct State {
    strong: u32,
    emphasis: u32,
    strike: u32,
    underline: u32,
    link: Option<Arc<str>>,
    heading: Option<u8>,
    /// The kind of each open list, innermost last.
    lists: Vec<LineKind>,
    /// The kind of each open item (its list's), innermost last.
    items: Vec<LineKind>,
    /// Open images: their alt text is dropped.
    images: u32,
    /// Cells so far in the current table row.
    cells: u32,
    /// The raw HTML of the current HTML block.
    html: String,
    /// HTML tag kinds already counted as dropped.
    tags: HashSet<String>,
}

impl State {
    fn look(&self) -> Inline {
        Inline {
            bold: self.strong > 0,
            italic: self.emphasis > 0,
            underline: self.underline > 0,
            strike: self.strike > 0,
            link: self.link.clone(),
        }
    }

    /// The kind of the line being written.
    fn kind(&self) -> LineKind {
        match (self.heading, self.items.last()) {
            (Some(level), _) => LineKind::Heading(level),
            (None, Some(&kind)) => kind,
            (None, None) => LineKind::Paragraph,
        }
    }
}

/// Reads a Markdown file into a pad.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    let source = decode(bytes)?;
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut lines = Lines::new();
    let mut st = State::default();
    for event in Parser::new_ext(&source, options) {
        match event {
            Event::Start(tag) => start(&mut lines, &mut st, tag)?,
            Event::End(tag) => end(&mut lines, &mut st, tag)?,
            Event::Text(text) | Event::Code(text) => {
                if st.images > 0 {
                    continue;
                }
                if lines.is_empty() && text.chars().all(|c| c == '\u{a0}') {
                    // How our export writes an empty line: kept for `Lines` to see.
                    lines.text(&text, &st.look())?;
                } else {
                    lines.text(&text.replace('\u{a0}', " "), &st.look())?;
                }
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => {
                lines.text(&text, &st.look())?;
            }
            Event::Html(html) => st.html.push_str(&html),
            Event::InlineHtml(html) => inline_html(&mut lines, &mut st, &html),
            Event::SoftBreak => {
                if st.images == 0 {
                    lines.text(" ", &st.look())?;
                }
            }
            Event::HardBreak => lines.end(st.kind())?,
            Event::Rule => lines.close(st.kind())?,
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }
    lines.finish()
}

fn start(lines: &mut Lines, st: &mut State, tag: Tag<'_>) -> Result<(), ImportError> {
    match tag {
        Tag::Heading { level, .. } => {
            lines.close(st.kind())?;
            st.heading = Some(level as u8);
        }
        Tag::List(first) => {
            // A nested list starts on a line of its own.
            lines.close(st.kind())?;
            st.lists.push(if first.is_some() {
                LineKind::Ordered
            } else {
                LineKind::Bullet
            });
        }
        Tag::Item => {
            lines.close(st.kind())?;
            st.items
                .push(st.lists.last().copied().unwrap_or(LineKind::Bullet));
        }
        Tag::Paragraph | Tag::BlockQuote(_) | Tag::CodeBlock(_) | Tag::HtmlBlock => {
            lines.close(st.kind())?;
        }
        Tag::TableHead | Tag::TableRow => {
            lines.close(st.kind())?;
            st.cells = 0;
        }
        Tag::TableCell => {
            if st.cells > 0 {
                lines.text("\t", &Inline::default())?;
            }
            st.cells += 1;
        }
        Tag::Emphasis => st.emphasis += 1,
        Tag::Strong => st.strong += 1,
        Tag::Strikethrough => st.strike += 1,
        Tag::Link { dest_url, .. } => st.link = lines.draft.link(&dest_url),
        Tag::Image { .. } => {
            st.images += 1;
            lines.draft.dropped.images = lines.draft.dropped.images.saturating_add(1);
        }
        _ => {}
    }
    Ok(())
}

fn end(lines: &mut Lines, st: &mut State, tag: TagEnd) -> Result<(), ImportError> {
    match tag {
        TagEnd::Heading(_) => {
            lines.end(st.kind())?;
            st.heading = None;
        }
        TagEnd::List(_) => {
            lines.close(st.kind())?;
            st.lists.pop();
        }
        TagEnd::Item => {
            lines.close(st.kind())?;
            st.items.pop();
        }
        TagEnd::HtmlBlock => {
            let html = std::mem::take(&mut st.html);
            html_text(lines, st, &html)?;
            lines.close(st.kind())?;
        }
        TagEnd::Paragraph
        | TagEnd::BlockQuote(_)
        | TagEnd::CodeBlock
        | TagEnd::TableHead
        | TagEnd::TableRow
        | TagEnd::Table => lines.close(st.kind())?,
        TagEnd::Emphasis => st.emphasis = st.emphasis.saturating_sub(1),
        TagEnd::Strong => st.strong = st.strong.saturating_sub(1),
        TagEnd::Strikethrough => st.strike = st.strike.saturating_sub(1),
        TagEnd::Link => st.link = None,
        TagEnd::Image => st.images = st.images.saturating_sub(1),
        _ => {}
    }
    Ok(())
}

/// One inline HTML tag: the formatting ones keep their meaning, the others are dropped and
/// counted once per kind.
fn inline_html(lines: &mut Lines, st: &mut State, html: &str) {
    let Some(inner) = html.strip_prefix('<') else {
        return;
    };
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let counter = match name.as_str() {
        "strong" | "b" => &mut st.strong,
        "em" | "i" => &mut st.emphasis,
        "del" | "s" | "strike" => &mut st.strike,
        "u" => &mut st.underline,
        _ => {
            drop_tag(lines, st, name);
            return;
        }
    };
    *counter = if closing {
        counter.saturating_sub(1)
    } else {
        counter.saturating_add(1)
    };
}

fn drop_tag(lines: &mut Lines, st: &mut State, name: String) {
    if !name.is_empty() && st.tags.len() < MAX_TAG_KINDS && st.tags.insert(name) {
        lines.draft.dropped.other = lines.draft.dropped.other.saturating_add(1);
    }
}

/// The text of an HTML block: tags and comments dropped (counted once per kind; block tags
/// end the line), the content of `script` and `style` elements dropped with them, white space
/// collapsed, entities left as written.
fn html_text(lines: &mut Lines, st: &mut State, html: &str) -> Result<(), ImportError> {
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while !rest.is_empty() {
        if let Some(end) = skip_until {
            match find_ascii_ci(rest, end) {
                Some(i) => rest = &rest[i..],
                None => return Ok(()),
            }
            skip_until = None;
        }
        let Some(open) = rest.find('<') else {
            html_words(lines, st, rest)?;
            break;
        };
        html_words(lines, st, &rest[..open])?;
        rest = &rest[open..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |i| &rest[i + 3..]);
            continue;
        }
        let close = rest.find('>').map_or(rest.len(), |i| i + 1);
        let tag = &rest[..close];
        rest = &rest[close..];
        let name: String = tag
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if !tag.starts_with("</") {
            skip_until = match name.as_str() {
                "script" => Some("</script"),
                "style" => Some("</style"),
                _ => None,
            };
        }
        if BLOCKS.contains(&name.as_str()) {
            lines.close(st.kind())?;
        }
        drop_tag(lines, st, name);
    }
    Ok(())
}

/// HTML elements that end a line.
const BLOCKS: [&str; 16] = [
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "blockquote",
    "pre",
];

/// Text between tags, its runs of white space collapsed as HTML shows them.
fn html_words(lines: &mut Lines, st: &State, text: &str) -> Result<(), ImportError> {
    let mut words = text.split_ascii_whitespace().peekable();
    if words.peek().is_none() {
        return Ok(());
    }
    if !lines.is_empty() && text.starts_with(|c: char| c.is_ascii_whitespace()) {
        lines.text(" ", &st.look())?;
    }
    while let Some(word) = words.next() {
        lines.text(word, &st.look())?;
        if words.peek().is_some() || text.ends_with(|c: char| c.is_ascii_whitespace()) {
            lines.text(" ", &st.look())?;
        }
    }
    Ok(())
}

/// Where `needle` (ASCII, lowercase) starts in `haystack`, ignoring ASCII case.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::pad::model::Pad;

    fn lines(md: &str) -> (Vec<(LineKind, String)>, Pad, super::super::Dropped) {
        let imported = import(md.as_bytes()).unwrap();
        let pad = Pad::from_snapshot(&imported.state).unwrap();
        let lines = pad.lines();
        (lines, pad, imported.dropped)
    }

    #[test]
    fn blocks_become_lines_of_their_kind() {
        let md = "#### deep\n\n- a\n  1. nested\n  2. two\n- b\n\n> quoted\n\n\
                  ```\ncode\nblock\n```\n\n| h1 | h2 |\n|----|----|\n| c1 | c2 |\n\n\
                  text ![alt](x.png) `code`\n";
        let (got, _, dropped) = lines(md);
        let p = LineKind::Paragraph;
        assert_eq!(
            got,
            [
                (LineKind::Heading(3), "deep".to_owned()),
                (LineKind::Bullet, "a".into()),
                (LineKind::Ordered, "nested".into()),
                (LineKind::Ordered, "two".into()),
                (LineKind::Bullet, "b".into()),
                (p, "quoted".into()),
                (p, "code".into()),
                (p, "block".into()),
                (p, "h1\th2".into()),
                (p, "c1\tc2".into()),
                (p, "text  code".into()),
            ]
        );
        assert_eq!(dropped.images, 1);
    }

    #[test]
    fn formatting_links_and_html() {
        let md = "**b** *i* ~~s~~ [l](https://e.org) [j](javascript:alert(1)) \
                  <u>u</u> <span onclick=\"x()\">t</span>\n\n\
                  <div>\n<script>alert(1)</script>\n<p>kept</p>\n</div>\n";
        let (got, pad, dropped) = lines(md);
        assert_eq!(got[0].1, "b i s l j u t");
        assert_eq!(got[1].1, "kept");
        assert_eq!(got.len(), 2);
        let runs = &pad.paragraphs[0].runs;
        let find = |t: &str| runs.iter().find(|r| r.text.trim() == t).unwrap();
        assert!(find("b").bold && find("i").italic && find("s").strike && find("u").underline);
        assert_eq!(find("l").link.as_deref(), Some("https://e.org"));
        assert!(find("j").link.is_none());
        assert_eq!(dropped.links, 1);
        assert!(dropped.other >= 3, "{dropped:?}");
    }

    #[test]
    fn hostile_nesting_is_read_without_recursion() {
        for md in [
            "> ".repeat(50_000),
            "- ".repeat(50_000),
            format!("{}x{}", "[".repeat(50_000), "](u)".repeat(50_000)),
            format!("{}x{}", "*".repeat(50_000), "*".repeat(50_000)),
            "<div>".repeat(50_000),
        ] {
            import(md.as_bytes()).unwrap();
        }
        let err = import(b"# \xff").unwrap_err();
        assert!(err.to_string().contains("UTF-8 at byte 2"), "{err}");
    }
}
