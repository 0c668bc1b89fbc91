//! XLSX through IronCalc's own reader and writer: the file holds the formulas, the values the
//! engine computed (so readers that do not recalculate show them), bold, italic, number formats
//! and column widths of every sheet.

use std::collections::HashMap;
use std::io::Cursor;

use ironcalc::base::Model;
use ironcalc::export::save_xlsx_to_writer;
use ironcalc::import::load_from_xlsx_bytes;
use quick_xml::events::BytesStart;

use super::budget::{formula_cost, Work};
use super::engine::{self, Computed};
use super::xmlscan::{self, ElementBudget};
use super::{zipread, Book, CalcIoError, MAX_CELLS};

/// The workbook as an XLSX file.
pub fn write(computed: &Computed) -> Result<Vec<u8>, CalcIoError> {
    save_xlsx_to_writer(computed.model(), Cursor::new(Vec::new()))
        .map(Cursor::into_inner)
        .map_err(|e| CalcIoError::Engine(e.to_string()))
}

/// Reads an XLSX file: every sheet, formulas in English A1.
pub fn read(bytes: &[u8]) -> Result<Book, CalcIoError> {
    // IronCalc inflates parts without a bound and parses them with a recursive tokenizer, then
    // builds its whole model: it only gets a package already bounded and scanned, holding only
    // the XML parts it reads.
    let mut entries = zipread::entries(bytes)?;
    entries.retain(|(name, _)| is_xml(name));
    let mut elements = ElementBudget::default();
    let mut prescan = Prescan::default();
    for (name, xml) in &entries {
        xmlscan::scan(name, xml, &mut elements, &mut prescan)?;
    }
    let package = zipread::repack(&entries)?;
    drop(entries);
    let workbook = load_from_xlsx_bytes(&package, "import", "en", "UTC")
        .map_err(|e| CalcIoError::Invalid(format!("not a readable XLSX file: {e}")))?;
    let model = Model::from_workbook(workbook, "en")
        .map_err(|e| CalcIoError::Invalid(format!("not a readable XLSX file: {e}")))?;
    engine::read_model(&model)
}

fn is_xml(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with(".xml") || name.ends_with(".rels")
}

/// What IronCalc would load, counted while streaming every part: cells (`<c>`), and formulas
/// (`<f>`: their nesting, and their work, a shared formula's followers charged as its master).
#[derive(Default)]
struct Prescan {
    cells: usize,
    /// The `r` of the current cell, for errors.
    cell: String,
    formula: Option<Formula>,
    shared: HashMap<String, u64>,
    work: Work,
}

struct Formula {
    text: String,
    shared_index: Option<String>,
}

impl xmlscan::Visitor for Prescan {
    fn start(&mut self, e: &BytesStart<'_>, _empty: bool) -> Result<(), CalcIoError> {
        match e.local_name().into_inner() {
            "c" => {
                self.cells += 1;
                if self.cells > MAX_CELLS {
                    return Err(CalcIoError::TooLarge(format!(
                        "too many cells (at most {MAX_CELLS})"
                    )));
                }
                self.cell = xmlscan::attribute(e, "r").unwrap_or_default();
            }
            "f" => {
                let shared = xmlscan::attribute(e, "t").is_some_and(|t| t == "shared");
                self.formula = Some(Formula {
                    text: String::new(),
                    shared_index: xmlscan::attribute(e, "si").filter(|_| shared),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        if let Some(f) = &mut self.formula {
            f.text.push_str(text);
        }
    }

    fn end(&mut self, local: &str) -> Result<(), CalcIoError> {
        if local != "f" {
            return Ok(());
        }
        let Some(f) = self.formula.take() else {
            return Ok(());
        };
        if f.text.trim().is_empty() {
            // A follower of a shared formula: the master's text, moved.
            let cost = f
                .shared_index
                .and_then(|si| self.shared.get(&si).copied())
                .unwrap_or(1);
            return self.work.add_cost(cost, 1);
        }
        crate::doc::calc::depth::check(&f.text)
            .map_err(|e| CalcIoError::Invalid(format!("cell {}: {e}", self.cell)))?;
        let cost = formula_cost(&f.text);
        if let Some(si) = f.shared_index {
            self.shared.insert(si, cost);
        }
        self.work.add_cost(cost, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(cells: &str) -> Result<(), CalcIoError> {
        let xml =
            format!("<worksheet><sheetData><row r=\"1\">{cells}</row></sheetData></worksheet>");
        xmlscan::scan(
            "xl/worksheets/sheet1.xml",
            xml.as_bytes(),
            &mut ElementBudget::default(),
            &mut Prescan::default(),
        )
    }

    #[test]
    fn the_prescan_refuses_deep_formulas_and_charges_shared_formulas_as_their_master() {
        let deep = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
        let err = scan(&format!("<c r=\"B1\"><f>{deep}</f></c>")).unwrap_err();
        assert!(err.to_string().contains("cell B1"), "{err}");
        let master = "<c r=\"A1\"><f t=\"shared\" si=\"0\" ref=\"A1:A100\">SUM(B1:B60000)</f></c>";
        let followers = |n: usize| "<c><f t=\"shared\" si=\"0\"/></c>".repeat(n);
        scan(&format!("{master}{}", followers(40))).unwrap();
        let err = scan(&format!("{master}{}", followers(99))).unwrap_err();
        assert!(matches!(err, CalcIoError::TooLarge(_)), "{err}");
        let cells = "<c><v>1</v></c>".repeat(MAX_CELLS + 1);
        assert!(matches!(scan(&cells), Err(CalcIoError::TooLarge(_))));
    }
}
