//! The calc (spreadsheet) document model, DESIGN.md §3: reading a calc's yrs `Doc` into a
//! [`Workbook`], the edits clients make, formulas between typed A1 text and the stored id form,
//! and evaluation with IronCalc. Pure: no HTTP, no WebSocket, no storage.

pub mod depth;
pub mod eval;
pub mod formula;
pub mod locale;
pub mod schema;
pub mod sort;
pub mod value;

#[cfg(test)]
pub(crate) mod testutil;

pub use eval::{evaluate, EvalError, Evaluated};
pub use formula::Layout;
pub use locale::Locale;
pub use schema::{read, Sheet, Workbook};
pub use value::{parse_typed, CellFormat, Computed, Input};
