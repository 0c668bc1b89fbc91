//! XLSX through IronCalc's own reader and writer: the file holds the formulas, the values the
//! engine computed (so readers that do not recalculate show them), bold, italic, number formats
//! and column widths of every sheet.

use std::io::Cursor;

use ironcalc::base::Model;
use ironcalc::export::save_xlsx_to_writer;
use ironcalc::import::load_from_xlsx_bytes;

use super::engine::{self, Computed};
use super::{zipread, Book, CalcIoError};

/// The workbook as an XLSX file.
pub fn write(computed: &Computed) -> Result<Vec<u8>, CalcIoError> {
    save_xlsx_to_writer(computed.model(), Cursor::new(Vec::new()))
        .map(Cursor::into_inner)
        .map_err(|e| CalcIoError::Engine(e.to_string()))
}

/// Reads an XLSX file: every sheet, formulas in English A1.
pub fn read(bytes: &[u8]) -> Result<Book, CalcIoError> {
    // IronCalc inflates parts without a bound: it only gets a package already bounded.
    let package = zipread::repack(&zipread::entries(bytes)?)?;
    let workbook = load_from_xlsx_bytes(&package, "import", "en", "UTC")
        .map_err(|e| CalcIoError::Invalid(format!("not a readable XLSX file: {e}")))?;
    let model = Model::from_workbook(workbook, "en")
        .map_err(|e| CalcIoError::Invalid(format!("not a readable XLSX file: {e}")))?;
    engine::read_model(&model)
}
