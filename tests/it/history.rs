//! History end to end: revisions of a pad listed by the API and the pages, an earlier one
//! previewed, exported and restored while a second live client converges on it, all of it
//! still there after a restart; read-only links browse but never restore; bad revision numbers
//! are refused with a message; an erased document (API delete, expiry) leaves no history on
//! disk; a calc's sort and deleted row are undone by a restore.

use std::time::Duration;

use ardoise::doc::calc::schema::{self, Axis};
use ardoise::doc::calc::sort::SortKey;
use ardoise::doc::calc::{parse_typed, Input, Layout, Locale, Workbook};
use ardoise::store::Store;
use serde_json::Value;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, MapPrelim, Text, Transact, Update};

use crate::api::{call, json, KEY_SHA256};
use crate::calc::{change, workbook};
use crate::client::Client;
use crate::server::{TestServer, PATIENCE};

/// The name the test clients write in the authors map.
const AUTHOR: &str = "Élève Un";

/// How often the revision list is asked again while waiting for a revision to settle.
const POLL: Duration = Duration::from_millis(100);

fn api_server(extra: &[&str]) -> crate::server::Builder {
    let mut args = vec!["--api-key-sha256", KEY_SHA256];
    args.extend_from_slice(extra);
    TestServer::builder().args(&args)
}

/// The revisions of `name` the API lists with `query` (`?…` or empty).
async fn revisions(server: &TestServer, name: &str, query: &str) -> Vec<Value> {
    let r = call(
        server,
        "GET",
        &format!("/documents/{name}/revisions{query}"),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)["revisions"].as_array().expect("revisions").clone()
}

fn rev_of(v: &Value) -> u64 {
    v["rev"].as_u64().expect("a revision number")
}

/// Waits (polling the list, bounded by `PATIENCE`) until the newest revision of `name`,
/// exported as `format`, satisfies `pred`; returns its number and that export.
async fn settled(
    server: &TestServer,
    name: &str,
    format: &str,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> (u64, String) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(last) = revisions(server, name, "").await.last() {
            let rev = rev_of(last);
            let path = format!("/documents/{name}/revisions/{rev}/export/{format}");
            let r = call(server, "GET", &path, "").await;
            assert_eq!(r.status, 200, "{}", r.body);
            if pred(&r.body) {
                return (rev, r.body);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no revision of {name} where {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The text of a version served as one update.
fn text_of_update(bytes: &[u8]) -> String {
    let doc = Doc::new();
    let text = doc.get_or_insert_text("content");
    doc.transact_mut()
        .apply_update(Update::decode_v1(bytes).expect("one v1 update"))
        .expect("applies");
    let txn = doc.transact();
    text.get_string(&txn)
}

/// The read-only token of `name`.
async fn read_token(server: &TestServer, name: &str) -> String {
    let r = call(
        server,
        "GET",
        &format!("/documents/{name}/read-only-link"),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)["token"].as_str().expect("token").to_owned()
}

/// Types `text` into a new pad `name` and waits for it to be a revision; returns the client
/// and the revision.
async fn typed_pad(server: &TestServer, name: &str, text: &str) -> (Client, u64) {
    let r = call(
        server,
        "POST",
        "/documents",
        &format!(r#"{{"name":"{name}"}}"#),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut client = Client::connect(server, name).await;
    // As the browser does: the first edit also puts its author in the authors map.
    let authors = client.doc.get_or_insert_map("authors");
    let id = client.doc.client_id().to_string();
    client
        .edit(|txn, content| {
            content.insert(txn, 0, text);
            let me = MapPrelim::from([("id", "a1"), ("name", AUTHOR), ("color", "#336699")]);
            authors.insert(txn, id, me);
        })
        .await;
    client.barrier().await;
    let (rev, _) = settled(server, name, "txt", "the text is typed", |t| {
        t.contains(text)
    })
    .await;
    (client, rev)
}

#[tokio::test]
async fn an_earlier_version_is_listed_exported_and_restored_and_survives_a_restart() {
    let server = api_server(&[]).start().await;
    let (mut writer, typed) = typed_pad(&server, "lecon", "Bonjour la classe").await;
    let mut watcher = Client::connect(&server, "lecon").await;
    assert_eq!(watcher.text(), "Bonjour la classe");

    // Vandalised: everything deleted.
    writer
        .edit(|txn, text| {
            let len = text.len(txn);
            text.remove_range(txn, 0, len);
        })
        .await;
    writer.barrier().await;
    let (vandalised, _) = settled(&server, "lecon", "txt", "the text is gone", |t| {
        !t.contains("Bonjour")
    })
    .await;
    assert!(vandalised > typed);

    // Listed by the API and the page alike, oldest first, with time and no restore.
    let listed = revisions(&server, "lecon", "").await;
    let revs: Vec<u64> = listed.iter().map(rev_of).collect();
    assert!(
        revs.contains(&typed) && revs.contains(&vandalised),
        "{revs:?}"
    );
    assert!(
        revs.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {revs:?}"
    );
    assert!(listed
        .iter()
        .all(|r| r["time"].as_u64().is_some_and(|t| t > 1_700_000_000)));
    assert!(listed.iter().all(|r| r["restored_from"].is_null()));
    let first = listed.iter().find(|r| rev_of(r) == typed).expect("listed");
    assert_eq!(first["authors"], serde_json::json!([AUTHOR]), "{first}");
    let page = server.request("GET", "/p/lecon/history", &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(json(&page)["revisions"].as_array(), Some(&listed));
    assert_eq!(json(&page)["next"], Value::Null);
    let one = json(
        &server
            .request(
                "GET",
                &format!("/p/lecon/history?before={vandalised}&limit=1"),
                &[],
                "",
            )
            .await,
    );
    assert_eq!(one["revisions"][0]["rev"], typed, "{one}");

    // The earlier version: previewed as one update, exported.
    let preview = server
        .request("GET", &format!("/p/lecon/history/{typed}"), &[], "")
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(
        preview.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        preview.header("cache-control"),
        Some("private, max-age=31536000, immutable")
    );
    assert_eq!(text_of_update(&preview.bytes), "Bonjour la classe");
    let txt = call(
        &server,
        "GET",
        &format!("/documents/lecon/revisions/{typed}/export/txt"),
        "",
    )
    .await;
    assert_eq!(txt.status, 200, "{}", txt.body);
    assert!(txt.body.contains("Bonjour la classe"), "{}", txt.body);
    let html = server
        .request(
            "GET",
            &format!("/p/lecon/history/{typed}/export/html"),
            &[],
            "",
        )
        .await;
    assert_eq!(html.status, 200);
    assert!(html.body.contains("Bonjour la classe"));
    assert!(html
        .header("content-disposition")
        .is_some_and(|d| d.contains(&format!("lecon-r{typed}.html"))));

    // Restored: both live clients converge on it, and it is a revision of its own at once.
    let r = call(
        &server,
        "POST",
        &format!("/documents/lecon/revisions/{typed}/restore"),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let restored = json(&r)["rev"].as_u64().expect("the new revision");
    assert!(restored > vandalised);
    watcher
        .until("the watcher sees the restore", |c| {
            c.text() == "Bonjour la classe"
        })
        .await;
    writer
        .until("the writer sees the restore", |c| {
            c.text() == "Bonjour la classe"
        })
        .await;
    let last = revisions(&server, "lecon", "").await;
    let entry = last.iter().find(|r| rev_of(r) == restored).expect("listed");
    assert_eq!(entry["restored_from"], typed);
    writer.close().await;
    watcher.close().await;

    // After a restart: the history, the restore and the restored text are all there.
    let server = server.restart().await;
    let after = revisions(&server, "lecon", "").await;
    assert_eq!(after, last, "the same history after a restart");
    let current = call(&server, "GET", "/documents/lecon/text", "").await;
    assert_eq!(
        json(&current)["text"].as_str().map(str::trim),
        Some("Bonjour la classe")
    );
    let mut again = Client::connect(&server, "lecon").await;
    assert_eq!(again.text(), "Bonjour la classe");

    // Restoring the revision just before the restore undoes it.
    let before_restore = after
        .iter()
        .map(rev_of)
        .filter(|r| *r < restored)
        .max()
        .expect("a revision before the restore");
    assert_eq!(before_restore, vandalised);
    let path = format!("/p/lecon/history/{before_restore}/restore");
    let r = server.request("POST", &path, &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let undone = json(&r)["rev"].as_u64().expect("the new revision");
    assert!(undone > restored);
    again
        .until("the restore is undone", |c| c.text().is_empty())
        .await;
}

#[tokio::test]
async fn read_only_links_browse_but_never_restore_and_bad_revisions_are_refused() {
    let server = api_server(&[]).start().await;
    let (_writer, rev) = typed_pad(&server, "cours", "Leçon un").await;
    let token = read_token(&server, "cours").await;

    // The read-only link lists, previews and exports, without naming the pad.
    let list = server
        .request("GET", &format!("/r/{token}/history"), &[], "")
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(json(&list)["revisions"][0]["rev"], rev);
    let preview = server
        .request("GET", &format!("/r/{token}/history/{rev}"), &[], "")
        .await;
    assert_eq!(text_of_update(&preview.bytes), "Leçon un");
    let txt = server
        .request(
            "GET",
            &format!("/r/{token}/history/{rev}/export/txt"),
            &[],
            "",
        )
        .await;
    assert_eq!(txt.status, 200);
    assert!(txt.body.contains("Leçon un"));
    assert!(txt
        .header("content-disposition")
        .is_some_and(|d| d.contains(&format!("pad-r{rev}.txt")) && !d.contains("cours")));
    // ... and never restores.
    let refused = server
        .request(
            "POST",
            &format!("/r/{token}/history/{rev}/restore"),
            &[],
            "",
        )
        .await;
    assert!(matches!(refused.status, 404 | 405), "{}", refused.status);

    // Bad revision numbers: a message, 400 for what is not a number, 404 past the end.
    for (bad, status) in [("x", 400), ("-1", 400), ("99999999999", 404), ("0", 404)] {
        let page = server
            .request("GET", &format!("/p/cours/history/{bad}"), &[], "")
            .await;
        assert_eq!(page.status, status, "{bad}: {}", page.body);
        assert!(
            json(&page)["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{bad}"
        );
        let api = call(
            &server,
            "GET",
            &format!("/documents/cours/revisions/{bad}/export/txt"),
            "",
        )
        .await;
        assert_eq!(api.status, status, "{bad}: {}", api.body);
        assert!(json(&api)["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        let restore = call(
            &server,
            "POST",
            &format!("/documents/cours/revisions/{bad}/restore"),
            "",
        )
        .await;
        assert_eq!(restore.status, status, "{bad}: {}", restore.body);
    }
    let message = json(&server.request("GET", "/p/cours/history/x", &[], "").await);
    assert!(
        message["error"]
            .as_str()
            .is_some_and(|m| m.contains("revision")),
        "{message}"
    );
    // Not a revision (an entry inside a burst is not one either), the wrong kind, a missing
    // document, a bad limit, two cursors.
    let missing = [
        "/p/cours/history/99999999999/export/txt".to_owned(),
        "/c/cours/history".to_owned(),
        format!("/c/cours/history/{rev}"),
        "/p/nothing-here/history".to_owned(),
        format!("/p/cours/history/{rev}/export/pdf"),
    ];
    for path in missing {
        let r = server.request("GET", &path, &[], "").await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(json(&r)["error"].is_string(), "{path}");
    }
    for query in [
        "limit=0",
        "limit=501",
        "limit=x",
        "after=1&before=2",
        "after=-3",
    ] {
        let r = server
            .request("GET", &format!("/p/cours/history?{query}"), &[], "")
            .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let r = call(
            &server,
            "GET",
            &format!("/documents/cours/revisions?{query}"),
            "",
        )
        .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
    }
    // The API needs its key.
    let r = server
        .request("GET", "/api/v1/documents/cours/revisions", &[], "")
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn an_erased_document_leaves_no_history_on_disk() {
    let server = api_server(&[
        "--retention-choices",
        "5s,7d",
        "--retention-default",
        "7d",
        "--retention-sweep-secs",
        "1",
    ])
    .start()
    .await;
    let data = server.data.clone();
    // Deleted through the API.
    let (writer, _) = typed_pad(&server, "deleted", "à effacer").await;
    let r = call(&server, "DELETE", "/documents/deleted", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    drop(writer);
    let r = call(&server, "GET", "/documents/deleted/revisions", "").await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Expired through the sweeper (its lifetime runs from the last edit).
    let r = call(
        &server,
        "POST",
        "/documents",
        r#"{"name":"ephemeral","lifetime":"5s"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut client = Client::connect(&server, "ephemeral").await;
    client.insert(0, "bientôt parti").await;
    client.barrier().await;
    settled(&server, "ephemeral", "txt", "the text is typed", |t| {
        t.contains("bientôt")
    })
    .await;
    client.closed_by_server().await.expect("closed when erased");
    server
        .wait_log("the sweep", |l| {
            l.contains("retention sweep") && l.contains("erased=1")
        })
        .await;
    let status = server.stop().await;
    assert!(status.success());

    let store = ardoise::store::open(data.path(), 1 << 20, Duration::from_millis(100))
        .expect("the database opens");
    for name in ["deleted", "ephemeral"] {
        assert!(
            store.history(name, None, 100).expect("history").is_empty(),
            "{name}"
        );
        let version = store.version(name, u64::MAX).expect("version");
        assert!(
            version.meta.is_none() && version.snapshot.is_none() && version.log.is_empty(),
            "{name}"
        );
        assert_eq!(store.size(name).expect("size"), 0, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Calcs.

/// Column A of the first sheet, top to bottom.
fn column_a(wb: &Workbook) -> Vec<String> {
    (0..wb.sheets[0].rows.len())
        .filter_map(|r| match wb.sheets[0].input_at(r, 0)? {
            Input::Text(t) => Some(t.clone()),
            other => Some(format!("{other:?}")),
        })
        .collect()
}

#[tokio::test]
async fn a_calc_sort_and_deleted_row_are_restored() {
    let server = api_server(&[]).start().await;
    let page = server.request("GET", "/c/notes", &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut c = Client::connect(&server, "notes").await;
    change(&mut c, schema::ensure_first_sheet).await;
    for r in 0..5 {
        let wb = workbook(&c);
        let layout = Layout::new(&wb);
        let at = ardoise::doc::calc::value::At {
            layout: &layout,
            sheet: 0,
        };
        let input = parse_typed(&format!("row{}", r + 1), Locale::En, at);
        let s = &wb.sheets[0];
        let (sid, row, col) = (s.id.clone(), s.rows[r].clone(), s.cols[0].clone());
        change(&mut c, |t| {
            schema::set_input(t, &sid, &row, &col, input.as_ref()).expect("cell written");
        })
        .await;
    }
    c.barrier().await;
    let before = column_a(&workbook(&c));
    assert_eq!(before, ["row1", "row2", "row3", "row4", "row5"]);
    let (original, csv) = settled(&server, "notes", "csv", "five rows are typed", |t| {
        t.contains("row5")
    })
    .await;

    // Sorted descending, then a row deleted.
    let sheet = workbook(&c).sheets[0].clone();
    let col = sheet.cols[0].clone();
    change(&mut c, |t| {
        schema::sort_rows(t, &sheet.id, true, false, |row| {
            sheet
                .cells
                .get(&schema::cell_key(row, &col))
                .map_or(SortKey::Empty, SortKey::of_input)
        })
        .expect("sorted");
    })
    .await;
    let sid = sheet.id.clone();
    change(&mut c, |t| {
        schema::delete(t, &sid, Axis::Rows, 0, 1).expect("row deleted");
    })
    .await;
    c.barrier().await;
    assert_eq!(column_a(&workbook(&c)), ["row4", "row3", "row2", "row1"]);
    settled(&server, "notes", "csv", "the row is gone", |t| {
        !t.contains("row5")
    })
    .await;
    let mut other = Client::connect(&server, "notes").await;

    // The page's history lists both; the restore brings back order and row for every editor.
    let list = json(&server.request("GET", "/c/notes/history", &[], "").await);
    assert!(list["revisions"]
        .as_array()
        .is_some_and(|r| r.iter().any(|v| v["rev"] == original)));
    let r = server
        .request(
            "POST",
            &format!("/c/notes/history/{original}/restore"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = json(&r)["rev"].as_u64().expect("the new revision");
    assert!(new > original);
    for client in [&mut c, &mut other] {
        client
            .until("the order and the row are back", |c| {
                column_a(&workbook(c)) == before
            })
            .await;
    }
    let current = call(&server, "GET", "/documents/notes/export/csv", "").await;
    assert_eq!(
        current.body, csv,
        "the current calc is the restored version"
    );
    // A pad restore route does not take a calc.
    let wrong = server
        .request(
            "POST",
            &format!("/p/notes/history/{original}/restore"),
            &[],
            "",
        )
        .await;
    assert_eq!(wrong.status, 404);
}
