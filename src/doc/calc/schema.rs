//! The calc document in yrs (DESIGN.md §3): reading a `Doc` into a [`Workbook`] and the edits
//! every client makes (sheets, rows, columns, cells), so tests and imports write exactly what the
//! browser writes.
//!
//! Cells are keyed by `rowId:colId`: inserting, deleting or moving rows and columns only touches
//! the id arrays, never another cell, so concurrent structure edits cannot shift anyone's data.

use std::collections::{HashMap, HashSet};

use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Map, MapPrelim, MapRef, Out, ReadTxn, Transact,
    TransactionMut, WriteTxn,
};

use super::formula;
use super::value::{CellFormat, Input};

/// Root array of sheet ids in tab order.
pub const SHEETS: &str = "sheets";
/// Prefix of each sheet's root map: `sheet:{sid}`.
pub const SHEET_PREFIX: &str = "sheet:";

/// Rows of a new sheet.
pub const DEFAULT_ROWS: usize = 1000;
/// Columns of a new sheet.
pub const DEFAULT_COLS: usize = 26;
/// Most rows a sheet may have; ids past it are ignored, which bounds every range.
pub const MAX_ROWS: usize = 100_000;
/// Most columns a sheet may have.
pub const MAX_COLS: usize = 1_000;

/// A whole workbook as read from the document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workbook {
    /// Sheets in tab order (duplicates in the tab array appear once).
    pub sheets: Vec<Sheet>,
}

/// One sheet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sheet {
    /// Stable id (the `sid` of `sheet:{sid}`).
    pub id: String,
    /// Tab name as set by users (not necessarily unique or valid: see `eval::sheet_names`).
    pub name: String,
    /// Row ids in display order, each once (the first occurrence in the array).
    pub rows: Vec<String>,
    /// Column ids in display order, each once.
    pub cols: Vec<String>,
    /// Inputs keyed by `rowId:colId` (cells of deleted rows or columns included: they are
    /// simply not displayed).
    pub cells: HashMap<String, Input>,
    /// Formatting keyed by `rowId:colId`.
    pub fmt: HashMap<String, CellFormat>,
    /// Column widths in CSS pixels, by column id.
    pub col_widths: HashMap<String, f64>,
}

/// The key of a cell in `cells` and `fmt`.
pub fn cell_key(row: &str, col: &str) -> String {
    format!("{row}:{col}")
}

impl Sheet {
    /// Position of each row id (first occurrence wins).
    pub fn row_index(&self) -> HashMap<&str, usize> {
        index_of(&self.rows)
    }

    /// Position of each column id (first occurrence wins).
    pub fn col_index(&self) -> HashMap<&str, usize> {
        index_of(&self.cols)
    }

    /// The input of the cell at (`row`, `col`), 0-based display positions.
    pub fn input_at(&self, row: usize, col: usize) -> Option<&Input> {
        let key = cell_key(self.rows.get(row)?, self.cols.get(col)?);
        self.cells.get(&key)
    }

    /// The cells that are displayed, as (row, column, input), 0-based, in row-major order.
    pub fn placed_cells(&self) -> Vec<(usize, usize, &Input)> {
        let rows = self.row_index();
        let cols = self.col_index();
        let mut out: Vec<(usize, usize, &Input)> = self
            .cells
            .iter()
            .filter_map(|(key, input)| {
                let (r, c) = key.split_once(':')?;
                Some((*rows.get(r)?, *cols.get(c)?, input))
            })
            .collect();
        out.sort_by_key(|&(r, c, _)| (r, c));
        out
    }
}

/// Position of each id (first occurrence wins).
pub(crate) fn index_of(ids: &[String]) -> HashMap<&str, usize> {
    let mut map = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        map.entry(id.as_str()).or_insert(i);
    }
    map
}

/// The ids an id array shows, each with its index in the array: strings only, the first
/// occurrence of each (two concurrent sorts or moves insert the same id twice; every reader, here
/// and in the browser's `doc.js`, keeps the first), at most `max`.
fn shown_ids<T: ReadTxn>(txn: &T, array: &ArrayRef, max: usize) -> Vec<(String, u32)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, v) in array.iter(txn).enumerate() {
        if out.len() >= max {
            break;
        }
        let (Out::Any(Any::String(id)), Ok(i)) = (v, u32::try_from(i)) else {
            continue;
        };
        if seen.insert(id.clone()) {
            out.push((id.to_string(), i));
        }
    }
    out
}

/// Reads the workbook of a calc document.
pub fn read<T: ReadTxn>(txn: &T) -> Workbook {
    let sheets = shown_sheets(txn)
        .into_iter()
        .map(|(sid, map)| read_sheet(txn, &sid, &map))
        .collect();
    Workbook { sheets }
}

/// The sheets shown, in tab order, with their root maps: each id once, deleted sheets skipped.
fn shown_sheets<T: ReadTxn>(txn: &T) -> Vec<(String, MapRef)> {
    let mut sheets = Vec::new();
    let Some(tabs) = txn.get_array(SHEETS) else {
        return sheets;
    };
    let mut seen = HashSet::new();
    for sid in tabs.iter(txn) {
        let Out::Any(Any::String(sid)) = sid else {
            continue;
        };
        if !seen.insert(sid.clone()) {
            continue;
        }
        if let Some(map) = txn.get_map(format!("{SHEET_PREFIX}{sid}")) {
            // A deleted sheet has no `rows` left; its id may still be in the tabs when a
            // concurrent tab move re-inserted it, and it stays deleted.
            if matches!(map.get(txn, "rows"), Some(Out::YArray(_))) {
                sheets.push((sid.to_string(), map));
            }
        }
    }
    sheets
}

fn read_sheet<T: ReadTxn>(txn: &T, sid: &str, map: &MapRef) -> Sheet {
    let name = match map.get(txn, "name") {
        Some(Out::Any(Any::String(s))) => s.to_string(),
        _ => String::new(),
    };
    let ids = |key: &str, max: usize| -> Vec<String> {
        match map.get(txn, key) {
            Some(Out::YArray(a)) => shown_ids(txn, &a, max)
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            _ => Vec::new(),
        }
    };
    let entries = |key: &str| -> Vec<(String, Any)> {
        match map.get(txn, key) {
            Some(Out::YMap(m)) => m
                .iter(txn)
                .map(|(k, v)| (k.to_owned(), v.to_json(txn)))
                .collect(),
            _ => Vec::new(),
        }
    };
    let cells = entries("cells")
        .into_iter()
        .filter_map(|(k, v)| Some((k, Input::from_any(&v)?)))
        .collect();
    let fmt = entries("fmt")
        .into_iter()
        .filter_map(|(k, v)| Some((k, CellFormat::from_any(&v)?)))
        .collect();
    let col_widths = entries("colmeta")
        .into_iter()
        .filter_map(|(k, v)| match v {
            Any::Map(m) => match m.get("w") {
                Some(Any::Number(w)) => w
                    .as_f64()
                    .filter(|w| w.is_finite() && *w > 0.0)
                    .map(|w| (k, w)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    Sheet {
        id: sid.to_owned(),
        name,
        rows: ids("rows", MAX_ROWS),
        cols: ids("cols", MAX_COLS),
        cells,
        fmt,
        col_widths,
    }
}

/// A new random id: 8 characters of base62 (about 47 bits, ample within one sheet).
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    crate::doc::random::random_bytes::<8>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The row ids of a new sheet: deterministic (`r1`…), so two clients that create the same first
/// sheet at once write identical arrays and neither one's cells are orphaned. Random ids are 8
/// characters long and cannot collide with these.
fn default_ids(prefix: char, n: usize) -> Vec<Any> {
    (1..=n).map(|i| Any::from(format!("{prefix}{i}"))).collect()
}

/// Errors of the edit helpers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No sheet with that id.
    #[error("no such sheet")]
    NoSheet,
    /// Position past the end of the rows or columns.
    #[error("position out of range")]
    OutOfRange,
    /// A reorder whose ids are not exactly the shown ones.
    #[error("not a reordering of the shown ids")]
    NotPermutation,
    /// The last sheet of a workbook cannot be deleted.
    #[error("the last sheet cannot be deleted")]
    LastSheet,
}

/// Client id of the first sheet's items: every client creates that sheet with the same ids and
/// content, so two people opening a brand-new calc at once make the same items, which Yjs merges
/// as one (a nested `cells` map created by each would otherwise be last-writer-wins, and the
/// loser's first edits would vanish). The browser's `doc.js` does the same.
pub const FIRST_SHEET_CLIENT: u64 = 1;
/// Clock of `FIRST_SHEET_CLIENT` after the first sheet, the same in the browser.
pub const FIRST_SHEET_CLOCK: u32 = 1034;

/// The first sheet as one update: fixed client, fixed id `s1`, no name (shown as "Sheet1", or
/// the viewer's word for it, until someone renames it).
fn first_sheet_update() -> Vec<u8> {
    let doc = yrs::Doc::with_client_id(FIRST_SHEET_CLIENT);
    {
        let mut txn = doc.transact_mut();
        let tabs = txn.get_or_insert_array(SHEETS);
        tabs.push_back(&mut txn, "s1");
        create_sheet(&mut txn, "s1", "");
    }
    let txn = doc.transact();
    txn.encode_state_as_update_v1(&yrs::StateVector::default())
}

/// Gives an empty workbook its first sheet (see [`FIRST_SHEET_CLIENT`]); a workbook whose
/// sheets were all deleted (two people deleting the last two at once) gets a new unnamed one.
pub fn ensure_first_sheet(txn: &mut TransactionMut) {
    if !read(txn).sheets.is_empty() {
        return;
    }
    let first_made = txn
        .state_vector()
        .get(&yrs::block::ClientID::new(FIRST_SHEET_CLIENT))
        >= FIRST_SHEET_CLOCK;
    if first_made {
        // The fixed first sheet cannot be made twice: its items exist, deleted.
        add_sheet(txn, "");
        return;
    }
    // Built here from constants: decoding and applying it cannot fail.
    if let Ok(update) = yrs::Update::decode_v1(&first_sheet_update()) {
        let _ = txn.apply_update(update);
    }
}

/// Adds a sheet at the end of the tabs; returns its id.
pub fn add_sheet(txn: &mut TransactionMut, name: &str) -> String {
    let sid = new_id();
    let tabs = txn.get_or_insert_array(SHEETS);
    tabs.push_back(txn, sid.as_str());
    create_sheet(txn, &sid, name);
    sid
}

fn create_sheet(txn: &mut TransactionMut, sid: &str, name: &str) {
    let map = txn.get_or_insert_map(format!("{SHEET_PREFIX}{sid}"));
    map.insert(txn, "name", name);
    map.insert(
        txn,
        "rows",
        ArrayPrelim::from(default_ids('r', DEFAULT_ROWS)),
    );
    map.insert(
        txn,
        "cols",
        ArrayPrelim::from(default_ids('c', DEFAULT_COLS)),
    );
    map.insert(txn, "cells", MapPrelim::default());
    map.insert(txn, "fmt", MapPrelim::default());
    map.insert(txn, "rowmeta", MapPrelim::default());
    map.insert(txn, "colmeta", MapPrelim::default());
}

fn sheet_map<T: ReadTxn>(txn: &T, sid: &str) -> Result<MapRef, EditError> {
    txn.get_map(format!("{SHEET_PREFIX}{sid}"))
        .ok_or(EditError::NoSheet)
}

fn nested_array(txn: &TransactionMut, map: &MapRef, key: &str) -> Result<ArrayRef, EditError> {
    match map.get(txn, key) {
        Some(Out::YArray(a)) => Ok(a),
        _ => Err(EditError::NoSheet),
    }
}

fn nested_map(txn: &TransactionMut, map: &MapRef, key: &str) -> Result<MapRef, EditError> {
    match map.get(txn, key) {
        Some(Out::YMap(m)) => Ok(m),
        _ => Err(EditError::NoSheet),
    }
}

/// Which id array an edit changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// `rows`.
    Rows,
    /// `cols`.
    Cols,
}

impl Axis {
    fn key(self) -> &'static str {
        match self {
            Axis::Rows => "rows",
            Axis::Cols => "cols",
        }
    }
}

fn axis_max(axis: Axis) -> usize {
    match axis {
        Axis::Rows => MAX_ROWS,
        Axis::Cols => MAX_COLS,
    }
}

/// Inserts `n` new rows or columns before displayed position `at` (0-based); returns their ids.
pub fn insert(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    at: u32,
    n: u32,
) -> Result<Vec<String>, EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, axis.key())?;
    let shown = shown_ids(txn, &array, axis_max(axis));
    // Before the first occurrence of the row now shown at `at`, or after the last shown one:
    // hidden duplicates elsewhere in the array do not count as positions.
    let index = match shown.get(at as usize) {
        Some(&(_, i)) => i,
        None if at as usize == shown.len() => shown.last().map_or(0, |&(_, i)| i + 1),
        None => return Err(EditError::OutOfRange),
    };
    let ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    array.insert_range(txn, index, ids.iter().map(|id| Any::from(id.as_str())));
    Ok(ids)
}

/// Deletes `n` rows or columns from displayed position `at`, every occurrence of their ids (a
/// duplicate left behind would show the row again). Their cells stay in the map (undisplayed),
/// so a concurrent edit of a deleted row is not an error; references to them show `#REF!`,
/// except a range's end, which moves inward to the nearest surviving row of the range
/// ([`formula::shrink_ranges`]), as spreadsheets shrink `SUM(B2:B5)` when row 2 goes.
pub fn delete(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    at: u32,
    n: u32,
) -> Result<(), EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, axis.key())?;
    let shown = shown_ids(txn, &array, axis_max(axis));
    let (at, n) = (at as usize, n as usize);
    if at.saturating_add(n) > shown.len() {
        return Err(EditError::OutOfRange);
    }
    let gone: HashSet<String> = shown[at..at + n].iter().map(|(id, _)| id.clone()).collect();
    remove_where(txn, &array, |id| gone.contains(id));
    let order: Vec<String> = shown.into_iter().map(|(id, _)| id).collect();
    let deleted: HashSet<&str> = gone.iter().map(String::as_str).collect();
    let deletion = formula::Deletion::new(sid, axis == Axis::Rows, &order, &deleted);
    rewrite_formulas(txn, |stored, home| {
        formula::shrink_ranges(stored, home, &deletion)
    });
    Ok(())
}

/// Rewrites every formula of the workbook that `rewrite(stored, its sheet id)` changes: the
/// formulas a structure edit must carry along (any sheet may refer to the edited one). Written
/// in the edit's transaction, as one more cell edit each (last writer wins, like any edit).
fn rewrite_formulas(txn: &mut TransactionMut, rewrite: impl Fn(&str, &str) -> Option<String>) {
    let mut changes: Vec<(MapRef, String, Input)> = Vec::new();
    // Only the sheet list: reading the whole workbook would decode every cell twice.
    for (sid, map) in shown_sheets(txn) {
        let Ok(cells) = nested_map(txn, &map, "cells") else {
            continue;
        };
        for (key, value) in cells.iter(txn) {
            let Out::Any(any) = value else { continue };
            if let Some(Input::Formula(stored)) = Input::from_any(&any) {
                if let Some(new) = rewrite(&stored, &sid) {
                    changes.push((cells.clone(), key.to_owned(), Input::Formula(new)));
                }
            }
        }
    }
    for (cells, key, input) in changes {
        cells.insert(txn, key, input.to_any());
    }
}

/// Removes every item of `array` whose id passes `pred`, from the end so indices stay valid,
/// one run of neighbours at a time.
fn remove_where(txn: &mut TransactionMut, array: &ArrayRef, pred: impl Fn(&str) -> bool) {
    let hits: Vec<u32> = array
        .iter(txn)
        .enumerate()
        .filter_map(|(i, v)| match v {
            Out::Any(Any::String(id)) if pred(&id) => u32::try_from(i).ok(),
            _ => None,
        })
        .collect();
    let mut end = hits.len();
    while end > 0 {
        let mut start = end - 1;
        while start > 0 && hits[start - 1] + 1 == hits[start] {
            start -= 1;
        }
        let len = u32::try_from(end - start).unwrap_or(u32::MAX);
        array.remove_range(txn, hits[start], len);
        end = start;
    }
}

/// Puts the shown ids of a sheet's rows or columns in the order `order`, which must hold the
/// same ids (a permutation), else [`EditError::NotPermutation`].
///
/// Yjs has no move: the part that changes (between the common prefix and suffix) is deleted and
/// its ids inserted again in the new order, in this one transaction; the rows around it are not
/// touched. Cells are keyed by id, so they travel with their row, and formulas, which name rows
/// by id, keep naming the same data wherever it lands: `=B3*2` on the row of "Ada" still reads
/// Ada's B after a sort (its A1 text changes, its meaning does not). A range is different: its
/// ends are moved to the ids now at their old positions ([`formula::keep_range_positions`]), so
/// `=SUM(B2:B5)` under a sorted column still sums B2:B5, as in any spreadsheet; those formulas
/// are the only cells a reorder rewrites.
///
/// Concurrently: two reorders of the same rows both re-insert the ids, so each appears twice;
/// every reader keeps the first occurrence, so all replicas show the same order with no row
/// twice. When both rewrote the same span that order is one of the two (Yjs puts one insertion
/// wholly before the other); when their spans differ it can mix them. A row
/// deleted while someone reorders comes back: the delete removed the old item, the reorder
/// inserted a new one with the same id, and a delete cannot target an item it has not seen.
/// Nothing is lost (its cells were never removed) and it can be deleted again; preventing it
/// would need the reorder to know of deletions it cannot see yet.
pub fn reorder(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    order: &[String],
) -> Result<(), EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, axis.key())?;
    let shown = shown_ids(txn, &array, axis_max(axis));
    let same_set = order.len() == shown.len() && {
        let have: HashSet<&str> = shown.iter().map(|(id, _)| id.as_str()).collect();
        let want: HashSet<&str> = order.iter().map(String::as_str).collect();
        want.len() == order.len() && have == want
    };
    if !same_set {
        return Err(EditError::NotPermutation);
    }
    let len = shown.len();
    let prefix = shown
        .iter()
        .zip(order)
        .take_while(|((a, _), b)| a == *b)
        .count();
    if prefix == len {
        return Ok(());
    }
    let suffix = shown
        .iter()
        .rev()
        .zip(order.iter().rev())
        .take(len - prefix)
        .take_while(|((a, _), b)| a == *b)
        .count();
    let middle = &order[prefix..len - suffix];
    let first = shown[prefix].1;
    let last = shown[len - suffix - 1].1;
    let moved: HashSet<&str> = middle.iter().map(String::as_str).collect();
    // Hidden duplicates of the moved ids past the rewritten span go too, so nothing stale can
    // resurface if the first occurrence is later deleted.
    let tail: Vec<u32> = array
        .iter(txn)
        .enumerate()
        .skip(last as usize + 1)
        .filter_map(|(i, v)| match v {
            Out::Any(Any::String(id)) if moved.contains(id.as_ref()) => u32::try_from(i).ok(),
            _ => None,
        })
        .collect();
    for i in tail.into_iter().rev() {
        array.remove(txn, i);
    }
    array.remove_range(txn, first, last - first + 1);
    array.insert_range(txn, first, middle.iter().map(|id| Any::from(id.as_str())));
    let before: Vec<String> = shown.into_iter().map(|(id, _)| id).collect();
    let change = formula::Reordering::new(sid, axis == Axis::Rows, &before, order);
    rewrite_formulas(txn, |stored, home| {
        formula::keep_range_positions(stored, home, &change)
    });
    Ok(())
}

/// Moves the `n` shown rows or columns at `at` by `by` places (negative: up or left); a move
/// past either end is [`EditError::OutOfRange`]. See [`reorder`] for what it means concurrently.
pub fn move_ids(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    at: u32,
    n: u32,
    by: i64,
) -> Result<(), EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, axis.key())?;
    let mut ids: Vec<String> = shown_ids(txn, &array, axis_max(axis))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let (at, n) = (at as usize, n as usize);
    let to = i64::try_from(at)
        .ok()
        .and_then(|at| at.checked_add(by))
        .and_then(|to| usize::try_from(to).ok())
        .filter(|to| n > 0 && at + n <= ids.len() && to + n <= ids.len())
        .ok_or(EditError::OutOfRange)?;
    let block: Vec<String> = ids.drain(at..at + n).collect();
    ids.splice(to..to, block);
    reorder(txn, sid, axis, &ids)
}

/// Sorts the rows of sheet `sid` by column `col` (an id), keys from `key(row id)`: see
/// [`super::sort::compare`] for the order. With `header`, the first shown row stays first.
/// Only the `rows` array changes ([`reorder`]).
pub fn sort_rows(
    txn: &mut TransactionMut,
    sid: &str,
    descending: bool,
    header: bool,
    key: impl Fn(&str) -> super::sort::SortKey,
) -> Result<(), EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, "rows")?;
    let ids: Vec<String> = shown_ids(txn, &array, MAX_ROWS)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let skip = usize::from(header).min(ids.len());
    let mut keyed: Vec<(super::sort::SortKey, String)> =
        ids[skip..].iter().map(|id| (key(id), id.clone())).collect();
    keyed.sort_by(|(a, _), (b, _)| super::sort::compare(a, b, descending));
    let order: Vec<String> = ids[..skip]
        .iter()
        .cloned()
        .chain(keyed.into_iter().map(|(_, id)| id))
        .collect();
    reorder(txn, sid, Axis::Rows, &order)
}

/// Writes (or with `None` clears) the input of cell `row:col`: the whole value is replaced.
pub fn set_input(
    txn: &mut TransactionMut,
    sid: &str,
    row: &str,
    col: &str,
    input: Option<&Input>,
) -> Result<(), EditError> {
    let cells = nested_map(txn, &sheet_map(txn, sid)?, "cells")?;
    let key = cell_key(row, col);
    match input {
        Some(input) => {
            cells.insert(txn, key, input.to_any());
        }
        None => {
            cells.remove(txn, &key);
        }
    }
    Ok(())
}

/// Writes (or clears) the formatting of cell `row:col`.
pub fn set_format(
    txn: &mut TransactionMut,
    sid: &str,
    row: &str,
    col: &str,
    format: Option<&CellFormat>,
) -> Result<(), EditError> {
    let fmt = nested_map(txn, &sheet_map(txn, sid)?, "fmt")?;
    let key = cell_key(row, col);
    match format.filter(|f| !f.is_empty()) {
        Some(f) => {
            fmt.insert(txn, key, f.to_any());
        }
        None => {
            fmt.remove(txn, &key);
        }
    }
    Ok(())
}

/// Renames a sheet.
pub fn rename_sheet(txn: &mut TransactionMut, sid: &str, name: &str) -> Result<(), EditError> {
    sheet_map(txn, sid)?.insert(txn, "name", name);
    Ok(())
}

/// Deletes sheet `sid`: its id leaves the tabs (every occurrence) and its map is emptied, so its
/// cells are really gone from the document (nested types deleted by Yjs are garbage-collected).
/// The last shown sheet cannot be deleted ([`EditError::LastSheet`]).
///
/// An edit made concurrently on the deleted sheet lands in a deleted map and vanishes with it; a
/// concurrent tab move that re-inserts the id shows nothing, since readers skip sheets without
/// rows. Two people deleting the two last sheets at once leave none: the next client to open
/// the calc adds a fresh one ([`ensure_first_sheet`]).
pub fn delete_sheet(txn: &mut TransactionMut, sid: &str) -> Result<(), EditError> {
    let map = sheet_map(txn, sid)?;
    let shown = read(txn).sheets;
    if !shown.iter().any(|s| s.id == sid) {
        return Err(EditError::NoSheet);
    }
    if shown.len() <= 1 {
        return Err(EditError::LastSheet);
    }
    let tabs = txn.get_or_insert_array(SHEETS);
    remove_where(txn, &tabs, |id| id == sid);
    map.clear(txn);
    Ok(())
}

/// Moves sheet `sid` by `by` places in the tab order (negative: left), clamped to the ends. Like
/// [`reorder`]: its old tab entries are deleted and one inserted at the new place.
pub fn move_sheet(txn: &mut TransactionMut, sid: &str, by: i64) -> Result<(), EditError> {
    let shown: Vec<String> = read(txn).sheets.into_iter().map(|s| s.id).collect();
    let from = shown
        .iter()
        .position(|s| s == sid)
        .ok_or(EditError::NoSheet)?;
    let last = shown.len() - 1;
    let to = i64::try_from(from)
        .ok()
        .and_then(|f| f.checked_add(by))
        .map_or(if by < 0 { 0 } else { last }, |t| {
            usize::try_from(t.max(0)).map_or(last, |t| t.min(last))
        });
    if to == from {
        return Ok(());
    }
    let others: Vec<&String> = shown.iter().filter(|s| *s != sid).collect();
    // Insert before the tab that will follow it, or after the last one.
    let (anchor, after) = match others.get(to) {
        Some(next) => (next.as_str(), 0),
        None => (others.last().map_or("", |s| s.as_str()), 1),
    };
    let tabs = txn.get_or_insert_array(SHEETS);
    remove_where(txn, &tabs, |id| id == sid);
    let index = tabs
        .iter(txn)
        .position(|v| matches!(v, Out::Any(Any::String(id)) if id.as_ref() == anchor))
        .and_then(|i| u32::try_from(i + after).ok())
        .unwrap_or_else(|| tabs.len(txn));
    tabs.insert(txn, index, sid);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, ReadTxn};

    #[test]
    fn first_sheet_is_deterministic_and_converges() {
        let a = Doc::with_client_id(11);
        let b = Doc::with_client_id(12);
        ensure_first_sheet(&mut a.transact_mut());
        ensure_first_sheet(&mut b.transact_mut());
        {
            let mut t = a.transact_mut();
            set_input(&mut t, "s1", "r3", "c2", Some(&Input::Number(7.0))).unwrap();
        }
        crate::doc::calc::testutil::sync(&a, &b);
        let wa = read(&a.transact());
        let wb = read(&b.transact());
        assert_eq!(wa, wb);
        assert_eq!(wa.sheets.len(), 1, "duplicate tab ids are read once");
        let sheet = &wa.sheets[0];
        assert_eq!(
            (sheet.rows.len(), sheet.cols.len()),
            (DEFAULT_ROWS, DEFAULT_COLS)
        );
        assert_eq!(sheet.input_at(2, 1), Some(&Input::Number(7.0)));
        assert_eq!(
            a.transact()
                .state_vector()
                .get(&yrs::block::ClientID::new(FIRST_SHEET_CLIENT)),
            FIRST_SHEET_CLOCK
        );
    }

    #[test]
    fn structure_edits_leave_cells_alone() {
        let doc = Doc::new();
        let mut t = doc.transact_mut();
        ensure_first_sheet(&mut t);
        set_input(&mut t, "s1", "r5", "c2", Some(&Input::Text("x".into()))).unwrap();
        let ids = insert(&mut t, "s1", Axis::Rows, 4, 2).unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.len() == 8));
        let sheet = read(&t).sheets.remove(0);
        assert_eq!(sheet.input_at(6, 1), Some(&Input::Text("x".into())));
        assert_eq!(sheet.rows[4], ids[0]);
        delete(&mut t, "s1", Axis::Cols, 0, 1).unwrap();
        let sheet = read(&t).sheets.remove(0);
        assert_eq!(sheet.input_at(6, 0), Some(&Input::Text("x".into())));
        assert_eq!(
            delete(&mut t, "s1", Axis::Rows, 1000, 5),
            Err(EditError::OutOfRange)
        );
        assert_eq!(
            set_input(&mut t, "nope", "r1", "c1", None),
            Err(EditError::NoSheet)
        );
    }

    use crate::doc::calc::sort::SortKey;
    use crate::doc::calc::testutil::sync;

    fn sheet0(doc: &Doc) -> Sheet {
        read(&doc.transact()).sheets.remove(0)
    }

    /// A first sheet whose column A holds `values` from row 1 (`None`: empty) and whose column
    /// B labels each row with its original number.
    fn filled(client: u64, values: &[Option<Input>]) -> Doc {
        let doc = Doc::with_client_id(client);
        let mut t = doc.transact_mut();
        ensure_first_sheet(&mut t);
        for (i, v) in values.iter().enumerate() {
            let row = format!("r{}", i + 1);
            set_input(&mut t, "s1", &row, "c1", v.as_ref()).unwrap();
            let label = Input::Text(format!("L{}", i + 1));
            set_input(&mut t, "s1", &row, "c2", Some(&label)).unwrap();
        }
        drop(t);
        doc
    }

    fn by_col_a(doc: &Doc) -> impl Fn(&str) -> SortKey {
        let sheet = sheet0(doc);
        move |row| {
            sheet
                .cells
                .get(&cell_key(row, "c1"))
                .map_or(SortKey::Empty, SortKey::of_input)
        }
    }

    fn labels(sheet: &Sheet, n: usize) -> Vec<String> {
        (0..n)
            .map(|r| match sheet.input_at(r, 1) {
                Some(Input::Text(t)) => t.clone(),
                _ => String::new(),
            })
            .collect()
    }

    fn sample() -> Vec<Option<Input>> {
        vec![
            Some(Input::Text("Name".into())),
            Some(Input::Number(10.0)),
            Some(Input::Text("banana".into())),
            None,
            Some(Input::Number(2.0)),
            Some(Input::Text("Apple".into())),
        ]
    }

    #[test]
    fn sort_moves_whole_rows_and_touches_only_the_row_array() {
        let doc = filled(21, &sample());
        let before = sheet0(&doc);
        let key = by_col_a(&doc);
        sort_rows(&mut doc.transact_mut(), "s1", false, true, key).unwrap();
        let after = sheet0(&doc);
        // Header stays; numbers, then text by caseless order, then the empty row 4, and the
        // never-filled rows keep their place after it.
        assert_eq!(labels(&after, 7), ["L1", "L5", "L2", "L6", "L3", "L4", ""]);
        assert_eq!(after.input_at(1, 0), Some(&Input::Number(2.0)));
        assert_eq!(
            after.cells, before.cells,
            "cells are keyed by id: untouched"
        );
        assert_eq!(after.rows.len(), DEFAULT_ROWS);
        assert_eq!(
            after.rows[6..],
            before.rows[6..],
            "rows after the sorted span stay"
        );
        let key = by_col_a(&doc);
        sort_rows(&mut doc.transact_mut(), "s1", true, false, key).unwrap();
        let after = sheet0(&doc);
        assert_eq!(labels(&after, 6), ["L1", "L3", "L6", "L2", "L5", "L4"]);
    }

    #[test]
    fn concurrent_sorts_converge_without_showing_a_row_twice() {
        let a = filled(31, &sample());
        let b = Doc::with_client_id(32);
        sync(&a, &b);
        let ka = by_col_a(&a);
        sort_rows(&mut a.transact_mut(), "s1", false, false, ka).unwrap();
        let kb = by_col_a(&b);
        sort_rows(&mut b.transact_mut(), "s1", true, false, kb).unwrap();
        sync(&a, &b);
        let (sa, sb) = (sheet0(&a), sheet0(&b));
        assert_eq!(sa, sb);
        let unique: HashSet<&String> = sa.rows.iter().collect();
        assert_eq!(unique.len(), DEFAULT_ROWS);
        assert_eq!(sa.rows.len(), DEFAULT_ROWS);
        // The two spans differ (descending keeps "Name" first), so the merge may mix the two
        // orders; the six filled rows still come first.
        let mut first: Vec<String> = labels(&sa, 6);
        first.sort();
        assert_eq!(first, ["L1", "L2", "L3", "L4", "L5", "L6"]);
        // The duplicates are in the array, hidden; deleting a row removes all of its items.
        let raw = {
            let t = a.transact();
            let m = t.get_map("sheet:s1").unwrap();
            match m.get(&t, "rows") {
                Some(Out::YArray(arr)) => arr.len(&t),
                _ => 0,
            }
        };
        assert!(raw as usize > DEFAULT_ROWS);
        let first = sa.rows[0].clone();
        delete(&mut a.transact_mut(), "s1", Axis::Rows, 0, 1).unwrap();
        assert!(!sheet0(&a).rows.contains(&first), "no duplicate resurfaces");
        // Inserting before a shown position goes before that row, whatever hides elsewhere.
        let second = sheet0(&a).rows[2].clone();
        let ids = insert(&mut a.transact_mut(), "s1", Axis::Rows, 2, 1).unwrap();
        let rows = sheet0(&a).rows;
        assert_eq!((&rows[2], &rows[3]), (&ids[0], &second));
        let end = insert(
            &mut a.transact_mut(),
            "s1",
            Axis::Rows,
            rows.len() as u32,
            1,
        )
        .unwrap();
        assert_eq!(sheet0(&a).rows.last(), end.last());
    }

    #[test]
    fn a_row_deleted_during_a_sort_comes_back_with_its_cells() {
        let a = filled(41, &sample());
        let b = Doc::with_client_id(42);
        sync(&a, &b);
        let ka = by_col_a(&a);
        sort_rows(&mut a.transact_mut(), "s1", false, true, ka).unwrap();
        delete(&mut b.transact_mut(), "s1", Axis::Rows, 1, 1).unwrap();
        sync(&a, &b);
        let (sa, sb) = (sheet0(&a), sheet0(&b));
        assert_eq!(sa, sb);
        // Accepted, documented on `reorder`: the sort re-inserted the id the delete removed.
        assert_eq!(labels(&sa, 3), ["L1", "L5", "L2"]);
    }

    #[test]
    fn moving_rows_and_refusing_bad_moves() {
        let doc = filled(51, &sample());
        let mut t = doc.transact_mut();
        move_ids(&mut t, "s1", Axis::Rows, 1, 2, -1).unwrap();
        assert_eq!(labels(&read(&t).sheets[0], 4), ["L2", "L3", "L1", "L4"]);
        move_ids(&mut t, "s1", Axis::Rows, 0, 1, 3).unwrap();
        assert_eq!(
            labels(&read(&t).sheets[0], 5),
            ["L3", "L1", "L4", "L2", "L5"]
        );
        assert_eq!(
            move_ids(&mut t, "s1", Axis::Rows, 0, 1, -1),
            Err(EditError::OutOfRange)
        );
        let n = DEFAULT_ROWS as u32;
        assert_eq!(
            move_ids(&mut t, "s1", Axis::Rows, n - 1, 1, 1),
            Err(EditError::OutOfRange)
        );
        let mut wrong = read(&t).sheets[0].rows.clone();
        wrong[0] = "intruder".into();
        assert_eq!(
            reorder(&mut t, "s1", Axis::Rows, &wrong),
            Err(EditError::NotPermutation)
        );
        assert_eq!(read(&t).sheets[0].rows.len(), DEFAULT_ROWS);
    }

    #[test]
    fn sheets_delete_for_real_never_the_last_and_move() {
        let doc = Doc::with_client_id(61);
        let mut t = doc.transact_mut();
        ensure_first_sheet(&mut t);
        assert_eq!(delete_sheet(&mut t, "s1"), Err(EditError::LastSheet));
        let s2 = add_sheet(&mut t, "Two");
        let s3 = add_sheet(&mut t, "Three");
        move_sheet(&mut t, &s3, -5).unwrap();
        let order = |t: &TransactionMut| -> Vec<String> {
            read(t).sheets.into_iter().map(|s| s.id).collect()
        };
        assert_eq!(order(&t), [s3.as_str(), "s1", s2.as_str()]);
        move_sheet(&mut t, &s3, 1).unwrap();
        assert_eq!(order(&t), ["s1", s3.as_str(), s2.as_str()]);
        move_sheet(&mut t, "s1", 2).unwrap();
        assert_eq!(order(&t), [s3.as_str(), s2.as_str(), "s1"]);
        set_input(&mut t, &s2, "r1", "c1", Some(&Input::Text("secret".into()))).unwrap();
        delete_sheet(&mut t, &s2).unwrap();
        assert_eq!(order(&t), [s3.as_str(), "s1"]);
        let map = t.get_map(format!("sheet:{s2}")).unwrap();
        assert_eq!(map.len(&t), 0, "the deleted sheet's data is gone");
        assert_eq!(delete_sheet(&mut t, &s2), Err(EditError::NoSheet));
        assert_eq!(
            set_input(&mut t, &s2, "r1", "c1", None),
            Err(EditError::NoSheet)
        );
    }

    #[test]
    fn concurrent_sheet_deletes_edits_and_moves() {
        let a = Doc::with_client_id(71);
        let s2 = {
            let mut t = a.transact_mut();
            ensure_first_sheet(&mut t);
            add_sheet(&mut t, "Two")
        };
        let b = Doc::with_client_id(72);
        sync(&a, &b);
        // A deletes sheet 2 while B types on it and moves its tab: the edit vanishes, the tab
        // stays gone.
        delete_sheet(&mut a.transact_mut(), &s2).unwrap();
        {
            let mut t = b.transact_mut();
            set_input(&mut t, &s2, "r1", "c1", Some(&Input::Number(1.0))).unwrap();
            move_sheet(&mut t, &s2, -1).unwrap();
        }
        sync(&a, &b);
        let wa = read(&a.transact());
        assert_eq!(wa, read(&b.transact()));
        assert_eq!(wa.sheets.len(), 1);
        assert_eq!(wa.sheets[0].id, "s1");
        // Both delete one of the last two sheets: none left, and the next opener adds one.
        let s3 = add_sheet(&mut a.transact_mut(), "Three");
        sync(&a, &b);
        delete_sheet(&mut a.transact_mut(), "s1").unwrap();
        delete_sheet(&mut b.transact_mut(), &s3).unwrap();
        sync(&a, &b);
        assert!(read(&a.transact()).sheets.is_empty());
        ensure_first_sheet(&mut a.transact_mut());
        let wa = read(&a.transact());
        assert_eq!(wa.sheets.len(), 1);
        assert_eq!(wa.sheets[0].rows.len(), DEFAULT_ROWS);
    }
}
