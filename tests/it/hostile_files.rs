//! Hostile calc files against the real server (issue 16, items 3 and 5): XML nested deep enough
//! to overflow a recursive reader, small files that expand to millions of cells, and formulas
//! whose evaluation would outlive the export timeout. Each must be refused with a clear answer
//! while the server stays up, serves other documents and keeps its memory.

use std::io::{Cursor, Read, Write};

use ardoise::convert::calc::{self as calc_io, bridge, Book, CalcFormat, Entry, Grid};
use ardoise::sync::protocol;
use yrs::{ReadTxn, StateVector, Transact};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::client::Client;
use crate::server::TestServer;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const ODS: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// Peak resident memory a server may reach in these tests (it starts near 20 MiB; 60 to 71 MiB
/// measured after the hostile files below, which took 1.2 to 4 GiB before the import and export
/// budgets).
const PEAK_RSS_KIB: u64 = 160 * 1024;

fn small_book() -> Book {
    let mut grid = Grid::named("Sheet1");
    grid.set(0, 0, Entry::Text("hello".into()));
    grid.set(0, 1, Entry::Number(2.0));
    Book { sheets: vec![grid] }
}

/// `bytes` (a ZIP package) with its part `part` replaced by what `change` makes of its text (an
/// absent part is added, made from ""), deflated: as the hostile files were, small on the wire.
fn rewrite(bytes: &[u8], part: &str, change: impl Fn(&str) -> String) -> Vec<u8> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).expect("a package");
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut seen = false;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let name = entry.name().expect("entry name").into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("inflates");
        if name == part {
            data = change(std::str::from_utf8(&data).expect("XML")).into_bytes();
            seen = true;
        }
        zip.start_file(name.as_str(), deflated).expect("entry");
        zip.write_all(&data).expect("write");
    }
    if !seen {
        zip.start_file(part, deflated).expect("entry");
        zip.write_all(change("").as_bytes()).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

/// An ODS file whose first cell holds `levels` nested `<text:span>`.
fn ods_with_nested_spans(levels: usize) -> Vec<u8> {
    let ods = calc_io::export(&small_book(), CalcFormat::Ods, 0).expect("ods");
    let nested = format!(
        "<text:p>{}deep{}</text:p>",
        "<text:span>".repeat(levels),
        "</text:span>".repeat(levels)
    );
    rewrite(&ods, "content.xml", |xml: &str| {
        xml.replacen("<text:p>hello</text:p>", &nested, 1)
    })
}

/// An ODS file of one row holding `cols` numbers, repeated `rows` times: a few hundred bytes
/// that say `rows × cols` cells.
fn ods_with_repeated_cells(rows: u64, cols: u64) -> Vec<u8> {
    let ods = calc_io::export(&small_book(), CalcFormat::Ods, 0).expect("ods");
    rewrite(&ods, "content.xml", |xml: &str| {
        let start = xml.find("<table:table-row>").expect("a row");
        let end = xml.rfind("</table:table>").expect("a table end");
        format!(
            "{}<table:table-row table:number-rows-repeated=\"{rows}\">\
                 <table:table-cell table:number-columns-repeated=\"{cols}\" \
                 office:value-type=\"float\" office:value=\"1\"><text:p>1</text:p>\
                 </table:table-cell></table:table-row>{}",
            &xml[..start],
            &xml[end..]
        )
    })
}

/// An XLSX file whose first cell is an inline string of `levels` nested `<r>` (inline), or
/// whose shared strings hold them (shared).
fn xlsx_with_nested_runs(levels: usize, shared: bool) -> Vec<u8> {
    let xlsx = calc_io::export(&small_book(), CalcFormat::Xlsx, 0).expect("xlsx");
    let runs = format!(
        "{}<t>deep</t>{}",
        "<r>".repeat(levels),
        "</r>".repeat(levels)
    );
    if shared {
        let strings = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sst \
             xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"1\" \
             uniqueCount=\"1\"><si>{runs}</si></sst>"
        );
        rewrite(&xlsx, "xl/sharedStrings.xml", |_: &str| strings.clone())
    } else {
        let cell = format!("<c r=\"C1\" t=\"inlineStr\"><is>{runs}</is></c></row>");
        rewrite(&xlsx, "xl/worksheets/sheet1.xml", |xml: &str| {
            xml.replacen("</row>", &cell, 1)
        })
    }
}

/// A `multipart/form-data` body with the anonymous import form's fields.
/// `POST /import` of `content` as the form's file `file_name` (and the name `imported`), asking
/// for a JSON answer.
async fn import_form(server: &TestServer, file_name: &str, content: &[u8]) -> (u16, String) {
    let boundary = "ardoiseHostileBoundary5Xq2";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nimported\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let r = server
        .request_bytes(
            "POST",
            "/import",
            &[
                ("Content-Type", content_type.as_str()),
                ("Accept", "application/json"),
            ],
            &body,
        )
        .await;
    (r.status, r.body)
}

async fn put(server: &TestServer, name: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let r = server
        .request_bytes(
            "PUT",
            &format!("/_/{name}"),
            &[("Content-Type", content_type)],
            body,
        )
        .await;
    (r.status, r.body)
}

/// The server is up, and another document opens, syncs and imports.
async fn still_serves(server: &mut TestServer) {
    assert!(server.is_alive(), "the server is still running");
    let mut writer = Client::connect(server, "other-pad").await;
    writer.insert(0, "still here").await;
    writer.barrier().await;
    let reader = Client::connect(server, "other-pad").await;
    assert_eq!(reader.text(), "still here");
    let (status, body) = put(server, "other-calc", "text/csv", b"a,1\n").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.get("/_/other-calc/csv").await.1, "a,1\r\n");
}

#[tokio::test]
async fn an_ods_of_deeply_nested_spans_is_refused_by_the_api_and_the_import_form() {
    let mut server = TestServer::start().await;
    let ods = ods_with_nested_spans(20_000);
    assert!(ods.len() < 100_000, "small on the wire: {}", ods.len());

    let (status, body) = put(&server, "nested", ODS, &ods).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("levels deep"), "{body}");

    let (status, body) = import_form(&server, "nested.ods", &ods).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("levels deep"), "{body}");
    // Nothing was created from the refused files.
    assert_eq!(server.get("/_/nested/csv").await.0, 404);
    assert_eq!(server.get("/_/imported/csv").await.0, 404);

    // Spans nested as deep as real files nest them still read.
    let (status, body) = put(&server, "shallow", ODS, &ods_with_nested_spans(20)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.get("/_/shallow/csv").await.1, "deep,2\r\n");
    still_serves(&mut server).await;
}

#[tokio::test]
async fn an_xlsx_of_deeply_nested_runs_is_refused_inline_or_shared() {
    let mut server = TestServer::start().await;
    for shared in [false, true] {
        let xlsx = xlsx_with_nested_runs(100_000, shared);
        let (status, body) = put(&server, "runs", XLSX, &xlsx).await;
        assert_eq!(status, 400, "shared strings: {shared}: {body}");
        assert!(body.contains("levels deep"), "{body}");
        assert!(server.is_alive());
    }
    still_serves(&mut server).await;
}

#[tokio::test]
async fn small_files_saying_too_many_cells_are_refused_before_they_take_memory() {
    let mut server = TestServer::start().await;
    let ods = ods_with_repeated_cells(1_000, 1_000);
    assert!(ods.len() < 10_000, "tiny on the wire: {}", ods.len());
    let (status, body) = put(&server, "million", ODS, &ods).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("cells"), "{body}");
    let (status, body) = import_form(&server, "million.ods", &ods).await;
    assert_eq!(status, 413, "{body}");
    // An XLSX has no repeats, but deflate makes 200,000 cells small too: they are counted
    // before IronCalc builds its model.
    let xlsx = calc_io::export(&small_book(), CalcFormat::Xlsx, 0).expect("xlsx");
    let xlsx = rewrite(&xlsx, "xl/worksheets/sheet1.xml", |xml: &str| {
        let rows: String = (1..=2_000)
            .map(|r| {
                let cells: String = (0..100)
                    .map(|c| format!("<c r=\"{}{r}\"><v>1</v></c>", column(c)))
                    .collect();
                format!("<row r=\"{r}\">{cells}</row>")
            })
            .collect();
        let start = xml.find("<sheetData>").expect("sheet data") + "<sheetData>".len();
        let end = xml.find("</sheetData>").expect("sheet data end");
        format!("{}{rows}{}", &xml[..start], &xml[end..])
    });
    let (status, body) = put(&server, "many", XLSX, &xlsx).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("cells"), "{body}");
    // One cell of 60 MiB of text, 62 KB deflated.
    let ods = calc_io::export(&small_book(), CalcFormat::Ods, 0).expect("ods");
    let big = format!("<text:p>{}</text:p>", "x".repeat(60 << 20));
    let ods = rewrite(&ods, "content.xml", |xml: &str| {
        xml.replacen("<text:p>hello</text:p>", &big, 1)
    });
    drop(big);
    let (status, body) = put(&server, "long", ODS, &ods).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("expands to more than"), "{body}");
    let peak = server.peak_rss_kib();
    assert!(peak < PEAK_RSS_KIB, "peak RSS {peak} KiB");
    still_serves(&mut server).await;
}

/// The letters of 0-based column `c` (up to ZZ).
fn column(c: usize) -> String {
    let letter = |n: usize| char::from(b'A' + n as u8);
    if c < 26 {
        letter(c).to_string()
    } else {
        format!("{}{}", letter(c / 26 - 1), letter(c % 26))
    }
}

#[tokio::test]
async fn a_calc_asking_too_much_formula_work_is_refused_at_import_and_at_export() {
    let mut server = TestServer::start().await;
    // 1,000 SUMs over 99,999 cells each: 10^8 cells read, minutes of evaluation.
    let ods = ods_with_formulas(1_000, "of:=SUM([.B1:.B99999])");
    let (status, body) = put(&server, "heavy", ODS, &ods).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("formulas read more than"), "{body}");

    // The same kind of calc written by an editor (100 SUMs over 60,000 rows, 6 million cells
    // read): its exports are refused at once, six at a time, instead of computing past their
    // timeout.
    let (status, body) = put(&server, "heavy", "text/csv", b"1\n").await;
    assert_eq!(status, 201, "{body}");
    let mut grid = Grid::named("Sheet1");
    grid.set(59_999, 1, Entry::Number(1.0));
    for r in 0..100 {
        grid.set(r, 0, Entry::Formula("=SUM(B1:B60000)".into()));
    }
    let heavy = Book { sheets: vec![grid] };
    let mut editor = Client::connect(&server, "heavy").await;
    let snapshot = editor
        .doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let update = bridge::replace(Some(&snapshot), &heavy).expect("an update");
    editor.send(protocol::sync_update(&update)).await;
    editor.barrier().await;
    let exports = (0..6).map(|_| server.get("/c/heavy/export/xlsx"));
    for (status, body) in futures_util::future::join_all(exports).await {
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("formulas read more than"), "{body}");
    }
    let (status, body) = server.get("/_/heavy/csv").await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("formulas read more than"), "{body}");
    let peak = server.peak_rss_kib();
    assert!(peak < PEAK_RSS_KIB, "peak RSS {peak} KiB");
    still_serves(&mut server).await;
}

/// An ODS file whose first column holds `n` copies of `formula` (OpenFormula).
fn ods_with_formulas(n: u64, formula: &str) -> Vec<u8> {
    let ods = calc_io::export(&small_book(), CalcFormat::Ods, 0).expect("ods");
    rewrite(&ods, "content.xml", |xml: &str| {
        let start = xml.find("<table:table-row>").expect("a row");
        let end = xml.rfind("</table:table>").expect("a table end");
        format!(
            "{}<table:table-row table:number-rows-repeated=\"{n}\">\
                 <table:table-cell table:formula=\"{formula}\" office:value-type=\"float\" \
                 office:value=\"0\"/></table:table-row>{}",
            &xml[..start],
            &xml[end..]
        )
    })
}
