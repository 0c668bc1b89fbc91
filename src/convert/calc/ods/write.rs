//! The ODS writer: the package (mimetype, manifest, styles) and `content.xml` with every sheet,
//! its formulas in OpenFormula, the computed values and the automatic styles cells use.

use std::collections::HashMap;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::number_format::NumberFormat;
use super::PX_PER_CM;
use crate::convert::calc::engine::{sheet_names, Computed, Value};
use crate::convert::calc::openformula::to_openformula;
use crate::convert::calc::{Book, CalcIoError, Cell, Entry, Style};
use crate::convert::escape::html_into as escape_into;

const MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";

pub(super) const NAMESPACES: &str =
    "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
    xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" \
    xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" \
    xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
    xmlns:fo=\"urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0\" \
    xmlns:number=\"urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0\" \
    xmlns:of=\"urn:oasis:names:tc:opendocument:xmlns:of:1.2\" office:version=\"1.3\"";

/// The workbook as an ODS file.
pub fn write(book: &Book, computed: &Computed) -> Result<Vec<u8>, CalcIoError> {
    let content = content_xml(book, computed);
    let fail = |e: &dyn std::fmt::Display| CalcIoError::Engine(format!("writing ods: {e}"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644);
    let deflated = stored.compression_method(CompressionMethod::Deflated);
    let parts: [(&str, &[u8], SimpleFileOptions); 4] = [
        ("mimetype", MIMETYPE.as_bytes(), stored),
        ("META-INF/manifest.xml", MANIFEST.as_bytes(), deflated),
        ("styles.xml", STYLES.as_bytes(), deflated),
        ("content.xml", content.as_bytes(), deflated),
    ];
    for (name, data, options) in parts {
        zip.start_file(name, options).map_err(|e| fail(&e))?;
        zip.write_all(data).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

const MANIFEST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.3\">\
<manifest:file-entry manifest:full-path=\"/\" manifest:version=\"1.3\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
<manifest:file-entry manifest:full-path=\"styles.xml\" manifest:media-type=\"text/xml\"/>\
</manifest:manifest>\n";

const STYLES: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document-styles ",
    "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" ",
    "xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" office:version=\"1.3\">",
    "<office:styles><style:style style:name=\"Default\" style:family=\"table-cell\"/></office:styles>",
    "</office:document-styles>\n"
);

/// Automatic styles shared by the cells and columns of the document.
#[derive(Default)]
struct Styles {
    cells: HashMap<(bool, bool, Option<String>), String>,
    numbers: HashMap<String, (String, NumberFormat)>,
    columns: HashMap<u64, String>,
    xml: String,
}

impl Styles {
    /// The name of the cell style for `style`, if it is not the default.
    fn cell(&mut self, style: &Style) -> Option<String> {
        let number = style.num_fmt.as_deref().and_then(|code| self.number(code));
        if !style.bold && !style.italic && number.is_none() {
            return None;
        }
        let key = (style.bold, style.italic, number.clone());
        if let Some(name) = self.cells.get(&key) {
            return Some(name.clone());
        }
        let name = format!("ce{}", self.cells.len() + 1);
        self.xml.push_str(&format!(
            "<style:style style:name=\"{name}\" style:family=\"table-cell\" \
             style:parent-style-name=\"Default\""
        ));
        if let Some(n) = &number {
            self.xml
                .push_str(&format!(" style:data-style-name=\"{n}\""));
        }
        self.xml.push('>');
        if style.bold || style.italic {
            self.xml.push_str("<style:text-properties");
            if style.bold {
                self.xml.push_str(" fo:font-weight=\"bold\"");
            }
            if style.italic {
                self.xml.push_str(" fo:font-style=\"italic\"");
            }
            self.xml.push_str("/>");
        }
        self.xml.push_str("</style:style>");
        self.cells.insert(key, name.clone());
        Some(name)
    }

    fn number(&mut self, code: &str) -> Option<String> {
        if let Some((name, _)) = self.numbers.get(code) {
            return Some(name.clone());
        }
        let format = NumberFormat::parse(code)?;
        let name = format!("N{}", self.numbers.len() + 1);
        format.style_xml(&name, &mut self.xml);
        self.numbers.insert(code.to_owned(), (name.clone(), format));
        Some(name)
    }

    fn is_percent(&self, code: Option<&str>) -> bool {
        code.and_then(|c| self.numbers.get(c))
            .is_some_and(|(_, f)| f.percent)
    }

    fn column(&mut self, px: f64) -> String {
        let cm = (px / PX_PER_CM * 1000.0).round() / 1000.0;
        let key = cm.to_bits();
        if let Some(name) = self.columns.get(&key) {
            return name.clone();
        }
        let name = format!("co{}", self.columns.len() + 1);
        self.xml.push_str(&format!(
            "<style:style style:name=\"{name}\" style:family=\"table-column\">\
             <style:table-column-properties style:column-width=\"{cm}cm\"/></style:style>"
        ));
        self.columns.insert(key, name.clone());
        name
    }
}

fn content_xml(book: &Book, computed: &Computed) -> String {
    let mut styles = Styles::default();
    let mut body = String::new();
    let names = sheet_names(book);
    for (si, (sheet, name)) in book.sheets.iter().zip(&names).enumerate() {
        body.push_str("<table:table table:name=\"");
        escape_into(&mut body, name);
        body.push_str("\">");
        let (rows, cols) = sheet.cells.keys().fold((0, 0), |(r, c), &(row, col)| {
            (r.max(row + 1), c.max(col + 1))
        });
        let cols = cols.max(sheet.col_widths.keys().next_back().map_or(0, |c| c + 1));
        for c in 0..cols.max(1) {
            match sheet.col_widths.get(&c) {
                Some(&px) => {
                    let style = styles.column(px);
                    body.push_str(&format!(
                        "<table:table-column table:style-name=\"{style}\"/>"
                    ));
                }
                None => body.push_str("<table:table-column/>"),
            }
        }
        let mut r = 0;
        while r < rows.max(1) {
            let row_cells: Vec<(u32, &Cell)> = sheet
                .cells
                .range((r, 0)..(r, u32::MAX))
                .map(|(&(_, c), cell)| (c, cell))
                .collect();
            if row_cells.is_empty() {
                let next = sheet
                    .cells
                    .range((r, 0)..)
                    .next()
                    .map_or(rows.max(1), |(&(row, _), _)| row);
                let n = next - r;
                if n > 1 {
                    body.push_str(&format!(
                        "<table:table-row table:number-rows-repeated=\"{n}\"><table:table-cell/></table:table-row>"
                    ));
                } else {
                    body.push_str("<table:table-row><table:table-cell/></table:table-row>");
                }
                r = next;
                continue;
            }
            body.push_str("<table:table-row>");
            let mut c = 0;
            for (col, cell) in row_cells {
                if col > c {
                    empty_cells(&mut body, col - c);
                }
                write_cell(&mut body, &mut styles, computed, si, r, col, cell);
                c = col + 1;
            }
            body.push_str("</table:table-row>");
            r += 1;
        }
        body.push_str("</table:table>");
    }
    if book.sheets.is_empty() {
        body.push_str(
            "<table:table table:name=\"Sheet1\"><table:table-column/>\
             <table:table-row><table:table-cell/></table:table-row></table:table>",
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document-content {NAMESPACES}>\
         <office:automatic-styles>{}</office:automatic-styles>\
         <office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>\
         </office:document-content>\n",
        styles.xml
    )
}

fn empty_cells(out: &mut String, n: u32) {
    if n == 1 {
        out.push_str("<table:table-cell/>");
    } else {
        out.push_str(&format!(
            "<table:table-cell table:number-columns-repeated=\"{n}\"/>"
        ));
    }
}

fn write_cell(
    out: &mut String,
    styles: &mut Styles,
    computed: &Computed,
    sheet: usize,
    row: u32,
    col: u32,
    cell: &Cell,
) {
    out.push_str("<table:table-cell");
    if let Some(style) = styles.cell(&cell.style) {
        out.push_str(&format!(" table:style-name=\"{style}\""));
    }
    let percent = styles.is_percent(cell.style.num_fmt.as_deref());
    let value = match &cell.entry {
        Entry::Empty => {
            out.push_str("/>");
            return;
        }
        Entry::Number(n) => Value::Number(*n),
        Entry::Bool(b) => Value::Bool(*b),
        Entry::Text(t) => Value::Text(t.clone()),
        Entry::Formula(f) => {
            out.push_str(" table:formula=\"");
            escape_into(out, &to_openformula(f));
            out.push('"');
            computed.value(sheet, row, col)
        }
    };
    let shown = match &value {
        Value::Number(_) | Value::Bool(_) => computed.formatted(sheet, row, col),
        Value::Text(t) | Value::Error(t) => t.clone(),
        Value::Empty => String::new(),
    };
    match &value {
        Value::Number(n) => {
            let kind = if percent { "percentage" } else { "float" };
            out.push_str(&format!(
                " office:value-type=\"{kind}\" office:value=\"{n}\""
            ));
        }
        Value::Bool(b) => out.push_str(&format!(
            " office:value-type=\"boolean\" office:boolean-value=\"{b}\""
        )),
        Value::Text(_) | Value::Error(_) | Value::Empty => {
            out.push_str(" office:value-type=\"string\"")
        }
    }
    out.push('>');
    for line in shown.split('\n') {
        out.push_str("<text:p>");
        text_runs(out, line);
        out.push_str("</text:p>");
    }
    out.push_str("</table:table-cell>");
}

/// Writes `line` as ODF paragraph content: runs of spaces and tabs become `text:s` and
/// `text:tab`, which ODF readers would otherwise collapse.
fn text_runs(out: &mut String, line: &str) {
    let mut spaces = 0usize;
    let mut at_start = true;
    let flush = |out: &mut String, spaces: &mut usize, at_start: bool| {
        match (*spaces, at_start) {
            (0, _) => {}
            (1, false) => out.push(' '),
            (n, false) => out.push_str(&format!(" <text:s text:c=\"{}\"/>", n - 1)),
            (n, true) => out.push_str(&format!("<text:s text:c=\"{n}\"/>")),
        }
        *spaces = 0;
    };
    for c in line.chars() {
        match c {
            ' ' => spaces += 1,
            '\t' => {
                flush(out, &mut spaces, at_start);
                out.push_str("<text:tab/>");
                at_start = false;
            }
            c => {
                flush(out, &mut spaces, at_start);
                at_start = false;
                let mut buf = [0u8; 4];
                escape_into(out, c.encode_utf8(&mut buf));
            }
        }
    }
    if spaces > 0 {
        out.push_str(&format!("<text:s text:c=\"{spaces}\"/>"));
    }
}
