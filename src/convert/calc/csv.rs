//! CSV of one sheet: written as RFC 4180 (UTF-8, CRLF, quotes only where needed) with computed
//! values; read with quoted commas, quotes and newlines. Data is never code: a field starting
//! with `=` is read as text, not as a formula.

use ::csv::{QuoteStyle, ReaderBuilder, Terminator, WriterBuilder};

use super::engine::{Computed, Value};
use super::{Book, CalcIoError, Entry, Grid, MAX_CELLS, MAX_COLS, MAX_ROWS};

/// The text of a computed value in a CSV file (and the EtherCalc JSON views): numbers rounded
/// to 15 significant digits, as spreadsheets show them, so `0.1+0.2` reads `0.3`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Empty => String::new(),
        Value::Number(n) => number_text(*n),
        Value::Text(t) => t.clone(),
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        Value::Error(e) => e.clone(),
    }
}

/// `n` with at most 15 significant digits, in its shortest form.
pub fn number_text(n: f64) -> String {
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    let s = format!("{rounded}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Writes sheet `sheet` (clamped to the first) of `book` as CSV: a rectangle from A1 to the
/// last row and column holding something.
pub fn write(book: &Book, computed: &Computed, sheet: usize) -> Vec<u8> {
    let index = if sheet < book.sheets.len() { sheet } else { 0 };
    let (rows, cols) = book.sheets.get(index).map_or((0, 0), Grid::extent);
    let mut w = WriterBuilder::new()
        .quote_style(QuoteStyle::Necessary)
        .terminator(Terminator::CRLF)
        .from_writer(Vec::new());
    let mut record: Vec<String> = Vec::with_capacity(cols as usize);
    for r in 0..rows {
        record.clear();
        record.extend((0..cols).map(|c| value_text(&computed.value(index, r, c))));
        // Writing into a Vec cannot fail.
        let _ = w.write_record(&record);
    }
    w.into_inner().unwrap_or_default()
}

/// Reads CSV into a sheet named `name`. UTF-8 (with or without BOM); bytes that are not UTF-8
/// are read as Windows-1252, what spreadsheet programs write by default. The separator is `,`,
/// or `;` or a tab when the first line has those and no comma (French and tab-separated files).
pub fn read(bytes: &[u8], name: &str) -> Result<Grid, CalcIoError> {
    let text = decode(bytes);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains(',') {
        b','
    } else if first_line.contains(';') {
        b';'
    } else if first_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut grid = Grid::named(name);
    let mut cells = 0;
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| CalcIoError::Invalid(format!("invalid CSV: {e}")))?;
        for (c, field) in record.iter().enumerate() {
            let entry = parse_field(field);
            if entry == Entry::Empty {
                continue;
            }
            if r >= MAX_ROWS as usize || c >= MAX_COLS as usize {
                return Err(CalcIoError::TooLarge(format!(
                    "the CSV has more than {MAX_ROWS} rows or {MAX_COLS} columns"
                )));
            }
            cells += 1;
            if cells > MAX_CELLS {
                return Err(CalcIoError::TooLarge(format!(
                    "the CSV has more than {MAX_CELLS} cells"
                )));
            }
            // Bounded above, so the casts cannot truncate.
            grid.set(r as u32, c as u32, entry);
        }
    }
    Ok(grid)
}

/// The text of a CSV file.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// A Windows-1252 byte as a char (its 0x80–0x9F block differs from Latin-1).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// What one field becomes: a plain decimal number is a number (except with a leading zero, as
/// in postcodes and phone numbers, which stay text); everything else is text, formulas included.
pub fn parse_field(field: &str) -> Entry {
    if field.is_empty() {
        return Entry::Empty;
    }
    match plain_number(field) {
        Some(n) => Entry::Number(n),
        None => Entry::Text(field.to_owned()),
    }
}

/// `-12`, `3.5`, `1e6`, `.5`; not `007`, `1,5`, ` 1`, `inf` or `0x10`.
fn plain_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mantissa = digits.split(['e', 'E']).next().unwrap_or("");
    let int = mantissa.split('.').next().unwrap_or("");
    let well_formed = !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
        && digits.as_bytes()[0] != b'e'
        && !(int.len() > 1 && int.starts_with('0'));
    if !well_formed {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::calc::{Cell, Style};

    fn book_of(rows: &[&[Entry]]) -> Book {
        let mut grid = Grid::named("S");
        for (r, row) in rows.iter().enumerate() {
            for (c, e) in row.iter().enumerate() {
                if *e != Entry::Empty {
                    grid.set(r as u32, c as u32, e.clone());
                }
            }
        }
        Book { sheets: vec![grid] }
    }

    fn csv_of(book: &Book) -> String {
        let computed = Computed::new(book).unwrap();
        String::from_utf8(write(book, &computed, 0)).unwrap()
    }

    #[test]
    fn writes_rfc4180_quoting_and_results() {
        let t = |s: &str| Entry::Text(s.into());
        let book = book_of(&[
            &[t("a,b"), t("say \"hi\""), t("two\nlines")],
            &[
                Entry::Number(0.1),
                Entry::Number(0.2),
                Entry::Formula("=A2+B2".into()),
            ],
            &[t("=not a formula"), Entry::Empty, Entry::Bool(true)],
            &[
                t("été ✓"),
                Entry::Formula("=1/0".into()),
                Entry::Number(-0.0),
            ],
        ]);
        assert_eq!(
            csv_of(&book),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\
             0.1,0.2,0.3\r\n\
             =not a formula,,TRUE\r\n\
             été ✓,#DIV/0!,0\r\n"
        );
    }

    #[test]
    fn empty_rows_and_columns_inside_the_rectangle_are_kept() {
        let mut grid = Grid::named("S");
        grid.set(2, 1, Entry::Number(5.0));
        grid.cells.insert(
            (9, 9),
            Cell {
                entry: Entry::Empty,
                style: Style {
                    bold: true,
                    ..Style::default()
                },
            },
        );
        let book = Book { sheets: vec![grid] };
        assert_eq!(csv_of(&book), ",\r\n,\r\n,5\r\n");
        assert_eq!(csv_of(&Book::default()), "");
    }

    #[test]
    fn reads_quotes_commas_newlines_and_keeps_formulas_as_text() {
        let csv = "\u{feff}name,\"a, b\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",=1+2,=SUM(A1:A3)\n007,1.5,-2e3\n,,x\n";
        let grid = read(csv.as_bytes(), "S").unwrap();
        let t = |s: &str| Some(Entry::Text(s.into()));
        assert_eq!(grid.entry(0, 0).cloned(), t("name"));
        assert_eq!(grid.entry(0, 1).cloned(), t("a, b"));
        assert_eq!(grid.entry(0, 2).cloned(), t("say \"hi\""));
        assert_eq!(grid.entry(1, 0).cloned(), t("multi\nline"));
        assert_eq!(grid.entry(1, 1).cloned(), t("=1+2"));
        assert_eq!(grid.entry(1, 2).cloned(), t("=SUM(A1:A3)"));
        assert_eq!(grid.entry(2, 0).cloned(), t("007"));
        assert_eq!(grid.entry(2, 1).cloned(), Some(Entry::Number(1.5)));
        assert_eq!(grid.entry(2, 2).cloned(), Some(Entry::Number(-2000.0)));
        assert_eq!(grid.entry(3, 0), None);
        assert_eq!(grid.entry(3, 2).cloned(), t("x"));
    }

    #[test]
    fn text_that_looks_like_a_formula_stays_text_through_evaluation() {
        let grid = read(b"=1+2,=HYPERLINK(\"http://x\")", "S").unwrap();
        let book = Book { sheets: vec![grid] };
        assert_eq!(csv_of(&book), "=1+2,\"=HYPERLINK(\"\"http://x\"\")\"\r\n");
    }

    #[test]
    fn separators_encodings_and_numbers() {
        let grid = read("a;b;x y\n".as_bytes(), "S").unwrap();
        assert_eq!(grid.entry(0, 1).cloned(), Some(Entry::Text("b".into())));
        assert_eq!(grid.entry(0, 2).cloned(), Some(Entry::Text("x y".into())));
        let grid = read(b"caf\xe9\t\x80", "S").unwrap();
        assert_eq!(grid.entry(0, 0).cloned(), Some(Entry::Text("café".into())));
        assert_eq!(grid.entry(0, 1).cloned(), Some(Entry::Text("€".into())));
        for (s, n) in [
            ("0", Some(0.0)),
            (".5", Some(0.5)),
            ("0.25", Some(0.25)),
            ("+3", Some(3.0)),
        ] {
            assert_eq!(plain_number(s), n, "{s}");
        }
        for s in [
            "", "01", "1,5", " 1", "inf", "NaN", "0x10", "e5", "1e999", "-",
        ] {
            assert_eq!(plain_number(s), None, "{s}");
        }
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(1e21), "1000000000000000000000");
        assert_eq!(number_text(123456.789), "123456.789");
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let wide = ",".repeat(MAX_COLS as usize) + "x";
        assert!(matches!(
            read(wide.as_bytes(), "S"),
            Err(CalcIoError::TooLarge(_))
        ));
        assert!(matches!(
            read(b"\"open", "S"),
            Ok(_) | Err(CalcIoError::Invalid(_))
        ));
    }
}
