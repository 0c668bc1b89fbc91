//! Calcs: pages and kinds, and the model over real WebSockets: concurrent row and column
//! insertion, sorts, row moves and sheet deletions never move anyone's data elsewhere, and
//! evaluation follows the structure.

use std::io::Write;

use ardoise::doc::calc::schema::{self, Axis};
use ardoise::doc::calc::sort::SortKey;
use ardoise::doc::calc::{evaluate, parse_typed, read, Computed, Input, Layout, Locale, Workbook};
use yrs::{ReadTxn, StateVector, Transact, TransactionMut};

use crate::client::Client;
use crate::server::TestServer;

/// Applies `f` to the client's replica and sends the update (without reading anything first:
/// the edit is based on what this client has seen so far).
pub(crate) async fn change(c: &mut Client, f: impl FnOnce(&mut TransactionMut)) {
    {
        let mut txn = c.doc.transact_mut();
        f(&mut txn);
    }
    c.push_local().await;
}

/// The client's replica read as a workbook.
pub(crate) fn workbook(c: &Client) -> Workbook {
    read(&c.doc.transact())
}

/// Types `text` (English) into (row, col), 0-based, of sheet `sheet` as this client sees it.
async fn type_in(c: &mut Client, sheet: usize, row: usize, col: usize, text: &str, locale: Locale) {
    let wb = workbook(c);
    let layout = Layout::new(&wb);
    let input = parse_typed(
        text,
        locale,
        ardoise::doc::calc::value::At {
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
/// `a` syncs again after `b`: an update that only deletes leaves no trace in a state vector, and
/// the room sends `a` whatever it broadcast before answering `a`'s sync.
async fn converge(a: &mut Client, b: &mut Client) {
    a.barrier().await;
    b.barrier().await;
    a.barrier().await;
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

/// Sorts the first sheet as this client sees it, by column `col` (0-based) of its inputs.
async fn sort_by(c: &mut Client, col: usize, descending: bool, header: bool) {
    let wb = workbook(c);
    let sheet = wb.sheets[0].clone();
    let col_id = sheet.cols[col].clone();
    change(c, |t| {
        schema::sort_rows(t, &sheet.id, descending, header, |row| {
            sheet
                .cells
                .get(&schema::cell_key(row, &col_id))
                .map_or(SortKey::Empty, SortKey::of_input)
        })
        .expect("sorted");
    })
    .await;
}

/// The 0-based row whose column A reads `label`, checking it is there exactly once.
fn row_of(wb: &Workbook, label: &str) -> usize {
    let rows: Vec<usize> = (0..wb.sheets[0].rows.len())
        .filter(|&r| text_at(wb, 0, r, 0).as_deref() == Some(label))
        .collect();
    assert_eq!(rows.len(), 1, "{label} shown once: {rows:?}");
    rows[0]
}

/// Every label `row1`…`row10` shown once, and no row id shown twice.
fn each_row_once(wb: &Workbook) {
    for r in 1..=10 {
        row_of(wb, &format!("row{r}"));
    }
    let ids: std::collections::HashSet<&String> = wb.sheets[0].rows.iter().collect();
    assert_eq!(ids.len(), wb.sheets[0].rows.len(), "no row shown twice");
}

#[tokio::test]
async fn a_sort_carries_a_concurrent_edit_with_its_row() {
    let server = TestServer::start().await;
    for (i, order) in [Order::InsertFirst, Order::EditFirst, Order::Concurrent]
        .into_iter()
        .enumerate()
    {
        let name = format!("sort-edit-{i}");
        let mut a = new_calc(&server, &name).await;
        let mut b = Client::connect(&server, &name).await;
        assert_eq!(text_at(&workbook(&b), 0, 2, 0).as_deref(), Some("row3"));
        match order {
            Order::InsertFirst => {
                sort_by(&mut a, 0, true, false).await;
                a.barrier().await;
                let sorted = a.doc.transact().state_vector();
                b.until("b sees the sort", |c| has_all(c, &sorted)).await;
                type_in(&mut b, 0, 2, 1, "typed by B", Locale::En).await;
            }
            Order::EditFirst => {
                type_in(&mut b, 0, 2, 1, "typed by B", Locale::En).await;
                b.barrier().await;
                sort_by(&mut a, 0, true, false).await;
            }
            Order::Concurrent => {
                sort_by(&mut a, 0, true, false).await;
                type_in(&mut b, 0, 2, 1, "typed by B", Locale::En).await;
            }
        }
        converge(&mut a, &mut b).await;
        let wb = workbook(&a);
        each_row_once(&wb);
        // Descending text: row9 … row2, row10, row1; the rows past them keep their place.
        assert_eq!(text_at(&wb, 0, 0, 0).as_deref(), Some("row9"), "{order:?}");
        assert_eq!(text_at(&wb, 0, 9, 0).as_deref(), Some("row1"), "{order:?}");
        // B typed on the row it saw third: row3 before the sort, row7 after it. The value is on
        // that row, wherever the sort put it.
        let meant = match order {
            Order::InsertFirst => "row7",
            Order::EditFirst | Order::Concurrent => "row3",
        };
        let r = row_of(&wb, meant);
        assert_eq!(
            text_at(&wb, 0, r, 1).as_deref(),
            Some("typed by B"),
            "{order:?}"
        );
        let typed: usize = (0..20)
            .filter(|&r| text_at(&wb, 0, r, 1).as_deref() == Some("typed by B"))
            .count();
        assert_eq!(typed, 1, "{order:?}");
        assert_eq!(wb.sheets[0].rows.len(), schema::DEFAULT_ROWS);
    }
}

#[tokio::test]
async fn a_row_move_carries_a_concurrent_edit_with_its_row() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "move-edit").await;
    let mut b = Client::connect(&server, "move-edit").await;
    // A moves rows 3-4 up one; B concurrently types on row 3 (labelled row3).
    change(&mut a, |t| {
        schema::move_ids(t, "s1", Axis::Rows, 2, 2, -1).expect("moved");
    })
    .await;
    type_in(&mut b, 0, 2, 1, "on row3", Locale::En).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&b);
    each_row_once(&wb);
    assert_eq!(row_of(&wb, "row3"), 1);
    assert_eq!(row_of(&wb, "row4"), 2);
    assert_eq!(row_of(&wb, "row2"), 3);
    assert_eq!(text_at(&wb, 0, 1, 1).as_deref(), Some("on row3"));
}

#[tokio::test]
async fn a_row_inserted_during_a_sort_survives_once() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "sort-insert").await;
    let mut b = Client::connect(&server, "sort-insert").await;
    sort_by(&mut a, 0, true, false).await;
    let mut fresh = Vec::new();
    change(&mut b, |t| {
        fresh = schema::insert(t, "s1", Axis::Rows, 4, 1).expect("row inserted");
    })
    .await;
    let (sid, col) = ("s1".to_owned(), workbook(&b).sheets[0].cols[0].clone());
    change(&mut b, |t| {
        let input = Input::Text("inserted".into());
        schema::set_input(t, &sid, &fresh[0], &col, Some(&input)).expect("typed");
    })
    .await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    each_row_once(&wb);
    row_of(&wb, "inserted");
    assert_eq!(wb.sheets[0].rows.len(), schema::DEFAULT_ROWS + 1);
}

#[tokio::test]
async fn two_concurrent_sorts_converge_and_show_each_row_once() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "two-sorts").await;
    let mut b = Client::connect(&server, "two-sorts").await;
    sort_by(&mut a, 0, false, false).await;
    sort_by(&mut b, 0, true, false).await;
    // (b has not read a's sort yet: the test client only reads when asked.)
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    each_row_once(&wb);
    assert_eq!(wb.sheets[0].rows.len(), schema::DEFAULT_ROWS);
    // The sorts rewrote different spans (row1 stays first ascending), so the merge may mix
    // them; the labelled rows still come before the empty ones.
    assert!(
        (0..10).all(|r| text_at(&wb, 0, r, 0).is_some()),
        "labelled rows first"
    );
    // Deleting a row after the duplicates: it is gone everywhere, nothing else moves.
    let first = text_at(&wb, 0, 0, 0).expect("a label");
    change(&mut b, |t| {
        schema::delete(t, "s1", Axis::Rows, 0, 1).expect("deleted")
    })
    .await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert!((0..20).all(|r| text_at(&wb, 0, r, 0).as_ref() != Some(&first)));
    assert_eq!(wb.sheets[0].rows.len(), schema::DEFAULT_ROWS - 1);
}

#[tokio::test]
async fn formulas_follow_their_rows_through_a_sort() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "sort-eval").await;
    let mut b = Client::connect(&server, "sort-eval").await;
    type_in(&mut a, 0, 0, 1, "Amount", Locale::En).await;
    for (r, v) in [30, 10, 40, 20].iter().enumerate() {
        type_in(&mut a, 0, r + 1, 1, &v.to_string(), Locale::En).await;
    }
    // A total whose range ends lie outside the sorted rows (the header row, the empty row 6).
    type_in(&mut a, 0, 0, 2, "=SUM(B1:B6)", Locale::En).await;
    type_in(&mut a, 0, 1, 2, "=B2*2", Locale::En).await;
    // A total whose range ends are two of the sorted rows.
    type_in(&mut a, 0, 6, 2, "=SUM(B2:B5)", Locale::En).await;
    converge(&mut a, &mut b).await;
    sort_by(&mut b, 1, false, true).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    each_row_once(&wb);
    let col_b: Vec<Computed> = (1..5).map(|r| value(&wb, 0, r, 1)).collect();
    assert_eq!(col_b, [10.0, 20.0, 30.0, 40.0].map(Computed::Number));
    assert_eq!(row_of(&wb, "row1"), 0, "the header stays");
    assert_eq!(row_of(&wb, "row6"), 5, "rows after the data stay");
    assert_eq!(value(&wb, 0, 0, 2), Computed::Number(100.0));
    // =B2*2 travelled with row2 (30) and still doubles row2's B.
    let r = row_of(&wb, "row2");
    assert_eq!(r, 3);
    assert_eq!(value(&wb, 0, r, 2), Computed::Number(60.0));
    // A range keeps its positions through the sort, as in any spreadsheet: its ends were moved
    // to the rows now at B2 and B5, so the total under the data is still the whole data.
    assert_eq!(
        value(&wb, 0, row_of(&wb, "row7"), 2),
        Computed::Number(100.0)
    );
    let shown = |wb: &Workbook| {
        let layout = Layout::new(wb);
        let r = row_of(wb, "row7");
        match wb.sheets[0].input_at(r, 2) {
            Some(Input::Formula(f)) => {
                ardoise::doc::calc::formula::to_a1(f, Locale::En, &layout, 0)
            }
            other => panic!("a formula, not {other:?}"),
        }
    };
    assert_eq!(shown(&wb), "=SUM(B2:B5)");

    // Deleting the range's first row shrinks it (B2:B4 of what is left), not `#REF!`.
    let sid = wb.sheets[0].id.clone();
    change(&mut b, |t| {
        schema::delete(t, &sid, Axis::Rows, 1, 1).expect("deleted")
    })
    .await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert_eq!(shown(&wb), "=SUM(B2:B4)");
    assert_eq!(
        value(&wb, 0, row_of(&wb, "row7"), 2),
        Computed::Number(90.0)
    );
}

#[tokio::test]
async fn deleting_a_sheet_drops_concurrent_edits_and_breaks_references_to_it() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "sheet-delete").await;
    let mut sid = String::new();
    change(&mut a, |t| sid = schema::add_sheet(t, "Data")).await;
    type_in(&mut a, 1, 0, 0, "21", Locale::En).await;
    type_in(&mut a, 0, 0, 1, "=Data!A1*2", Locale::En).await;
    let mut b = Client::connect(&server, "sheet-delete").await;
    converge(&mut a, &mut b).await;
    assert_eq!(value(&workbook(&b), 0, 0, 1), Computed::Number(42.0));
    // A deletes the sheet while B types on it and moves its tab.
    change(&mut a, |t| schema::delete_sheet(t, &sid).expect("deleted")).await;
    type_in(&mut b, 1, 3, 3, "typed on a dying sheet", Locale::En).await;
    change(&mut b, |t| schema::move_sheet(t, &sid, -1).expect("moved")).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert_eq!(wb.sheets.len(), 1);
    assert_eq!(value(&wb, 0, 0, 1), Computed::Error("#REF!".into()));
    assert_eq!(text_at(&wb, 0, 0, 0).as_deref(), Some("row1"));
    // Nothing of the deleted sheet is left in the document.
    let txn = a.doc.transact();
    let map = txn.get_map(format!("sheet:{sid}")).expect("root map");
    assert_eq!(yrs::Map::len(&map, &txn), 0);
}

#[tokio::test]
async fn two_sheets_deleted_at_once() {
    let server = TestServer::start().await;
    let mut a = new_calc(&server, "sheets-delete").await;
    let (mut s2, mut s3) = (String::new(), String::new());
    change(&mut a, |t| {
        s2 = schema::add_sheet(t, "Two");
        s3 = schema::add_sheet(t, "Three");
    })
    .await;
    let mut b = Client::connect(&server, "sheets-delete").await;
    converge(&mut a, &mut b).await;
    change(&mut a, |t| schema::delete_sheet(t, &s2).expect("deleted")).await;
    change(&mut b, |t| schema::delete_sheet(t, &s3).expect("deleted")).await;
    converge(&mut a, &mut b).await;
    let wb = workbook(&a);
    assert_eq!(wb.sheets.len(), 1);
    assert_eq!(wb.sheets[0].id, "s1");
    // And the two last ones at once: none left, the next visitor gets a fresh sheet.
    change(&mut a, |t| {
        s2 = schema::add_sheet(t, "Again");
    })
    .await;
    converge(&mut a, &mut b).await;
    change(&mut a, |t| schema::delete_sheet(t, "s1").expect("deleted")).await;
    change(&mut b, |t| schema::delete_sheet(t, &s2).expect("deleted")).await;
    converge(&mut a, &mut b).await;
    assert!(workbook(&a).sheets.is_empty());
    let mut c = Client::connect(&server, "sheets-delete").await;
    c.until("c synced", |c| has_all(c, &a.doc.transact().state_vector()))
        .await;
    change(&mut c, schema::ensure_first_sheet).await;
    c.barrier().await;
    a.until("a sees the new sheet", |c| !workbook(c).sheets.is_empty())
        .await;
    assert_eq!(workbook(&a).sheets[0].rows.len(), schema::DEFAULT_ROWS);
}

/// A config file closing creation past one live document.
fn shedding_config() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(
        f,
        "[shedding]\nrooms_high = 1\nrooms_low = 0\nhold_secs = 3600\n\n\
         [[trusted_hosts]]\nname = \"Partner\"\nurl = \"https://partner.example/p/{{name}}\"\n\
         calc_url = \"https://partner.example/c/{{name}}\"\nweight = 1"
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
    let server = TestServer::builder()
        .args(&["--config", path, "--shedding-mode", "auto"])
        .start()
        .await;
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
    assert!(page.body.contains("New calcs are paused"), "{}", page.body);
    // The existing calc still opens and edits.
    assert_eq!(server.get("/c/existing-calc").await.0, 200);
    type_in(&mut a, 0, 0, 1, "still works", Locale::En).await;
    a.barrier().await;
}
