//! Pages served by the binary: home, creation, pad and read-only shells, QR codes.

use crate::client::Client;
use crate::server::TestServer;

/// The value of `data-{attr}="…"` in a page.
fn data_attr(page: &str, attr: &str) -> Option<String> {
    let key = format!("data-{attr}=\"");
    let start = page.find(&key)? + key.len();
    Some(page[start..].split('"').next()?.to_owned())
}

#[tokio::test]
async fn home_offers_creation_and_is_locked_down() {
    let server = TestServer::builder()
        .args(&[
            "--retention-choices",
            "7d,30d",
            "--retention-default",
            "30d",
        ])
        .start()
        .await;
    let r = server
        .request("GET", "/", &[("Accept-Language", "fr-FR,fr;q=0.9")], "")
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("<html lang=\"fr\">"),
        "French from Accept-Language"
    );
    assert!(r
        .body
        .contains("<option value=\"30d\" selected>30 jours</option>"));
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(server.get("/?lang=en").await.1.contains("Create a pad"));
}

#[tokio::test]
async fn creating_a_pad_redirects_to_it_with_its_retention() {
    let server = TestServer::start().await;
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = server
        .request("POST", "/new", &form, "name=maths-5b&lifetime=7d")
        .await;
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .is_some_and(|l| l.starts_with("/p/maths-5b")));
    let r = server
        .request("POST", "/new", &form, "name=&lifetime=30d")
        .await;
    assert_eq!(r.status, 303);
    let location = r.header("location").expect("location");
    let random = location
        .trim_start_matches("/p/")
        .split('?')
        .next()
        .expect("name");
    assert!(random.len() >= 10, "random name {random}");
    let r = server
        .request("POST", "/new", &form, "name=x&lifetime=8d")
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("`8d` is not one of the retention times this server offers"),
        "{}",
        r.body
    );
    let r = server
        .request("POST", "/new", &form, "name=bad%20name&lifetime=7d")
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("1 to 100 characters"), "{}", r.body);
}

#[tokio::test]
async fn pad_page_is_a_nonced_shell_with_share_links() {
    let server = TestServer::start().await;
    let r = server.request("GET", "/p/shell-test", &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let csp = r.header("content-security-policy").expect("CSP").to_owned();
    let nonce = r
        .body
        .split("name=\"csp-nonce\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("nonce meta");
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    assert_eq!(data_attr(&r.body, "room").as_deref(), Some("shell-test"));
    assert_eq!(data_attr(&r.body, "readonly").as_deref(), Some("false"));
    let ro = data_attr(&r.body, "readonly-path").expect("read-only link");
    let token = ro.trim_start_matches("/r/");
    assert_eq!(token.len(), 32, "128-bit token as hex");
    // The same pad keeps the same link; a fresh nonce every time.
    let again = server.request("GET", "/p/shell-test", &[], "").await;
    assert_eq!(data_attr(&again.body, "readonly-path"), Some(ro.clone()));
    assert_ne!(again.header("content-security-policy"), Some(csp.as_str()));
    let qr = server.request("GET", "/p/shell-test/qr.svg", &[], "").await;
    assert_eq!(qr.header("content-type"), Some("image/svg+xml"));
    assert!(qr.body.contains("<svg"));
}

#[tokio::test]
async fn read_only_link_shows_the_pad_without_its_name_and_drops_edits() {
    let server = TestServer::start().await;
    let page = server.get("/p/secret-name").await.1;
    let ro = data_attr(&page, "readonly-path").expect("read-only link");
    let mut writer = Client::connect(&server, "secret-name").await;
    writer.insert(0, "original").await;
    writer.barrier().await;

    let ro_page = server.get(&ro).await;
    assert_eq!(ro_page.0, 200);
    assert!(
        !ro_page.1.contains("secret-name"),
        "the read-only page must not reveal the name"
    );
    assert_eq!(data_attr(&ro_page.1, "readonly").as_deref(), Some("true"));
    let room = data_attr(&ro_page.1, "room").expect("room");

    let mut reader = Client::connect(&server, &room).await;
    assert_eq!(reader.text(), "original");
    reader.insert(0, "vandal ").await;
    reader
        .send_awareness(4242, 1, Some(r#"{"user":{"name":"reader"}}"#))
        .await;
    writer
        .until("reader's presence", |c| {
            c.live_awareness().contains_key(&4242)
        })
        .await;
    reader.barrier().await;
    writer.barrier().await;
    assert_eq!(writer.text(), "original", "read-only edits are dropped");
    writer.insert(8, "!").await;
    reader
        .until("writer's edit", |c| c.text().ends_with('!'))
        .await;

    assert_eq!(
        server.get("/r/00000000000000000000000000000000").await.0,
        404
    );
    assert_eq!(server.get("/r/not-a-token").await.0, 404);
    let qr = server
        .request("GET", &format!("{ro}/qr.svg"), &[], "")
        .await;
    assert!(qr.body.contains("<svg"));
}

#[tokio::test]
async fn bad_names_and_unknown_routes_get_explaining_pages() {
    let server = TestServer::start().await;
    let r = server
        .request("GET", "/p/%3Cscript%3E", &[("Accept-Language", "en")], "")
        .await;
    assert_eq!(r.status, 400);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    assert!(r.body.contains("1 to 100 characters"));
    assert!(!r.body.contains("<script>"));
    let r = server
        .request("GET", "/nowhere", &[("Accept-Language", "fr")], "")
        .await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Page introuvable"));
    // A missing name is offered for creation, not created (tests/it/opening.rs).
    let r = server.request("GET", "/open?name=ok-name", &[], "").await;
    assert_eq!(r.status, 404);
}
