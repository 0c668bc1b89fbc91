//! A [`Book`] in IronCalc: written into a model and evaluated, so every export shows what the
//! calc computes; and an IronCalc model (from an XLSX file) read back into a [`Book`].

use ironcalc::base::cell::CellValue;
use ironcalc::base::types::CellType;
use ironcalc::base::Model;

use crate::doc::calc::depth::{self, StackBudget};

use super::{Book, CalcIoError, Cell, Entry, Grid, Style, MAX_COLS, MAX_ROWS};

/// Locale and language of the models built here: files hold English formulas.
const LANG: &str = "en";

/// A computed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Nothing.
    Empty,
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An error such as `#DIV/0!`.
    Error(String),
}

/// A book evaluated by IronCalc.
pub struct Computed {
    model: Model<'static>,
}

fn engine<E: std::fmt::Display>(e: E) -> CalcIoError {
    CalcIoError::Engine(e.to_string())
}

/// 1-based engine coordinates of a 0-based cell.
fn at(row: u32, col: u32) -> Result<(i32, i32), CalcIoError> {
    Ok((
        i32::try_from(row).map_err(engine)? + 1,
        i32::try_from(col).map_err(engine)? + 1,
    ))
}

/// Names IronCalc accepts, unique (case-insensitively), in tab order.
pub fn sheet_names(book: &Book) -> Vec<String> {
    crate::doc::calc::formula::unique_sheet_names(book.sheets.iter().map(|s| s.name.as_str()))
}

impl Computed {
    /// Builds and evaluates the model of `book` (an empty book gets one empty sheet). A formula
    /// past the depth bounds ([`depth::check`]) is evaluated as `#N/A`; the work runs on a
    /// thread whose stack covers the longest chain of references the formulas can make.
    pub fn new(book: &Book) -> Result<Self, CalcIoError> {
        let mut budget = StackBudget::default();
        for cell in book.sheets.iter().flat_map(|s| s.cells.values()) {
            if let Entry::Formula(f) = &cell.entry {
                budget.add(admitted(f));
            }
        }
        let stack = budget
            .bytes()
            .map_err(|e| CalcIoError::TooLarge(e.to_string()))?;
        depth::on_stack(stack, || Self::build(book)).map_err(engine)?
    }

    fn build(book: &Book) -> Result<Self, CalcIoError> {
        let mut model = Model::new_empty("calc", LANG, "UTC", LANG).map_err(engine)?;
        let names = sheet_names(book);
        for (i, name) in names.iter().enumerate() {
            if i == 0 {
                model.rename_sheet_by_index(0, name).map_err(engine)?;
            } else {
                model.add_sheet(name).map_err(engine)?;
            }
        }
        for (si, sheet) in book.sheets.iter().enumerate() {
            let index = u32::try_from(si).map_err(engine)?;
            for (&(r, c), cell) in &sheet.cells {
                let (row, col) = at(r, c)?;
                match &cell.entry {
                    Entry::Empty => Ok(()),
                    Entry::Number(n) => model.update_cell_with_number(index, row, col, *n),
                    Entry::Bool(b) => model.update_cell_with_bool(index, row, col, *b),
                    Entry::Text(t) => model.update_cell_with_text(index, row, col, t),
                    Entry::Formula(f) => {
                        model.set_user_input(index, row, col, admitted(f).to_owned())
                    }
                }
                .map_err(engine)?;
                if cell.style != Style::default() {
                    let mut style = model.get_style_for_cell(index, row, col).map_err(engine)?;
                    style.font.b = cell.style.bold;
                    style.font.i = cell.style.italic;
                    if let Some(nf) = &cell.style.num_fmt {
                        style.num_fmt = nf.clone();
                    }
                    model
                        .set_cell_style(index, row, col, &style)
                        .map_err(engine)?;
                }
            }
            for (&c, &px) in &sheet.col_widths {
                let (_, col) = at(0, c)?;
                model.set_column_width(index, col, px).map_err(engine)?;
            }
        }
        model.evaluate();
        Ok(Computed { model })
    }

    /// The evaluated model (for the XLSX writer).
    pub fn model(&self) -> &Model<'static> {
        &self.model
    }

    /// The computed value of (`sheet`, `row`, `col`), 0-based.
    pub fn value(&self, sheet: usize, row: u32, col: u32) -> Value {
        let (Ok(index), Ok((row, col))) = (u32::try_from(sheet), at(row, col)) else {
            return Value::Empty;
        };
        if let Ok(CellType::ErrorValue) = self.model.get_cell_type(index, row, col) {
            return Value::Error(self.formatted_at(index, row, col));
        }
        match self.model.get_cell_value_by_index(index, row, col) {
            Ok(CellValue::Number(n)) => Value::Number(n),
            Ok(CellValue::String(s)) => Value::Text(s),
            Ok(CellValue::Boolean(b)) => Value::Bool(b),
            Ok(CellValue::None) | Err(_) => Value::Empty,
        }
    }

    /// The value of (`sheet`, `row`, `col`) as displayed with its number format.
    pub fn formatted(&self, sheet: usize, row: u32, col: u32) -> String {
        match (u32::try_from(sheet), at(row, col)) {
            (Ok(index), Ok((row, col))) => self.formatted_at(index, row, col),
            _ => String::new(),
        }
    }

    fn formatted_at(&self, index: u32, row: i32, col: i32) -> String {
        self.model
            .get_formatted_cell_value(index, row, col)
            .unwrap_or_default()
    }
}

/// Reads every sheet of an IronCalc model into a [`Book`]: inputs (formulas in English A1),
/// bold, italic, number formats and column widths.
pub fn read_model(model: &Model<'_>) -> Result<Book, CalcIoError> {
    let mut book = Book::default();
    for (si, worksheet) in model.workbook.worksheets.iter().enumerate() {
        let index = u32::try_from(si).map_err(engine)?;
        let mut grid = Grid::named(worksheet.name.clone());
        for (&row, cols) in &worksheet.sheet_data {
            for &col in cols.keys() {
                let (r, c) = bounded(row, col)?;
                let entry = match model.get_cell_formula(index, row, col).map_err(engine)? {
                    Some(formula) => Entry::Formula(formula),
                    None => match model
                        .get_cell_value_by_index(index, row, col)
                        .map_err(engine)?
                    {
                        CellValue::None => Entry::Empty,
                        CellValue::Number(n) => Entry::Number(n),
                        CellValue::Boolean(b) => Entry::Bool(b),
                        CellValue::String(s) => Entry::Text(s),
                    },
                };
                let style = model.get_style_for_cell(index, row, col).map_err(engine)?;
                let style = Style {
                    bold: style.font.b,
                    italic: style.font.i,
                    num_fmt: Some(style.num_fmt).filter(|f| !f.eq_ignore_ascii_case("general")),
                };
                if entry != Entry::Empty || style != Style::default() {
                    grid.cells.insert((r, c), Cell { entry, style });
                }
            }
        }
        for col in &worksheet.cols {
            if !col.custom_width || col.hidden {
                continue;
            }
            let last = col.max.min(i32::try_from(MAX_COLS).map_err(engine)?);
            for c in col.min.max(1)..=last {
                let px = model.get_column_width(index, c).map_err(engine)?;
                grid.col_widths
                    .insert(u32::try_from(c - 1).map_err(engine)?, px);
            }
        }
        book.sheets.push(grid);
    }
    Ok(book)
}

/// `formula`, or the `#N/A` formula that replaces it when it is past the depth bounds (a document
/// stored before they existed, or written by a client that skipped them).
fn admitted(formula: &str) -> &str {
    match depth::check(formula) {
        Ok(()) => formula,
        Err(_) => depth::REFUSED_FORMULA,
    }
}

/// 0-based coordinates of a 1-based engine cell, within the calc's bounds.
fn bounded(row: i32, col: i32) -> Result<(u32, u32), CalcIoError> {
    let r = u32::try_from(row - 1).map_err(engine)?;
    let c = u32::try_from(col - 1).map_err(engine)?;
    if r >= MAX_ROWS || c >= MAX_COLS {
        return Err(CalcIoError::TooLarge(format!(
            "cell {} is outside the {MAX_ROWS} rows × {MAX_COLS} columns a sheet may have",
            super::openformula::a1(r, c)
        )));
    }
    Ok((r, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_sheet(cells: impl IntoIterator<Item = ((u32, u32), Entry)>) -> Book {
        let mut grid = Grid::named("S");
        for ((r, c), entry) in cells {
            grid.set(r, c, entry);
        }
        Book { sheets: vec![grid] }
    }

    #[test]
    fn formulas_past_the_bounds_evaluate_as_errors_and_the_rest_still_computes() {
        let deep = format!("={}1{}", "(".repeat(700), ")".repeat(700));
        let chain = format!("=1{}", "+1".repeat(5000));
        let book = one_sheet([
            ((0, 0), Entry::Formula(deep)),
            ((1, 0), Entry::Formula(chain)),
            (
                (2, 0),
                Entry::Formula("=LAMBDA(f,f(f))(LAMBDA(f,f(f)))".into()),
            ),
            ((3, 0), Entry::Number(2.0)),
            ((4, 0), Entry::Formula("=A4*21".into())),
        ]);
        let computed = Computed::new(&book).expect("evaluate");
        for row in 0..3 {
            assert_eq!(
                computed.value(0, row, 0),
                Value::Error("#N/A".into()),
                "{row}"
            );
        }
        assert_eq!(computed.value(0, 4, 0), Value::Number(42.0));
    }

    /// A chain A1 =A2+1, A2 =A3+1, … recurses in IronCalc once per link (about 4 KiB each: 537
    /// links overflow a 2 MiB stack). It computes on the evaluation thread, whose stack is sized
    /// from the formulas. (100,000 links, a whole sheet, took 3 s and 475 MiB peak, mostly that
    /// stack; 20,000 keep the test light.)
    #[test]
    fn a_twenty_thousand_link_reference_chain_evaluates() {
        const LINKS: u32 = 20_000;
        let book = one_sheet(
            (0..LINKS)
                .map(|r| ((r, 0), Entry::Formula(format!("=A{}+1", r + 2))))
                .chain([((LINKS, 0), Entry::Number(0.0))]),
        );
        let computed = Computed::new(&book).expect("evaluate");
        assert_eq!(computed.value(0, 0, 0), Value::Number(f64::from(LINKS)));
    }

    /// What runs outside the evaluation thread (the writers print formulas, the caller drops the
    /// model) stays within a 2 MiB stack for formulas at the bounds.
    #[test]
    fn formulas_at_the_bounds_export_on_an_ordinary_stack() {
        use crate::doc::calc::depth::{MAX_FORMULA_NESTING, MAX_FORMULA_TREE_DEPTH};
        let n = MAX_FORMULA_NESTING;
        let brackets = format!("={}1{}", "(".repeat(n), ")".repeat(n));
        let calls = format!("={}1{}", "SUM(".repeat(n), ")".repeat(n));
        let chain = format!("=1{}", "+1".repeat(MAX_FORMULA_TREE_DEPTH));
        let powers = format!("=1{}", "^1".repeat(MAX_FORMULA_TREE_DEPTH));
        for f in [&brackets, &calls, &chain, &powers] {
            assert!(depth::check(f).is_ok(), "{f}");
        }
        let book = one_sheet([
            ((0, 0), Entry::Formula(brackets)),
            ((1, 0), Entry::Formula(calls)),
            ((2, 0), Entry::Formula(chain)),
            ((3, 0), Entry::Formula(powers)),
        ]);
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                for format in [
                    super::super::CalcFormat::Csv,
                    super::super::CalcFormat::Ods,
                    super::super::CalcFormat::Xlsx,
                    super::super::CalcFormat::Html,
                    super::super::CalcFormat::SocialCalc,
                ] {
                    let bytes = super::super::export(&book, format, 0).expect("export");
                    assert!(!bytes.is_empty());
                }
                let computed = Computed::new(&book).expect("evaluate");
                assert_eq!(computed.value(0, 2, 0), Value::Number(257.0));
                assert_eq!(computed.value(0, 1, 0), Value::Number(1.0));
            })
            .expect("thread")
            .join()
            .expect("exports within 2 MiB");
    }
}
