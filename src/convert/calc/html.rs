//! A calc as one standalone HTML page: a table per sheet with the values as displayed (number
//! formats applied), bold and italic, column widths. No script, every value escaped.

use std::fmt::Write as _;

use super::engine::{sheet_names, Computed};
use super::openformula::col_name;
use super::Book;
use crate::convert::escape::html_into;

/// The page.
pub fn write(book: &Book, computed: &Computed) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>calc</title>\
         <style>table{border-collapse:collapse;margin-bottom:2em}\
         td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top;white-space:pre-wrap}\
         th{background:#f3f3f3;font-weight:normal}td.n{text-align:right}</style></head><body>\n",
    );
    for (si, (sheet, name)) in book.sheets.iter().zip(sheet_names(book)).enumerate() {
        let (rows, cols) = sheet.extent();
        out.push_str("<h2>");
        html_into(&mut out, &name);
        out.push_str("</h2>\n<table>\n<colgroup><col>");
        for c in 0..cols {
            match sheet.col_widths.get(&c) {
                Some(w) => {
                    let _ = write!(out, "<col style=\"width:{}px\">", w.round());
                }
                None => out.push_str("<col>"),
            }
        }
        out.push_str("</colgroup>\n<tr><th></th>");
        for c in 0..cols {
            let _ = write!(out, "<th>{}</th>", col_name(c));
        }
        out.push_str("</tr>\n");
        for r in 0..rows {
            let _ = write!(out, "<tr><th>{}</th>", r + 1);
            for c in 0..cols {
                let cell = sheet.cells.get(&(r, c));
                let text = computed.formatted(si, r, c);
                let numeric = matches!(computed.value(si, r, c), super::engine::Value::Number(_));
                let mut style = String::new();
                if cell.is_some_and(|c| c.style.bold) {
                    style.push_str("font-weight:bold;");
                }
                if cell.is_some_and(|c| c.style.italic) {
                    style.push_str("font-style:italic;");
                }
                out.push_str("<td");
                if numeric {
                    out.push_str(" class=\"n\"");
                }
                if !style.is_empty() {
                    let _ = write!(out, " style=\"{style}\"");
                }
                out.push('>');
                html_into(&mut out, &text);
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
