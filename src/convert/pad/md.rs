//! Markdown: CommonMark (plus GFM `~~strike~~`) that renders to the pad's structure.
//!
//! Every line of the pad is a block of its own (a blank line between blocks, list items of one
//! list on consecutive lines). Text is escaped so it renders literally. Markdown cannot show
//! underline or colours, so those are left out; empty lines and runs of spaces are kept with
//! no-break spaces (U+00A0, written as the character, not as `&nbsp;`, which a person reading
//! the file would see), which Markdown neither collapses nor reads as indentation or as a
//! blank line.
//!
//! Emphasis delimiters only work when they touch letters or digits and do not run into other
//! delimiters (`**a***b*` is ambiguous). Where that cannot be guaranteed the run is wrapped in
//! inline HTML (`<strong>`, `<em>`, `<del>`) instead, which CommonMark passes through and which
//! renders the same.

use super::model::{link_groups, LineKind, Pad, Run};
use super::ExportOptions;

/// The no-break space that keeps empty lines and runs of spaces.
const NBSP: char = '\u{a0}';

/// How far to look after `&` for the `;` of something a Markdown reader would take for an entity.
const MAX_ENTITY_LEN: usize = 32;

/// Renders the pad as Markdown.
pub fn render(pad: &Pad, opts: &ExportOptions) -> Vec<u8> {
    let mut out = String::new();
    for block in pad.blocks() {
        if !out.is_empty() {
            out.push('\n');
        }
        for (number, paragraph) in (1..).zip(block) {
            match paragraph.kind {
                LineKind::Heading(level) => {
                    out.push_str(&"#".repeat(usize::from(level)));
                    out.push(' ');
                }
                LineKind::Bullet => out.push_str("- "),
                LineKind::Ordered => out.push_str(&format!("{number}. ")),
                LineKind::Paragraph => {}
            }
            let runs = md_runs(&paragraph.runs);
            if runs.is_empty() && paragraph.kind == LineKind::Paragraph {
                // An empty paragraph would vanish; a no-break space keeps the empty line.
                out.push(NBSP);
            }
            inline(&mut out, &runs);
            out.push('\n');
        }
    }
    if opts.authors_list && !pad.authors.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        // Names only: Markdown shows no colour, and a hex code means nothing to a reader.
        out.push_str("---\n\n**");
        out.push_str(opts.language.authors_heading());
        out.push_str("**\n\n");
        for author in &pad.authors {
            out.push_str("- ");
            let mut state = Inline::line_start();
            text(&mut out, opts.language.name_of(author), &mut state);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// Neighbouring runs merged where Markdown cannot tell them apart (author, underline), so
/// that delimiters only appear where the look changes.
fn md_runs(runs: &[Run]) -> Vec<Run> {
    let mut merged: Vec<Run> = Vec::new();
    for run in runs {
        let look = Run {
            text: String::new(),
            underline: false,
            author: None,
            ..run.clone()
        };
        match merged.last_mut() {
            Some(last)
                if last.bold == look.bold
                    && last.italic == look.italic
                    && last.strike == look.strike
                    && last.link == look.link =>
            {
                last.text.push_str(&run.text);
            }
            _ => merged.push(Run {
                text: run.text.clone(),
                ..look
            }),
        }
    }
    merged
}

/// Where the writer stands within a line.
struct Inline {
    /// Nothing written yet on this line: block markers must be escaped, spaces kept as [`NBSP`].
    line_start: bool,
    /// The last character written was a space or tab.
    after_space: bool,
    /// The last thing written was a closing emphasis delimiter.
    after_delimiter: bool,
}

impl Inline {
    fn line_start() -> Self {
        Self {
            line_start: true,
            after_space: true,
            after_delimiter: false,
        }
    }
}

fn inline(out: &mut String, runs: &[Run]) {
    let mut state = Inline::line_start();
    for (link, group) in link_groups(runs) {
        match link {
            Some(url) => {
                out.push('[');
                state.after_delimiter = false;
                for run in group {
                    styled(out, run, &mut state);
                }
                out.push_str("](<");
                destination(out, url);
                out.push_str(">)");
                state.line_start = false;
                state.after_space = false;
                state.after_delimiter = false;
            }
            None => {
                for run in group {
                    styled(out, run, &mut state);
                }
            }
        }
    }
}

/// Writes one run with its emphasis, leading and trailing whitespace kept outside it.
fn styled(out: &mut String, run: &Run, state: &mut Inline) {
    let core = run.text.trim_matches([' ', '\t']);
    let marks: Vec<(&str, &str)> = [
        (run.strike, "~~", "del"),
        (run.bold, "**", "strong"),
        (run.italic, "*", "em"),
    ]
    .into_iter()
    .filter_map(|(on, delimiter, tag)| on.then_some((delimiter, tag)))
    .collect();
    if core.is_empty() || marks.is_empty() {
        text(out, &run.text, state);
        return;
    }
    let lead = run.text.len() - run.text.trim_start_matches([' ', '\t']).len();
    text(out, &run.text[..lead], state);
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let delimiters =
        !state.after_delimiter && alnum(core.chars().next()) && alnum(core.chars().last());
    for (delimiter, tag) in &marks {
        if delimiters {
            out.push_str(delimiter);
        } else {
            out.push_str(&format!("<{tag}>"));
        }
    }
    text(out, core, state);
    for (delimiter, tag) in marks.iter().rev() {
        if delimiters {
            out.push_str(delimiter);
        } else {
            out.push_str(&format!("</{tag}>"));
        }
    }
    state.after_delimiter = delimiters;
    text(out, &run.text[lead + core.len()..], state);
}

/// Writes text so that it renders literally.
fn text(out: &mut String, s: &str, state: &mut Inline) {
    // At the start of a line, digits followed by `.` or `)` would start an ordered list.
    let list_marker_at = if state.line_start {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0 && matches!(s.as_bytes().get(digits), Some(b'.' | b')'))).then_some(digits)
    } else {
        None
    };
    for (i, c) in s.char_indices() {
        match c {
            ' ' if state.line_start || state.after_space => out.push(NBSP),
            '\t' if state.line_start || state.after_space => out.push_str("&#9;"),
            ' ' | '\t' => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if state.line_start => {
                out.push('\\');
                out.push(c);
            }
            '&' if looks_like_entity(&s[i + 1..]) => out.push_str("\\&"),
            _ if Some(i) == list_marker_at => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        state.after_space = matches!(c, ' ' | '\t');
        state.line_start = false;
        state.after_delimiter = false;
    }
}

/// Writes a link destination for `<…>` brackets: the model already percent-encoded spaces,
/// brackets and backslashes; entities are the one thing left that a reader would decode.
fn destination(out: &mut String, url: &str) {
    for (i, c) in url.char_indices() {
        if c == '&' && looks_like_entity(&url[i + 1..]) {
            out.push_str("\\&");
        } else {
            out.push(c);
        }
    }
}

/// Whether the text after a `&` would be read as an entity or character reference.
fn looks_like_entity(rest: &str) -> bool {
    let name = rest
        .bytes()
        .take(MAX_ENTITY_LEN)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
        .count();
    name > 0 && rest.as_bytes().get(name) == Some(&b';')
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn md(b: &PadBuilder, opts: ExportOptions) -> String {
        let pad = Pad::from_snapshot(&b.snapshot()).expect("decodes");
        String::from_utf8(render(&pad, &opts)).expect("UTF-8")
    }

    fn no_authors() -> ExportOptions {
        ExportOptions {
            colors: true,
            authors_list: false,
            ..ExportOptions::default()
        }
    }

    #[test]
    fn structure_and_formatting() {
        let out = md(&rich_pad(), ExportOptions::default());
        for expected in [
            "# Main \\<title\\> & more\n\n## Second level\n\n### Third level\n\n",
            "Some **bold**, *italic*, underlined, ~~struck~~ and ~~***all four***~~ text; Bob adds this.\n",
            "A [web link](<https://example.org/?a=1&b=2>), a [mail link](<mailto:pad@example.org>) and a bad link.\n",
            "\n\u{a0}\n\n",
            "spaces: \u{a0}two, \u{a0}\u{a0}three, &#9;tab\tand\t&#9;two tabs \u{a0}\n",
            "\u{a0}\u{a0}leading spaces\n",
            "- first bullet\n- second bullet by Bob\n\n1. first number\n2. second number\n\nbetween lists\n\n1. restarted number\n",
            "ctrl:end\n",
            "\n---\n\n**Authors**\n\n- Alice \\<script\\>\n- Bob & Co\n",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
        assert!(!out.contains("javascript"));
    }

    #[test]
    fn markdown_syntax_in_text_is_escaped() {
        let b = PadBuilder::new();
        b.alice("# not a heading\n- not a list\n+ nor this\n1. not numbered\n12) nor this\n");
        b.alice("*a* _b_ `c` [d](e) <f> ~~g~~ | h \\ i &amp; j & k ![l](m)\n");
        b.alice("---\n===\n    not code\n\tnot code either\n");
        let out = md(&b, no_authors());
        for expected in [
            "\\# not a heading\n",
            "\\- not a list\n",
            "\\+ nor this\n",
            "1\\. not numbered\n",
            "12\\) nor this\n",
            "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) \\<f\\> \\~\\~g\\~\\~ \\| h \\\\ i \\&amp; j & k !\\[l\\](m)\n",
            "\\---\n",
            "\\===\n",
            "\u{a0}\u{a0}\u{a0}\u{a0}not code\n",
            "&#9;not code either\n",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
    }

    #[test]
    fn emphasis_falls_back_to_html_where_delimiters_would_not_work() {
        let b = PadBuilder::new();
        b.alice_attrs("bold", &[("bold", true.into())])
            .alice_attrs("italic", &[("italic", true.into())])
            .alice(" ")
            .alice_attrs("(paren)", &[("bold", true.into())])
            .alice(" ")
            .alice_attrs(" padded ", &[("italic", true.into())])
            .alice("end\n");
        let out = md(&b, no_authors());
        assert_eq!(
            out,
            "**bold**<em>italic</em> <strong>(paren)</strong>  *padded* end\n"
                .replace("  *", " \u{a0}*")
        );
    }

    #[test]
    fn runs_differing_only_in_what_markdown_cannot_show_merge() {
        let b = PadBuilder::new();
        b.alice_attrs("1", &[("underline", true.into())])
            .bob(". by Bob")
            .alice("\n");
        assert_eq!(md(&b, no_authors()), "1\\. by Bob\n");
    }

    #[test]
    fn links_cannot_break_out() {
        let b = PadBuilder::new();
        b.alice_attrs("x", &[("link", "https://e.org/a>b)c <d &copy; e\\".into())])
            .alice("\n");
        let out = md(&b, no_authors());
        assert_eq!(
            out,
            "[x](<https://e.org/a%3Eb)c%20%3Cd%20\\&copy;%20e%5C>)\n"
        );
    }

    #[test]
    fn empty_lines_and_empty_items() {
        let b = PadBuilder::new();
        b.alice("\n\n")
            .alice_attrs("\n", &[("list", "bullet".into())]);
        b.alice_attrs("\n", &[("header", 1.into())]);
        assert_eq!(md(&b, no_authors()), "\u{a0}\n\n\u{a0}\n\n- \n\n# \n");
    }

    #[test]
    fn unicode_and_empty_pad() {
        let b = PadBuilder::new();
        b.alice("👩‍👩‍👧‍👦 漢字 עברית e\u{301}\n");
        assert_eq!(md(&b, no_authors()), "👩‍👩‍👧‍👦 漢字 עברית e\u{301}\n");
        assert_eq!(md(&PadBuilder::new(), ExportOptions::default()), "");
    }
}
