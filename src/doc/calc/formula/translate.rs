//! Typed formulas (A1, in a locale) to the stored form (English, references by row and
//! column id) and back.

use std::collections::HashMap;

use super::layout::Layout;
use super::lex::{
    col_name, match_word, number, parse_ref, quoted_name, string_end, word_end, End, Ref,
    MAX_A1_COL,
};
use crate::doc::calc::locale::{Locale, Word};

/// What a reference that points nowhere becomes.
const REF_ERROR: &str = "#REF!";
/// 1-based (row, col) of a reference end, each with its `$`; `None` parts are whole rows or
/// columns.
type Pos = (Option<(usize, bool)>, Option<(usize, bool)>);

/// Ranges larger than this are cut to the sheet's used extent when written for the engine,
/// which visits every cell of a range: a formula over a whole huge sheet stays cheap.
pub const MAX_RANGE_CELLS: usize = 1_000_000;

/// Translates a typed formula (with its `=`) in `locale`, whose cell is on sheet `sheet` of
/// `layout`, into stored form.
pub fn to_stored(text: &str, locale: Locale, layout: &Layout<'_>, sheet: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let errors = locale.errors();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '\'' {
            let stored = quoted_name(&chars, i).and_then(|(name, after)| {
                (chars.get(after) == Some(&'!'))
                    .then(|| parse_ref(&chars, after + 1))
                    .flatten()
                    .map(|(r, end)| (store_ref(r, Some(&name), layout, sheet), end))
            });
            match stored {
                Some((s, end)) => {
                    out.push_str(&s);
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c == '#' {
            match match_word(&chars, i, &errors) {
                Some((word, n)) => {
                    out.push_str(
                        &locale
                            .to_english(Word::Error, word)
                            .unwrap_or_else(|| word.to_owned()),
                    );
                    i += n;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c == '$' || c.is_ascii_digit() || c.is_alphabetic() || c == '_' {
            if let Some((r, end)) = parse_ref(&chars, i) {
                out.push_str(&store_ref(r, None, layout, sheet));
                i = end;
                continue;
            }
            if c.is_ascii_digit() {
                let (end, english) = number(&chars, i, locale.decimal());
                out.push_str(&english);
                i = end;
                continue;
            }
            let end = word_end(&chars, i);
            let word: String = chars[i..end.max(i + 1)].iter().collect();
            let next = chars.get(end.max(i + 1)).copied();
            if next == Some('!') {
                if let Some((r, after)) = parse_ref(&chars, end + 1) {
                    out.push_str(&store_ref(r, Some(&word), layout, sheet));
                    i = after;
                    continue;
                }
            }
            let translated = if next == Some('(') {
                locale.to_english(Word::Function, &word)
            } else {
                locale.to_english(Word::Bool, &word)
            };
            out.push_str(translated.as_deref().unwrap_or(&word));
            i = end.max(i + 1);
        } else if c == locale.decimal() && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            let (end, english) = number(&chars, i, locale.decimal());
            out.push_str(&english);
            i = end;
        } else if locale == Locale::Fr && c == ';' {
            out.push(',');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The stored form of reference `r`, written on sheet `current` with optional sheet `name`.
fn store_ref(r: Ref, name: Option<&str>, layout: &Layout<'_>, current: usize) -> String {
    let target = match name {
        Some(n) => match layout.by_name(n) {
            Some(t) => t,
            None => return REF_ERROR.to_owned(),
        },
        None => current,
    };
    let Some(s) = layout.sheets.get(target) else {
        return REF_ERROR.to_owned();
    };
    let range = r.b.is_some();
    let end = |e: End| -> Option<String> {
        let mut out = String::new();
        if let Some((row, abs)) = e.row {
            let mut i = row as usize;
            if i > s.rows.len() {
                if !range {
                    return None;
                }
                i = s.rows.len();
            }
            if abs {
                out.push('$');
            }
            out.push_str(s.rows.get(i.checked_sub(1)?)?);
        }
        out.push(':');
        if let Some((col, abs)) = e.col {
            let mut i = col as usize;
            if i > s.cols.len() {
                if !range {
                    return None;
                }
                i = s.cols.len();
            }
            if abs {
                out.push('$');
            }
            out.push_str(s.cols.get(i.checked_sub(1)?)?);
        }
        Some(out)
    };
    let Some(a) = end(r.a) else {
        return REF_ERROR.to_owned();
    };
    let mut out = String::from("{@");
    if name.is_some() {
        out.push_str(s.id);
        out.push('!');
    }
    out.push_str(&a);
    if let Some(b) = r.b {
        let Some(b) = end(b) else {
            return REF_ERROR.to_owned();
        };
        out.push('~');
        out.push_str(&b);
    }
    out.push('}');
    out
}

/// Translates a stored formula (with its `=`) on sheet `sheet` into A1 notation in `locale`.
pub fn to_a1(stored: &str, locale: Locale, layout: &Layout<'_>, sheet: usize) -> String {
    let chars: Vec<char> = stored.chars().collect();
    let errors = Locale::En.errors();
    let mut out = String::with_capacity(stored.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '{' && chars.get(i + 1) == Some(&'@') {
            match chars[i..].iter().position(|&c| c == '}') {
                Some(len) => {
                    let inner: String = chars[i + 2..i + len].iter().collect();
                    out.push_str(&render_ref(&inner, layout, sheet));
                    i += len + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c == '#' {
            match match_word(&chars, i, &errors) {
                Some((word, n)) => {
                    out.push_str(
                        &locale
                            .from_english(Word::Error, word)
                            .unwrap_or_else(|| word.to_owned()),
                    );
                    i += n;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (end, english) = number(&chars, i, '.');
            out.push_str(&english.replace('.', &locale.decimal().to_string()));
            i = end;
        } else if c.is_alphabetic() || c == '_' {
            let end = word_end(&chars, i);
            let word: String = chars[i..end].iter().collect();
            let kind = if chars.get(end) == Some(&'(') {
                Word::Function
            } else {
                Word::Bool
            };
            out.push_str(locale.from_english(kind, &word).as_deref().unwrap_or(&word));
            i = end;
        } else if c == ',' {
            out.push(locale.list());
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `[sid!]end[~end]` in A1 notation, or `#REF!`.
fn render_ref(inner: &str, layout: &Layout<'_>, current: usize) -> String {
    let (sid, body) = match inner.split_once('!') {
        Some((sid, body)) => (Some(sid), body),
        None => (None, inner),
    };
    let target = match sid {
        Some(sid) => layout.by_id(sid),
        None => Some(current),
    };
    let Some(s) = target.and_then(|t| layout.sheets.get(t)) else {
        return REF_ERROR.to_owned();
    };
    let end = |e: &str| -> Option<Pos> {
        let (row, col) = e.split_once(':')?;
        let find = |part: &str, index: &HashMap<&str, usize>| -> Option<Option<(usize, bool)>> {
            if part.is_empty() {
                return Some(None);
            }
            let (abs, id) = match part.strip_prefix('$') {
                Some(id) => (true, id),
                None => (false, part),
            };
            Some(Some((*index.get(id)? + 1, abs)))
        };
        let pos = (find(row, &s.row_index)?, find(col, &s.col_index)?);
        (pos.0.is_some() || pos.1.is_some()).then_some(pos)
    };
    let write = |(row, col): Pos| -> String {
        let mut out = String::new();
        if let Some((c, abs)) = col {
            if abs {
                out.push('$');
            }
            out.push_str(&col_name(u32::try_from(c).unwrap_or(MAX_A1_COL)));
        }
        if let Some((r, abs)) = row {
            if abs {
                out.push('$');
            }
            out.push_str(&r.to_string());
        }
        out
    };
    let mut parts = body.split('~');
    let text = match (parts.next().and_then(end), parts.next().map(end)) {
        (Some(a), None) => write(a),
        (Some(a), Some(Some(b))) => {
            let (a, b) = if layout.for_engine {
                clamp_range(a, b, s.used)
            } else {
                (a, b)
            };
            format!("{}:{}", write(a), write(b))
        }
        _ => return REF_ERROR.to_owned(),
    };
    match sid {
        Some(_) => format!("{}!{text}", quote_sheet(&s.name)),
        None => text,
    }
}

/// Cuts a cell range of more than [`MAX_RANGE_CELLS`] cells to the used extent `used`: cells
/// past it are empty, so sums, counts and lookups are unchanged.
fn clamp_range(a: Pos, b: Pos, used: (usize, usize)) -> (Pos, Pos) {
    let (((ar, art), (ac, act)), ((br, brt), (bc, bct))) = match (a, b) {
        ((Some(ar), Some(ac)), (Some(br), Some(bc))) => ((ar, ac), (br, bc)),
        _ => return (a, b),
    };
    let rows = ar.abs_diff(br) + 1;
    let cols = ac.abs_diff(bc) + 1;
    if rows.saturating_mul(cols) <= MAX_RANGE_CELLS {
        return (a, b);
    }
    // Per axis: from the lower end up to the last used position (an all-empty span shrinks to
    // the one empty position after the extent). Written lower end first, as the engine would.
    let axis = |x: usize, y: usize, used: usize| -> (usize, usize) {
        let (lo, hi) = (x.min(y), x.max(y));
        if lo > used {
            (used + 1, used + 1)
        } else {
            (lo, hi.min(used.max(lo)))
        }
    };
    let (r1, r2) = axis(ar, br, used.0);
    let (c1, c2) = axis(ac, bc, used.1);
    (
        (Some((r1, art)), Some((c1, act))),
        (Some((r2, brt)), Some((c2, bct))),
    )
}

/// A sheet name as written before `!`: quoted unless it is a plain word that cannot read as a
/// cell reference.
fn quote_sheet(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let plain = chars
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
        && chars.iter().all(|c| c.is_ascii_alphanumeric() || *c == '_')
        && parse_ref(&chars, 0).is_none_or(|(_, end)| end != chars.len());
    if plain {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::calc::formula::testutil::workbook;

    #[derive(serde::Deserialize)]
    struct Case {
        locale: String,
        typed: String,
        stored: String,
        /// What the stored form shows back, when it differs from `typed`.
        shown: Option<String>,
    }

    /// The cases shared with the browser's `formula.js`.
    #[test]
    fn shared_cases() {
        let cases: Vec<Case> = serde_json::from_str(include_str!("../formula_cases.json")).unwrap();
        let wb = workbook();
        let layout = Layout::new(&wb);
        for case in &cases {
            let locale = Locale::from_code(&case.locale);
            let stored = to_stored(&case.typed, locale, &layout, 0);
            assert_eq!(stored, case.stored, "typed {}", case.typed);
            let shown = to_a1(&stored, locale, &layout, 0);
            assert_eq!(
                &shown,
                case.shown.as_ref().unwrap_or(&case.typed),
                "shown {}",
                case.typed
            );
        }
        assert!(cases.len() >= 20);
    }

    #[test]
    fn rows_inserted_inside_a_range_are_taken_in_and_deleted_rows_are_ref() {
        let mut wb = workbook();
        let stored = {
            let layout = Layout::new(&wb);
            to_stored("=SUM(A2:A4)+B3", Locale::En, &layout, 0)
        };
        assert_eq!(stored, "=SUM({@r2:c1~r4:c1})+{@r3:c2}");
        wb.sheets[0].rows.insert(2, "new".into());
        assert_eq!(
            to_a1(&stored, Locale::En, &Layout::new(&wb), 0),
            "=SUM(A2:A5)+B4"
        );
        wb.sheets[0].rows.retain(|r| r != "r3");
        assert_eq!(
            to_a1(&stored, Locale::En, &Layout::new(&wb), 0),
            "=SUM(A2:A4)+#REF!"
        );
        wb.sheets[0].rows.retain(|r| r != "r4");
        assert_eq!(
            to_a1(&stored, Locale::En, &Layout::new(&wb), 0),
            "=SUM(#REF!)+#REF!"
        );
    }

    #[test]
    fn renamed_and_deleted_sheets() {
        let mut wb = workbook();
        let stored = to_stored("='Other sheet'!A1*2", Locale::En, &Layout::new(&wb), 0);
        assert_eq!(stored, "={@s2!q1:k1}*2");
        wb.sheets[1].name = "Data".into();
        assert_eq!(
            to_a1(&stored, Locale::Fr, &Layout::new(&wb), 0),
            "=Data!A1*2"
        );
        wb.sheets.pop();
        assert_eq!(to_a1(&stored, Locale::En, &Layout::new(&wb), 0), "=#REF!*2");
    }
}
