//! The work a workbook's formulas ask of the engine, estimated from their text before anything
//! evaluates them.
//!
//! IronCalc cannot be interrupted once it evaluates: 1,000 `SUM`s over a million cells keep a
//! thread busy for minutes, whatever timeout the caller gives up at. So the cells formulas read
//! are counted first — each range costs its area, each other reference or token one — and a
//! workbook past [`MAX_FORMULA_WORK`] is refused at import and at export, which bounds every
//! evaluation to a few seconds and a known memory.

use super::{Book, CalcIoError, Entry, MAX_CELLS, MAX_COLS, MAX_ROWS};

/// Most cells the formulas of one workbook may read altogether (the sum of their ranges'
/// areas). Measured: 50 `SUM`s over a filled 100,000-row column (5 million) evaluate in 3.7 s
/// on a loaded 2-core machine (1.4 million cells a second), so an evaluation within the budget
/// ends well inside the export timeout.
pub const MAX_FORMULA_WORK: u64 = 5_000_000;

/// What `INDIRECT` and `OFFSET` are charged: their range is only known once evaluated, so
/// they cost a whole column.
const DYNAMIC_RANGE_COST: u64 = MAX_ROWS as u64;

/// The formula work of a workbook, added up as formulas are read.
#[derive(Debug, Default)]
pub struct Work(u64);

impl Work {
    /// Adds a formula that appears `times` times; refuses once past [`MAX_FORMULA_WORK`].
    pub fn add(&mut self, formula: &str, times: u64) -> Result<(), CalcIoError> {
        self.add_cost(formula_cost(formula), times)
    }

    /// Adds a formula of known [`formula_cost`] that appears `times` times.
    pub fn add_cost(&mut self, cost: u64, times: u64) -> Result<(), CalcIoError> {
        self.0 = self.0.saturating_add(cost.saturating_mul(times));
        if self.0 > MAX_FORMULA_WORK {
            return Err(CalcIoError::TooLarge(format!(
                "the formulas read more than {MAX_FORMULA_WORK} cells altogether"
            )));
        }
        Ok(())
    }
}

/// Checks the bounds a workbook is evaluated within, at import and before every export: cells
/// and formula work.
pub fn check(book: &Book) -> Result<(), CalcIoError> {
    let cells: usize = book.sheets.iter().map(|s| s.cells.len()).sum();
    if cells > MAX_CELLS {
        return Err(CalcIoError::TooLarge(format!(
            "too many cells (at most {MAX_CELLS})"
        )));
    }
    let mut work = Work::default();
    for sheet in &book.sheets {
        for cell in sheet.cells.values() {
            if let Entry::Formula(f) = &cell.entry {
                work.add(f, 1)?;
            }
        }
    }
    Ok(())
}

/// The cells formula `formula` (English A1, as in a [`Book`]) reads, estimated from its text:
/// a range costs its area (a whole column [`MAX_ROWS`] cells, a whole row [`MAX_COLS`]), every
/// other token 1, `INDIRECT` and `OFFSET` a column. Linear, not recursive.
pub fn formula_cost(formula: &str) -> u64 {
    let mut cost = 1u64;
    let mut token = String::new();
    let mut chars = formula.chars();
    let mut flush = |token: &mut String| {
        if !token.is_empty() {
            cost = cost.saturating_add(token_cost(token));
            token.clear();
        }
    };
    while let Some(c) = chars.next() {
        match c {
            // String literals and quoted sheet names hold no references.
            '"' | '\'' => {
                flush(&mut token);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '$' | ':' | '_' | '.' | '!') => {
                token.push(c)
            }
            _ => flush(&mut token),
        }
    }
    flush(&mut token);
    cost
}

fn token_cost(token: &str) -> u64 {
    let reference = token.rsplit('!').next().unwrap_or(token);
    if reference.eq_ignore_ascii_case("INDIRECT") || reference.eq_ignore_ascii_case("OFFSET") {
        return DYNAMIC_RANGE_COST;
    }
    let Some((from, to)) = reference.split_once(':') else {
        return 1;
    };
    let to = to.split(':').next().unwrap_or(to);
    match (part(from), part(to)) {
        (Part::Cell(r1, c1), Part::Cell(r2, c2)) => (r1.abs_diff(r2) + 1) * (c1.abs_diff(c2) + 1),
        (Part::Col(c1), Part::Col(c2)) => (c1.abs_diff(c2) + 1) * u64::from(MAX_ROWS),
        (Part::Row(r1), Part::Row(r2)) => (r1.abs_diff(r2) + 1) * u64::from(MAX_COLS),
        // Not a reference (a time such as `12:30` is not written so, but a label might be).
        (Part::Other, _) | (_, Part::Other) => 1,
        // Mixed ends (`A1:C`, `1:A`): charged as a whole sheet, the most they could mean.
        _ => u64::from(MAX_ROWS) * u64::from(MAX_COLS),
    }
}

enum Part {
    Cell(u64, u64),
    Col(u64),
    Row(u64),
    Other,
}

/// One end of a range: `$B$3`, `B`, `3`.
fn part(s: &str) -> Part {
    let s = s.replace('$', "");
    let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
    let (col, row) = s.split_at(letters);
    let col_n = (1..=3).contains(&col.len()).then(|| {
        col.bytes().fold(0u64, |n, b| {
            n * 26 + u64::from(b.to_ascii_uppercase() - b'A' + 1)
        })
    });
    let row_n = (!row.is_empty() && row.len() <= 8 && row.bytes().all(|b| b.is_ascii_digit()))
        .then(|| row.parse::<u64>().ok())
        .flatten();
    match (col_n, row_n, col.is_empty(), row.is_empty()) {
        (Some(c), Some(r), _, _) => Part::Cell(r, c),
        (Some(c), None, _, true) => Part::Col(c),
        (None, Some(r), true, _) => Part::Row(r),
        _ => Part::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::calc::Grid;

    #[test]
    fn ranges_cost_their_area() {
        assert_eq!(formula_cost("=1+2"), 3);
        assert_eq!(formula_cost("=SUM(A1:A10)"), 1 + 1 + 10);
        assert_eq!(formula_cost("=SUM($B$2:C4)"), 1 + 1 + 6);
        assert_eq!(formula_cost("='My sheet'!A1:B2*2"), 1 + 4 + 1);
        assert_eq!(formula_cost("=Sheet2!A1:A1000"), 1 + 1000);
        assert_eq!(formula_cost("=SUM(A:B)"), 1 + 1 + 2 * u64::from(MAX_ROWS));
        assert_eq!(formula_cost("=SUM(3:3)"), 1 + 1 + u64::from(MAX_COLS));
        assert_eq!(formula_cost("=\"A1:Z99999\""), 1);
        assert_eq!(
            formula_cost("=SUM(INDIRECT(\"A1:A5\"))"),
            1 + 1 + DYNAMIC_RANGE_COST
        );
    }

    #[test]
    fn a_workbook_past_the_work_budget_is_refused() {
        let mut grid = Grid::named("S");
        grid.set(0, 0, Entry::Formula("=SUM(B1:B100000)".into()));
        let mut book = Book { sheets: vec![grid] };
        assert!(check(&book).is_ok());
        for r in 1..=50 {
            book.sheets[0].set(r, 0, Entry::Formula("=SUM(B1:B100000)".into()));
        }
        let err = check(&book).unwrap_err();
        assert!(matches!(err, CalcIoError::TooLarge(_)), "{err}");
    }
}
