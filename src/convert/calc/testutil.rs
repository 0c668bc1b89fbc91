//! A workbook with what round trips must keep, and the comparison they use. Tests only.

use super::{Book, Cell, Entry, Grid, Style};

/// Two sheets with formulas (across sheets too), unicode, empty cells inside the used range,
/// bold, italic, number formats and column widths.
pub fn sample() -> Book {
    let mut first = Grid::named("Données");
    let t = |s: &str| Entry::Text(s.into());
    let f = |s: &str| Entry::Formula(s.into());
    first.set(0, 0, t("Article"));
    first.set(0, 1, t("Prix €"));
    first.set(1, 0, t("café ☕"));
    first.set(1, 1, Entry::Number(2.5));
    first.set(2, 0, t("thé, \"vert\"\nen vrac"));
    first.set(2, 1, Entry::Number(4.25));
    // Row 3 is left empty on purpose.
    first.set(4, 0, t("Total"));
    first.set(4, 1, f("=SUM(B2:B4)"));
    first.set(5, 1, f("=B5*2"));
    first.set(5, 2, Entry::Bool(true));
    first.set(6, 0, t("=pas une formule"));
    first.set(6, 3, f("=IF(B5>5,\"cher\",\"ok\")"));
    let bold = Style {
        bold: true,
        ..Style::default()
    };
    for c in 0..2 {
        first.cells.get_mut(&(0, c)).unwrap().style = bold.clone();
    }
    first.cells.get_mut(&(4, 0)).unwrap().style = Style {
        bold: true,
        italic: true,
        num_fmt: None,
    };
    first.cells.get_mut(&(4, 1)).unwrap().style = Style {
        num_fmt: Some("#,##0.00".into()),
        ..Style::default()
    };
    first.cells.insert(
        (1, 2),
        Cell {
            entry: Entry::Number(0.125),
            style: Style {
                num_fmt: Some("0.0%".into()),
                ..Style::default()
            },
        },
    );
    first.col_widths.insert(0, 180.0);
    let mut second = Grid::named("Other sheet");
    second.set(0, 0, f("=Données!B5+1"));
    second.set(1, 1, f("=SUM(Données!B2:B3)*'Other sheet'!A1"));
    second.set(2, 0, Entry::Number(-1e-3));
    Book {
        sheets: vec![first, second],
    }
}

/// Formulas as the engine writes them back, so files of either dialect compare equal:
/// both sides go through IronCalc's own formatter.
pub fn normalized(book: &Book) -> Book {
    let computed = super::engine::Computed::new(book).expect("engine");
    let mut back = super::engine::read_model(computed.model()).expect("read back");
    // The engine keeps formatted empty cells; so do the files.
    for (sheet, orig) in back.sheets.iter_mut().zip(&book.sheets) {
        sheet.name = orig.name.clone();
    }
    back
}

/// Asserts two books hold the same sheets, inputs and formatting.
pub fn assert_same(got: &Book, want: &Book) {
    assert_eq!(got.sheets.len(), want.sheets.len(), "sheet count");
    for (g, w) in got.sheets.iter().zip(&want.sheets) {
        assert_eq!(g.name, w.name);
        let keys: Vec<_> = w.cells.keys().collect();
        assert_eq!(
            g.cells.keys().collect::<Vec<_>>(),
            keys,
            "cells of {}",
            w.name
        );
        for (k, cell) in &w.cells {
            assert_eq!(&g.cells[k], cell, "cell {k:?} of {}", w.name);
        }
        for (c, px) in &w.col_widths {
            let got = g.col_widths.get(c).copied().unwrap_or(0.0);
            assert!((got - px).abs() < 1.5, "width of column {c}: {got} vs {px}");
        }
    }
}
