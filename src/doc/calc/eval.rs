//! Evaluation of a workbook with IronCalc: every displayed cell is written into an IronCalc model
//! at its current position (formulas translated from ids to A1 in the viewer's locale), then the
//! model computes. The browser does the same with IronCalc's wasm build of the same minor
//! version, so both compute the same values. Nothing computed is ever written back to the CRDT.

use std::collections::HashMap;

use ironcalc_base::cell::CellValue;
use ironcalc_base::types::CellType;
use ironcalc_base::Model;

use super::depth::{self, StackBudget, TooManyFormulas};
use super::formula::{self, Layout};
use super::locale::Locale;
use super::schema::Workbook;
use super::value::{Computed, Input};

/// Why a workbook could not be evaluated (never because of a formula: those show errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// IronCalc refused to build the model (a bug on our side; the text says what).
    #[error("spreadsheet engine: {0}")]
    Engine(String),
    /// The formulas would need more evaluation stack than the server grants.
    #[error(transparent)]
    TooManyFormulas(#[from] TooManyFormulas),
}

/// One computed cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The value.
    pub value: Computed,
    /// The value as displayed with its number format, in the evaluation locale.
    pub formatted: String,
}

/// The computed values of a workbook, by sheet, 0-based (row, column).
#[derive(Debug, Clone, Default)]
pub struct Evaluated {
    /// Per sheet (tab order): the cells that hold something.
    pub sheets: Vec<HashMap<(usize, usize), Cell>>,
}

impl Evaluated {
    /// The computed cell at (`sheet`, `row`, `col`), 0-based.
    pub fn get(&self, sheet: usize, row: usize, col: usize) -> Option<&Cell> {
        self.sheets.get(sheet)?.get(&(row, col))
    }
}

fn engine<E: std::fmt::Display>(e: E) -> EvalError {
    EvalError::Engine(e.to_string())
}

/// Evaluates `workbook`, formatting values for `locale`. A formula past the depth bounds
/// ([`depth::check`], measured on its English form) is evaluated as `#N/A`; the work runs on a
/// thread whose stack covers the longest chain of references the formulas can make.
pub fn evaluate(workbook: &Workbook, locale: Locale) -> Result<Evaluated, EvalError> {
    let layout = Layout::for_engine(workbook);
    let mut budget = StackBudget::default();
    let mut inputs = Vec::with_capacity(workbook.sheets.len());
    for (si, sheet) in workbook.sheets.iter().enumerate() {
        let cells = sheet.placed_cells();
        let mut texts = Vec::with_capacity(cells.len());
        for &(_, _, input) in &cells {
            let Input::Formula(f) = input else {
                texts.push(None);
                continue;
            };
            let en = formula::to_a1(f, Locale::En, &layout, si);
            let text = if depth::check(&en).is_err() {
                depth::REFUSED_FORMULA.to_owned()
            } else if locale == Locale::En {
                en
            } else {
                formula::to_a1(f, locale, &layout, si)
            };
            budget.add(&text);
            texts.push(Some(text));
        }
        inputs.push(texts);
    }
    let stack = budget.bytes()?;
    depth::on_stack(stack, || build(workbook, &layout, inputs, locale)).map_err(engine)?
}

/// Builds the model, with `formulas` the text of each placed cell's formula (`None` for other
/// cells), evaluates it and reads the values back.
fn build(
    workbook: &Workbook,
    layout: &Layout<'_>,
    formulas: Vec<Vec<Option<String>>>,
    locale: Locale,
) -> Result<Evaluated, EvalError> {
    let code = locale.code();
    let mut model = Model::new_empty("calc", code, "UTC", code).map_err(engine)?;
    for (i, sheet) in layout.sheets().iter().enumerate() {
        if i == 0 {
            let first = model.workbook.get_worksheet_names()[0].clone();
            model.rename_sheet(&first, &sheet.name).map_err(engine)?;
        } else {
            model.add_sheet(&sheet.name).map_err(engine)?;
        }
    }
    let mut placed = Vec::with_capacity(workbook.sheets.len());
    for ((si, sheet), mut texts) in workbook.sheets.iter().enumerate().zip(formulas) {
        let cells = sheet.placed_cells();
        let index = u32::try_from(si).map_err(engine)?;
        for (&(r, c, input), text) in cells.iter().zip(texts.iter_mut()) {
            let (row, col) = (to_i32(r)? + 1, to_i32(c)? + 1);
            match input {
                Input::Number(n) => model.update_cell_with_number(index, row, col, *n),
                Input::Bool(b) => model.update_cell_with_bool(index, row, col, *b),
                Input::Text(t) => model.update_cell_with_text(index, row, col, t),
                Input::Formula(_) => {
                    model.set_user_input(index, row, col, text.take().unwrap_or_default())
                }
            }
            .map_err(engine)?;
            let key = super::schema::cell_key(&sheet.rows[r], &sheet.cols[c]);
            if let Some(nf) = sheet.fmt.get(&key).and_then(|f| f.num_fmt.as_ref()) {
                let mut style = model.get_style_for_cell(index, row, col).map_err(engine)?;
                style.num_fmt = nf.clone();
                model
                    .set_cell_style(index, row, col, &style)
                    .map_err(engine)?;
            }
        }
        placed.push(cells.iter().map(|&(r, c, _)| (r, c)).collect::<Vec<_>>());
    }
    model.evaluate();
    let mut out = Evaluated::default();
    for (si, cells) in placed.into_iter().enumerate() {
        let index = u32::try_from(si).map_err(engine)?;
        let mut values = HashMap::with_capacity(cells.len());
        for (r, c) in cells {
            let (row, col) = (to_i32(r)? + 1, to_i32(c)? + 1);
            let formatted = model
                .get_formatted_cell_value(index, row, col)
                .map_err(engine)?;
            let value = match model.get_cell_type(index, row, col).map_err(engine)? {
                CellType::ErrorValue => Computed::Error(formatted.clone()),
                _ => match model
                    .get_cell_value_by_index(index, row, col)
                    .map_err(engine)?
                {
                    CellValue::None => Computed::Empty,
                    CellValue::Number(n) => Computed::Number(n),
                    CellValue::String(s) => Computed::Text(s),
                    CellValue::Boolean(b) => Computed::Bool(b),
                },
            };
            values.insert((r, c), Cell { value, formatted });
        }
        out.sheets.push(values);
    }
    Ok(out)
}

fn to_i32(n: usize) -> Result<i32, EvalError> {
    i32::try_from(n).map_err(engine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::calc::schema::{self, Axis};
    use crate::doc::calc::value::{parse_typed, At, CellFormat};
    use yrs::{Doc, Transact};

    /// Types `text` in `locale` into cell (row, col) (0-based) of sheet `sheet`.
    fn type_in(doc: &Doc, sheet: usize, row: usize, col: usize, text: &str, locale: Locale) {
        let wb = schema::read(&doc.transact());
        let layout = Layout::new(&wb);
        let input = parse_typed(
            text,
            locale,
            At {
                layout: &layout,
                sheet,
            },
        );
        let s = &wb.sheets[sheet];
        let mut t = doc.transact_mut();
        schema::set_input(&mut t, &s.id, &s.rows[row], &s.cols[col], input.as_ref()).unwrap();
    }

    fn value(doc: &Doc, locale: Locale, sheet: usize, row: usize, col: usize) -> Computed {
        let wb = schema::read(&doc.transact());
        evaluate(&wb, locale)
            .unwrap()
            .get(sheet, row, col)
            .map_or(Computed::Empty, |c| c.value.clone())
    }

    fn new_doc() -> Doc {
        let doc = Doc::new();
        schema::ensure_first_sheet(&mut doc.transact_mut());
        doc
    }

    #[test]
    fn formulas_follow_inserted_and_deleted_rows() {
        let doc = new_doc();
        for (r, v) in [1, 2, 3, 4].iter().enumerate() {
            type_in(&doc, 0, r, 0, &v.to_string(), Locale::En);
        }
        type_in(&doc, 0, 0, 1, "=SUM(A1:A4)", Locale::En);
        type_in(&doc, 0, 1, 1, "=A3*10", Locale::En);
        assert_eq!(value(&doc, Locale::En, 0, 0, 1), Computed::Number(10.0));
        schema::insert(&mut doc.transact_mut(), "s1", Axis::Rows, 2, 1).unwrap();
        type_in(&doc, 0, 2, 0, "100", Locale::En);
        // The inserted row is inside A1:A4, which now reads A1:A5; B2 still points at the 3.
        assert_eq!(value(&doc, Locale::En, 0, 0, 1), Computed::Number(110.0));
        assert_eq!(value(&doc, Locale::En, 0, 1, 1), Computed::Number(30.0));
        schema::delete(&mut doc.transact_mut(), "s1", Axis::Rows, 3, 1).unwrap();
        assert_eq!(
            value(&doc, Locale::En, 0, 1, 1),
            Computed::Error("#REF!".into())
        );
        assert_eq!(value(&doc, Locale::En, 0, 0, 1), Computed::Number(107.0));
    }

    #[test]
    fn cross_sheet_references_and_french() {
        let doc = new_doc();
        let s2 = schema::add_sheet(&mut doc.transact_mut(), "Données");
        type_in(&doc, 1, 0, 0, "1,23", Locale::Fr);
        type_in(&doc, 0, 0, 0, "=Données!A1*2", Locale::Fr);
        type_in(&doc, 0, 1, 0, "=SOMME(Données!A1;1,5)", Locale::Fr);
        let wb = schema::read(&doc.transact());
        assert_eq!(wb.sheets[1].id, s2);
        assert_eq!(
            wb.sheets[0].input_at(1, 0),
            Some(&Input::Formula(format!("=SUM({{@{s2}!r1:c1}},1.5)")))
        );
        assert_eq!(wb.sheets[1].input_at(0, 0), Some(&Input::Number(1.23)));
        for locale in [Locale::En, Locale::Fr] {
            assert_eq!(value(&doc, locale, 0, 0, 0), Computed::Number(2.46));
            assert_eq!(value(&doc, locale, 0, 1, 0), Computed::Number(2.73));
        }
        let fr = evaluate(&wb, Locale::Fr).unwrap();
        assert_eq!(fr.get(0, 1, 0).unwrap().formatted, "2,73");
        schema::rename_sheet(&mut doc.transact_mut(), &s2, "Data").unwrap();
        assert_eq!(value(&doc, Locale::En, 0, 0, 0), Computed::Number(2.46));
    }

    #[test]
    fn errors_stay_in_their_cell_and_huge_ranges_are_bounded() {
        let doc = new_doc();
        type_in(&doc, 0, 0, 0, "5", Locale::En);
        type_in(&doc, 0, 1, 0, "=1/0", Locale::En);
        type_in(&doc, 0, 2, 0, "=SUM(A1:A999999999)", Locale::En);
        type_in(&doc, 0, 3, 0, "=NOSUCHFUNCTION(1)", Locale::En);
        type_in(&doc, 0, 4, 0, "=(((", Locale::En);
        type_in(&doc, 0, 1, 1, "=ROWS(A1:A100)", Locale::En);
        assert_eq!(
            value(&doc, Locale::En, 0, 1, 0),
            Computed::Error("#DIV/0!".into())
        );
        assert!(matches!(
            value(&doc, Locale::En, 0, 2, 0),
            Computed::Error(_)
        ));
        assert!(matches!(
            value(&doc, Locale::En, 0, 3, 0),
            Computed::Error(_)
        ));
        assert!(matches!(
            value(&doc, Locale::En, 0, 4, 0),
            Computed::Error(_)
        ));
        assert_eq!(value(&doc, Locale::En, 0, 1, 1), Computed::Number(100.0));
        assert_eq!(value(&doc, Locale::En, 0, 0, 0), Computed::Number(5.0));
    }

    #[test]
    fn ranges_over_millions_of_cells_are_cut_to_the_used_extent() {
        let doc = new_doc();
        schema::insert(
            &mut doc.transact_mut(),
            "s1",
            Axis::Rows,
            1000,
            (schema::MAX_ROWS - schema::DEFAULT_ROWS) as u32,
        )
        .unwrap();
        type_in(&doc, 0, 1, 0, "5", Locale::En);
        type_in(&doc, 0, 2, 25, "7", Locale::En);
        // 26 columns × 99,999 rows: past a million cells, evaluated over the used extent only.
        type_in(&doc, 0, 0, 0, "=SUM(A2:Z100000)", Locale::En);
        type_in(&doc, 0, 0, 1, "=COUNT(A2:Z100000)", Locale::En);
        assert_eq!(value(&doc, Locale::En, 0, 0, 0), Computed::Number(12.0));
        assert_eq!(value(&doc, Locale::En, 0, 0, 1), Computed::Number(2.0));
    }

    #[test]
    fn number_formats_apply_to_display_only() {
        let doc = new_doc();
        type_in(&doc, 0, 0, 0, "0,5", Locale::Fr);
        let f = CellFormat {
            num_fmt: Some("0.00%".into()),
            ..CellFormat::default()
        };
        schema::set_format(&mut doc.transact_mut(), "s1", "r1", "c1", Some(&f)).unwrap();
        let wb = schema::read(&doc.transact());
        let en = evaluate(&wb, Locale::En).unwrap();
        assert_eq!(en.get(0, 0, 0).unwrap().formatted, "50.00%");
        assert_eq!(en.get(0, 0, 0).unwrap().value, Computed::Number(0.5));
    }

    #[test]
    fn stored_formulas_past_the_bounds_show_errors_and_long_chains_compute() {
        let doc = new_doc();
        let deep = format!("={}1{}", "(".repeat(700), ")".repeat(700));
        {
            // Written as a client could write it, without the typing path's checks.
            let wb = schema::read(&doc.transact());
            let s = &wb.sheets[0];
            let mut t = doc.transact_mut();
            let input = Input::Formula(deep);
            schema::set_input(&mut t, &s.id, &s.rows[0], &s.cols[1], Some(&input)).unwrap();
        }
        // A chain B2 =A3+1 … down 999 rows, past the 537 links a 2 MiB stack holds.
        {
            let wb = schema::read(&doc.transact());
            let layout = Layout::new(&wb);
            let s = &wb.sheets[0];
            let mut t = doc.transact_mut();
            for r in 1..1000 {
                let text = if r < 999 {
                    format!("=A{}+1", r + 2)
                } else {
                    "0".into()
                };
                let at = At {
                    layout: &layout,
                    sheet: 0,
                };
                let input = parse_typed(&text, Locale::En, at);
                schema::set_input(&mut t, &s.id, &s.rows[r], &s.cols[0], input.as_ref()).unwrap();
            }
        }
        for locale in [Locale::En, Locale::Fr] {
            assert_eq!(value(&doc, locale, 0, 1, 0), Computed::Number(998.0));
        }
        assert_eq!(
            value(&doc, Locale::En, 0, 0, 1),
            Computed::Error("#N/A".into())
        );
    }
}
