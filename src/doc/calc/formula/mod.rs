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
//! the shared cases in `../formula_cases.json` (and `../range_cases.json` for what deletions and
//! sorts do to ranges).
//!
//! `lex.rs` reads A1 text (references, strings, numbers, words), `translate.rs` turns typed
//! formulas into the stored form and back, `ranges.rs` rewrites stored ranges when rows or
//! columns are deleted or reordered, `layout.rs` says where every sheet, row and column is.

mod layout;
mod lex;
mod ranges;
#[cfg(test)]
mod testutil;
mod translate;

pub use layout::{display_names, unique_sheet_names, Layout, SheetLayout};
pub use lex::col_name;
pub use ranges::{keep_range_positions, shrink_ranges, Deletion, Reordering};
pub use translate::{to_a1, to_stored, MAX_RANGE_CELLS};
