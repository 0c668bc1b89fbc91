//! Real readers: LibreOffice opens the calc's ODS and XLSX exports and converts them to CSV with
//! the values ardoise computed, so files leave with formulas that another program evaluates the
//! same way.
//!
//! Needs `soffice` with Calc (Debian: `libreoffice-calc-nogui`); the test fails without it.

use ardoise::convert::calc::{self as calc_io, Book, CalcFormat, Entry, Grid};

use crate::export_readers::convert;

/// Formulas (one across sheets, one on text), unicode, empty cells and an empty row.
fn workbook() -> Book {
    let t = |s: &str| Entry::Text(s.into());
    let f = |s: &str| Entry::Formula(s.into());
    let mut first = Grid::named("Feuille un");
    first.set(0, 0, t("Libellé"));
    first.set(0, 1, t("Valeur"));
    first.set(1, 0, t("漢字 ✓"));
    first.set(1, 1, Entry::Number(1.5));
    first.set(2, 0, t("a, \"b\""));
    first.set(2, 1, Entry::Number(-4.0));
    first.set(4, 0, t("Somme"));
    first.set(4, 1, f("=SUM(B2:B4)"));
    first.set(5, 1, f("=ROUND(B5/3,2)"));
    first.set(5, 2, f("=IF(B5<0,\"négatif\",\"positif\")"));
    first.set(6, 1, f("=B6+'Autre feuille'!A1*2"));
    first.set(6, 2, f("=LEN(A2)&\" car.\""));
    let mut second = Grid::named("Autre feuille");
    second.set(0, 0, Entry::Number(10.0));
    Book {
        sheets: vec![first, second],
    }
}

/// CSV records with trailing empty fields and rows dropped, numbers normalised.
fn records(csv: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes());
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            let mut row: Vec<String> = r
                .expect("valid CSV")
                .iter()
                .map(|f| match f.parse::<f64>() {
                    Ok(n) => calc_io::csv::number_text(n),
                    Err(_) => f.to_owned(),
                })
                .collect();
            while row.last().is_some_and(String::is_empty) {
                row.pop();
            }
            row
        })
        .collect();
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    rows
}

#[tokio::test]
async fn libreoffice_computes_the_same_values_from_ods_and_xlsx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("profile");
    let book = workbook();
    let ours =
        String::from_utf8(calc_io::export(&book, CalcFormat::Csv, 0).expect("csv")).expect("UTF-8");
    let want = records(&ours);
    assert_eq!(want[4], ["Somme", "-2.5"]);
    assert_eq!(want[5], ["", "-0.83", "négatif"]);
    assert_eq!(want[6], ["", "19.17", "4 car."]);
    for format in [CalcFormat::Ods, CalcFormat::Xlsx] {
        let bytes = calc_io::export(&book, format, 0).expect("exports");
        let file = dir.path().join(format!("calc.{}", format.extension()));
        std::fs::write(&file, bytes).expect("writes the export");
        // Comma-separated, double quotes, UTF-8 (76), first line 1, then "formatted as shown"
        // off, so numbers come out in full.
        let out = convert(
            &file,
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false",
            "csv",
            &profile,
        )
        .await;
        let text = std::fs::read_to_string(&out).expect("converted CSV is UTF-8");
        assert_eq!(records(&text), want, "{format}: LibreOffice's CSV:\n{text}");
        std::fs::remove_file(&out).expect("removes the CSV");
    }
}
