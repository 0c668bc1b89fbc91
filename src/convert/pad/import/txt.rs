//! Plain text import: the file's characters, one pad line per line, no formatting; and the
//! decoding of text files (UTF-8, or UTF-16 with a byte order mark) that md and html share.

use super::{Draft, ImportError, Imported, Inline};

/// Reads a text file into a pad.
pub fn import(bytes: &[u8]) -> Result<Imported, ImportError> {
    let text = decode(bytes)?;
    let mut draft = Draft::new();
    // The Draft ends a paragraph at each `\n`, `\r\n` or `\r` and drops NUL and other controls.
    draft.text(&text, &Inline::default())?;
    draft.finish()
}

/// The text of a file: UTF-8 (a byte order mark is dropped), or UTF-16 LE/BE when it starts
/// with that byte order mark. Anything else not valid is refused with the byte offset where
/// the decoding failed.
pub fn decode(bytes: &[u8]) -> Result<String, ImportError> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return utf8(rest, 3);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return utf16(rest, u16::from_be_bytes);
    }
    utf8(bytes, 0)
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String, ImportError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(ImportError::Invalid(format!(
            "the file is not valid UTF-8 at byte {}",
            offset + e.valid_up_to()
        ))),
    }
}

/// UTF-16 after its 2-byte byte order mark; offsets in errors count from the file's start.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, ImportError> {
    let invalid = |at: usize| {
        ImportError::Invalid(format!("the file is not valid UTF-16 at byte {}", 2 + at))
    };
    let (pairs, odd) = bytes.as_chunks::<2>();
    let mut out = String::with_capacity(bytes.len());
    let mut at = 0usize;
    for c in char::decode_utf16(pairs.iter().map(|p| unit(*p))) {
        let c = c.map_err(|_| invalid(at))?;
        at += 2 * c.len_utf16();
        out.push(c);
    }
    if !odd.is_empty() {
        return Err(invalid(bytes.len() - 1));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::pad::model::Pad;

    fn lines(bytes: &[u8]) -> Vec<String> {
        let pad = Pad::from_snapshot(&import(bytes).unwrap().state).unwrap();
        pad.paragraphs
            .iter()
            .map(|p| p.runs.iter().map(|r| r.text.as_str()).collect())
            .collect()
    }

    #[test]
    fn lines_become_paragraphs_in_every_encoding() {
        let expected = ["héllo 👋", "", "wörld"];
        assert_eq!(lines("héllo 👋\r\n\nwörld\n".as_bytes()), expected);
        assert_eq!(lines("\u{feff}héllo 👋\r\n\nwörld".as_bytes()), expected);
        let text = "héllo 👋\n\nwörld";
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(lines(&le), expected);
        assert_eq!(lines(&be), expected);
        assert_eq!(lines(b"a\0b\x07c"), ["abc"]);
    }

    #[test]
    fn invalid_text_names_the_byte() {
        let err = import(b"abc\xffdef").unwrap_err();
        assert_eq!(
            err,
            ImportError::Invalid("the file is not valid UTF-8 at byte 3".into())
        );
        let err = import(b"\xef\xbb\xbfab\xc3").unwrap_err();
        assert!(err.to_string().ends_with("UTF-8 at byte 5"), "{err}");
        // A lone high surrogate (D800) after "a".
        let err = import(&[0xff, 0xfe, b'a', 0, 0x00, 0xd8, b'b', 0]).unwrap_err();
        assert!(err.to_string().ends_with("UTF-16 at byte 4"), "{err}");
        let err = import(&[0xfe, 0xff, 0, b'a', 0]).unwrap_err();
        assert!(err.to_string().ends_with("UTF-16 at byte 4"), "{err}");
    }
}
