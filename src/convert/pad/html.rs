//! HTML: one standalone document, everything escaped, styles inline, no script.
//!
//! The document forbids scripts itself (a CSP `<meta>`), so even a mistake in escaping could not
//! run code when the file is opened from disk or from the server.

use crate::convert::escape::html_into as escape;

use std::fmt::Write as _;

use super::model::{link_groups, Color, LineKind, Pad, Paragraph, Run, INK, LINK};
use super::{ExportOptions, Language};

/// The document's only stylesheet: pad lines are lines (no paragraph margins) and keep their
/// runs of spaces and tabs; list items are indented; text and links have colours that read on
/// white and on every author's tint (`model::INK`, `model::LINK`).
fn style() -> String {
    format!(
        "body{{font-family:sans-serif;line-height:1.5;max-width:50em;\
margin:2em auto;padding:0 1em;color:{ink};background-color:#ffffff}}\
p,h1,h2,h3,li{{white-space:pre-wrap;margin:0}}\
h1,h2,h3{{margin:.5em 0 .25em}}ul,ol{{margin:0;padding-left:2.5em}}a{{color:{link}}}",
        ink = INK.hex(),
        link = LINK.hex()
    )
}

/// Renders the pad as an HTML document.
pub fn render(pad: &Pad, opts: &ExportOptions) -> Vec<u8> {
    let mut out = String::new();
    let lang = match opts.language {
        Language::En => "en",
        Language::Fr => "fr",
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    out.push_str(lang);
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>");
    escape(&mut out, &pad.title());
    out.push_str("</title>\n<style>");
    out.push_str(&style());
    out.push_str("</style>\n</head>\n<body>\n");
    for block in pad.blocks() {
        match block[0].kind {
            LineKind::Bullet | LineKind::Ordered => {
                let tag = if block[0].kind == LineKind::Bullet {
                    "ul"
                } else {
                    "ol"
                };
                let _ = writeln!(out, "<{tag}>");
                for item in block {
                    line(&mut out, "li", item, pad, opts);
                }
                let _ = writeln!(out, "</{tag}>");
            }
            LineKind::Heading(level) => line(&mut out, &format!("h{level}"), &block[0], pad, opts),
            LineKind::Paragraph => line(&mut out, "p", &block[0], pad, opts),
        }
    }
    if opts.authors_list && !pad.authors.is_empty() {
        out.push_str("<hr>\n<p><strong>");
        out.push_str(opts.language.authors_heading());
        out.push_str("</strong></p>\n<ul>\n");
        for author in &pad.authors {
            out.push_str("<li>");
            let color = author.color.filter(|_| opts.colors);
            if let Some(color) = color {
                shade(&mut out, color);
            }
            escape(&mut out, opts.language.name_of(author));
            if color.is_some() {
                out.push_str("</span>");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

/// One pad line as `<tag>…</tag>`; an empty line keeps its height with `<br>`.
fn line(out: &mut String, tag: &str, paragraph: &Paragraph, pad: &Pad, opts: &ExportOptions) {
    // `dir="auto"` lets a Hebrew or Arabic line run right to left, as in the editor.
    let _ = write!(out, "<{tag} dir=\"auto\">");
    if paragraph.runs.is_empty() {
        out.push_str("<br>");
    }
    for (link, group) in link_groups(&paragraph.runs) {
        if let Some(url) = link {
            out.push_str("<a href=\"");
            escape(out, url);
            out.push_str("\">");
        }
        // One shading span per stretch of one author, around their formatted runs.
        for stretch in group.chunk_by(|a, b| pad.color(a) == pad.color(b)) {
            let color = pad.color(&stretch[0]).filter(|_| opts.colors);
            if let Some(color) = color {
                shade(out, color);
            }
            for run in stretch {
                styled(out, run);
            }
            if color.is_some() {
                out.push_str("</span>");
            }
        }
        if link.is_some() {
            out.push_str("</a>");
        }
    }
    let _ = writeln!(out, "</{tag}>");
}

fn styled(out: &mut String, run: &Run) {
    let tags: Vec<&str> = [
        (run.bold, "strong"),
        (run.italic, "em"),
        (run.underline, "u"),
        (run.strike, "s"),
    ]
    .into_iter()
    .filter_map(|(on, tag)| on.then_some(tag))
    .collect();
    for tag in &tags {
        let _ = write!(out, "<{tag}>");
    }
    escape(out, &run.text);
    for tag in tags.iter().rev() {
        let _ = write!(out, "</{tag}>");
    }
}

/// Opens a span shaded with the pale tint of an author's colour, as the editor shows it; the
/// text keeps the ink (or link) colour, which reads on every tint.
fn shade(out: &mut String, color: Color) {
    let _ = write!(
        out,
        "<span style=\"background-color:{}\">",
        color.tint().hex()
    );
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn html(b: &PadBuilder, opts: ExportOptions) -> String {
        let pad = Pad::from_snapshot(&b.snapshot()).expect("decodes");
        String::from_utf8(render(&pad, &opts)).expect("UTF-8")
    }

    #[test]
    fn structure_and_formatting() {
        let out = html(&rich_pad(), ExportOptions::default());
        assert!(out.starts_with(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        ));
        assert!(out.contains("<title>Main &lt;title&gt; &amp; more</title>"));
        let alice = "<span style=\"background-color:#ffe1a6\">";
        let bob = "<span style=\"background-color:#a6a6d3\">";
        for expected in [
            format!("<h1 dir=\"auto\">{alice}Main &lt;title&gt; &amp; more</span></h1>\n"),
            format!("<h2 dir=\"auto\">{alice}Second level</span></h2>\n"),
            format!("<h3 dir=\"auto\">{alice}Third level</span></h3>\n"),
            format!(
                "<p dir=\"auto\">{alice}Some <strong>bold</strong>, <em>italic</em>, \
                 <u>underlined</u>, <s>struck</s> and <strong><em><u><s>all four</s></u></em></strong> \
                 text; </span>{bob}Bob adds this</span>{alice}.</span></p>\n"
            ),
            format!("{bob}Bob adds this</span>"),
            format!("<a href=\"https://example.org/?a=1&amp;b=2\">{alice}web link</span></a>"),
            format!("<a href=\"mailto:pad@example.org\">{alice}mail link</span></a>"),
            format!("{alice} and a bad link.</span>"),
            "<p dir=\"auto\"><br></p>\n".to_owned(),
            format!("{alice}spaces:  two,   three, \ttab\tand\t\ttwo tabs  </span>"),
            format!(
                "<ul>\n<li dir=\"auto\">{alice}first bullet</span></li>\n\
                 <li dir=\"auto\">{bob}second bullet by Bob</span></li>\n</ul>\n\
                 <ol>\n<li dir=\"auto\">{alice}first number</span></li>\n\
                 <li dir=\"auto\">{alice}second number</span></li>\n</ol>\n"
            ),
            format!("<ol>\n<li dir=\"auto\">{alice}restarted number</span></li>\n</ol>\n"),
            "&lt;script&gt;alert(1)&lt;/script&gt;".to_owned(),
            format!("{alice}ctrl:end</span>"),
            format!(
                "<hr>\n<p><strong>Authors</strong></p>\n<ul>\n<li>{alice}Alice &lt;script&gt;</span></li>\n\
                 <li>{bob}Bob &amp; Co</span></li>\n</ul>\n</body>\n</html>\n"
            ),
        ] {
            assert!(out.contains(&expected), "missing {expected:?} in\n{out}");
        }
        assert!(
            !out.contains("<script"),
            "no script element, whatever the text"
        );
        assert!(!out.contains("javascript:"));
        assert!(out.contains("white-space:pre-wrap"));
    }

    #[test]
    fn colours_and_authors_list_are_optional() {
        let out = html(
            &rich_pad(),
            ExportOptions {
                colors: false,
                authors_list: false,
                ..ExportOptions::default()
            },
        );
        assert!(!out.contains("<span style=\"background-color"));
        assert!(!out.contains("Authors"));
        assert!(out.contains("<strong>bold</strong>"));
        let names_only = html(
            &rich_pad(),
            ExportOptions {
                colors: false,
                authors_list: true,
                ..ExportOptions::default()
            },
        );
        assert!(names_only.contains("<li>Alice &lt;script&gt;</li>"));
    }

    #[test]
    fn text_without_a_known_author_is_not_shaded() {
        let b = PadBuilder::new();
        b.alice("anonymous\n");
        let out = html(&b, ExportOptions::default());
        assert!(out.contains("<p dir=\"auto\">anonymous</p>"));
        assert!(!out.contains("<hr>"), "no authors, no list");
    }

    #[test]
    fn unicode_and_empty_pad() {
        let b = PadBuilder::new();
        b.alice("👩‍👩‍👧‍👦 漢字 עברית e\u{301}\n");
        assert!(html(&b, ExportOptions::default()).contains("👩‍👩‍👧‍👦 漢字 עברית e\u{301}</p>"));
        let empty = html(&PadBuilder::new(), ExportOptions::default());
        assert!(empty.contains("<title>Pad</title>"));
        assert!(empty.contains("<body>\n</body>"));
    }
}
