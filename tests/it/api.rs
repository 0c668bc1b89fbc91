//! The HTTP API end to end: every call, its errors, live editors seeing API edits, the OpenAPI
//! document against the running server, and a backup that restores.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::client::Client;
use crate::server::{Builder, HttpResponse, TestServer};

/// The key the test servers accept, and its SHA-256 (`printf %s secret | sha256sum`).
pub(crate) const KEY: &str = "secret";
pub(crate) const KEY_SHA256: &str =
    "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

async fn api_server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--api-key-sha256", KEY_SHA256];
    args.extend_from_slice(extra);
    TestServer::builder().args(&args).start().await
}

/// One API call with the key; JSON body when `body` is not empty.
pub(crate) async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    body: &str,
) -> HttpResponse {
    let auth = format!("Bearer {KEY}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    server
        .request(method, &format!("/api/v1{path}"), &headers, body)
        .await
}

/// The response's body as JSON.
pub(crate) fn json(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.bytes)
        .unwrap_or_else(|e| panic!("JSON body expected ({e}): {}", r.body))
}

/// Asserts an API error: status, JSON code, and a message.
fn assert_error(r: &HttpResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = json(r);
    assert_eq!(v["error"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

#[tokio::test]
async fn every_call_works_end_to_end() {
    let server = api_server(&[
        "--retention-choices",
        "1d,7d,30d",
        "--retention-default",
        "7d",
    ])
    .await;

    // Create: named, random, calc.
    let r = call(
        &server,
        "POST",
        "/documents",
        r#"{"name":"minutes","lifetime":"30d"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = json(&r);
    assert_eq!(doc["name"], "minutes");
    assert_eq!(doc["kind"], "pad");
    assert_eq!(doc["lifetime"], "30d");
    assert!(doc["url"].as_str().expect("url").ends_with("/p/minutes"));
    let r = call(&server, "POST", "/documents", "{}").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let random = json(&r)["name"].as_str().expect("name").to_owned();
    assert_eq!(random.len(), 16);
    assert_eq!(json(&r)["lifetime"], "7d", "the default lifetime");
    let r = call(&server, "GET", &format!("/documents/{random}/text"), "").await;
    assert_eq!(
        (r.status, json(&r)["text"].as_str()),
        (200, Some("")),
        "a new pad is empty"
    );
    let r = call(
        &server,
        "POST",
        "/documents",
        r#"{"name":"sheet","kind":"calc"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["kind"], "calc");

    // Text: set, append, get; HTML.
    let r = call(
        &server,
        "PUT",
        "/documents/minutes/text",
        r#"{"text":"Agenda\n"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&r)["last_edit"].as_u64().is_some());
    let r = call(
        &server,
        "POST",
        "/documents/minutes/append",
        r#"{"text":"Budget <ok>\n"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&server, "GET", "/documents/minutes/text", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["text"], "Agenda\nBudget <ok>\n");
    let r = call(&server, "GET", "/documents/minutes/html", "").await;
    assert_eq!(r.status, 200);
    let html = json(&r)["html"].as_str().expect("html").to_owned();
    assert!(html.contains("Budget &lt;ok&gt;"), "{html}");

    // Exports with their content types.
    for (format, content_type, starts) in [
        ("txt", "text/plain; charset=utf-8", &b"Agenda"[..]),
        ("md", "text/markdown; charset=utf-8", b"Agenda"),
        ("html", "text/html; charset=utf-8", b"<!"),
        ("odt", "application/vnd.oasis.opendocument.text", b"PK"),
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK",
        ),
    ] {
        let r = call(
            &server,
            "GET",
            &format!("/documents/minutes/export/{format}"),
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{format}: {}", r.body);
        assert_eq!(r.header("content-type"), Some(content_type), "{format}");
        assert!(r.bytes.starts_with(starts), "{format}");
    }

    // Metadata, last edit, read-only link (which works).
    let r = call(&server, "GET", "/documents/minutes", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["lifetime"], "30d");
    let r = call(&server, "GET", "/documents/minutes/last-edited", "").await;
    assert_eq!(r.status, 200);
    assert!(json(&r)["last_edit"].as_u64().is_some_and(|t| t > 0));
    let r = call(&server, "GET", "/documents/minutes/read-only-link", "").await;
    assert_eq!(r.status, 200);
    let link = json(&r)["url"].as_str().expect("url").to_owned();
    let path = link
        .strip_prefix(&format!("http://{}", server.addr))
        .expect("link on this server");
    assert_eq!(server.get(path).await.0, 200);
    assert!(!link.contains("minutes"));

    // Stats.
    let r = call(&server, "GET", "/stats", "").await;
    assert_eq!(r.status, 200);
    let stats = json(&r);
    assert_eq!(stats["creation"], "open");
    assert!(stats["documents_live"].as_u64().is_some());
    assert!(stats["connections"].as_u64().is_some());

    // Delete; the document is gone.
    let r = call(&server, "DELETE", "/documents/minutes?reason=closed", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_error(
        &call(&server, "GET", "/documents/minutes", "").await,
        404,
        "not_found",
    );
    assert_error(
        &call(&server, "DELETE", "/documents/minutes", "").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let server = api_server(&["--api-max-body-bytes", "1024"]).await;
    assert_eq!(
        call(&server, "POST", "/documents", r#"{"name":"doc"}"#)
            .await
            .status,
        201
    );
    // Missing and wrong keys.
    let r = server.request("GET", "/api/v1/stats", &[], "").await;
    assert_error(&r, 401, "unauthorized");
    assert!(r.header("www-authenticate").is_some());
    let r = server
        .request(
            "GET",
            "/api/v1/stats",
            &[("Authorization", "Bearer secreT")],
            "",
        )
        .await;
    assert_error(&r, 401, "unauthorized");
    // Bad names, unknown documents, wrong kind.
    assert_error(
        &call(&server, "GET", "/documents/a%20b/text", "").await,
        400,
        "bad_name",
    );
    assert_error(
        &call(&server, "POST", "/documents", r#"{"name":"a b"}"#).await,
        400,
        "bad_name",
    );
    assert_error(
        &call(&server, "GET", "/documents/nope/text", "").await,
        404,
        "not_found",
    );
    assert_error(
        &call(&server, "PUT", "/documents/nope/text", r#"{"text":"x"}"#).await,
        404,
        "not_found",
    );
    call(
        &server,
        "POST",
        "/documents",
        r#"{"name":"grid","kind":"calc"}"#,
    )
    .await;
    assert_error(
        &call(&server, "GET", "/documents/grid/text", "").await,
        409,
        "wrong_kind",
    );
    // A calc exports in the calc formats.
    let r = call(&server, "GET", "/documents/grid/export/xlsx", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.bytes.starts_with(b"PK"), "an XLSX package");
    assert_eq!(
        call(&server, "GET", "/documents/grid/export/csv", "")
            .await
            .status,
        200
    );
    assert_error(
        &call(&server, "GET", "/documents/grid/export/docx", "").await,
        404,
        "unknown_format",
    );
    assert_error(
        &call(&server, "POST", "/documents/grid/append", r#"{"text":"x"}"#).await,
        409,
        "wrong_kind",
    );
    assert_error(
        &call(&server, "POST", "/documents", r#"{"name":"doc"}"#).await,
        409,
        "exists",
    );
    // Bad bodies and parameters.
    assert_error(
        &call(&server, "PUT", "/documents/doc/text", r#"{"txt":"x"}"#).await,
        400,
        "bad_request",
    );
    assert_error(
        &call(&server, "POST", "/documents", r#"{"lifetime":"2d"}"#).await,
        400,
        "bad_request",
    );
    assert_error(
        &call(&server, "GET", "/documents/doc/export/pdf", "").await,
        404,
        "unknown_format",
    );
    assert_error(
        &call(&server, "GET", "/documents?limit=0", "").await,
        400,
        "bad_request",
    );
    // Oversize body.
    let big = format!(r#"{{"text":"{}"}}"#, "x".repeat(2000));
    assert_error(
        &call(&server, "PUT", "/documents/doc/text", &big).await,
        413,
        "body_too_large",
    );
    // Unknown endpoint.
    assert_error(
        &call(&server, "GET", "/nothing", "").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn without_a_key_the_api_does_not_exist() {
    let server = TestServer::start().await;
    let r = server
        .request("GET", "/api/v1/stats", &[("Authorization", "Bearer x")], "")
        .await;
    assert_error(&r, 404, "not_found");
    assert_eq!(server.get("/api/v1/openapi.json").await.0, 404);
}

#[tokio::test]
async fn creation_closed_is_503_with_retry_after() {
    let server = api_server(&["--shedding-mode", "closed"]).await;
    let r = call(&server, "POST", "/documents", r#"{"name":"later"}"#).await;
    assert_error(&r, 503, "creation_closed");
    assert!(r.header("retry-after").is_some());
    let r = call(&server, "GET", "/stats", "").await;
    assert_eq!(json(&r)["creation"], "closed");
}

#[tokio::test]
async fn a_live_editor_sees_api_edits_at_once() {
    let server = api_server(&[]).await;
    assert_eq!(
        call(&server, "POST", "/documents", r#"{"name":"live"}"#)
            .await
            .status,
        201
    );
    let mut editor = Client::connect(&server, "live").await;
    editor.insert(0, "typed\n").await;
    editor.barrier().await;

    let r = call(
        &server,
        "POST",
        "/documents/live/append",
        r#"{"text":"appended\n"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    editor
        .until("the appended text", |c| c.text() == "typed\nappended\n")
        .await;

    let r = call(
        &server,
        "PUT",
        "/documents/live/text",
        r#"{"text":"typed\nreplaced\n"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    editor
        .until("the replaced text", |c| c.text() == "typed\nreplaced\n")
        .await;

    // The editor's own edits still merge after the API's.
    editor.insert(0, ">").await;
    editor.barrier().await;
    let r = call(&server, "GET", "/documents/live/text", "").await;
    assert_eq!(json(&r)["text"], ">typed\nreplaced\n");

    // A delete through the API disconnects the editor with the reason.
    let r = call(
        &server,
        "DELETE",
        "/documents/live?reason=gone%20for%20good",
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let frame = editor.closed_by_server().await.expect("close frame");
    assert_eq!(u16::from(frame.code), 4410);
    assert_eq!(frame.reason.as_str(), "gone for good");
}

#[tokio::test]
async fn list_pages_with_a_cursor_and_a_prefix() {
    let server = api_server(&[]).await;
    for name in ["a1", "a2", "a3", "a4", "a5", "b1"] {
        let body = format!(r#"{{"name":"{name}"}}"#);
        assert_eq!(call(&server, "POST", "/documents", &body).await.status, 201);
    }
    let mut seen = Vec::new();
    let mut path = "/documents?prefix=a&limit=2".to_owned();
    for _ in 0..10 {
        let v = json(&call(&server, "GET", &path, "").await);
        for d in v["documents"].as_array().expect("documents") {
            assert!(d["bytes"].as_u64().is_some());
            seen.push(d["name"].as_str().expect("name").to_owned());
        }
        match v["next"].as_str() {
            Some(next) => path = format!("/documents?prefix=a&limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["a1", "a2", "a3", "a4", "a5"]);
    let all = json(&call(&server, "GET", "/documents", "").await);
    assert_eq!(all["documents"].as_array().expect("documents").len(), 6);
    assert!(all["next"].is_null());
}

#[tokio::test]
async fn every_documented_path_answers() {
    let server = api_server(&[]).await;
    call(&server, "POST", "/documents", r#"{"name":"probe"}"#).await;
    let r = server.get("/api/v1/openapi.json").await;
    assert_eq!(r.0, 200);
    let doc: Value = serde_json::from_str(&r.1).expect("OpenAPI JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 10);
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            let concrete = path.replace("{name}", "probe").replace("{format}", "txt");
            let body = match method.as_str() {
                "put" | "post" if concrete.contains("probe") => r#"{"text":"x"}"#,
                "post" if concrete == "/documents" => "{}",
                _ => "",
            };
            // Deleting last would hide the others; probe it on its own document.
            let concrete = if method == "delete" {
                call(&server, "POST", "/documents", r#"{"name":"doomed"}"#).await;
                concrete.replace("probe", "doomed")
            } else {
                concrete
            };
            let r = call(&server, &method.to_uppercase(), &concrete, body).await;
            assert!(
                r.status != 404 && r.status != 405 && r.status < 500,
                "{method} {path}: {} {}",
                r.status,
                r.body
            );
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn a_backup_taken_while_running_restores() {
    backup_taken_while_running_restores(TestServer::builder()).await;
}

/// A backup taken through the API while a client edits holds every document, its history and
/// read-only link, and a server with the default engine starts on it (`store_engines.rs` takes
/// one of a sled server).
pub(crate) async fn backup_taken_while_running_restores(builder: Builder) {
    let server = builder
        .args(&[
            "--api-key-sha256",
            KEY_SHA256,
            "--compact-after-updates",
            "2",
        ])
        .start()
        .await;
    call(&server, "POST", "/documents", r#"{"name":"kept"}"#).await;
    let mut editor = Client::connect(&server, "kept").await;
    for i in 0..5 {
        editor.insert(0, &format!("{i}")).await;
        editor.barrier().await;
    }
    let r = call(
        &server,
        "POST",
        "/documents/kept/append",
        r#"{"text":"\nend"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    call(
        &server,
        "POST",
        "/documents",
        r#"{"name":"empty","kind":"calc"}"#,
    )
    .await;
    let token = json(&call(&server, "GET", "/documents/kept/read-only-link", "").await)["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let r = call(&server, "POST", "/backup", "").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let report = json(&r);
    assert_eq!(report["documents"], 2);
    // Edits after the backup are not in it.
    call(
        &server,
        "POST",
        "/documents/kept/append",
        r#"{"text":"later"}"#,
    )
    .await;

    let restored_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    copy_dir(
        Path::new(report["path"].as_str().expect("path")),
        restored_dir.path(),
    );
    let restored = TestServer::builder()
        .data(restored_dir)
        .args(&["--api-key-sha256", KEY_SHA256])
        .start()
        .await;
    let r = call(&restored, "GET", "/documents/kept/text", "").await;
    assert_eq!(
        json(&r)["text"],
        "43210\nend\n",
        "the txt export ends lines"
    );
    let r = call(&restored, "GET", "/documents/empty", "").await;
    assert_eq!(json(&r)["kind"], "calc");
    assert_eq!(restored.get(&format!("/r/{token}")).await.0, 200);
}
