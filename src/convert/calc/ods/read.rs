//! The ODS reader: `content.xml` is scanned (cells after repeats, formula nesting and work)
//! before it becomes a tree, then read into a [`Book`] with styles and column widths.

use std::collections::HashMap;

use quick_xml::events::BytesStart;
use roxmltree::{Document, Node, ParsingOptions};

use super::number_format::NumberFormat;
use super::PX_PER_CM;
use crate::convert::calc::budget::Work;
use crate::convert::calc::openformula::{self, from_openformula};
use crate::convert::calc::xmlscan::{self, ElementBudget, MAX_XML_ELEMENTS};
use crate::convert::calc::{
    zipread, Book, CalcIoError, Cell, Entry, Grid, Style, MAX_CELLS, MAX_COLS, MAX_ROWS, MAX_SHEETS,
};

const NS_TABLE: &str = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
const NS_OFFICE: &str = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
pub(super) const NS_STYLE: &str = "urn:oasis:names:tc:opendocument:xmlns:style:1.0";
const NS_TEXT: &str = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
const NS_FO: &str = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0";
pub(super) const NS_NUMBER: &str = "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0";

/// Reads every sheet of an ODS file.
pub fn read(bytes: &[u8]) -> Result<Book, CalcIoError> {
    let entries = zipread::entries(bytes)?;
    let part = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let content = part("content.xml")
        .ok_or_else(|| CalcIoError::Invalid("not an ODS file: no content.xml".into()))?;
    // Both parts are scanned before either becomes a tree: depth, elements, cells, formulas.
    let mut elements = ElementBudget::default();
    let styles_xml = part("styles.xml");
    if let Some(xml) = styles_xml {
        xmlscan::scan("styles.xml", xml, &mut elements, &mut ())?;
    }
    xmlscan::scan(
        "content.xml",
        content,
        &mut elements,
        &mut Prescan::default(),
    )?;
    let mut styles = StyleTable::default();
    if let Some(xml) = styles_xml {
        styles.read(&parse(xml)?);
    }
    let content = parse(content)?;
    styles.read(&content);
    read_tables(&content, &styles)
}

fn parse(xml: &[u8]) -> Result<Document<'_>, CalcIoError> {
    let text = std::str::from_utf8(xml).map_err(invalid)?;
    let options = ParsingOptions {
        allow_dtd: false,
        // The scan counted the elements; there is at most one text node between two tags.
        nodes_limit: u32::try_from(3 * MAX_XML_ELEMENTS + 2).unwrap_or(u32::MAX),
    };
    Document::parse_with_options(text, options).map_err(invalid)
}

/// What `content.xml` would become, counted while streaming it: the cells [`read_tables`] would
/// make (repeats expanded), their formulas' nesting and work, so a small file that expands to
/// millions of cells is refused before any tree or [`Book`] is built.
#[derive(Default)]
struct Prescan {
    sheet: String,
    /// Index of the current row in its table, and how many times it repeats.
    row: u64,
    row_repeat: u64,
    /// Index of the next cell in the current row.
    col: u64,
    cells: u64,
    work: Work,
}

impl xmlscan::Visitor for Prescan {
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), CalcIoError> {
        match e.local_name().into_inner() {
            "table" => {
                self.sheet = xmlscan::attribute(e, "name").unwrap_or_default();
                self.row = 0;
            }
            "table-row" => {
                self.row_repeat = xmlscan::repeat(e, "number-rows-repeated");
                self.col = 0;
            }
            local @ ("table-cell" | "covered-table-cell") => {
                let n = xmlscan::repeat(e, "number-columns-repeated");
                let formula = xmlscan::attribute(e, "formula").filter(|_| local == "table-cell");
                let content =
                    formula.is_some() || !empty || xmlscan::has_attribute(e, "value-type");
                let (row, col) = (self.row, self.col);
                self.col = self.col.saturating_add(n);
                let times = if content {
                    n.saturating_mul(self.row_repeat)
                } else if self.row_repeat == 1 && n == 1 && xmlscan::has_attribute(e, "style-name")
                {
                    1
                } else {
                    0
                };
                if times == 0 {
                    return Ok(());
                }
                if self.col > u64::from(MAX_COLS)
                    || row.saturating_add(self.row_repeat) > u64::from(MAX_ROWS)
                {
                    return Err(too_large());
                }
                self.cells = self.cells.saturating_add(times);
                if self.cells > MAX_CELLS as u64 {
                    return Err(too_large());
                }
                if let Some(formula) = formula {
                    // Checked in the A1 form the calc stores (the translation is iterative):
                    // OpenFormula's `[.A1]` brackets would count as one more level.
                    let formula = from_openformula(&formula);
                    // Within the sheet's bounds (checked above), so these fit.
                    let cell =
                        || format!("{}!{}", self.sheet, openformula::a1(row as u32, col as u32));
                    crate::doc::calc::depth::check(&formula)
                        .map_err(|e| CalcIoError::Invalid(format!("cell {}: {e}", cell())))?;
                    self.work.add(&formula, times)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, local: &str) -> Result<(), CalcIoError> {
        if local == "table-row" {
            self.row = self.row.saturating_add(self.row_repeat);
        }
        Ok(())
    }
}

fn invalid(e: impl std::fmt::Display) -> CalcIoError {
    CalcIoError::Invalid(format!("not a readable ODS file: {e}"))
}

fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

/// Styles as the reader needs them: cell styles (bold, italic, number format), column widths.
#[derive(Default)]
struct StyleTable {
    cells: HashMap<String, Style>,
    numbers: HashMap<String, NumberFormat>,
    columns: HashMap<String, f64>,
}

impl StyleTable {
    fn read(&mut self, doc: &Document<'_>) {
        for node in doc.descendants() {
            let percent = is(&node, NS_NUMBER, "percentage-style");
            if percent || is(&node, NS_NUMBER, "number-style") {
                if let Some(name) = node.attribute((NS_STYLE, "name")) {
                    self.numbers
                        .insert(name.to_owned(), number_style(&node, percent));
                }
            }
        }
        for node in doc.descendants().filter(|n| is(n, NS_STYLE, "style")) {
            let Some(name) = node.attribute((NS_STYLE, "name")) else {
                continue;
            };
            match node.attribute((NS_STYLE, "family")) {
                Some("table-cell") => {
                    let mut style = node
                        .attribute((NS_STYLE, "parent-style-name"))
                        .and_then(|p| self.cells.get(p).cloned())
                        .unwrap_or_default();
                    if let Some(data) = node.attribute((NS_STYLE, "data-style-name")) {
                        style.num_fmt = self.numbers.get(data).map(NumberFormat::code);
                    }
                    for props in node
                        .children()
                        .filter(|n| is(n, NS_STYLE, "text-properties"))
                    {
                        if let Some(w) = props.attribute((NS_FO, "font-weight")) {
                            style.bold = w == "bold" || w.parse::<u32>().is_ok_and(|n| n >= 600);
                        }
                        if let Some(s) = props.attribute((NS_FO, "font-style")) {
                            style.italic = s == "italic" || s == "oblique";
                        }
                    }
                    self.cells.insert(name.to_owned(), style);
                }
                Some("table-column") => {
                    let width = node
                        .children()
                        .filter(|n| is(n, NS_STYLE, "table-column-properties"))
                        .find_map(|n| n.attribute((NS_STYLE, "column-width")))
                        .and_then(length_px);
                    if let Some(px) = width {
                        self.columns.insert(name.to_owned(), px);
                    }
                }
                _ => {}
            }
        }
    }
}

pub(super) fn number_style(node: &Node<'_, '_>, percent: bool) -> NumberFormat {
    let mut f = NumberFormat {
        prefix: String::new(),
        decimals: 0,
        min_int: 0,
        grouping: false,
        percent,
        exponent: None,
        suffix: String::new(),
    };
    let mut seen = false;
    for child in node.children().filter(Node::is_element) {
        let n = |k: &str| {
            child
                .attribute((NS_NUMBER, k))
                .and_then(|v| v.parse::<u32>().ok())
        };
        if is(&child, NS_NUMBER, "number") || is(&child, NS_NUMBER, "scientific-number") {
            f.decimals = n("decimal-places").unwrap_or(0).min(30);
            f.min_int = n("min-integer-digits").unwrap_or(0).min(30);
            f.grouping = child.attribute((NS_NUMBER, "grouping")) == Some("true");
            if is(&child, NS_NUMBER, "scientific-number") {
                f.exponent = Some(n("min-exponent-digits").unwrap_or(2).clamp(1, 5));
            }
            seen = true;
        } else if is(&child, NS_NUMBER, "text") {
            let text: String = child.text().unwrap_or("").replace('%', "");
            if seen {
                f.suffix.push_str(&text);
            } else {
                f.prefix.push_str(&text);
            }
        }
    }
    f
}

/// A length (`2.5cm`, `1in`, `72pt`, `25mm`, `90px`) in CSS pixels.
fn length_px(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let n: f64 = s[..split].parse().ok()?;
    let px = match &s[split..] {
        "cm" => n * PX_PER_CM,
        "mm" => n * PX_PER_CM / 10.0,
        "in" => n * 96.0,
        "pt" => n * 96.0 / 72.0,
        "pc" => n * 16.0,
        "px" => n,
        _ => return None,
    };
    (px.is_finite() && px > 0.0).then_some((px * 100.0).round() / 100.0)
}

/// `table:number-…-repeated` of `node` (at least 1).
fn repeated(node: &Node<'_, '_>, what: &str) -> u64 {
    node.attribute((NS_TABLE, what))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

fn too_large() -> CalcIoError {
    CalcIoError::TooLarge(format!(
        "the file has more than {MAX_ROWS} rows, {MAX_COLS} columns or {MAX_CELLS} cells"
    ))
}

fn read_tables(doc: &Document<'_>, styles: &StyleTable) -> Result<Book, CalcIoError> {
    let mut book = Book::default();
    let mut cells = 0usize;
    for table in doc.descendants().filter(|n| is(n, NS_TABLE, "table")) {
        if book.sheets.len() >= MAX_SHEETS {
            return Err(CalcIoError::TooLarge(format!(
                "too many sheets (at most {MAX_SHEETS})"
            )));
        }
        let mut grid = Grid::named(table.attribute((NS_TABLE, "name")).unwrap_or(""));
        let mut col = 0u64;
        let mut row = 0u64;
        for node in table.descendants().filter(Node::is_element) {
            if is(&node, NS_TABLE, "table-column") {
                let n = repeated(&node, "number-columns-repeated");
                let width = node
                    .attribute((NS_TABLE, "style-name"))
                    .and_then(|s| styles.columns.get(s));
                if let Some(&px) = width {
                    for c in col..(col + n).min(u64::from(MAX_COLS)) {
                        grid.col_widths.insert(c as u32, px);
                    }
                }
                col = col.saturating_add(n);
            } else if is(&node, NS_TABLE, "table-row") {
                let n = repeated(&node, "number-rows-repeated");
                let mut parsed = read_row(&node, styles)?;
                if n > 1 {
                    // Formatting repeated down to the end of the sheet (whole formatted
                    // columns) is not content: only values are expanded.
                    parsed.retain(|(_, cell)| cell.entry != Entry::Empty);
                }
                if !parsed.is_empty() {
                    for r in row..row.saturating_add(n) {
                        if r >= u64::from(MAX_ROWS) {
                            return Err(too_large());
                        }
                        for (c, cell) in &parsed {
                            cells += 1;
                            if cells > MAX_CELLS {
                                return Err(too_large());
                            }
                            grid.cells.insert((r as u32, *c), cell.clone());
                        }
                    }
                }
                row = row.saturating_add(n);
            }
        }
        // Only the columns that hold something or that were explicitly sized matter.
        let (_, used) = grid.extent();
        grid.col_widths.retain(|&c, _| c < used.max(1) || c < 64);
        book.sheets.push(grid);
    }
    if book.sheets.is_empty() {
        return Err(CalcIoError::Invalid(
            "not an ODS spreadsheet: no sheet".into(),
        ));
    }
    Ok(book)
}

/// The cells of one row, by column; a repeated cell is expanded when it holds something.
fn read_row(row: &Node<'_, '_>, styles: &StyleTable) -> Result<Vec<(u32, Cell)>, CalcIoError> {
    let mut out = Vec::new();
    let mut col = 0u64;
    for node in row.children().filter(Node::is_element) {
        let covered = is(&node, NS_TABLE, "covered-table-cell");
        if !covered && !is(&node, NS_TABLE, "table-cell") {
            continue;
        }
        let n = repeated(&node, "number-columns-repeated");
        let style = node
            .attribute((NS_TABLE, "style-name"))
            .and_then(|s| styles.cells.get(s))
            .cloned()
            .unwrap_or_default();
        let entry = if covered {
            Entry::Empty
        } else {
            cell_entry(&node)
        };
        let keep = entry != Entry::Empty || (style != Style::default() && n == 1);
        if keep {
            for c in col..col.saturating_add(n) {
                if c >= u64::from(MAX_COLS) {
                    return Err(too_large());
                }
                out.push((
                    c as u32,
                    Cell {
                        entry: entry.clone(),
                        style: style.clone(),
                    },
                ));
            }
        }
        col = col.saturating_add(n);
    }
    Ok(out)
}

fn cell_entry(node: &Node<'_, '_>) -> Entry {
    if let Some(formula) = node.attribute((NS_TABLE, "formula")) {
        return Entry::Formula(from_openformula(formula));
    }
    let value = |k: &str| node.attribute((NS_OFFICE, k));
    let number = |k: &str| {
        value(k)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite())
    };
    match value("value-type") {
        Some("float" | "percentage" | "currency") => {
            if let Some(n) = number("value") {
                return Entry::Number(n);
            }
        }
        Some("boolean") => {
            if let Some(b) = value("boolean-value") {
                return Entry::Bool(b == "true" || b == "1");
            }
        }
        Some("date") => {
            if let Some(serial) = value("date-value").and_then(date_serial) {
                return Entry::Number(serial);
            }
        }
        Some("time") => {
            if let Some(t) = value("time-value").and_then(duration_days) {
                return Entry::Number(t);
            }
        }
        _ => {}
    }
    let text = cell_text(node);
    if text.is_empty() {
        Entry::Empty
    } else {
        Entry::Text(text)
    }
}

/// The text of a cell: its paragraphs joined by newlines, `text:s`, `text:tab` and
/// `text:line-break` expanded; annotations (comments) left out.
fn cell_text(cell: &Node<'_, '_>) -> String {
    let mut out = String::new();
    let mut first = true;
    for p in cell
        .children()
        .filter(|n| is(n, NS_TEXT, "p") || is(n, NS_TEXT, "h"))
    {
        if !first {
            out.push('\n');
        }
        first = false;
        inline_text(&p, &mut out);
    }
    out
}

/// The text of a paragraph and of the spans in it, depth first. Iterative: spans nest as deep
/// as the file says (the scan bounds it, but no walk over client data recurses).
fn inline_text(node: &Node<'_, '_>, out: &mut String) {
    let mut stack = vec![node.children()];
    while let Some(children) = stack.last_mut() {
        let Some(child) = children.next() else {
            stack.pop();
            continue;
        };
        if child.is_text() {
            out.push_str(child.text().unwrap_or(""));
        } else if is(&child, NS_TEXT, "s") {
            let n = child
                .attribute((NS_TEXT, "c"))
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(1)
                .min(1000);
            out.extend(std::iter::repeat_n(' ', n));
        } else if is(&child, NS_TEXT, "tab") {
            out.push('\t');
        } else if is(&child, NS_TEXT, "line-break") {
            out.push('\n');
        } else if child.is_element() && child.tag_name().namespace() != Some(NS_OFFICE) {
            stack.push(child.children());
        }
    }
}

/// `2024-03-01` or `2024-03-01T12:00:00` as a spreadsheet serial (days since 1899-12-30).
fn date_serial(s: &str) -> Option<f64> {
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), then shifted to 1899-12-30.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let unix_days = era * 146_097 + doe - 719_468;
    let mut serial = (unix_days + 25_569) as f64;
    if let Some(t) = time {
        let mut hms = t.trim_end_matches('Z').splitn(3, ':');
        let h: f64 = hms.next()?.parse().ok()?;
        let min: f64 = hms.next().unwrap_or("0").parse().ok()?;
        let sec: f64 = hms.next().unwrap_or("0").parse().ok()?;
        serial += (h * 3600.0 + min * 60.0 + sec) / 86_400.0;
    }
    Some(serial)
}

/// An ISO 8601 duration `PT12H30M15S` as a fraction of days.
fn duration_days(s: &str) -> Option<f64> {
    let rest = s.strip_prefix("PT").or_else(|| s.strip_prefix("-PT"))?;
    let mut total = 0.0;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            'H' | 'M' | 'S' => {
                let n: f64 = number.parse().ok()?;
                total += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            c => number.push(c),
        }
    }
    let days = total / 86_400.0;
    Some(if s.starts_with('-') { -days } else { days })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::calc::ods::write::NAMESPACES;

    #[test]
    fn the_prescan_counts_repeated_cells_and_refuses_deep_or_heavy_formulas() {
        let scan = |rows: &str| {
            let xml = format!(
                "<t:table xmlns:t=\"{NS_TABLE}\" xmlns:o=\"{NS_OFFICE}\" t:name=\"S\">{rows}</t:table>"
            );
            xmlscan::scan(
                "content.xml",
                xml.as_bytes(),
                &mut ElementBudget::default(),
                &mut Prescan::default(),
            )
        };
        // Formatting repeated to the end of the sheet, as LibreOffice writes it, is not content.
        scan("<t:table-row t:number-rows-repeated=\"1048576\"><t:table-cell t:style-name=\"ce1\" t:number-columns-repeated=\"1024\"/></t:table-row>").unwrap();
        let cells = |rows: u64, cols: u64| {
            scan(&format!("<t:table-row t:number-rows-repeated=\"{rows}\"><t:table-cell t:number-columns-repeated=\"{cols}\" o:value-type=\"float\" o:value=\"1\"/></t:table-row>"))
        };
        cells(1_000, 100).unwrap();
        assert!(matches!(cells(1_000, 101), Err(CalcIoError::TooLarge(_))));
        let deep = format!("of:={}1{}", "(".repeat(5_000), ")".repeat(5_000));
        let err = scan(&format!(
            "<t:table-row/><t:table-row><t:table-cell/><t:table-cell t:formula=\"{deep}\"/></t:table-row>"
        ))
        .unwrap_err();
        assert!(matches!(err, CalcIoError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("cell S!B2"), "{err}");
        let heavy = |rows: u64| {
            scan(&format!("<t:table-row t:number-rows-repeated=\"{rows}\"><t:table-cell t:formula=\"of:=SUM([.B1:.B60000])\"/></t:table-row>"))
        };
        heavy(50).unwrap();
        assert!(matches!(heavy(100), Err(CalcIoError::TooLarge(_))));
    }

    proptest::proptest! {
        #[test]
        fn nested_spans_read_or_are_refused_never_overflow(depth in 0usize..300) {
            let content = format!(
                "<office:document-content {NAMESPACES}><office:body><office:spreadsheet>\
                 <table:table table:name=\"S\"><table:table-row><table:table-cell>\
                 <text:p>{}x<text:s/>y{}</text:p></table:table-cell></table:table-row>\
                 </table:table></office:spreadsheet></office:body></office:document-content>",
                "<text:span>".repeat(depth),
                "</text:span>".repeat(depth)
            );
            let package = zipread::repack(&[("content.xml".into(), content.into_bytes())]).unwrap();
            let result = read(&package);
            // Seven levels hold the paragraph: document, body, spreadsheet, table, row, cell, p.
            if depth + 7 > xmlscan::MAX_XML_DEPTH {
                proptest::prop_assert!(matches!(result, Err(CalcIoError::Invalid(_))));
            } else {
                let book = result.unwrap();
                proptest::prop_assert_eq!(book.sheets[0].entry(0, 0), Some(&Entry::Text("x y".into())));
            }
        }
    }

    #[test]
    fn dates_and_lengths() {
        assert_eq!(date_serial("1899-12-30"), Some(0.0));
        assert_eq!(date_serial("2024-03-01"), Some(45352.0));
        assert_eq!(date_serial("2024-03-01T12:00:00"), Some(45352.5));
        assert_eq!(duration_days("PT12H00M00S"), Some(0.5));
        assert_eq!(length_px("2.54cm"), Some(96.0));
        assert_eq!(length_px("72pt"), Some(96.0));
        assert_eq!(length_px("wide"), None);
    }
}
