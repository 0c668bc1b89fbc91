//! Calc files and the EtherCalc-compatible API against the real server: exports, imports that
//! round-trip through XLSX and ODS with their formulas, the API's shapes and errors, and rows
//! appended over HTTP arriving at a connected client.

use ardoise::convert::calc::{self as calc_io, bridge, Book, CalcFormat, Entry, Grid};
use serde_json::Value;
use yrs::{ReadTxn, StateVector, Transact};

use crate::client::Client;
use crate::server::TestServer;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const ODS: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// Two sheets with formulas (one across sheets), unicode, an empty row and text that looks like
/// a formula.
fn workbook() -> Book {
    let t = |s: &str| Entry::Text(s.into());
    let f = |s: &str| Entry::Formula(s.into());
    let mut first = Grid::named("Budget");
    first.set(0, 0, t("Poste"));
    first.set(0, 1, t("Montant €"));
    first.set(1, 0, t("Café ☕"));
    first.set(1, 1, Entry::Number(12.5));
    first.set(2, 0, t("Thé, \"vert\""));
    first.set(2, 1, Entry::Number(7.25));
    first.set(4, 0, t("Total"));
    first.set(4, 1, f("=SUM(B2:B4)"));
    first.set(5, 1, f("=B5+Annexe!A1"));
    first.set(6, 0, t("=pas une formule"));
    let mut second = Grid::named("Annexe");
    second.set(0, 0, Entry::Number(100.0));
    Book {
        sheets: vec![first, second],
    }
}

const WORKBOOK_CSV: &str = "Poste,Montant €\r\nCafé ☕,12.5\r\n\"Thé, \"\"vert\"\"\",7.25\r\n,\r\n\
                            Total,19.75\r\n,119.75\r\n=pas une formule,\r\n";

/// The workbook a connected client sees.
fn seen(client: &Client) -> Book {
    let snapshot = client
        .doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    bridge::read(&snapshot).expect("the client's document reads as a calc")
}

async fn put(server: &TestServer, name: &str, content_type: &str, body: &[u8]) -> u16 {
    server
        .request_bytes(
            "PUT",
            &format!("/_/{name}"),
            &[("Content-Type", content_type)],
            body,
        )
        .await
        .status
}

#[tokio::test]
async fn files_round_trip_through_xlsx_and_ods_with_formulas() {
    let server = TestServer::start().await;
    let book = workbook();
    let xlsx = calc_io::export(&book, CalcFormat::Xlsx, 0).expect("xlsx");
    assert_eq!(put(&server, "budget", XLSX, &xlsx).await, 201);
    let (status, csv) = server.get("/_/budget/csv").await;
    assert_eq!((status, csv.as_str()), (200, WORKBOOK_CSV));
    let (status, csv) = server.get("/_/budget/csv?sheet=2").await;
    assert_eq!((status, csv.as_str()), (200, "100\r\n"));

    for (format, content_type) in [("xlsx", XLSX), ("ods", ODS)] {
        let download = server
            .request("GET", &format!("/c/budget/export/{format}"), &[], "")
            .await;
        assert_eq!(download.status, 200, "{format}");
        assert_eq!(download.header("content-type"), Some(content_type));
        let copy = format!("copy-{format}");
        assert_eq!(
            put(&server, &copy, content_type, &download.bytes).await,
            201
        );
        let (_, csv) = server.get(&format!("/_/{copy}/csv")).await;
        assert_eq!(csv, WORKBOOK_CSV, "{format}");
        let (_, cell) = server.get(&format!("/_/{copy}/cells/B6")).await;
        let cell: Value = serde_json::from_str(&cell).expect("JSON");
        assert_eq!(cell["formula"], "B5+Annexe!A1", "{format}");
        assert_eq!(cell["datavalue"], 119.75);
        // Replacing an existing calc answers 200.
        assert_eq!(
            put(&server, &copy, content_type, &download.bytes).await,
            200
        );
    }

    let html = server
        .request("GET", "/c/budget/export/html", &[], "")
        .await;
    assert_eq!(html.status, 200);
    assert!(html.body.contains("Café ☕") && html.body.contains("119.75"));
    assert!(html
        .header("content-security-policy")
        .is_some_and(|c| c.starts_with("sandbox")));
    let unknown = server.get("/c/budget/export/pdf").await;
    assert_eq!(unknown.0, 404);
    let short = server.get("/budget.csv").await;
    assert_eq!(short, (200, WORKBOOK_CSV.to_owned()));
}

#[tokio::test]
async fn ethercalc_api_shapes() {
    let server = TestServer::start().await;
    let created = server
        .request(
            "POST",
            "/_",
            &[("Content-Type", "text/csv")],
            "a,b\n1,=A2*2\n",
        )
        .await;
    assert_eq!(created.status, 201);
    let location = created.header("location").expect("Location").to_owned();
    let name = location.strip_prefix("/_/").expect("/_/name");
    let (_, csv) = server.get(&format!("/_/{name}/csv")).await;
    assert_eq!(csv, "a,b\r\n1,=A2*2\r\n", "CSV data is never a formula");
    let (_, rows) = server.get(&format!("/_/{name}/csv.json")).await;
    let rows: Value = serde_json::from_str(&rows).expect("JSON");
    assert_eq!(rows, serde_json::json!([["a", "b"], [1.0, "=A2*2"]]));
    let (_, cells) = server.get(&format!("/_/{name}/cells")).await;
    let cells: Value = serde_json::from_str(&cells).expect("JSON");
    assert_eq!(
        cells["A2"],
        serde_json::json!({"coord": "A2", "datavalue": 1.0, "datatype": "v",
                           "formula": "", "valuetype": "n"})
    );
    assert_eq!(cells["B2"]["datatype"], "t");
    assert_eq!(cells.as_object().map(|o| o.len()), Some(4));

    let json = server
        .request(
            "POST",
            "/_",
            &[("Content-Type", "application/json")],
            r#"{"room": "named-one"}"#,
        )
        .await;
    assert_eq!(
        (json.status, json.header("location")),
        (201, Some("/_/named-one"))
    );
    let (status, csv) = server.get("/_/named-one/csv").await;
    assert_eq!((status, csv.as_str()), (200, ""));

    // Errors.
    let (status, _) = server.get("/_/nobody/csv").await;
    assert_eq!(status, 404);
    let (status, _) = server.get("/_/bad%20name/csv").await;
    assert_eq!(status, 400);
    let wrong = server
        .request("PUT", "/_/x", &[("Content-Type", "image/png")], "x")
        .await;
    assert_eq!(wrong.status, 415);
    server.get("/p/a-pad").await;
    let pad = server
        .request("PUT", "/_/a-pad", &[("Content-Type", "text/csv")], "1\n")
        .await;
    assert_eq!(pad.status, 409);
    let (status, _) = server.get("/a-pad.csv").await;
    assert_eq!(status, 409);
    let broken = server
        .request_bytes(
            "PUT",
            "/_/broken",
            &[("Content-Type", XLSX)],
            b"PK\x03\x04 not really",
        )
        .await;
    assert_eq!(broken.status, 400);
    assert!(
        broken.body.contains("not a valid package"),
        "{}",
        broken.body
    );
    let (status, _) = server.get("/_/broken/csv").await;
    assert_eq!(status, 404, "a refused import creates nothing");
}

#[tokio::test]
async fn import_limit_api_key_and_shedding() {
    // printf %s secret | sha256sum
    let hash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
    let server = TestServer::builder()
        .args(&["--max-import-bytes", "64", "--api-key-sha256", hash])
        .start()
        .await;
    let body = "x\n".repeat(40);
    let refused = server
        .request("PUT", "/_/big", &[("Content-Type", "text/csv")], &body)
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    let auth = [
        ("Content-Type", "text/csv"),
        ("Authorization", "Bearer secret"),
    ];
    let big = server.request("PUT", "/_/big", &auth, &body).await;
    assert_eq!(big.status, 413);
    assert!(big.body.contains("import limit"), "{}", big.body);
    let small = server.request("PUT", "/_/big", &auth, "1,2\n").await;
    assert_eq!(small.status, 201);
    let (status, _) = server.get("/_/big/csv").await;
    assert_eq!(status, 401);
    let wrong = server
        .request("GET", "/_/big/csv", &[("Authorization", "Bearer nope")], "")
        .await;
    assert_eq!(wrong.status, 401);
    let ok = server
        .request(
            "GET",
            "/_/big/csv",
            &[("Authorization", "Bearer secret")],
            "",
        )
        .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "1,2\r\n"));
    // Exports of the pages are not part of the API: they follow the document's link.
    let (status, _) = server.get("/c/big/export/csv").await;
    assert_eq!(status, 200);

    let closed = TestServer::builder()
        .args(&["--shedding-mode", "closed"])
        .start()
        .await;
    let refused = closed
        .request("POST", "/_", &[("Content-Type", "text/csv")], "1\n")
        .await;
    assert_eq!(refused.status, 503);
    assert!(refused.header("retry-after").is_some());
    let refused = closed
        .request("PUT", "/_/new-one", &[("Content-Type", "text/csv")], "1\n")
        .await;
    assert_eq!(refused.status, 503);
}

#[tokio::test]
async fn appended_rows_reach_a_connected_client() {
    let server = TestServer::start().await;
    assert_eq!(
        put(&server, "live", "text/csv", b"name,qty\napple,3\npear,5\n").await,
        201
    );
    let mut client = Client::connect(&server, "live").await;
    assert_eq!(
        seen(&client).sheets[0].entry(2, 0),
        Some(&Entry::Text("pear".into()))
    );

    let appended = server
        .request(
            "POST",
            "/_/live",
            &[("Content-Type", "text/csv")],
            "plum,7\n\"fig, dried\",=1+1\n",
        )
        .await;
    assert_eq!(appended.status, 202);
    let answer: Value = serde_json::from_str(&appended.body).expect("JSON");
    assert_eq!(answer, serde_json::json!({"row": 4, "rows": 2}));
    client
        .until("the appended rows", |c| {
            seen(c).sheets[0].entry(4, 0) == Some(&Entry::Text("fig, dried".into()))
        })
        .await;
    let book = seen(&client);
    assert_eq!(book.sheets[0].entry(3, 1), Some(&Entry::Number(7.0)));
    assert_eq!(
        book.sheets[0].entry(4, 1),
        Some(&Entry::Text("=1+1".into()))
    );

    let inserted = server
        .request(
            "POST",
            "/_/live?row=2",
            &[("Content-Type", "text/csv")],
            "kiwi,1\n",
        )
        .await;
    assert_eq!(inserted.status, 202);
    client
        .until("the inserted row", |c| {
            seen(c).sheets[0].entry(1, 0) == Some(&Entry::Text("kiwi".into()))
        })
        .await;
    let (_, csv) = server.get("/_/live/csv").await;
    assert_eq!(
        csv,
        "name,qty\r\nkiwi,1\r\napple,3\r\npear,5\r\nplum,7\r\n\"fig, dried\",=1+1\r\n"
    );
}

#[tokio::test]
async fn socialcalc_commands_reach_a_connected_client() {
    let server = TestServer::start().await;
    assert_eq!(put(&server, "cmd", "text/csv", b"a,1\nb,2\n").await, 201);
    let mut client = Client::connect(&server, "cmd").await;

    // The JSON form, with several commands, as EtherCalc's API documents it.
    let posted = server
        .request(
            "POST",
            "/_/cmd",
            &[("Content-Type", "application/json")],
            r#"{"command": ["insertrow A1", "set A1 text t Fruit\\cqty", "set B4 formula SUM(B2:B3)"]}"#,
        )
        .await;
    assert_eq!(posted.status, 202, "{}", posted.body);
    client
        .until("the commands' edits", |c| {
            seen(c).sheets[0].entry(0, 0) == Some(&Entry::Text("Fruit:qty".into()))
        })
        .await;
    assert_eq!(
        seen(&client).sheets[0].entry(3, 1),
        Some(&Entry::Formula("=SUM(B2:B3)".into()))
    );

    // The plain-text form; the formula's range took in the row inserted inside it.
    let posted = server
        .request(
            "POST",
            "/_/cmd",
            &[("Content-Type", "text/plain")],
            "insertrow A3\nset A3 text t c\nset B3 value n 4\n",
        )
        .await;
    assert_eq!(posted.status, 202, "{}", posted.body);
    client
        .until("the inserted row", |c| {
            seen(c).sheets[0].entry(2, 0) == Some(&Entry::Text("c".into()))
        })
        .await;
    let (_, csv) = server.get("/_/cmd/csv").await;
    assert_eq!(csv, "Fruit:qty,\r\na,1\r\nc,4\r\nb,2\r\n,7\r\n");

    // A batch with one command it does not support changes nothing and says which.
    let refused = server
        .request(
            "POST",
            "/_/cmd",
            &[("Content-Type", "text/plain")],
            "set A1 value n 99\nset A1 bgcolor red",
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("set A1 bgcolor red"),
        "{}",
        refused.body
    );
    let (_, csv) = server.get("/_/cmd/csv").await;
    assert!(csv.starts_with("Fruit:qty,"), "{csv}");
    let bad_json = server
        .request(
            "POST",
            "/_/cmd",
            &[("Content-Type", "application/json")],
            r#"{"commands": "set A1 value n 1"}"#,
        )
        .await;
    assert_eq!(bad_json.status, 400);
}

/// A room as EtherCalc serves it at `GET /_/{name}` (SocialCalc's save format, trimmed).
const ETHERCALC_SAVE: &str = "socialcalc:version:1.0\nMIME-Version: 1.0\n\
    Content-Type: multipart/mixed; boundary=SocialCalcSpreadsheetControlSave\n\
    --SocialCalcSpreadsheetControlSave\nContent-type: text/plain; charset=UTF-8\n\n\
    # SocialCalc Spreadsheet Control Save\nversion:1.0\npart:sheet\npart:edit\npart:audit\n\
    --SocialCalcSpreadsheetControlSave\nContent-type: text/plain; charset=UTF-8\n\n\
    version:1.5\ncell:A1:t:Élève\\c nom:f:1\ncell:B1:t:Note\ncell:A2:t:Zoé\ncell:B2:v:15.5\n\
    cell:A3:t:Léo\ncell:B3:v:12\ncell:B4:vtf:n:13.75:AVERAGE(B2\\cB3)\nsheet:c:2:r:4\n\
    font:1:normal bold * *\n--SocialCalcSpreadsheetControlSave\n\
    Content-type: text/plain; charset=UTF-8\n\nversion:1.0\necell:A1\n\
    --SocialCalcSpreadsheetControlSave--\n";

#[tokio::test]
async fn socialcalc_saves_move_a_framacalc_room_over_and_back() {
    let server = TestServer::start().await;
    // PUT of EtherCalc's own save creates the calc, formulas kept.
    assert_eq!(
        put(
            &server,
            "classe",
            "text/x-socialcalc",
            ETHERCALC_SAVE.as_bytes()
        )
        .await,
        201
    );
    let (_, csv) = server.get("/_/classe/csv").await;
    assert_eq!(csv, "Élève: nom,Note\r\nZoé,15.5\r\nLéo,12\r\n,13.75\r\n");
    let client = Client::connect(&server, "classe").await;
    let book = seen(&client);
    assert_eq!(
        book.sheets[0].entry(3, 1),
        Some(&Entry::Formula("=AVERAGE(B2:B3)".into()))
    );
    assert!(book.sheets[0].cells[&(0, 0)].style.bold);

    // GET /_/{name} answers in the same format, with the computed value beside the formula.
    let saved = server.request("GET", "/_/classe", &[], "").await;
    assert_eq!(saved.status, 200);
    assert!(saved
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/x-socialcalc")));
    assert!(
        saved.body.contains("cell:B4:vtf:n:13.75:AVERAGE(B2\\cB3)"),
        "{}",
        saved.body
    );

    // EtherCalc's create call with a snapshot, and an octet-stream PUT (sniffed), both read it.
    let created = server
        .request(
            "POST",
            "/_",
            &[("Content-Type", "application/json")],
            &serde_json::json!({"room": "copie", "snapshot": saved.body}).to_string(),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(server.get("/_/copie/csv").await.1, csv);
    assert_eq!(
        put(
            &server,
            "sniffed",
            "application/octet-stream",
            ETHERCALC_SAVE.as_bytes()
        )
        .await,
        201
    );
    assert_eq!(server.get("/_/sniffed/csv").await.1, csv);
    assert_eq!(
        server.request("GET", "/_/nowhere", &[], "").await.status,
        404
    );
}

/// A `multipart/form-data` body with one file field, as the calc page's `fetch` sends it.
fn upload(file_name: &str, content: &str) -> (String, String) {
    let boundary = "ardoiseTestBoundary7MA4YWxk";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn the_calc_page_replaces_from_a_file_and_reads_why_a_file_is_refused() {
    let server = TestServer::builder()
        .args(&["--max-import-bytes", "64"])
        .start()
        .await;
    assert_eq!(put(&server, "menu", "text/csv", b"old,1\n").await, 201);
    let mut live = Client::connect(&server, "menu").await;
    assert_eq!(
        seen(&live).sheets[0].entry(0, 0),
        Some(&Entry::Text("old".into()))
    );

    // The page asks for JSON: a success is `{"replaced": true}`, and the room hands the new
    // content to the clients already connected.
    let (content_type, body) = upload("new.csv", "fresh,2\nrow,3\n");
    let headers = [
        ("Content-Type", content_type.as_str()),
        ("Accept", "application/json"),
    ];
    let r = server
        .request("POST", "/c/menu/import", &headers, &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer: Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(answer, serde_json::json!({"replaced": true}));
    live.until("the replaced content", |c| {
        seen(c).sheets[0].entry(1, 0) == Some(&Entry::Text("row".into()))
    })
    .await;
    assert_eq!(
        seen(&live).sheets[0].entry(0, 0),
        Some(&Entry::Text("fresh".into()))
    );

    // A refusal carries the message the page shows, and changes nothing.
    let (content_type, body) = upload("big.csv", &"x,1\n".repeat(20));
    let headers = [
        ("Content-Type", content_type.as_str()),
        ("Accept", "application/json"),
    ];
    let r = server
        .request("POST", "/c/menu/import", &headers, &body)
        .await;
    assert_eq!(r.status, 413, "{}", r.body);
    let answer: Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(answer["error"], "too_large");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("import limit of 64 bytes")),
        "{answer}"
    );
    let (content_type, body) = upload("broken.xlsx", "PK\u{3}\u{4}not a zip");
    let headers = [
        ("Content-Type", content_type.as_str()),
        ("Accept", "application/json"),
    ];
    let r = server
        .request("POST", "/c/menu/import", &headers, &body)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let answer: Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(answer["error"], "bad_file", "{answer}");
    assert_eq!(
        server.get("/c/menu/export/csv").await.1,
        "fresh,2\r\nrow,3\r\n"
    );

    // A plain form (no JSON asked) still gets the redirect and the error pages.
    let (content_type, body) = upload("again.csv", "plain,4\n");
    let r = server
        .request(
            "POST",
            "/c/menu/import",
            &[("Content-Type", content_type.as_str())],
            &body,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}
