//! Where every sheet, row and column of a workbook is, and the sheet names formulas show.

use std::collections::HashMap;

use crate::doc::calc::schema::Workbook;

/// Where every sheet, row and column is, for translating references.
#[derive(Debug)]
pub struct Layout<'a> {
    pub(super) sheets: Vec<SheetLayout<'a>>,
    /// Whether references are written for the engine (huge ranges cut to the used extent).
    pub(super) for_engine: bool,
}

/// One sheet of a [`Layout`].
#[derive(Debug)]
pub struct SheetLayout<'a> {
    /// Sheet id.
    pub id: &'a str,
    /// Display name, unique in the workbook (case-insensitively) and valid for IronCalc.
    pub name: String,
    pub(super) rows: &'a [String],
    pub(super) cols: &'a [String],
    pub(super) row_index: HashMap<&'a str, usize>,
    pub(super) col_index: HashMap<&'a str, usize>,
    /// Rows and columns in use (1-based last position holding a cell; 0 when empty).
    pub(super) used: (usize, usize),
}

impl<'a> Layout<'a> {
    /// The layout of `workbook`.
    pub fn new(workbook: &'a Workbook) -> Self {
        let names = display_names(workbook);
        let sheets = workbook
            .sheets
            .iter()
            .zip(names)
            .map(|(s, name)| SheetLayout {
                id: &s.id,
                name,
                rows: &s.rows,
                cols: &s.cols,
                row_index: s.row_index(),
                col_index: s.col_index(),
                used: s
                    .placed_cells()
                    .iter()
                    .fold((0, 0), |(r, c), &(pr, pc, _)| {
                        (r.max(pr + 1), c.max(pc + 1))
                    }),
            })
            .collect();
        Layout {
            sheets,
            for_engine: false,
        }
    }

    /// The layout of `workbook` for writing formulas the engine evaluates.
    pub fn for_engine(workbook: &'a Workbook) -> Self {
        Layout {
            for_engine: true,
            ..Layout::new(workbook)
        }
    }

    /// The sheets in tab order.
    pub fn sheets(&self) -> &[SheetLayout<'a>] {
        &self.sheets
    }

    pub(super) fn by_name(&self, name: &str) -> Option<usize> {
        self.sheets
            .iter()
            .position(|s| s.name.to_lowercase() == name.to_lowercase())
    }

    pub(super) fn by_id(&self, id: &str) -> Option<usize> {
        self.sheets.iter().position(|s| s.id == id)
    }
}

/// Unique, valid sheet names: users may give two tabs the same name or characters IronCalc
/// refuses; the displayed (and evaluated) name is fixed up, the stored one left alone.
pub fn display_names(workbook: &Workbook) -> Vec<String> {
    unique_sheet_names(workbook.sheets.iter().map(|s| s.name.as_str()))
}

/// `names` made valid for IronCalc (no `[]:*?/\\`, at most 31 characters, never empty) and
/// unique case-insensitively, in order.
pub fn unique_sheet_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, raw) in names.into_iter().enumerate() {
        let cleaned: String = raw
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') && !c.is_control())
            .take(31)
            .collect();
        let cleaned = cleaned.trim().trim_matches('\'').trim().to_owned();
        let base = if cleaned.is_empty() {
            format!("Sheet{}", i + 1)
        } else {
            cleaned
        };
        let mut name = base.clone();
        let mut k = 2;
        while taken.contains(&name.to_lowercase()) {
            name = format!("{base} ({k})");
            k += 1;
        }
        taken.push(name.to_lowercase());
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::calc::formula::testutil::workbook;
    use crate::doc::calc::schema::Sheet;

    #[test]
    fn unique_sheet_names() {
        let mut wb = workbook();
        wb.sheets[1].name = "sheet1".into();
        wb.sheets.push(Sheet {
            name: " a/b* ".into(),
            ..Sheet::default()
        });
        wb.sheets.push(Sheet::default());
        assert_eq!(display_names(&wb), ["Sheet1", "sheet1 (2)", "ab", "Sheet4"]);
    }
}
