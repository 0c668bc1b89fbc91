//! Calcs: pages and kinds, and the model over real WebSockets: concurrent row and column
//! insertion never moves anyone's data, evaluation follows the structure.

use std::io::Write;

use ardoise::calc::schema::{self, Axis};
use ardoise::calc::{evaluate, parse_typed, read, Computed, Input, Layout, Locale, Workbook};
use yrs::{ReadTxn, StateVector, Transact, TransactionMut};

use crate::client::Client;
use crate::server::TestServer;

/// Applies `f` to the client's replica and sends the update (without reading anything first:
/// the edit is based on what this client has seen so far).
async fn change(c: &mut Client, f: impl FnOnce(&mut TransactionMut)) {
    {
        let mut txn = c.doc.transact_mut();
        f(&mut txn);
    }
    c.push_local().await;
}

fn workbook(c: &Client) -> Workbook {
    read(&c.doc.transact())
}

/// Types `text` (English) into (row, col), 0-based, of sheet `sheet` as this client sees it.
async fn type_in(c: &mut Client, sheet: usize, row: usize, col: usize, text: &str, locale: Locale) {
    let wb = workbook(c);
    let layout = Layout::new(&wb);
    let input = parse_typed(
        text,
        locale,
        ardoise::calc::value::At {
            layout: &layout,
            sheet,
        },
    );
    let s = &wb.sheets[sheet];
    let (sid, r, k) = (s.id.clone(), s.rows[row].clone(), s.cols[col].clone());
    change(c, |t| {
        schema::set_input(t, &sid, &r, &k, input.as_ref()).expect("cell written");
    })
    .await;
}

fn text_at(wb: &Workbook, sheet: usize, row: usize, col: usize) -> Option<String> {
    match wb.sheets[sheet].input_at(row, col)? {
        Input::Text(t) => Some(t.clone()),
        other => Some(format!("{other:?}")),
    }
}

/// A calc created through its page, with a first sheet whose column A reads `row1`…`row10`.
async fn new_calc(server: &TestServer, name: &str) -> Client {
    let page = server.request("GET", &format!("/c/{name}"), &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut c = Client::connect(server, name).await;
    change(&mut c, schema::ensure_first_sheet).await;
    for r in 0..10 {
        type_in(&mut c, 0, r, 0, &format!("row{}", r + 1), Locale::En).await;
    }
    c.barrier().await;
    c
}

/// Whether `c` has everything `sv` describes.
fn has_all(c: &Client, sv: &StateVector) -> bool {
    let mine = c.doc.transact().state_vector();
    sv.iter().all(|(client, clock)| mine.get(client) >= *clock)
}

/// Both clients' edits reach the server, then each has the other's: they hold the same workbook.
async fn converge(a: &mut Client, b: &mut Client) {
    a.barrier().await;
    b.barrier().await;
    let (sv_a, sv_b) = (
        a.doc.transact().state_vector(),
        b.doc.transact().state_vector(),
    );
    a.until("a has b's edits", |c| has_all(c, &sv_b)).await;
    b.until("b has a's edits", |c| has_all(c, &sv_a)).await;
    assert_eq!(workbook(a), workbook(b), "converged");
}

#[derive(Clone, Copy, Debug)]
enum Order {
    InsertFirst,
    EditFirst,
    Concurrent,
}

#[tokio::test]
async fn a_row_inserted_above_never_moves_a_concurrent_edit() {
    let server = TestServer::start().await;
    for (i, order) in [Order::InsertFirst, Order::EditFirst, Order::Concurrent]
        .into_iter()
        .enumerate()
    {
        let name = format!("rows-{i}");
        let mut a = new_calc(&server, &name).await;
        let mut b = Client::connect(&server, &name).await;
        // Both decide on the same picture: B5 is on the row labelled row5.
        assert_eq!(text_at(&workbook(&b), 0, 4, 0).as_deref(), Some("row5"));
        let insert_above_5 = |t: &mut TransactionMut| {
            schema::insert(t, "s1", Axis::Rows, 4, 1).expect("row inserted");
        };
        match order {
            Order::InsertFirst => {
                change(&mut a, insert_above_5).await;
                a.barrier().await;
                type_in(&mut b, 0, 4, 1, "B meant row5", Locale::En).await;
            }
            Order::EditFirst => {
                type_in(&mut b, 0, 4, 1, "B meant row5", Locale::En).await;
                b.barrier().await;
                change(&mut a, insert_above_5).await;
            }
            Order::Concurrent => {
                change(&mut a, insert_above_5).await;
                type_in(&mut b, 0, 4, 1, "B meant row5", Locale::En).await;
            }
        }
        converge(&mut a, &mut b).await;
        let wb = workbook(&a);
        // The new row is row 5 (empty); row5's label and B's value moved down together.
        assert_eq!(text_at(&wb, 0, 4, 0), None, "{order:?}");
        assert_eq!(text_at(&wb, 0, 4, 1), None, "{order:?}");
        assert_eq!(text_at(&wb, 0, 5, 0).as_deref(), Some("row5"), "{order:?}");
        assert_eq!(
            text_at(&wb, 0, 5, 1).as_deref(),
            Some("B meant row5"),
            "{order:?}"
        );
        assert_eq!(wb.sheets[0].rows.len(), schema::DEFAULT_ROWS + 1);
    }
}

#[tokio::test]
async fn concurrent_column_insert_and_edit() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "cols").await;
    let mut b = Client::connect(&server, "cols").await;
    change(&mut a, |t| {
        schema::insert(t, "s1", Axis::Cols, 0, 2).expect("columns inserted");
    })
    .await;
    type_in(&mut b, 0, 2, 1, "next to row3", Locale::En).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&b);
    assert_eq!(text_at(&wb, 0, 2, 2).as_deref(), Some("row3"));
    assert_eq!(text_at(&wb, 0, 2, 3).as_deref(), Some("next to row3"));
}

#[tokio::test]
async fn deleting_a_row_while_someone_edits_it_moves_nothing() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "delete").await;
    let mut b = Client::connect(&server, "delete").await;
    change(&mut a, |t| {
        schema::delete(t, "s1", Axis::Rows, 4, 1).expect("row deleted");
    })
    .await;
    type_in(&mut b, 0, 4, 1, "on row5", Locale::En).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    // Row 5 is now row6's; B's value stayed with the deleted row and landed nowhere else.
    assert_eq!(text_at(&wb, 0, 4, 0).as_deref(), Some("row6"));
    for r in 0..20 {
        assert_ne!(text_at(&wb, 0, r, 1).as_deref(), Some("on row5"), "row {r}");
    }
    assert_eq!(wb.sheets[0].rows.len(), schema::DEFAULT_ROWS - 1);
}

#[tokio::test]
async fn two_sheets_added_concurrently_both_survive() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "sheets").await;
    let mut b = Client::connect(&server, "sheets").await;
    change(&mut a, |t| {
        schema::add_sheet(t, "From A");
    })
    .await;
    change(&mut b, |t| {
        schema::add_sheet(t, "From B");
    })
    .await;
    converge(&mut a, &mut b).await;
    let mut names: Vec<String> = workbook(&a).sheets.iter().map(|s| s.name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        ["", "From A", "From B"],
        "the first sheet is unnamed"
    );
}

#[tokio::test]
async fn two_first_visitors_converge_on_one_first_sheet() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/c/first").await.0, 200);
    let mut a = Client::connect(&server, "first").await;
    let mut b = Client::connect(&server, "first").await;
    change(&mut a, schema::ensure_first_sheet).await;
    change(&mut b, schema::ensure_first_sheet).await;
    type_in(&mut b, 0, 0, 0, "kept", Locale::En).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert_eq!(wb.sheets.len(), 1);
    assert_eq!(text_at(&wb, 0, 0, 0).as_deref(), Some("kept"));
}

fn value(wb: &Workbook, sheet: usize, row: usize, col: usize) -> Computed {
    evaluate(wb, Locale::En)
        .expect("evaluates")
        .get(sheet, row, col)
        .map_or(Computed::Empty, |c| c.value.clone())
}

#[tokio::test]
async fn formulas_evaluate_through_inserted_rows_sheets_and_deletions() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "eval").await;
    let mut b = Client::connect(&server, "eval").await;
    for r in 0..4 {
        type_in(&mut a, 0, r, 1, &(r + 1).to_string(), Locale::En).await;
    }
    type_in(&mut a, 0, 0, 2, "=SUM(B1:B4)", Locale::En).await;
    type_in(&mut a, 0, 1, 2, "=B3*10", Locale::En).await;
    // B inserts a row inside the range and fills it, concurrently with A's formulas.
    change(&mut b, |t| {
        schema::insert(t, "s1", Axis::Rows, 2, 1).expect("row inserted");
    })
    .await;
    converge(&mut a, &mut b).await;
    type_in(&mut b, 0, 2, 1, "100", Locale::En).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert_eq!(value(&wb, 0, 0, 2), Computed::Number(110.0));
    assert_eq!(value(&wb, 0, 1, 2), Computed::Number(30.0));

    // Another sheet, typed in French: 1,23 is 1.23.
    let mut sid = String::new();
    change(&mut b, |t| sid = schema::add_sheet(t, "Données")).await;
    type_in(&mut b, 1, 0, 0, "1,23", Locale::Fr).await;
    type_in(&mut b, 0, 0, 3, "=Données!A1*2+SOMME(1,5;0,5)", Locale::Fr).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert_eq!(wb.sheets[1].input_at(0, 0), Some(&Input::Number(1.23)));
    assert_eq!(value(&wb, 0, 0, 3), Computed::Number(4.46));

    // Deleting the row B3 pointed at: #REF!, and the sheet keeps working.
    change(&mut a, |t| {
        schema::delete(t, "s1", Axis::Rows, 3, 1).expect("row deleted");
    })
    .await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&b);
    assert_eq!(value(&wb, 0, 1, 2), Computed::Error("#REF!".into()));
    assert_eq!(value(&wb, 0, 0, 2), Computed::Number(107.0));
}

/// A config file closing creation past one live document.
fn shedding_config() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(
        f,
        "[shedding]\nrooms_high = 1\nrooms_low = 0\nhold_secs = 3600\n\n\
         [[trusted_hosts]]\nname = \"Partner\"\nurl = \"https://partner.example/p/{{name}}\"\nweight = 1"
    )
    .expect("write");
    f
}

#[tokio::test]
async fn calc_pages_fix_the_kind_and_share_read_only() {
    let server = TestServer::start().await;
    let r = server.request("GET", "/c/budget", &[], "").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("data-kind=\"calc\""), "{}", r.body);
    assert!(r.body.contains("data-wasm=\"/assets/ironcalc.wasm?v="));
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    let token = r
        .body
        .split("data-readonly-path=\"/r/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("read-only link")
        .to_owned();

    // The kind is fixed: /p/ of a calc and /c/ of a pad redirect.
    let r = server.request("GET", "/p/budget", &[], "").await;
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .is_some_and(|l| l.starts_with("/c/budget")));
    assert_eq!(server.get("/p/notes").await.0, 200);
    let r = server.request("GET", "/c/notes", &[], "").await;
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .is_some_and(|l| l.starts_with("/p/notes")));

    // The read-only link of a calc is the read-only calc, without the name.
    let r = server.request("GET", &format!("/r/{token}"), &[], "").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("data-kind=\"calc\"") && r.body.contains("data-readonly=\"true\""));
    assert!(!r.body.contains("budget"));

    // The home page creates either kind.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = server
        .request("POST", "/new", &form, "name=grades&keep=30&kind=calc")
        .await;
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .is_some_and(|l| l.starts_with("/c/grades")));
    assert!(server.get("/?lang=en").await.1.contains("value=\"calc\""));

    // The engine is served as wasm.
    let wasm = server
        .request("GET", "/assets/ironcalc.wasm", &[], "")
        .await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(&wasm.bytes[..4], b"\0asm");
}

#[tokio::test]
async fn new_calcs_are_refused_while_creation_is_closed() {
    let file = shedding_config();
    let path = file.path().to_str().expect("utf-8 path");
    let server = TestServer::start_with(&["--config", path, "--shedding-mode", "auto"]).await;
    let mut a = new_calc(&server, "existing-calc").await;
    let mut other = Client::connect(&server, "second").await;
    other.insert(0, "x").await;
    other.barrier().await;
    server
        .wait_log("creation closing", |l| {
            l.contains("creation of new documents closed")
        })
        .await;
    let page = server
        .request("GET", "/c/brand-new-calc", &[("Accept-Language", "en")], "")
        .await;
    assert_eq!(page.status, 503);
    assert_eq!(page.header("retry-after"), Some("60"));
    assert!(page.body.contains("Partner"), "{}", page.body);
    // The existing calc still opens and edits.
    assert_eq!(server.get("/c/existing-calc").await.0, 200);
    type_in(&mut a, 0, 0, 1, "still works", Locale::En).await;
    a.barrier().await;
}
