//! ODS (OpenDocument Spreadsheet, ODF 1.3): every sheet with its formulas in OpenFormula and the
//! values the engine computed, bold, italic, number formats and column widths; and the reader of
//! the same from files LibreOffice and others write.
//!
//! Number formats: Excel codes made of digits placeholders (`0`, `#`, `,` grouping, `.`
//! decimals), a percent sign, an exponent and literal text become ODF number, percentage and
//! scientific styles, and back. Other codes (dates, conditions) are written without a data
//! style: the value stays right, only its display falls back to General.
//!
//! `write.rs` makes the file, `read.rs` reads one (scanning it for size before building a tree),
//! `number_format.rs` holds the number formats both translate.

mod number_format;
mod read;
mod write;

pub use read::read;
pub use write::write;

/// CSS pixels per centimetre (96 per inch).
const PX_PER_CM: f64 = 96.0 / 2.54;
