//! Issue 16, item 2: formulas that made IronCalc recurse past its stack and abort the server. A
//! deep formula stored through the CRDT is served as `#N/A` by every path that evaluates, also
//! after a restart; EtherCalc commands refuse one, naming the line; a long reference chain
//! evaluates.

use ardoise::doc::calc::schema;
use ardoise::doc::calc::value::At;
use ardoise::doc::calc::{parse_typed, read, Input, Layout, Locale};
use yrs::Transact;

use crate::client::Client;
use crate::server::TestServer;

/// `=` then 700 `(`, `1` and 700 `)`: 1.4 KB that overflowed the parser's stack.
fn deep_formula() -> String {
    format!("={}1{}", "(".repeat(700), ")".repeat(700))
}

/// Creates calc `name` and writes, over a real WebSocket, A1 = 2, A2 = `=A1*21`, and in B1
/// the stored form of `formula` as a client could write it (clients are not checked).
async fn calc_with(server: &TestServer, name: &str, formula: &str) {
    let page = server.request("GET", &format!("/c/{name}"), &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut c = Client::connect(server, name).await;
    {
        let mut t = c.doc.transact_mut();
        schema::ensure_first_sheet(&mut t);
    }
    {
        let wb = read(&c.doc.transact());
        let layout = Layout::new(&wb);
        let at = || At {
            layout: &layout,
            sheet: 0,
        };
        let a1 = parse_typed("2", Locale::En, at());
        let a2 = parse_typed("=A1*21", Locale::En, at());
        let s = &wb.sheets[0];
        let mut t = c.doc.transact_mut();
        for (row, col, input) in [
            (0, 0, a1),
            (1, 0, a2),
            (0, 1, Some(Input::Formula(formula.to_owned()))),
        ] {
            schema::set_input(&mut t, &s.id, &s.rows[row], &s.cols[col], input.as_ref())
                .expect("cell written");
        }
    }
    c.push_local().await;
    c.barrier().await;
    c.close().await;
}

/// Every path that evaluates the calc answers, with the deep cell as `#N/A`.
async fn every_export_answers(server: &TestServer, name: &str) {
    let (status, csv) = server.get(&format!("/c/{name}/export/csv")).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.starts_with("2,#N/A\r\n42,"), "{csv}");
    for format in ["ods", "xlsx", "html"] {
        let r = server
            .request("GET", &format!("/c/{name}/export/{format}"), &[], "")
            .await;
        assert_eq!(r.status, 200, "{format}: {}", r.body);
    }
    for path in [
        format!("/_/{name}/csv"),
        format!("/_/{name}/csv.json"),
        format!("/_/{name}/cells"),
        format!("/_/{name}/cells/B1"),
        format!("/_/{name}"),
        format!("/{name}.csv"),
    ] {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("#N/A"), "{path}: {body}");
    }
}

/// The server is alive and another document still opens and syncs.
async fn still_serves(server: &mut TestServer, name: &str) {
    assert!(server.is_alive(), "the server aborted");
    let mut writer = Client::connect(server, name).await;
    writer.insert(0, "still here").await;
    writer.barrier().await;
    let mut reader = Client::connect(server, name).await;
    reader
        .until("the other client's text", |c| c.text() == "still here")
        .await;
}

#[tokio::test]
async fn a_stored_deep_formula_is_served_as_an_error_by_every_export_also_after_a_restart() {
    let mut server = TestServer::start().await;
    calc_with(&server, "deep", &deep_formula()).await;
    every_export_answers(&server, "deep").await;
    still_serves(&mut server, "other").await;

    let mut server = server.restart().await;
    every_export_answers(&server, "deep").await;
    still_serves(&mut server, "after-restart").await;
}

#[tokio::test]
async fn long_operator_chains_and_self_applied_lambdas_are_served_as_errors() {
    let mut server = TestServer::start().await;
    // 1,100 `+1`: no bracket, but one level of IronCalc's tree each.
    calc_with(&server, "chain", &format!("=1{}", "+1".repeat(1100))).await;
    every_export_answers(&server, "chain").await;
    // Recursed without end in IronCalc, whatever the stack.
    calc_with(&server, "lambda", "=LAMBDA(f,f(f))(LAMBDA(f,f(f)))").await;
    every_export_answers(&server, "lambda").await;
    still_serves(&mut server, "other").await;
}

#[tokio::test]
async fn ethercalc_commands_with_a_deep_formula_are_refused_naming_the_line() {
    let mut server = TestServer::start().await;
    let page = server.request("GET", "/c/cmds", &[], "").await;
    assert_eq!(page.status, 200);
    let body = format!("set A1 value n 1\nset A2 formula {}", &deep_formula()[1..]);
    let r = server
        .request("POST", "/_/cmds", &[("Content-Type", "text/plain")], &body)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.starts_with("line 2: formula nested"), "{}", r.body);
    // Refused as a whole: A1 was not written either.
    let (status, csv) = server.get("/_/cmds/csv").await;
    assert_eq!(status, 200);
    assert!(!csv.starts_with('1'), "{csv}");
    still_serves(&mut server, "other").await;
}

/// A1 `=A2+1`, A2 `=A3+1`, …: IronCalc recurses once per link (537 links filled a 2 MiB stack; the blocking pool's threads have 2 MiB).
#[tokio::test]
async fn a_long_reference_chain_evaluates() {
    const LINKS: usize = 1000;
    let mut server = TestServer::start().await;
    let page = server.request("GET", "/c/links", &[], "").await;
    assert_eq!(page.status, 200);
    // The last row first: it grows the sheet, so every formula's reference exists.
    let mut body = format!("set A{} value n 0\n", LINKS + 1);
    body.extend((1..=LINKS).map(|r| format!("set A{r} formula A{}+1\n", r + 1)));
    let r = server
        .request("POST", "/_/links", &[("Content-Type", "text/plain")], &body)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (status, cell) = server.get("/_/links/cells/A1").await;
    assert_eq!(status, 200, "{cell}");
    assert!(cell.contains(&format!("{LINKS}")), "{cell}");
    let (status, csv) = server.get("/c/links/export/csv").await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.starts_with(&format!("{LINKS}\r\n")), "{csv}");
    still_serves(&mut server, "other").await;
}
