//! Calc files in and out: CSV, ODS, XLSX and an HTML table, read and written from a [`Book`], a
//! workbook in plain A1 terms (what files hold), not in the document's row/column ids.
//!
//! Everything here is a pure, synchronous function of bytes or a [`Book`]: no HTTP, no tokio, no
//! yrs. The caller runs it off the async workers. [`bridge`] translates between a [`Book`] and the
//! calc document (`crate::doc::calc`); the formats never see ids.
//!
//! Formulas in a [`Book`] are IronCalc's canonical English A1 text (`=SUM(A1:A3)`,
//! `='Other sheet'!B2*2`), the dialect of XLSX files; ODS translates it to and from OpenFormula.
//! Computed values come from IronCalc ([`engine`]), the engine that evaluates calcs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub mod bridge;
pub mod budget;
pub mod commands;
pub mod csv;
pub mod engine;
pub mod html;
pub mod ods;
pub mod openformula;
pub mod socialcalc;
pub mod xlsx;
pub(crate) mod xmlscan;
mod zipread;

/// Most rows an imported sheet may have (the calc's own bound).
pub const MAX_ROWS: u32 = 100_000;
/// Most columns an imported sheet may have (the calc's own bound).
pub const MAX_COLS: u32 = 1_000;
/// Most sheets an imported workbook may have.
pub const MAX_SHEETS: usize = 256;
/// Most non-empty cells an import may bring, across all sheets, and an export may evaluate: the
/// memory budget of file work. A cell costs about 2 KiB on its way from file to document to
/// export (measured: 100,000 cells imported then exported peak at 210 MiB of RSS, 400,000 at
/// 770 MiB), so one job stays near 200 MiB and the two the export slots allow near 400 MiB.
pub const MAX_CELLS: usize = 100_000;
/// Most bytes the parts of an ODS or XLSX package may decompress to, altogether: twice what
/// 100,000 cells take in ODS's verbose XML. Bounds the import's memory with [`MAX_CELLS`]: a
/// 60 MiB text cell in a 62 KB file peaked at 330 MiB of RSS when this was 64 MiB.
pub const MAX_UNZIPPED_BYTES: u64 = 32 * 1024 * 1024;
/// Most characters a cell's text or formula may hold, as in Excel.
pub const MAX_CELL_CHARS: usize = 32_767;

/// A workbook as files hold it: sheets of cells by 0-based (row, column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Book {
    /// Sheets in tab order.
    pub sheets: Vec<Grid>,
}

/// One sheet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// Tab name.
    pub name: String,
    /// Cells by 0-based (row, column); absent means empty and unformatted.
    pub cells: BTreeMap<(u32, u32), Cell>,
    /// Column widths in CSS pixels by 0-based column; absent means the default width.
    pub col_widths: BTreeMap<u32, f64>,
}

/// One cell: what was typed, and its formatting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// The input.
    pub entry: Entry,
    /// Bold, italic, number format.
    pub style: Style,
}

/// What a cell holds, never a computed value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Entry {
    /// Nothing (a cell kept only for its formatting).
    #[default]
    Empty,
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// Text shown as is, even when it starts with `=`.
    Text(String),
    /// A formula in English A1 syntax, starting with `=`.
    Formula(String),
}

/// Formatting of a cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Style {
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Number format code in Excel syntax (`0.00`, `0%`, `#,##0.00 "€"`); `None` is General.
    pub num_fmt: Option<String>,
}

impl Grid {
    /// An empty sheet named `name`.
    pub fn named(name: impl Into<String>) -> Self {
        Grid {
            name: name.into(),
            ..Grid::default()
        }
    }

    /// Sets the entry of (`row`, `col`), keeping its style.
    pub fn set(&mut self, row: u32, col: u32, entry: Entry) {
        self.cells.entry((row, col)).or_default().entry = entry;
    }

    /// The entry at (`row`, `col`), if any.
    pub fn entry(&self, row: u32, col: u32) -> Option<&Entry> {
        self.cells.get(&(row, col)).map(|c| &c.entry)
    }

    /// One past the last row and column holding an entry (not only formatting).
    pub fn extent(&self) -> (u32, u32) {
        self.cells
            .iter()
            .filter(|(_, c)| c.entry != Entry::Empty)
            .fold((0, 0), |(r, c), (&(row, col), _)| {
                (r.max(row + 1), c.max(col + 1))
            })
    }
}

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CalcIoError {
    /// The file is not what its format says; the text says what is wrong and is safe to show.
    #[error("{0}")]
    Invalid(String),
    /// The file is larger than the import limits; the text says which.
    #[error("{0}")]
    TooLarge(String),
    /// The spreadsheet engine failed (a bug on our side; details for the log only).
    #[error("spreadsheet engine: {0}")]
    Engine(String),
}

impl CalcIoError {
    /// Whether the client sent something wrong (rather than the server failing).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, CalcIoError::Engine(_))
    }
}

/// Checks the bounds every import must stay within.
pub fn check_bounds(book: &Book) -> Result<(), CalcIoError> {
    if book.sheets.len() > MAX_SHEETS {
        return Err(CalcIoError::TooLarge(format!(
            "too many sheets (at most {MAX_SHEETS})"
        )));
    }
    let mut cells = 0;
    for sheet in &book.sheets {
        if let Some((&(row, col), _)) = sheet
            .cells
            .iter()
            .find(|(&(r, c), _)| r >= MAX_ROWS || c >= MAX_COLS)
        {
            return Err(CalcIoError::TooLarge(format!(
                "cell {} is outside the {MAX_ROWS} rows × {MAX_COLS} columns a sheet may have",
                openformula::a1(row, col)
            )));
        }
        let long = sheet.cells.iter().find(|(_, cell)| match &cell.entry {
            Entry::Text(s) | Entry::Formula(s) => {
                s.len() > MAX_CELL_CHARS && s.chars().count() > MAX_CELL_CHARS
            }
            _ => false,
        });
        if let Some((&(row, col), _)) = long {
            return Err(CalcIoError::TooLarge(format!(
                "cell {} holds more than {MAX_CELL_CHARS} characters",
                openformula::a1(row, col)
            )));
        }
        cells += sheet.cells.len();
    }
    if cells > MAX_CELLS {
        return Err(CalcIoError::TooLarge(format!(
            "too many cells (at most {MAX_CELLS})"
        )));
    }
    Ok(())
}

/// The file formats a calc exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalcFormat {
    /// Comma-separated values of one sheet (RFC 4180, UTF-8), computed values.
    Csv,
    /// OpenDocument Spreadsheet, every sheet, formulas in OpenFormula.
    Ods,
    /// Office Open XML workbook, every sheet, formulas.
    Xlsx,
    /// One standalone HTML page with a table per sheet, computed values.
    Html,
    /// SocialCalc's save format (EtherCalc's own), one sheet: read on import, served at
    /// EtherCalc's `GET /_/{name}`; not in the export menus.
    SocialCalc,
}

impl CalcFormat {
    /// Every format, in the order menus list them.
    pub const ALL: [CalcFormat; 4] = [
        CalcFormat::Csv,
        CalcFormat::Ods,
        CalcFormat::Xlsx,
        CalcFormat::Html,
    ];

    /// The file extension, without the dot; also the name [`FromStr`] accepts.
    pub fn extension(self) -> &'static str {
        match self {
            CalcFormat::Csv => "csv",
            CalcFormat::Ods => "ods",
            CalcFormat::Xlsx => "xlsx",
            CalcFormat::Html => "html",
            CalcFormat::SocialCalc => "sc",
        }
    }

    /// The `Content-Type` of a file in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            CalcFormat::Csv => "text/csv; charset=utf-8",
            CalcFormat::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            CalcFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            CalcFormat::Html => "text/html; charset=utf-8",
            CalcFormat::SocialCalc => "text/x-socialcalc; charset=utf-8",
        }
    }

    /// The format a `Content-Type` names, for imports (HTML is export only).
    pub fn from_content_type(value: &str) -> Option<Self> {
        let mime = value.split(';').next().unwrap_or("").trim();
        match mime.to_ascii_lowercase().as_str() {
            "text/csv" | "text/plain" | "application/csv" => Some(CalcFormat::Csv),
            socialcalc::CONTENT_TYPE => Some(CalcFormat::SocialCalc),
            "application/vnd.oasis.opendocument.spreadsheet" => Some(CalcFormat::Ods),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                Some(CalcFormat::Xlsx)
            }
            _ => None,
        }
    }

    /// The format of an uploaded file, from its first bytes and then its name: a ZIP package is
    /// ODS when it says so in its `mimetype`, else XLSX; a SocialCalc save says so in its first
    /// line; anything else is read as CSV.
    pub fn sniff(bytes: &[u8], file_name: &str) -> Self {
        if socialcalc::looks_like(bytes) {
            return CalcFormat::SocialCalc;
        }
        if bytes.starts_with(b"PK\x03\x04") {
            let ods = bytes
                .get(30..120)
                .is_some_and(|head| memmem(head, b"opendocument.spreadsheet"));
            if ods || file_name.to_ascii_lowercase().ends_with(".ods") {
                return CalcFormat::Ods;
            }
            return CalcFormat::Xlsx;
        }
        CalcFormat::Csv
    }
}

fn memmem(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl fmt::Display for CalcFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// A calc format name that is not one of [`CalcFormat::ALL`]; safe to show as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown calc format; available formats: csv, ods, xlsx, html")]
pub struct UnknownCalcFormat;

impl FromStr for CalcFormat {
    type Err = UnknownCalcFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CalcFormat::ALL
            .into_iter()
            .find(|f| f.extension() == s)
            .ok_or(UnknownCalcFormat)
    }
}

/// Renders `book` in `format`; `sheet` picks the sheet of a CSV or SocialCalc file (0-based,
/// clamped to the first).
pub fn export(book: &Book, format: CalcFormat, sheet: usize) -> Result<Vec<u8>, CalcIoError> {
    // IronCalc cannot be stopped once it evaluates: what it may be asked is bounded first.
    budget::check(book)?;
    let computed = engine::Computed::new(book)?;
    match format {
        CalcFormat::Csv => Ok(csv::write(book, &computed, sheet)),
        CalcFormat::Html => Ok(html::write(book, &computed).into_bytes()),
        CalcFormat::Ods => ods::write(book, &computed),
        CalcFormat::Xlsx => xlsx::write(&computed),
        CalcFormat::SocialCalc => Ok(socialcalc::write(book, &computed, sheet).into_bytes()),
    }
}

/// Reads a file in `format` (HTML is not read: it is an export only).
pub fn import(bytes: &[u8], format: CalcFormat) -> Result<Book, CalcIoError> {
    let book = match format {
        // A save sent as text/plain is still a save: no CSV starts with this header.
        CalcFormat::Csv if socialcalc::looks_like(bytes) => socialcalc::read(bytes, "Sheet1")?,
        CalcFormat::Csv => Book {
            sheets: vec![csv::read(bytes, "Sheet1")?],
        },
        CalcFormat::Ods => ods::read(bytes)?,
        CalcFormat::Xlsx => xlsx::read(bytes)?,
        CalcFormat::SocialCalc => socialcalc::read(bytes, "Sheet1")?,
        CalcFormat::Html => {
            return Err(CalcIoError::Invalid(
                "HTML cannot be imported; use csv, ods or xlsx".into(),
            ))
        }
    };
    check_bounds(&book)?;
    // CSV holds no formulas, but a SocialCalc save does; ODS and XLSX were counted while read.
    budget::check(&book)?;
    Ok(book)
}

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests {
    use super::testutil::{assert_same, normalized, sample};
    use super::*;

    #[test]
    fn xlsx_round_trip_keeps_cells_formulas_and_formats() {
        let book = sample();
        let bytes = export(&book, CalcFormat::Xlsx, 0).unwrap();
        assert_eq!(CalcFormat::sniff(&bytes, "x"), CalcFormat::Xlsx);
        let back = import(&bytes, CalcFormat::Xlsx).unwrap();
        assert_same(&back, &normalized(&book));
    }

    #[test]
    fn ods_round_trip_keeps_cells_formulas_and_formats() {
        let book = sample();
        let bytes = export(&book, CalcFormat::Ods, 0).unwrap();
        assert_eq!(CalcFormat::sniff(&bytes, "x"), CalcFormat::Ods);
        let back = import(&bytes, CalcFormat::Ods).unwrap();
        assert_same(&normalized(&back), &normalized(&book));
    }

    #[test]
    fn csv_round_trip_keeps_values_of_one_sheet() {
        let book = sample();
        let csv = String::from_utf8(export(&book, CalcFormat::Csv, 1).unwrap()).unwrap();
        assert_eq!(csv, "7.75,\r\n,52.3125\r\n-0.001,\r\n");
        let first = String::from_utf8(export(&book, CalcFormat::Csv, 9).unwrap()).unwrap();
        assert!(first.starts_with("Article,Prix €,,\r\ncafé ☕,2.5,0.125,\r\n\"thé, \"\"vert\"\"\nen vrac\",4.25,,\r\n,,,\r\nTotal,6.75,,\r\n,13.5,TRUE,\r\n=pas une formule,,,cher\r\n"), "{first}");
        let back = import(first.as_bytes(), CalcFormat::Csv).unwrap();
        assert_eq!(
            back.sheets[0].entry(6, 0),
            Some(&Entry::Text("=pas une formule".into()))
        );
        assert_eq!(back.sheets[0].entry(4, 1), Some(&Entry::Number(6.75)));
    }

    #[test]
    fn html_escapes_and_formats() {
        let mut book = sample();
        book.sheets[0].set(8, 0, Entry::Text("<script>".into()));
        let html = String::from_utf8(export(&book, CalcFormat::Html, 0).unwrap()).unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("12.5%") && html.contains("6.75"), "{html}");
        assert!(html.contains("<td style=\"font-weight:bold;font-style:italic;\">Total</td>"));
    }

    #[test]
    fn bounds_are_enforced() {
        let mut grid = Grid::named("S");
        grid.set(MAX_ROWS, 0, Entry::Number(1.0));
        let book = Book { sheets: vec![grid] };
        let bytes = export(&book, CalcFormat::Xlsx, 0).unwrap();
        assert!(matches!(
            import(&bytes, CalcFormat::Xlsx),
            Err(CalcIoError::TooLarge(_))
        ));
        let long = format!("a,{}\n", "é".repeat(MAX_CELL_CHARS + 1));
        let err = import(long.as_bytes(), CalcFormat::Csv).unwrap_err();
        assert!(err.to_string().contains("cell B1 holds more than"), "{err}");
        let fits = format!("a,{}\n", "é".repeat(MAX_CELL_CHARS));
        assert!(import(fits.as_bytes(), CalcFormat::Csv).is_ok());
        assert!(matches!(
            import(b"not a zip", CalcFormat::Ods),
            Err(CalcIoError::Invalid(_))
        ));
        assert!(matches!(
            import(b"PK\x03\x04", CalcFormat::Xlsx),
            Err(CalcIoError::Invalid(_))
        ));
    }
}
