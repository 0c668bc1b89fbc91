//! `--base-path`: the whole application under a sub-path, as behind a reverse proxy.

use crate::client::Client;
use crate::server::TestServer;

/// Every `href="/…"`, `src="/…"` and `action="/…"` of `page` points under `/pad/`.
fn assert_links_under_base(page: &str) {
    for attr in [
        "href=\"/",
        "src=\"/",
        "action=\"/",
        "data-base=\"/",
        "-base=\"/",
        "-path=\"/",
    ] {
        for (i, _) in page.match_indices(attr) {
            let rest = &page[i + attr.len() - 1..];
            assert!(
                rest.starts_with("/pad/") || rest.starts_with("/pad\""),
                "link outside the base path: {}",
                &rest[..rest.len().min(60)]
            );
        }
    }
}

#[tokio::test]
async fn the_whole_app_lives_under_the_base_path() {
    let server = TestServer::builder()
        .args(&["--base-path", "/pad"])
        .start()
        .await;
    for home in ["/pad/", "/pad", "/pad/?lang=fr"] {
        let (status, page) = server.get(home).await;
        assert_eq!(status, 200, "{home}");
        assert!(page.contains("action=\"/pad/new?lang="), "{page}");
        assert!(page.contains("href=\"/pad/assets/app.css?v="), "{page}");
        assert_links_under_base(&page);
    }
    let (status, page) = server.get("/pad/p/notes").await;
    assert_eq!(status, 200);
    assert!(page.contains("data-base=\"/pad\""), "{page}");
    assert!(
        page.contains("data-export-base=\"/pad/p/notes/export/\""),
        "{page}"
    );
    assert!(page.contains("data-readonly-path=\"/pad/r/"), "{page}");
    assert_links_under_base(&page);
    let css = server.request("GET", "/pad/assets/app.css", &[], "").await;
    assert_eq!(css.status, 200);
    assert_eq!(server.get("/pad/p/notes/qr.svg").await.0, 200);
    assert_eq!(server.get("/pad/healthz").await, (200, "ok".into()));

    // The form redirects inside the base path.
    let r = server.post_form("/pad/new", "name=made").await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The creating browser also gets its creator secret, in the fragment.
    let location = r.header("location").unwrap_or_default();
    assert!(
        location.starts_with("/pad/p/made?lang=en#creator="),
        "{location}"
    );
    let r = server.request("GET", "/pad/open?name=made", &[], "").await;
    assert_eq!(r.header("location"), Some("/pad/p/made?lang=en"));

    // Error pages link home under the base path too.
    let (status, page) = server.get("/pad/nothing-here").await;
    assert_eq!(status, 404);
    assert_links_under_base(&page);

    // Outside the base path there is nothing.
    for outside in [
        "/p/notes",
        "/",
        "/padx",
        "/padding/p/notes",
        "/ws/notes",
        "/healthz",
    ] {
        assert_eq!(server.get(outside).await.0, 404, "{outside}");
    }
}

#[tokio::test]
async fn websocket_sync_works_under_the_base_path() {
    let server = TestServer::builder()
        .args(&["--base-path", "/pad/"])
        .start()
        .await;
    assert!(server.ws_url("doc").contains("/pad/ws/doc"));
    let mut a = Client::connect(&server, "doc").await;
    let mut b = Client::connect(&server, "doc").await;
    a.insert(0, "hello").await;
    b.until("a's edit", |c| c.text() == "hello").await;
    a.barrier().await;
    let (_, page) = server.get("/pad/p/doc").await;
    let token = page
        .split("data-readonly-path=\"/pad/r/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("read-only path");
    let (status, txt) = server.get(&format!("/pad/r/{token}/export/txt")).await;
    assert_eq!((status, txt.as_str()), (200, "hello\n"));
}
