//! Formulas between the English A1 syntax of XLSX (and IronCalc) and OpenFormula, the syntax of
//! ODS (`of:=SUM([.A1:.A3])`). Only the lexical differences are translated — references,
//! argument and array separators — function names are the same in both for everything the
//! engine knows. String literals pass through untouched.

/// The A1 name of a 0-based cell.
pub fn a1(row: u32, col: u32) -> String {
    format!("{}{}", col_name(col), u64::from(row) + 1)
}

/// `A1`, `$b$12` → 0-based (row, column); at most three column letters.
pub fn parse_a1(coord: &str) -> Option<(u32, u32)> {
    let s: String = coord.chars().filter(|&c| c != '$').collect();
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let digits = &s[letters..];
    if letters == 0
        || letters > 3
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let col = s[..letters].bytes().fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row: u32 = digits.parse().ok()?;
    (row >= 1).then(|| (row - 1, col - 1))
}

/// Column letters of a 0-based column.
pub fn col_name(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// One end of a reference: `$A$1`, `B7`, `C` (whole column) or `5` (whole row), kept as typed.
fn is_cell(s: &str) -> bool {
    let s = s.strip_prefix('$').unwrap_or(s);
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 || letters > 3 {
        return false;
    }
    let rest = &s[letters..];
    let rest = rest.strip_prefix('$').unwrap_or(rest);
    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) && !rest.starts_with('0')
}

fn is_col(s: &str) -> bool {
    let s = s.strip_prefix('$').unwrap_or(s);
    (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_row(s: &str) -> bool {
    let s = s.strip_prefix('$').unwrap_or(s);
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0')
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$' || b >= 0x80
}

/// A sheet name as written before `!` in A1 syntax: quoted unless plain.
fn quote_a1_sheet(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !is_cell(name);
    if plain {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// Copies a string literal starting at `i` (a `"`) into `out`; returns the index after it.
fn copy_string(s: &str, i: usize, out: &mut String) -> usize {
    let bytes = s.as_bytes();
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == b'"' {
            if bytes.get(j + 1) == Some(&b'"') {
                j += 2;
                continue;
            }
            j += 1;
            break;
        }
        j += 1;
    }
    let j = j.min(bytes.len());
    out.push_str(&s[i..j]);
    j
}

/// Reads a quoted name (`'…'` with `''` escapes) at `i`; returns it and the index after it.
fn quoted(s: &str, i: usize) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    let mut j = i + 1;
    let mut name = String::new();
    let mut start = j;
    while j < bytes.len() {
        if bytes[j] == b'\'' {
            name.push_str(&s[start..j]);
            if bytes.get(j + 1) == Some(&b'\'') {
                name.push('\'');
                j += 2;
                start = j;
                continue;
            }
            return Some((name, j + 1));
        }
        j += 1;
    }
    None
}

/// A reference in A1 syntax found at some position: optional sheet, one or two ends.
struct Ref {
    sheet: Option<String>,
    from: String,
    to: Option<String>,
}

/// Tries to read an A1 reference at `i` (`A1`, `$A$1:B2`, `A:C`, `2:5`, `Sheet2!A1`,
/// `'My sheet'!A1:B2`); returns it and the index after it.
fn scan_a1_ref(s: &str, i: usize) -> Option<(Ref, usize)> {
    let bytes = s.as_bytes();
    let word_end = |from: usize| {
        let mut j = from;
        while j < bytes.len() && is_word_byte(bytes[j]) {
            j += 1;
        }
        j
    };
    let (sheet, start) = if bytes[i] == b'\'' {
        let (name, j) = quoted(s, i)?;
        if bytes.get(j) != Some(&b'!') {
            return None;
        }
        (Some(name), j + 1)
    } else {
        let j = word_end(i);
        if bytes.get(j) == Some(&b'!') && j > i {
            (Some(s[i..j].to_owned()), j + 1)
        } else {
            (None, i)
        }
    };
    let end1 = word_end(start);
    let from = &s[start..end1];
    let range_end = (bytes.get(end1) == Some(&b':')).then(|| {
        let end2 = word_end(end1 + 1);
        (&s[end1 + 1..end2], end2)
    });
    let (to, end) = match range_end {
        Some((to, end2))
            if (is_cell(from) && is_cell(to))
                || (is_col(from) && is_col(to))
                || (is_row(from) && is_row(to)) =>
        {
            (Some(to.to_owned()), end2)
        }
        _ if is_cell(from) => (None, end1),
        _ => return None,
    };
    if bytes.get(end) == Some(&b'(') {
        return None;
    }
    Some((
        Ref {
            sheet,
            from: from.to_owned(),
            to,
        },
        end,
    ))
}

/// `=SUM(A1:A3)` (English A1, as in XLSX) → `of:=SUM([.A1:.A3])`.
pub fn to_openformula(formula: &str) -> String {
    let body = formula.strip_prefix('=').unwrap_or(formula);
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len() + 16);
    out.push_str("of:=");
    let mut braces = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let boundary = i == 0 || !is_word_byte(bytes[i - 1]);
        if b == b'"' {
            i = copy_string(body, i, &mut out);
        } else if boundary && (b == b'\'' || is_word_byte(b)) {
            if let Some((r, end)) = scan_a1_ref(body, i) {
                out.push('[');
                if let Some(sheet) = &r.sheet {
                    out.push('$');
                    out.push_str(&quote_of_sheet(sheet));
                }
                out.push('.');
                out.push_str(&r.from);
                if let Some(to) = &r.to {
                    out.push_str(":.");
                    out.push_str(to);
                }
                out.push(']');
                i = end;
            } else {
                // A name, number or function: copy the whole word so no reference is found
                // inside it.
                let mut j = i;
                if b == b'\'' {
                    j += 1;
                }
                while j < bytes.len() && is_word_byte(bytes[j]) {
                    j += 1;
                }
                // Exponents: 1.5E+3.
                if j < bytes.len()
                    && matches!(bytes[j], b'+' | b'-')
                    && j > i
                    && matches!(bytes[j - 1], b'e' | b'E')
                    && bytes[i].is_ascii_digit()
                {
                    j += 1;
                    while j < bytes.len() && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                out.push_str(&body[i..j.max(i + 1)]);
                i = j.max(i + 1);
            }
        } else {
            match b {
                b'{' => braces += 1,
                b'}' => braces = braces.saturating_sub(1),
                _ => {}
            }
            match (b, braces > 0) {
                (b',', _) => out.push(';'),
                (b';', true) => out.push('|'),
                _ => {
                    let ch = body[i..].chars().next().unwrap_or(' ');
                    out.push(ch);
                    i += ch.len_utf8();
                    continue;
                }
            }
            i += 1;
        }
    }
    out
}

/// A sheet name inside an OpenFormula reference: quoted unless plain.
fn quote_of_sheet(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// Splits one end of an OpenFormula reference (`$Sheet1.$A$1`, `.B2`, `'My sheet'.C3`) into
/// its sheet (if named) and its cell.
fn of_end(s: &str) -> Option<(Option<String>, String)> {
    let s = s.trim();
    let s = s.strip_prefix('$').unwrap_or(s);
    if let Some(rest) = s.strip_prefix('.') {
        return Some((None, rest.to_owned()));
    }
    if s.starts_with('\'') {
        let (name, j) = quoted(s, 0)?;
        let rest = s[j..].strip_prefix('.')?;
        return Some((Some(name), rest.to_owned()));
    }
    let (sheet, cell) = s.rsplit_once('.')?;
    Some((Some(sheet.to_owned()), cell.to_owned()))
}

/// Splits the inside of `[…]` on the `:` that is not inside a quoted sheet name.
fn split_range(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = false;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '\'' => quote = !quote,
            ':' if !quote => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

/// `of:=SUM([.A1:.A3])` → `=SUM(A1:A3)`. Also accepts the legacy `oooc:` prefix and a bare
/// `=`. A reference that cannot be read becomes `#REF!`.
pub fn from_openformula(formula: &str) -> String {
    let body = formula
        .strip_prefix("of:")
        .or_else(|| formula.strip_prefix("oooc:"))
        .or_else(|| formula.strip_prefix("msoxl:"))
        .unwrap_or(formula);
    let body = body.strip_prefix('=').unwrap_or(body);
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len() + 1);
    out.push('=');
    let mut braces = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = copy_string(body, i, &mut out),
            b'[' => {
                let close = find_close(body, i);
                let inner = &body[i + 1..close];
                out.push_str(&of_ref_to_a1(inner));
                i = (close + 1).min(bytes.len());
            }
            b'{' => {
                braces += 1;
                out.push('{');
                i += 1;
            }
            b'}' => {
                braces = braces.saturating_sub(1);
                out.push('}');
                i += 1;
            }
            b';' if braces > 0 => {
                out.push(',');
                i += 1;
            }
            b'|' if braces > 0 => {
                out.push(';');
                i += 1;
            }
            b';' => {
                out.push(',');
                i += 1;
            }
            _ => {
                let ch = body[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// Index of the `]` closing the `[` at `open` (or the end), skipping quoted sheet names.
fn find_close(s: &str, open: usize) -> usize {
    let mut quote = false;
    for (j, c) in s[open + 1..].char_indices() {
        match c {
            '\'' => quote = !quote,
            ']' if !quote => return open + 1 + j,
            _ => {}
        }
    }
    s.len()
}

fn of_ref_to_a1(inner: &str) -> String {
    let parts = split_range(inner);
    let ends: Option<Vec<(Option<String>, String)>> = parts.iter().map(|p| of_end(p)).collect();
    let Some(ends) = ends.filter(|e| !e.is_empty() && e.len() <= 2) else {
        return "#REF!".into();
    };
    let valid = |c: &str| is_cell(c) || is_col(c) || is_row(c);
    if ends.iter().any(|(_, c)| !valid(c) && !c.contains("#REF")) {
        return "#REF!".into();
    }
    if ends.iter().any(|(_, c)| c.contains("#REF")) {
        return "#REF!".into();
    }
    let mut out = String::new();
    if let Some(sheet) = &ends[0].0 {
        out.push_str(&quote_a1_sheet(sheet));
        out.push('!');
    }
    out.push_str(&ends[0].1);
    if let Some((_, to)) = ends.get(1) {
        out.push(':');
        out.push_str(to);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates() {
        assert_eq!(parse_a1("A1"), Some((0, 0)));
        assert_eq!(parse_a1("$b$12"), Some((11, 1)));
        assert_eq!(parse_a1("AA3"), Some((2, 26)));
        for bad in ["", "A", "1", "A0", "ABCD1", "A1B", "A+1", "A-1"] {
            assert_eq!(parse_a1(bad), None, "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(a1(0, 0), "A1");
        assert_eq!(a1(9, 25), "Z10");
        assert_eq!(col_name(26), "AA");
        assert_eq!(col_name(16_383), "XFD");
    }

    #[test]
    fn both_ways() {
        let cases = [
            ("=SUM(A1:A3)", "of:=SUM([.A1:.A3])"),
            ("=A1+$B$2*C$3", "of:=[.A1]+[.$B$2]*[.C$3]"),
            ("=Sheet2!A1", "of:=[$Sheet2.A1]"),
            ("='My sheet'!A1:B2*2", "of:=[$'My sheet'.A1:.B2]*2"),
            ("='It''s'!C3", "of:=[$'It''s'.C3]"),
            (
                "=IF(A1>0,\"a,b;[.x]\",FALSE)",
                "of:=IF([.A1]>0;\"a,b;[.x]\";FALSE)",
            ),
            ("=SUM(A:B)", "of:=SUM([.A:.B])"),
            ("=SUM(2:3)", "of:=SUM([.2:.3])"),
            ("=1.5E+3+LOG10(100)", "of:=1.5E+3+LOG10(100)"),
            ("=SUM({1,2;3,4})", "of:=SUM({1;2|3;4})"),
            ("=ROUND(Données!B2,2)", "of:=ROUND([$Données.B2];2)"),
            ("=\"été\"&A1", "of:=\"été\"&[.A1]"),
        ];
        for (a1, of) in cases {
            assert_eq!(to_openformula(a1), of, "{a1}");
            assert_eq!(from_openformula(of), a1, "{of}");
        }
    }

    #[test]
    fn reads_what_libreoffice_writes() {
        assert_eq!(from_openformula("of:=[$Sheet1.A1]+[.B1]"), "=Sheet1!A1+B1");
        assert_eq!(
            from_openformula("of:=SUM([$'a b'.$A$1:.$A$9])"),
            "=SUM('a b'!$A$1:$A$9)"
        );
        assert_eq!(from_openformula("of:=[.#REF!]"), "=#REF!");
        assert_eq!(from_openformula("oooc:=[.A1]*2"), "=A1*2");
        assert_eq!(from_openformula("of:=[.A1"), "=A1");
    }
}
