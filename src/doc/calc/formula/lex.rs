//! Reading A1 formula text: cell and range references, string literals, quoted sheet names,
//! numbers and words. Positions are `char` indices.

/// Largest column number in A1 notation (`XFD`).
pub(super) const MAX_A1_COL: u32 = 16_384;
/// Largest row number in A1 notation.
pub(super) const MAX_A1_ROW: u32 = 1_048_576;

/// Column letters of a 1-based column number.
pub fn col_name(mut n: u32) -> String {
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

fn col_number(letters: &[char]) -> Option<u32> {
    let mut n: u32 = 0;
    for c in letters {
        n = n * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    (1..=MAX_A1_COL).contains(&n).then_some(n)
}

/// One end of a reference, 1-based positions; `None` parts are whole rows or columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct End {
    pub(super) row: Option<(u32, bool)>,
    pub(super) col: Option<(u32, bool)>,
}

/// A cell, or a range of two ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ref {
    pub(super) a: End,
    pub(super) b: Option<End>,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '\\'
}

/// Whether a reference may end before position `i` (not glued to a name, call or sheet).
fn boundary(chars: &[char], i: usize) -> bool {
    chars
        .get(i)
        .is_none_or(|&c| !(is_word(c) || c == '(' || c == '!' || c == '$'))
}

/// `$`? then what `accept` takes, at most `max` chars; (value chars, absolute, end).
fn part(
    chars: &[char],
    i: usize,
    accept: fn(&char) -> bool,
    max: usize,
) -> Option<(Vec<char>, bool, usize)> {
    let abs = chars.get(i) == Some(&'$');
    let start = i + usize::from(abs);
    let mut j = start;
    while j < chars.len() && accept(&chars[j]) && j - start < max + 1 {
        j += 1;
    }
    let run = &chars[start..j];
    (!run.is_empty() && run.len() <= max).then(|| (run.to_vec(), abs, j))
}

fn letters(chars: &[char], i: usize) -> Option<((u32, bool), usize)> {
    let (run, abs, j) = part(chars, i, char::is_ascii_alphabetic, 3)?;
    Some(((col_number(&run)?, abs), j))
}

/// A row number; past the A1 limit it still reads (and is clamped or `#REF!` later), so that
/// `A1:A999999999` is a range and not text.
fn digits(chars: &[char], i: usize) -> Option<((u32, bool), usize)> {
    let (run, abs, j) = part(chars, i, char::is_ascii_digit, 9)?;
    let n: u32 = run.iter().collect::<String>().parse().ok()?;
    (n >= 1).then_some(((n.min(MAX_A1_ROW + 1), abs), j))
}

fn cell(chars: &[char], i: usize) -> Option<(End, usize)> {
    let (col, j) = letters(chars, i)?;
    let (row, k) = digits(chars, j)?;
    Some((
        End {
            row: Some(row),
            col: Some(col),
        },
        k,
    ))
}

/// A reference at `i` in A1 notation: cell, range, whole columns or whole rows.
pub(super) fn parse_ref(chars: &[char], i: usize) -> Option<(Ref, usize)> {
    if let Some((a, j)) = cell(chars, i) {
        if chars.get(j) == Some(&':') {
            if let Some((b, k)) = cell(chars, j + 1) {
                if boundary(chars, k) {
                    return Some((Ref { a, b: Some(b) }, k));
                }
            }
        }
        return boundary(chars, j).then_some((Ref { a, b: None }, j));
    }
    type Half = fn(&[char], usize) -> Option<((u32, bool), usize)>;
    let spans: [(Half, bool); 2] = [(letters, true), (digits, false)];
    for (half, is_col) in spans {
        let Some((x, j)) = half(chars, i) else {
            continue;
        };
        if chars.get(j) != Some(&':') {
            continue;
        }
        let Some((y, k)) = half(chars, j + 1) else {
            continue;
        };
        if !boundary(chars, k) {
            continue;
        }
        let end = |v| {
            if is_col {
                End {
                    row: None,
                    col: Some(v),
                }
            } else {
                End {
                    row: Some(v),
                    col: None,
                }
            }
        };
        return Some((
            Ref {
                a: end(x),
                b: Some(end(y)),
            },
            k,
        ));
    }
    None
}

/// End of the string literal starting at `i` (`""` is an escaped quote).
pub(super) fn string_end(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    while j < chars.len() {
        if chars[j] == '"' {
            if chars.get(j + 1) == Some(&'"') {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    chars.len()
}

/// A quoted sheet name at `i` (`'It''s'`): the name and the position after the closing quote.
pub(super) fn quoted_name(chars: &[char], i: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut j = i + 1;
    while j < chars.len() {
        if chars[j] == '\'' {
            if chars.get(j + 1) == Some(&'\'') {
                name.push('\'');
                j += 2;
                continue;
            }
            return Some((name, j + 1));
        }
        name.push(chars[j]);
        j += 1;
    }
    None
}

pub(super) fn word_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while j < chars.len() && is_word(chars[j]) {
        j += 1;
    }
    j
}

/// End of the number at `i` written with decimal separator `decimal`; its English text.
pub(super) fn number(chars: &[char], i: usize, decimal: char) -> (usize, String) {
    let mut j = i;
    let mut out = String::new();
    while j < chars.len() && chars[j].is_ascii_digit() {
        out.push(chars[j]);
        j += 1;
    }
    if chars.get(j) == Some(&decimal) && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
        out.push('.');
        j += 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            out.push(chars[j]);
            j += 1;
        }
    }
    if matches!(chars.get(j), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(j + 1), Some('+' | '-')));
        if chars.get(j + 1 + sign).is_some_and(char::is_ascii_digit) {
            out.extend(&chars[j..j + 1 + sign]);
            j += 1 + sign;
            while j < chars.len() && chars[j].is_ascii_digit() {
                out.push(chars[j]);
                j += 1;
            }
        }
    }
    (j, out)
}

/// Matches one of `candidates` (case-insensitively) at `i`; returns it and its length.
pub(super) fn match_word<'c>(
    chars: &[char],
    i: usize,
    candidates: &'c [String],
) -> Option<(&'c str, usize)> {
    candidates.iter().find_map(|w| {
        let n = w.chars().count();
        let here: String = chars.get(i..i + n)?.iter().collect();
        here.eq_ignore_ascii_case(w).then_some((w.as_str(), n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(col_name(1), "A");
        assert_eq!(col_name(26), "Z");
        assert_eq!(col_name(27), "AA");
        assert_eq!(col_name(16384), "XFD");
        assert_eq!(col_number(&['x', 'f', 'd']), Some(16384));
        assert_eq!(col_number(&['X', 'F', 'E']), None);
    }
}
