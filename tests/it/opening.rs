//! Opening a name: a missing one is offered for creation (nothing is made by asking), and a
//! document made only by visiting its link is not kept past its visit unless someone typed.

use yrs::{Doc, Transact};

use crate::client::Client;
use crate::server::TestServer;

const TOKEN: &str = "correct-horse-battery-staple";

/// The names of the stored documents starting with `prefix`, from the admin API.
async fn stored(server: &TestServer, prefix: &str) -> Vec<String> {
    let auth = format!("Bearer {TOKEN}");
    let r = server
        .request(
            "GET",
            &format!("/admin/api/documents?prefix={prefix}"),
            &[("Authorization", auth.as_str())],
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    body["documents"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Waits for the log line saying the untouched document `name` was erased.
async fn wait_erased(server: &TestServer, name: &str) {
    let field = format!("doc={name}");
    server
        .wait_log(&format!("erasure of {name}"), |l| {
            l.contains("untouched document erased") && l.contains(&field)
        })
        .await;
}

/// A short unload grace, long enough for a client to join the document its visit created (at
/// 0 the visit's own room would unload, and erase it, before the join).
fn quick_unload() -> Vec<&'static str> {
    vec!["--admin-token", TOKEN, "--unload-grace-secs", "1"]
}

#[tokio::test]
async fn a_visited_pad_nobody_typed_into_is_gone_after_its_visit() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    assert_eq!(server.get("/p/visit-only").await.0, 200);
    // Joined, so it exists while someone is in it; leaves without typing.
    let client = Client::connect(&server, "visit-only").await;
    assert_eq!(stored(&server, "visit-").await, ["visit-only"]);
    client.close().await;
    wait_erased(&server, "visit-only").await;
    assert!(stored(&server, "visit-").await.is_empty());
    assert_eq!(server.metric("ardoise_stored_documents").await, 0.0);
    // Nothing is left of it: no read-only link, and opening the name again finds nothing.
    let (code, _) = server.get("/open?name=visit-only&lang=en").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn a_visited_calc_holding_only_its_first_sheet_is_gone_after_its_visit() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    assert_eq!(server.get("/c/sheet-only").await.0, 200);
    // What every calc client writes on opening: the fixed first sheet.
    let doc = Doc::new();
    ardoise::doc::calc::schema::ensure_first_sheet(&mut doc.transact_mut());
    let mut client = Client::connect_doc(&server, "sheet-only", doc).await;
    client.push_local().await;
    client.barrier().await;
    client.close().await;
    wait_erased(&server, "sheet-only").await;
    assert!(stored(&server, "sheet-").await.is_empty());
}

#[tokio::test]
async fn a_typed_document_is_kept_through_unload_and_restart() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    assert_eq!(server.get("/p/typed-in").await.0, 200);
    let mut client = Client::connect(&server, "typed-in").await;
    client.insert(0, "x").await;
    client.barrier().await;
    // Emptied again: it was still typed into.
    client
        .edit(|txn, text| yrs::Text::remove_range(text, txn, 0, 1))
        .await;
    client.barrier().await;
    client.close().await;
    server.wait_unloaded("typed-in").await;
    assert_eq!(stored(&server, "typed-").await, ["typed-in"]);
    let server = server.restart().await;
    assert_eq!(stored(&server, "typed-").await, ["typed-in"]);
    let mut again = Client::connect(&server, "typed-in").await;
    again.insert(0, "back").await;
    again.barrier().await;
    again.close().await;
    server.wait_unloaded("typed-in").await;
    assert_eq!(stored(&server, "typed-").await, ["typed-in"]);
}

#[tokio::test]
async fn a_document_asked_for_is_kept_even_if_empty() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    let r = server
        .post_form("/new?lang=en", "name=asked-for&kind=calc&lang=en")
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let client = Client::connect(&server, "asked-for").await;
    client.close().await;
    server.wait_unloaded("asked-for").await;
    assert_eq!(stored(&server, "asked-").await, ["asked-for"]);
}

#[tokio::test]
async fn opening_a_missing_name_offers_to_create_it_and_creates_nothing() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    let mut typed = Client::connect(&server, "sortie-musee").await;
    typed.insert(0, "liste").await;
    typed.barrier().await;
    let (code, page) = server.get("/open?name=sortie-muse&lang=fr").await;
    assert_eq!(code, 404, "{page}");
    assert!(
        page.contains("«\u{a0}sortie-muse\u{a0}» n’existe pas"),
        "{page}"
    );
    // The near name is offered, the form creates through the normal path, in French.
    assert!(page.contains("href=\"/p/sortie-musee?lang=fr\""), "{page}");
    assert!(page.contains("action=\"/new?lang=fr\""), "{page}");
    assert!(page.contains("href=\"/?lang=fr\""), "{page}");
    assert_eq!(stored(&server, "sortie-").await, ["sortie-musee"]);
    let (code, page) = server.get("/open?name=sortie-muse&lang=en").await;
    assert_eq!(code, 404);
    assert!(page.contains("“sortie-muse” does not exist"), "{page}");
    // An existing name opens as before.
    let r = server
        .request("GET", "/open?name=sortie-musee&lang=fr", &[], "")
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/p/sortie-musee?lang=fr"));
}

#[tokio::test]
async fn opening_an_existing_calc_goes_to_the_calc() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    let r = server
        .post_form("/new?lang=en", "name=budget&kind=calc")
        .await;
    assert_eq!(r.status, 303);
    let r = server
        .request("GET", "/open?name=budget&lang=en", &[], "")
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/c/budget?lang=en"));
}

#[tokio::test]
async fn a_bad_name_is_refused_with_what_a_name_may_contain() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    let (code, page) = server.get("/open?name=sortie%20mus%C3%A9e&lang=fr").await;
    assert_eq!(code, 400);
    assert!(page.contains("lettres sans accent"), "{page}");
    let (code, page) = server.get("/open?name=a%2Fb&lang=en").await;
    assert_eq!(code, 400);
    assert!(page.contains("letters without accents"), "{page}");
}

#[tokio::test]
async fn a_calc_page_joining_a_missing_name_creates_a_calc() {
    let server = TestServer::builder().args(&quick_unload()).start().await;
    // What the calc page asks when its calc was erased untyped while it was away.
    let mut client = Client::connect(&server, "rejoined?kind=calc").await;
    client.insert(0, "x").await;
    client.barrier().await;
    let r = server
        .request("GET", "/open?name=rejoined&lang=en", &[], "")
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/c/rejoined?lang=en"));
}
