//! Export downloads over HTTP, from the editable and the read-only links.

use yrs::types::Attrs;
use yrs::{Any, Text};

use crate::client::Client;
use crate::server::TestServer;

#[tokio::test]
async fn exports_download_with_type_and_filename() {
    let server = TestServer::start().await;
    let mut c = Client::connect(&server, "report").await;
    c.edit(|txn, t| {
        t.insert_with_attributes(
            txn,
            0,
            "Title",
            Attrs::from([("bold".into(), Any::Bool(true))]),
        );
        t.insert(txn, 5, "\nbody été 漢字\n");
    })
    .await;
    c.barrier().await;

    let txt = server.request("GET", "/p/report/export/txt", &[], "").await;
    assert_eq!(txt.status, 200);
    assert_eq!(
        txt.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        txt.header("content-disposition"),
        Some("attachment; filename=\"report.txt\"")
    );
    assert!(
        txt.body.contains("Title") && txt.body.contains("body été 漢字"),
        "{}",
        txt.body
    );

    for (ext, magic) in [
        ("odt", &b"PK"[..]),
        ("docx", &b"PK"[..]),
        ("html", &b"<!"[..]),
    ] {
        let r = server
            .request("GET", &format!("/p/report/export/{ext}?colors=0"), &[], "")
            .await;
        assert_eq!(r.status, 200, "{ext}");
        assert!(r.bytes.starts_with(magic), "{ext} starts with {magic:?}");
    }
    let md = server.request("GET", "/p/report/export/md", &[], "").await;
    assert!(md.body.contains("**Title**"), "{}", md.body);
}

#[tokio::test]
async fn unknown_formats_and_documents_are_404_without_echo() {
    let server = TestServer::start().await;
    let mut c = Client::connect(&server, "doc").await;
    c.insert(0, "x").await;
    c.barrier().await;
    let r = server
        .request(
            "GET",
            "/p/doc/export/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(!r.body.contains("<script>") && !r.body.contains("alert(1)"));
    assert!(r.body.contains("txt, md, html, odt, docx"), "{}", r.body);
    assert_eq!(server.get("/p/never-written/export/txt").await.0, 404);
}

#[tokio::test]
async fn read_only_exports_do_not_reveal_the_name() {
    let server = TestServer::start().await;
    let page = server.get("/p/hidden-name").await.1;
    let ro = page
        .split("data-readonly-path=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("read-only link")
        .to_owned();
    let mut c = Client::connect(&server, "hidden-name").await;
    c.insert(0, "shared text").await;
    c.barrier().await;
    let r = server
        .request("GET", &format!("{ro}/export/docx"), &[], "")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"pad.docx\"")
    );
}
