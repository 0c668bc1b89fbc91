//! Plain text: the pad's text as typed, one line per paragraph, no markup.

use super::model::Pad;

/// Renders the pad as UTF-8 text; every line ends with a newline, like the pad's own text.
pub fn render(pad: &Pad) -> Vec<u8> {
    let mut out = String::new();
    for paragraph in &pad.paragraphs {
        for run in &paragraph.runs {
            out.push_str(&run.text);
        }
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn txt(b: &PadBuilder) -> String {
        let pad = Pad::from_snapshot(&b.snapshot()).expect("decodes");
        String::from_utf8(render(&pad)).expect("UTF-8")
    }

    #[test]
    fn text_is_the_pad_text_without_markup() {
        let b = rich_pad();
        let out = txt(&b);
        let expected = b.plain().replace("\u{1}\u{8}\u{1b}", "");
        assert_eq!(out, expected);
        assert!(out.contains("Main <title> & more\n"));
        assert!(out.contains("spaces:  two,   three, \ttab\tand\t\ttwo tabs  \n"));
        assert!(out.contains("\n\n"), "empty line kept");
        assert!(!out.contains("**") && !out.contains("https://"));
    }

    #[test]
    fn unicode_is_byte_for_byte() {
        let b = PadBuilder::new();
        let s = "👩‍👩‍👧‍👦 🏳️‍🌈 漢字 한국어 עברית مرحبا e\u{301}\u{20dd} \u{200f}\n";
        b.alice(s);
        assert_eq!(txt(&b), s);
    }

    #[test]
    fn empty_pad_is_empty_text() {
        assert_eq!(txt(&PadBuilder::new()), "");
    }
}
