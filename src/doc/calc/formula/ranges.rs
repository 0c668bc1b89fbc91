//! Stored ranges rewritten when rows or columns go or move: a range shrinks when its first or
//! last row is deleted, and keeps covering the same positions when they are sorted.

use std::collections::{HashMap, HashSet};

use super::lex::string_end;

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
            position: crate::doc::calc::schema::index_of(order),
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let cases: Vec<RangeCase> =
            serde_json::from_str(include_str!("../range_cases.json")).unwrap();
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
}
