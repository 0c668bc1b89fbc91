//! SocialCalc's save format, what EtherCalc (and so Framacalc) stores and serves at
//! `GET /_/{name}`: the only lossless way out of an EtherCalc instance (its ODS and XLSX exports
//! dropped formulas), so reading it is how a calc moves from Framacalc to ardoise, and writing
//! it keeps scripts that fetch `/_/{name}` working.
//!
//! One sheet per file (EtherCalc has one per room). What is read and written: cell inputs
//! (numbers, text, booleans, formulas), bold/italic through the font table, number formats
//! through the value-format table, and column widths. Colours, borders, merges and comments
//! are skipped on import and never written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::engine::{Computed, Value};
use super::openformula::{a1, col_name, parse_a1};
use super::{Book, CalcIoError, Cell, Entry, Grid, MAX_COLS, MAX_ROWS};

/// The MIME boundary of a spreadsheet-control save.
const BOUNDARY: &str = "SocialCalcSpreadsheetControlSave";

/// `Content-Type` of the format.
pub const CONTENT_TYPE: &str = "text/x-socialcalc";

/// Whether `bytes` look like a SocialCalc save (whole control save, or a bare sheet save).
pub fn looks_like(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let head = String::from_utf8_lossy(head);
    head.starts_with("socialcalc:version:")
        || head.starts_with("version:1.") && head.contains("\ncell:")
}

/// SocialCalc's escaping of a field: `\` is `\b`, `:` is `\c`, a newline `\n`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\b"),
            ':' => out.push_str("\\c"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The inverse of [`encode`] (also the escaping of text in SocialCalc commands).
pub(super) fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('c') => out.push(':'),
            Some('n') => out.push('\n'),
            Some('b') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Reads a SocialCalc save into a one-sheet book named `name`.
pub fn read(bytes: &[u8], name: &str) -> Result<Book, CalcIoError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CalcIoError::Invalid("the SocialCalc file is not UTF-8".into()))?;
    let mut grid = Grid::named(name);
    let mut fonts: BTreeMap<u32, String> = BTreeMap::new();
    let mut formats: BTreeMap<u32, String> = BTreeMap::new();
    let mut cell_fonts: Vec<((u32, u32), u32)> = Vec::new();
    let mut cell_formats: Vec<((u32, u32), u32)> = Vec::new();
    let mut saw_cell = false;
    for line in sheet_part(text).lines() {
        let fields: Vec<&str> = line.trim_end_matches('\r').split(':').collect();
        match fields.first().copied() {
            Some("cell") => {
                let Some(pos) = fields.get(1).and_then(|c| parse_a1(c)) else {
                    continue;
                };
                if pos.0 >= MAX_ROWS || pos.1 >= MAX_COLS {
                    return Err(CalcIoError::TooLarge(format!(
                        "a cell lies past the largest sheet ({MAX_ROWS} rows × {MAX_COLS} columns)"
                    )));
                }
                saw_cell = true;
                let (entry, font, format) = cell(&fields[2..]);
                if entry != Entry::Empty {
                    grid.set(pos.0, pos.1, entry);
                }
                if let Some(f) = font {
                    cell_fonts.push((pos, f));
                }
                if let Some(f) = format {
                    cell_formats.push((pos, f));
                }
            }
            Some("col") => {
                let col = fields.get(1).and_then(|c| parse_a1(&format!("{c}1")));
                if let (Some((_, col)), Some(&"w"), Some(w)) = (col, fields.get(2), fields.get(3)) {
                    if let Ok(px) = w.parse::<f64>() {
                        if px.is_finite() && px > 0.0 && col < MAX_COLS {
                            grid.col_widths.insert(col, px.min(2000.0));
                        }
                    }
                }
            }
            Some("font") => {
                if let (Some(Ok(n)), Some(v)) = (fields.get(1).map(|n| n.parse()), fields.get(2)) {
                    fonts.insert(n, decode(v));
                }
            }
            Some("valueformat") => {
                if let (Some(Ok(n)), Some(v)) = (fields.get(1).map(|n| n.parse()), fields.get(2)) {
                    formats.insert(n, decode(v));
                }
            }
            _ => {}
        }
    }
    if !saw_cell && !text.contains("version:") {
        return Err(CalcIoError::Invalid(
            "this is not a SocialCalc save (no version line)".into(),
        ));
    }
    for (pos, n) in cell_fonts {
        if let Some(font) = fonts.get(&n) {
            let words: Vec<String> = font.split_whitespace().map(str::to_lowercase).collect();
            let style = &mut grid.cells.entry(pos).or_default().style;
            style.bold = words.iter().any(|w| w == "bold");
            style.italic = words.iter().any(|w| w == "italic");
        }
    }
    for (pos, n) in cell_formats {
        if let Some(code) = formats.get(&n).filter(|c| is_number_format(c)) {
            grid.cells.entry(pos).or_default().style.num_fmt = Some(code.clone());
        }
    }
    Ok(Book { sheets: vec![grid] })
}

/// The sheet part of a control save (the first MIME part after the header part that holds
/// `cell:` lines), or the whole text for a bare sheet save.
fn sheet_part(text: &str) -> &str {
    let marker = format!("--{BOUNDARY}");
    if !text.contains(&marker) {
        return text;
    }
    text.split(marker.as_str())
        .find(|part| {
            part.lines()
                .any(|l| l.starts_with("cell:") || l.starts_with("sheet:"))
        })
        .unwrap_or("")
}

/// Number formats worth keeping: SocialCalc also names text formats and "General" here.
fn is_number_format(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 255
        && !code.eq_ignore_ascii_case("general")
        && !code.starts_with("text-")
}

/// A cell's entry, font index and value-format index from its attribute fields.
fn cell(fields: &[&str]) -> (Entry, Option<u32>, Option<u32>) {
    let mut entry = Entry::Empty;
    let (mut font, mut format) = (None, None);
    let mut i = 0;
    let field = |k: usize| fields.get(k).copied().unwrap_or("");
    while i < fields.len() {
        match fields[i] {
            "v" => {
                entry = number(field(i + 1));
                i += 2;
            }
            "t" => {
                entry = Entry::Text(decode(field(i + 1)));
                i += 2;
            }
            "vt" => {
                entry = typed(field(i + 1), field(i + 2));
                i += 3;
            }
            "vtf" => {
                let formula = decode(field(i + 3));
                entry = Entry::Formula(format!("={}", formula.trim_start_matches('=')));
                i += 4;
            }
            "vtc" => {
                entry = typed(field(i + 1), field(i + 2));
                i += 4;
            }
            "b" => i += 5,
            "f" => {
                font = field(i + 1).parse().ok();
                i += 2;
            }
            "ntvf" => {
                format = field(i + 1).parse().ok();
                i += 2;
            }
            // Every other attribute (layout, colours, formats, spans, comments) has one value.
            _ => i += 2,
        }
    }
    (entry, font, format)
}

fn number(text: &str) -> Entry {
    match decode(text).trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Entry::Number(n),
        _ => Entry::Text(decode(text)),
    }
}

/// A value with its SocialCalc value type: `n…` numbers (`nl` logical), `t…` text.
fn typed(kind: &str, value: &str) -> Entry {
    if kind == "nl" {
        return Entry::Bool(value.trim() != "0");
    }
    if kind.starts_with('n') {
        return number(value);
    }
    Entry::Text(decode(value))
}

/// Writes sheet `sheet` of `book` (clamped to the first) as a spreadsheet-control save, with
/// the values `computed` holds for formulas, as EtherCalc serves it.
pub fn write(book: &Book, computed: &Computed, sheet: usize) -> String {
    let index = if sheet < book.sheets.len() { sheet } else { 0 };
    let empty = Grid::default();
    let grid = book.sheets.get(index).unwrap_or(&empty);
    let mut out = String::new();
    let mut fonts: Vec<&'static str> = Vec::new();
    let mut formats: Vec<String> = Vec::new();
    let (mut rows, mut cols) = (1, 1);
    for (&(row, col), Cell { entry, style }) in &grid.cells {
        let mut line = format!("cell:{}", a1(row, col));
        match entry {
            Entry::Empty => {}
            Entry::Number(n) => {
                let _ = write!(line, ":v:{n}");
            }
            Entry::Bool(b) => {
                let _ = write!(line, ":vt:nl:{}", u8::from(*b));
            }
            Entry::Text(t) => {
                let _ = write!(line, ":t:{}", encode(t));
            }
            Entry::Formula(f) => {
                let (kind, value) = match computed.value(index, row, col) {
                    Value::Number(n) => ("n".to_owned(), n.to_string()),
                    Value::Bool(b) => ("nl".to_owned(), u8::from(b).to_string()),
                    Value::Text(t) => ("t".to_owned(), t),
                    Value::Error(e) => (format!("e{e}"), "0".to_owned()),
                    Value::Empty => ("n".to_owned(), "0".to_owned()),
                };
                let _ = write!(
                    line,
                    ":vtf:{}:{}:{}",
                    encode(&kind),
                    encode(&value),
                    encode(f.trim_start_matches('='))
                );
            }
        }
        let font = match (style.bold, style.italic) {
            (false, false) => None,
            (true, false) => Some("normal bold * *"),
            (false, true) => Some("italic normal * *"),
            (true, true) => Some("italic bold * *"),
        };
        if let Some(font) = font {
            let n = fonts.iter().position(|f| *f == font).unwrap_or_else(|| {
                fonts.push(font);
                fonts.len() - 1
            });
            let _ = write!(line, ":f:{}", n + 1);
        }
        if let Some(code) = &style.num_fmt {
            let n = formats.iter().position(|f| f == code).unwrap_or_else(|| {
                formats.push(code.clone());
                formats.len() - 1
            });
            let _ = write!(line, ":ntvf:{}", n + 1);
        }
        if line.len() > "cell:".len() + a1(row, col).len() {
            out.push_str(&line);
            out.push('\n');
            rows = rows.max(row + 1);
            cols = cols.max(col + 1);
        }
    }
    for (&col, &px) in &grid.col_widths {
        let _ = writeln!(out, "col:{}:w:{}", col_name(col), px.round());
        cols = cols.max(col + 1);
    }
    let _ = writeln!(out, "sheet:c:{cols}:r:{rows}");
    for (i, font) in fonts.iter().enumerate() {
        let _ = writeln!(out, "font:{}:{font}", i + 1);
    }
    for (i, code) in formats.iter().enumerate() {
        let _ = writeln!(out, "valueformat:{}:{}", i + 1, encode(code));
    }
    let part = "Content-type: text/plain; charset=UTF-8\n\n";
    format!(
        "socialcalc:version:1.0\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary={BOUNDARY}\n\
         --{BOUNDARY}\n{part}# SocialCalc Spreadsheet Control Save\nversion:1.0\npart:sheet\n\
         part:edit\npart:audit\n--{BOUNDARY}\n{part}version:1.5\n{out}--{BOUNDARY}\n{part}\
         version:1.0\nrowpane:0:1:1\ncolpane:0:1:1\necell:A1\n--{BOUNDARY}\n{part}--{BOUNDARY}--\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A save as EtherCalc writes it (trimmed from a real room: two fonts, a value format, a
    /// formula, text with a colon, a boolean, a column width and attributes we skip).
    const ETHERCALC: &str = "socialcalc:version:1.0\nMIME-Version: 1.0\n\
        Content-Type: multipart/mixed; boundary=SocialCalcSpreadsheetControlSave\n\
        --SocialCalcSpreadsheetControlSave\nContent-type: text/plain; charset=UTF-8\n\n\
        # SocialCalc Spreadsheet Control Save\nversion:1.0\npart:sheet\npart:edit\npart:audit\n\
        --SocialCalcSpreadsheetControlSave\nContent-type: text/plain; charset=UTF-8\n\n\
        version:1.5\ncell:A1:t:Heure\\c 10h:f:1\ncell:B1:v:12.5:ntvf:1:bg:2\n\
        cell:B2:v:7.25:b:1:1:1:1\ncell:B3:vtf:n:19.75:SUM(B1\\cB2):f:2\ncell:C1:vt:nl:1\n\
        cell:D1:t:=pas une formule\ncell:E1:t:ligne 1\\nligne 2 \\b\ncol:A:w:140\n\
        sheet:c:5:r:3\nborder:1:1px solid rgb(0,0,0)\ncolor:2:rgb(255,0,0)\n\
        font:1:normal bold * *\nfont:2:italic bold 12pt *\nvalueformat:1:#,##0.00\n\
        --SocialCalcSpreadsheetControlSave\nContent-type: text/plain; charset=UTF-8\n\n\
        version:1.0\nrowpane:0:1:14\ncolpane:0:1:16\necell:B3\n\
        --SocialCalcSpreadsheetControlSave\nContent-type: text/plain; charset=UTF-8\n\n\
        set A1 text t Heure\\c 10h\n--SocialCalcSpreadsheetControlSave--\n";

    #[test]
    fn reads_what_ethercalc_serves() {
        assert!(looks_like(ETHERCALC.as_bytes()));
        let book = read(ETHERCALC.as_bytes(), "Sheet1").expect("read");
        let g = &book.sheets[0];
        assert_eq!(g.entry(0, 0), Some(&Entry::Text("Heure: 10h".into())));
        assert_eq!(g.entry(0, 1), Some(&Entry::Number(12.5)));
        assert_eq!(g.entry(2, 1), Some(&Entry::Formula("=SUM(B1:B2)".into())));
        assert_eq!(g.entry(0, 2), Some(&Entry::Bool(true)));
        assert_eq!(g.entry(0, 3), Some(&Entry::Text("=pas une formule".into())));
        assert_eq!(
            g.entry(0, 4),
            Some(&Entry::Text("ligne 1\nligne 2 \\".into()))
        );
        let style = |r, c| g.cells[&(r, c)].style.clone();
        assert!(style(0, 0).bold && !style(0, 0).italic);
        assert!(style(2, 1).bold && style(2, 1).italic);
        assert_eq!(style(0, 1).num_fmt.as_deref(), Some("#,##0.00"));
        assert_eq!(g.col_widths.get(&0), Some(&140.0));
        // Nothing of the edit or audit parts leaks in.
        assert_eq!(g.extent(), (3, 5));
    }

    #[test]
    fn round_trips_through_its_own_writer() {
        let book = read(ETHERCALC.as_bytes(), "Sheet1").expect("read");
        let computed = Computed::new(&book).expect("evaluate");
        let saved = write(&book, &computed, 0);
        assert!(
            saved.contains("cell:B3:vtf:n:19.75:SUM(B1\\cB2):f:"),
            "{saved}"
        );
        assert!(saved.contains("valueformat:1:#,##0.00"), "{saved}");
        assert_eq!(read(saved.as_bytes(), "Sheet1").expect("read again"), book);
    }

    #[test]
    fn refuses_what_is_not_a_save_and_cells_past_the_limits() {
        assert!(!looks_like(b"a,b\n1,2\n"));
        assert!(matches!(read(b"hello", "S"), Err(CalcIoError::Invalid(_))));
        assert!(matches!(
            read(b"version:1.5\ncell:A200000:v:1\n", "S"),
            Err(CalcIoError::TooLarge(_))
        ));
        assert!(matches!(
            read(&[0xff, 0xfe], "S"),
            Err(CalcIoError::Invalid(_))
        ));
    }
}
