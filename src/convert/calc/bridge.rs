//! Between a calc document (`crate::doc::calc`, DESIGN.md §3) and a [`Book`]: reading a snapshot for
//! the exports, and making the update that writes an import or appended rows, exactly as the
//! browser would write them (cells by row and column id, formulas in the stored id form, text
//! that starts with `=` kept as text).
//!
//! Updates are made on a private copy of the document and then handed to the document's room,
//! which applies them like any client's: persisted, then broadcast. A concurrent edit merges
//! with them as CRDT edits do.

use std::collections::HashMap;

use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, Map, MapRef, Out, ReadTxn, Transact, TransactionMut, Update, WriteTxn};

use super::{Book, CalcIoError, Cell, Entry, Grid, Style};
use crate::doc::calc::depth;
use crate::doc::calc::formula::{self, Layout};
use crate::doc::calc::schema::{self, Axis, Workbook, DEFAULT_COLS, DEFAULT_ROWS};
use crate::doc::calc::{CellFormat, Input, Locale};

fn engine(e: impl std::fmt::Display) -> CalcIoError {
    CalcIoError::Engine(e.to_string())
}

/// A document rebuilt from its snapshot (a v1 update), with a fresh client id.
pub(super) fn load(snapshot: Option<&[u8]>) -> Result<Doc, CalcIoError> {
    let doc = Doc::new();
    if let Some(bytes) = snapshot {
        let update = Update::decode_v1(bytes).map_err(engine)?;
        doc.transact_mut().apply_update(update).map_err(engine)?;
    }
    Ok(doc)
}

/// The workbook of a calc snapshot, in A1 terms.
pub fn read(snapshot: &[u8]) -> Result<Book, CalcIoError> {
    let doc = load(Some(snapshot))?;
    let workbook = schema::read(&doc.transact());
    Ok(to_book(&workbook))
}

/// A [`Workbook`] as a [`Book`]: displayed cells only, formulas in English A1.
pub fn to_book(workbook: &Workbook) -> Book {
    let layout = Layout::new(workbook);
    let mut book = Book::default();
    for (si, (sheet, placed)) in workbook.sheets.iter().zip(layout.sheets()).enumerate() {
        let mut grid = Grid::named(placed.name.clone());
        let rows = sheet.row_index();
        let cols = sheet.col_index();
        let position = |key: &str| {
            let (r, c) = key.split_once(':')?;
            Some((
                u32::try_from(*rows.get(r)?).ok()?,
                u32::try_from(*cols.get(c)?).ok()?,
            ))
        };
        for (key, input) in &sheet.cells {
            let Some(at) = position(key) else { continue };
            let entry = match input {
                Input::Number(n) => Entry::Number(*n),
                Input::Bool(b) => Entry::Bool(*b),
                Input::Text(t) => Entry::Text(t.clone()),
                Input::Formula(f) => Entry::Formula(formula::to_a1(f, Locale::En, &layout, si)),
            };
            grid.set(at.0, at.1, entry);
        }
        for (key, format) in &sheet.fmt {
            let Some(at) = position(key) else { continue };
            grid.cells.entry(at).or_default().style = Style {
                bold: format.bold,
                italic: format.italic,
                num_fmt: format.num_fmt.clone(),
            };
        }
        for (id, &px) in &sheet.col_widths {
            if let Some(c) = cols.get(id.as_str()).and_then(|&c| u32::try_from(c).ok()) {
                grid.col_widths.insert(c, px);
            }
        }
        book.sheets.push(grid);
    }
    book
}

/// The update that replaces the whole content of the calc `snapshot` (none for a new calc) with
/// `book`: the old tabs are removed and their cells cleared, the new sheets added.
pub fn replace(snapshot: Option<&[u8]>, book: &Book) -> Result<Vec<u8>, CalcIoError> {
    let doc = load(snapshot)?;
    let before = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        let old = schema::read(&txn);
        let tabs = txn.get_or_insert_array(schema::SHEETS);
        let len = yrs::Array::len(&tabs, &txn);
        yrs::Array::remove_range(&tabs, &mut txn, 0, len);
        for sheet in &old.sheets {
            clear_sheet(&mut txn, &sheet.id);
        }
        let mut ids = Vec::with_capacity(book.sheets.len());
        let empty = [Grid::named("Sheet1")];
        let sheets: &[Grid] = if book.sheets.is_empty() {
            &empty
        } else {
            &book.sheets
        };
        for grid in sheets {
            let sid = schema::add_sheet(&mut txn, &grid.name);
            let (rows, cols) = grid.cells.keys().fold((0, 0), |(r, c), &(row, col)| {
                (r.max(row + 1), c.max(col + 1))
            });
            let cols = cols.max(grid.col_widths.keys().next_back().map_or(0, |c| c + 1));
            grow(&mut txn, &sid, Axis::Rows, DEFAULT_ROWS, rows)?;
            grow(&mut txn, &sid, Axis::Cols, DEFAULT_COLS, cols)?;
            ids.push(sid);
        }
        let workbook = schema::read(&txn);
        write_cells(&mut txn, &workbook, sheets)?;
    }
    let update = doc.transact().encode_state_as_update_v1(&before);
    Ok(update)
}

/// The update that writes the rows of `grid` into sheet `sheet` (0-based, clamped to the first)
/// of the calc `snapshot`: after its last non-empty row, or inserted before 0-based row `at`.
/// Returns the update and the 0-based row the first written row landed on.
pub fn append(
    snapshot: &[u8],
    grid: &Grid,
    sheet: usize,
    at: Option<u32>,
) -> Result<(Vec<u8>, u32), CalcIoError> {
    let doc = load(Some(snapshot))?;
    let before = doc.transact().state_vector();
    let first_row;
    {
        let mut txn = doc.transact_mut();
        if schema::read(&txn).sheets.is_empty() {
            schema::ensure_first_sheet(&mut txn);
        }
        let workbook = schema::read(&txn);
        let index = if sheet < workbook.sheets.len() {
            sheet
        } else {
            0
        };
        let target = &workbook.sheets[index];
        let sid = target.id.clone();
        let (rows, cols) = grid.extent();
        let start = match at {
            Some(at) => {
                let at = at.min(u32::try_from(target.rows.len()).map_err(engine)?);
                schema::insert(&mut txn, &sid, Axis::Rows, at, rows).map_err(engine)?;
                at
            }
            None => target
                .placed_cells()
                .iter()
                .map(|&(r, _, _)| r + 1)
                .max()
                .map_or(Ok(0), u32::try_from)
                .map_err(engine)?,
        };
        first_row = start;
        let have = u32::try_from(target.rows.len()).map_err(engine)?;
        grow(&mut txn, &sid, Axis::Rows, have as usize, start + rows)?;
        let have_cols = target.cols.len();
        grow(&mut txn, &sid, Axis::Cols, have_cols, cols)?;
        let mut shifted = Grid::named(String::new());
        for (&(r, c), cell) in &grid.cells {
            shifted.cells.insert((r + start, c), cell.clone());
        }
        let workbook = schema::read(&txn);
        let mut sheets: Vec<Grid> = vec![Grid::default(); workbook.sheets.len()];
        sheets[index] = shifted;
        write_cells(&mut txn, &workbook, &sheets)?;
    }
    let update = doc.transact().encode_state_as_update_v1(&before);
    Ok((update, first_row))
}

/// Adds ids at the end of a sheet's rows or columns until it has `want` (it has `have`).
fn grow(
    txn: &mut TransactionMut,
    sid: &str,
    axis: Axis,
    have: usize,
    want: u32,
) -> Result<(), CalcIoError> {
    let have = u32::try_from(have).map_err(engine)?;
    if want > have {
        schema::insert(txn, sid, axis, have, want - have).map_err(engine)?;
    }
    Ok(())
}

/// Writes every cell of `sheets` (matched by position with `workbook.sheets`): inputs with
/// formulas translated to the stored form, formats, column widths.
fn write_cells(
    txn: &mut TransactionMut,
    workbook: &Workbook,
    sheets: &[Grid],
) -> Result<(), CalcIoError> {
    let layout = Layout::new(workbook);
    for (si, (grid, sheet)) in sheets.iter().zip(&workbook.sheets).enumerate() {
        for (&(r, c), Cell { entry, style }) in &grid.cells {
            let (Some(row), Some(col)) = (sheet.rows.get(r as usize), sheet.cols.get(c as usize))
            else {
                continue;
            };
            let input = match entry {
                Entry::Empty => None,
                Entry::Number(n) => Some(Input::Number(*n)),
                Entry::Bool(b) => Some(Input::Bool(*b)),
                Entry::Text(t) => Some(Input::Text(t.clone())),
                Entry::Formula(f) => {
                    // Refused before it is stored: every later evaluation would recurse
                    // through it (calc::depth).
                    depth::check(f).map_err(|e| {
                        CalcIoError::Invalid(format!(
                            "cell {} of sheet {}: {e}",
                            super::openformula::a1(r, c),
                            si + 1
                        ))
                    })?;
                    Some(Input::Formula(formula::to_stored(
                        f,
                        Locale::En,
                        &layout,
                        si,
                    )))
                }
            };
            if input.is_some() {
                schema::set_input(txn, &sheet.id, row, col, input.as_ref()).map_err(engine)?;
            }
            if *style != Style::default() {
                let format = CellFormat {
                    bold: style.bold,
                    italic: style.italic,
                    num_fmt: style.num_fmt.clone(),
                };
                schema::set_format(txn, &sheet.id, row, col, Some(&format)).map_err(engine)?;
            }
        }
        if !grid.col_widths.is_empty() {
            let colmeta = nested_map(txn, &sheet.id, "colmeta")?;
            for (&c, &px) in &grid.col_widths {
                if let Some(id) = sheet.cols.get(c as usize) {
                    let meta = HashMap::from([("w".to_owned(), Any::from(px))]);
                    colmeta.insert(txn, id.as_str(), Any::from(meta));
                }
            }
        }
    }
    Ok(())
}

fn nested_map(txn: &TransactionMut, sid: &str, key: &str) -> Result<MapRef, CalcIoError> {
    let sheet = txn
        .get_map(format!("{}{sid}", schema::SHEET_PREFIX))
        .ok_or_else(|| engine("sheet map missing"))?;
    match sheet.get(txn, key) {
        Some(Out::YMap(m)) => Ok(m),
        _ => Err(engine(format!("sheet {key} missing"))),
    }
}

/// Empties a removed sheet's cells and formats, so its content does not linger in the document.
fn clear_sheet(txn: &mut TransactionMut, sid: &str) {
    for key in ["cells", "fmt", "colmeta", "rowmeta"] {
        if let Ok(map) = nested_map(txn, sid, key) {
            map.clear(txn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_refuse_formulas_past_the_depth_bounds_naming_the_cell() {
        let mut grid = Grid::named("S");
        grid.set(0, 0, Entry::Formula("=1+1".into()));
        grid.set(
            2,
            1,
            Entry::Formula(format!("={}1{}", "(".repeat(700), ")".repeat(700))),
        );
        let err = replace(None, &Book { sheets: vec![grid] }).expect_err("deep formula");
        assert!(
            matches!(&err, CalcIoError::Invalid(m) if m.starts_with("cell B3 of sheet 1: formula nested")),
            "{err}"
        );
    }
}
