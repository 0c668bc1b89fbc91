//! Formulas between what people type and what is stored.
//!
//! Stored form: IronCalc's canonical English (`SUM`, `1.5`, `,` between arguments) with every
//! reference written by row and column id instead of position:
//!
//! ```text
//! {@rowId:colId}            a cell               (B5)
//! {@$rowId:$colId}          absolute parts       ($B$5)
//! {@r1:c1~r2:c2}            a range              (B5:C9)
//! {@:c1~:c2}  {@r1:~r2:}    whole columns / rows (B:C, 5:9)
//! {@sid!r:c}                on another sheet     (Sheet2!B5), by sheet id so renames follow
//! ```
//!
//! So inserting a row moves nothing in any formula: `{@r1:c}` still names the same row, and a
//! range between two row ids takes in the rows inserted between them. A reference to a deleted
//! row, column or sheet reads as `#REF!`. Positions past the end of the sheet are clamped for
//! range ends (`A1:A999999999` is the whole column as far as it goes) and `#REF!` for single
//! cells, so no formula can reach beyond a sheet's bounded size.
//!
//! The browser has the same translation in `web/src/calc/formula.js`; both are checked against
//! the shared cases in `formula_cases.json` (and `range_cases.json` for what deletions and sorts do to ranges).

use std::collections::{HashMap, HashSet};

use super::locale::{Locale, Word};
use super::schema::Workbook;

/// Largest column number in A1 notation (`XFD`).
const MAX_A1_COL: u32 = 16_384;
/// Largest row number in A1 notation.
const MAX_A1_ROW: u32 = 1_048_576;
/// What a reference that points nowhere becomes.
const REF_ERROR: &str = "#REF!";
/// 1-based (row, col) of a reference end, each with its `$`; `None` parts are whole rows or
/// columns.
type Pos = (Option<(usize, bool)>, Option<(usize, bool)>);

/// Ranges larger than this are cut to the sheet's used extent when written for the engine,
/// which visits every cell of a range: a formula over a whole huge sheet stays cheap.
pub const MAX_RANGE_CELLS: usize = 1_000_000;

/// Where every sheet, row and column is, for translating references.
#[derive(Debug)]
pub struct Layout<'a> {
    sheets: Vec<SheetLayout<'a>>,
    /// Whether references are written for the engine (huge ranges cut to the used extent).
    for_engine: bool,
}

/// One sheet of a [`Layout`].
#[derive(Debug)]
pub struct SheetLayout<'a> {
    /// Sheet id.
    pub id: &'a str,
    /// Display name, unique in the workbook (case-insensitively) and valid for IronCalc.
    pub name: String,
    rows: &'a [String],
    cols: &'a [String],
    row_index: HashMap<&'a str, usize>,
    col_index: HashMap<&'a str, usize>,
    /// Rows and columns in use (1-based last position holding a cell; 0 when empty).
    used: (usize, usize),
}

impl<'a> Layout<'a> {
    /// The layout of `workbook`.
    pub fn new(workbook: &'a Workbook) -> Self {
        let names = display_names(workbook);
        let sheets = workbook
            .sheets
            .iter()
            .zip(names)
            .map(|(s, name)| SheetLayout {
                id: &s.id,
                name,
                rows: &s.rows,
                cols: &s.cols,
                row_index: s.row_index(),
                col_index: s.col_index(),
                used: s
                    .placed_cells()
                    .iter()
                    .fold((0, 0), |(r, c), &(pr, pc, _)| {
                        (r.max(pr + 1), c.max(pc + 1))
                    }),
            })
            .collect();
        Layout {
            sheets,
            for_engine: false,
        }
    }

    /// The layout of `workbook` for writing formulas the engine evaluates.
    pub fn for_engine(workbook: &'a Workbook) -> Self {
        Layout {
            for_engine: true,
            ..Layout::new(workbook)
        }
    }

    /// The sheets in tab order.
    pub fn sheets(&self) -> &[SheetLayout<'a>] {
        &self.sheets
    }

    fn by_name(&self, name: &str) -> Option<usize> {
        self.sheets
            .iter()
            .position(|s| s.name.to_lowercase() == name.to_lowercase())
    }

    fn by_id(&self, id: &str) -> Option<usize> {
        self.sheets.iter().position(|s| s.id == id)
    }
}

/// Unique, valid sheet names: users may give two tabs the same name or characters IronCalc
/// refuses; the displayed (and evaluated) name is fixed up, the stored one left alone.
pub fn display_names(workbook: &Workbook) -> Vec<String> {
    unique_sheet_names(workbook.sheets.iter().map(|s| s.name.as_str()))
}

/// `names` made valid for IronCalc (no `[]:*?/\\`, at most 31 characters, never empty) and
/// unique case-insensitively, in order.
pub fn unique_sheet_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, raw) in names.into_iter().enumerate() {
        let cleaned: String = raw
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') && !c.is_control())
            .take(31)
            .collect();
        let cleaned = cleaned.trim().trim_matches('\'').trim().to_owned();
        let base = if cleaned.is_empty() {
            format!("Sheet{}", i + 1)
        } else {
            cleaned
        };
        let mut name = base.clone();
        let mut k = 2;
        while taken.contains(&name.to_lowercase()) {
            name = format!("{base} ({k})");
            k += 1;
        }
        taken.push(name.to_lowercase());
        out.push(name);
    }
    out
}

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
struct End {
    row: Option<(u32, bool)>,
    col: Option<(u32, bool)>,
}

/// A cell, or a range of two ends.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ref {
    a: End,
    b: Option<End>,
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
fn parse_ref(chars: &[char], i: usize) -> Option<(Ref, usize)> {
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
fn string_end(chars: &[char], i: usize) -> usize {
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
fn quoted_name(chars: &[char], i: usize) -> Option<(String, usize)> {
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

fn word_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while j < chars.len() && is_word(chars[j]) {
        j += 1;
    }
    j
}

/// End of the number at `i` written with decimal separator `decimal`; its English text.
fn number(chars: &[char], i: usize, decimal: char) -> (usize, String) {
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
fn match_word<'c>(chars: &[char], i: usize, candidates: &'c [String]) -> Option<(&'c str, usize)> {
    candidates.iter().find_map(|w| {
        let n = w.chars().count();
        let here: String = chars.get(i..i + n)?.iter().collect();
        here.eq_ignore_ascii_case(w).then_some((w.as_str(), n))
    })
}

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

/// Which ids a deletion removes, for [`shrink_ranges`]; positions indexed once per deletion,
/// since every formula of the workbook is visited.
#[derive(Debug, Clone)]
pub struct Deletion<'a> {
    sheet: &'a str,
    rows: bool,
    order: &'a [String],
    position: HashMap<&'a str, usize>,
    deleted: &'a HashSet<&'a str>,
}

impl<'a> Deletion<'a> {
    /// `deleted` rows (else columns) of `sheet`, whose ids were `order` before.
    pub fn new(
        sheet: &'a str,
        rows: bool,
        order: &'a [String],
        deleted: &'a HashSet<&'a str>,
    ) -> Self {
        Deletion {
            sheet,
            rows,
            order,
            position: super::schema::index_of(order),
            deleted,
        }
    }
}

/// A new order of the same rows or columns (a sort or a move), for [`keep_range_positions`]:
/// for each id whose position now holds another, that other id (computed once per change).
#[derive(Debug, Clone)]
pub struct Reordering<'a> {
    sheet: &'a str,
    rows: bool,
    now_at: HashMap<&'a str, &'a str>,
}

impl<'a> Reordering<'a> {
    /// Rows (else columns) of `sheet` going from the order `before` to `after`.
    pub fn new(sheet: &'a str, rows: bool, before: &'a [String], after: &'a [String]) -> Self {
        let now_at = before
            .iter()
            .zip(after)
            .filter(|(b, a)| b != a)
            .map(|(b, a)| (b.as_str(), a.as_str()))
            .collect();
        Reordering {
            sheet,
            rows,
            now_at,
        }
    }
}

/// The stored formula `stored` (on sheet `home`) with every range end that `deletion` removes
/// moved inward to the nearest row or column that survives inside the range, as spreadsheets
/// shrink a range when its first or last row goes; `None` when nothing changes. A range with no
/// survivor, and a single-cell reference to a deleted row, are left to read `#REF!`.
pub fn shrink_ranges(stored: &str, home: &str, deletion: &Deletion<'_>) -> Option<String> {
    let gone = |id: &str| deletion.deleted.contains(id);
    map_ranges(stored, home, deletion.sheet, deletion.rows, &|a, b| {
        if !(gone(a) || gone(b)) {
            return None;
        }
        let (pa, pb) = (*deletion.position.get(a)?, *deletion.position.get(b)?);
        let span = &deletion.order[pa.min(pb)..=pa.max(pb)];
        let mut survivors = span.iter().filter(|id| !gone(id.as_str()));
        let first = survivors.next()?;
        let last = survivors.next_back().unwrap_or(first);
        Some(if pa <= pb {
            (first.clone(), last.clone())
        } else {
            (last.clone(), first.clone())
        })
    })
}

/// The stored formula `stored` (on sheet `home`) with every range end inside the reordered span
/// replaced by the id now at its position, so a range keeps covering the same positions: a
/// total under a column keeps summing the whole column after the column is sorted. Single-cell
/// references are left to follow their row. `None` when nothing changes.
pub fn keep_range_positions(stored: &str, home: &str, change: &Reordering<'_>) -> Option<String> {
    map_ranges(stored, home, change.sheet, change.rows, &|a, b| {
        let (na, nb) = (change.now_at.get(a), change.now_at.get(b));
        if na.is_none() && nb.is_none() {
            return None;
        }
        Some((
            na.map_or(a, |id| *id).to_owned(),
            nb.map_or(b, |id| *id).to_owned(),
        ))
    })
}

/// The ids of a range's two ends on one axis, replaced as `f` says.
type EndMap<'f> = dyn Fn(&str, &str) -> Option<(String, String)> + 'f;

/// `stored` with the ends of every range on `sheet` (the axis of `rows`) given to `f`, which
/// answers their new ids or `None` to keep them; `None` when no range changed. Text in quotes
/// is never read as a reference.
fn map_ranges(stored: &str, home: &str, sheet: &str, rows: bool, f: &EndMap<'_>) -> Option<String> {
    let chars: Vec<char> = stored.chars().collect();
    let mut out = String::with_capacity(stored.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let end = string_end(&chars, i);
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if c == '{' && chars.get(i + 1) == Some(&'@') {
            if let Some(len) = chars[i..].iter().position(|&c| c == '}') {
                let inner: String = chars[i + 2..i + len].iter().collect();
                let moved = map_range(&inner, home, sheet, rows, f);
                changed |= moved.is_some();
                out.push_str("{@");
                out.push_str(moved.as_deref().unwrap_or(&inner));
                out.push('}');
                i += len + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    changed.then_some(out)
}

/// One reference's inside (`[sid!]end~end`) with its ends mapped; `None` if it is not a range
/// on `sheet` with both ends on the axis, or `f` keeps it.
fn map_range(inner: &str, home: &str, sheet: &str, rows: bool, f: &EndMap<'_>) -> Option<String> {
    let (sid, body) = match inner.split_once('!') {
        Some((sid, body)) => (Some(sid), body),
        None => (None, inner),
    };
    if sid.unwrap_or(home) != sheet {
        return None;
    }
    let (a, b) = body.split_once('~')?;
    // An end's part on the axis (`$` apart) and its other part.
    let split = |end: &'_ str| -> Option<(bool, String, String)> {
        let (row, col) = end.split_once(':')?;
        let (part, rest) = if rows { (row, col) } else { (col, row) };
        let (abs, id) = match part.strip_prefix('$') {
            Some(id) => (true, id),
            None => (false, part),
        };
        (!id.is_empty()).then(|| (abs, id.to_owned(), rest.to_owned()))
    };
    let ((abs_a, id_a, rest_a), (abs_b, id_b, rest_b)) = (split(a)?, split(b)?);
    let (new_a, new_b) = f(&id_a, &id_b)?;
    let join = |abs: bool, id: &str, rest: &str| {
        let abs = if abs { "$" } else { "" };
        if rows {
            format!("{abs}{id}:{rest}")
        } else {
            format!("{rest}:{abs}{id}")
        }
    };
    let body = format!(
        "{}~{}",
        join(abs_a, &new_a, &rest_a),
        join(abs_b, &new_b, &rest_b)
    );
    Some(match sid {
        Some(sid) => format!("{sid}!{body}"),
        None => body,
    })
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
    use crate::doc::calc::schema::Sheet;

    /// Two sheets: "Sheet1" (rows r1..r10, cols c1..c5) and "Other sheet" (rows q1..q3).
    pub(crate) fn workbook() -> Workbook {
        let ids = |p: &str, n: usize| (1..=n).map(|i| format!("{p}{i}")).collect();
        Workbook {
            sheets: vec![
                Sheet {
                    id: "s1".into(),
                    name: "Sheet1".into(),
                    rows: ids("r", 10),
                    cols: ids("c", 5),
                    ..Sheet::default()
                },
                Sheet {
                    id: "s2".into(),
                    name: "Other sheet".into(),
                    rows: ids("q", 3),
                    cols: ids("k", 3),
                    ..Sheet::default()
                },
            ],
        }
    }

    #[derive(serde::Deserialize)]
    struct Case {
        locale: String,
        typed: String,
        stored: String,
        /// What the stored form shows back, when it differs from `typed`.
        shown: Option<String>,
    }

    /// A case of `range_cases.json`, shared with the browser's `formula.js`: rows (or columns)
    /// `r1`…`r5` (`c1`…`c5`), some deleted or put in the order `after`.
    #[derive(serde::Deserialize)]
    struct RangeCase {
        why: String,
        op: String,
        stored: String,
        home: String,
        sheet: String,
        rows: bool,
        #[serde(default)]
        deleted: Vec<String>,
        #[serde(default)]
        after: Vec<String>,
        expect: Option<String>,
    }

    #[test]
    fn ranges_shrink_on_deletions_and_keep_their_positions_on_sorts() {
        let cases: Vec<RangeCase> = serde_json::from_str(include_str!("../range_cases.json")).unwrap();
        let rows: Vec<String> = (1..=5).map(|i| format!("r{i}")).collect();
        let cols: Vec<String> = (1..=5).map(|i| format!("c{i}")).collect();
        for case in &cases {
            let order = if case.rows { &rows } else { &cols };
            let got = match case.op.as_str() {
                "delete" => {
                    let deleted = case.deleted.iter().map(String::as_str).collect();
                    let deletion = Deletion::new(&case.sheet, case.rows, order, &deleted);
                    shrink_ranges(&case.stored, &case.home, &deletion)
                }
                _ => {
                    let change = Reordering::new(&case.sheet, case.rows, order, &case.after);
                    keep_range_positions(&case.stored, &case.home, &change)
                }
            };
            assert_eq!(got, case.expect, "{}", case.why);
        }
        assert!(cases.len() >= 20);
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

    #[test]
    fn column_names() {
        assert_eq!(col_name(1), "A");
        assert_eq!(col_name(26), "Z");
        assert_eq!(col_name(27), "AA");
        assert_eq!(col_name(16384), "XFD");
        assert_eq!(col_number(&['x', 'f', 'd']), Some(16384));
        assert_eq!(col_number(&['X', 'F', 'E']), None);
    }

    #[test]
    fn unique_sheet_names() {
        let mut wb = workbook();
        wb.sheets[1].name = "sheet1".into();
        wb.sheets.push(Sheet {
            name: " a/b* ".into(),
            ..Sheet::default()
        });
        wb.sheets.push(Sheet::default());
        assert_eq!(display_names(&wb), ["Sheet1", "sheet1 (2)", "ab", "Sheet4"]);
    }
}
