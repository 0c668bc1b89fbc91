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
    /// Row ids in display order.
    pub rows: Vec<String>,
    /// Column ids in display order.
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

fn index_of(ids: &[String]) -> HashMap<&str, usize> {
    let mut map = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        map.entry(id.as_str()).or_insert(i);
    }
    map
}

/// Reads the workbook of a calc document.
pub fn read<T: ReadTxn>(txn: &T) -> Workbook {
    let mut sheets = Vec::new();
    let Some(tabs) = txn.get_array(SHEETS) else {
        return Workbook { sheets };
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
            sheets.push(read_sheet(txn, &sid, &map));
        }
    }
    Workbook { sheets }
}

fn read_sheet<T: ReadTxn>(txn: &T, sid: &str, map: &MapRef) -> Sheet {
    let name = match map.get(txn, "name") {
        Some(Out::Any(Any::String(s))) => s.to_string(),
        _ => String::new(),
    };
    let ids = |key: &str, max: usize| -> Vec<String> {
        match map.get(txn, key) {
            Some(Out::YArray(a)) => a
                .iter(txn)
                .filter_map(|v| match v {
                    Out::Any(Any::String(s)) => Some(s.to_string()),
                    _ => None,
                })
                .take(max)
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
    crate::meta::random_bytes::<8>()
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
}

/// Client id of the first sheet's items: every client creates that sheet with the same ids and
/// content, so two people opening a brand-new calc at once make the same items, which Yjs merges
/// as one (a nested `cells` map created by each would otherwise be last-writer-wins, and the
/// loser's first edits would vanish). The browser's `doc.js` does the same.
const FIRST_SHEET_CLIENT: u64 = 1;
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

/// Gives an empty workbook its first sheet (see [`FIRST_SHEET_CLIENT`]).
pub fn ensure_first_sheet(txn: &mut TransactionMut) {
    let tabs = txn.get_or_insert_array(SHEETS);
    if tabs.len(txn) > 0 {
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

/// Inserts `n` new rows or columns before position `at` (0-based); returns their ids.
pub fn insert(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    at: u32,
    n: u32,
) -> Result<Vec<String>, EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, axis.key())?;
    if at > array.len(txn) {
        return Err(EditError::OutOfRange);
    }
    let ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    array.insert_range(txn, at, ids.iter().map(|id| Any::from(id.as_str())));
    Ok(ids)
}

/// Deletes `n` rows or columns from position `at`. Their cells stay in the map (undisplayed), so
/// a concurrent edit of a deleted row is not an error; references to them show `#REF!`.
pub fn delete(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    at: u32,
    n: u32,
) -> Result<(), EditError> {
    let array = nested_array(txn, &sheet_map(txn, sid)?, axis.key())?;
    if at.saturating_add(n) > array.len(txn) {
        return Err(EditError::OutOfRange);
    }
    array.remove_range(txn, at, n);
    Ok(())
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
        crate::calc::testutil::sync(&a, &b);
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
}
