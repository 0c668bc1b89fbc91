//! Pad uploads end to end: the home form makes a pad from a pad file and a calc from a calc file
//! (`.txt` is a pad), `POST /p/{name}/import` replaces a live pad (a connected client sees it,
//! the previous content stays a revision), the API's import, refusals that leave nothing
//! behind (a bad file, a file past the limit, creation closed, a calc's name), old Etherpad
//! links sent on to the pad their id was migrated to, and each format: our own exports imported
//! back read the same, an HTML page says what it left out, Etherpad's own file becomes a pad.

use std::time::Duration;

use ardoise::doc::name::DocName;
use serde_json::Value;

use crate::api::{json, KEY, KEY_SHA256};
use crate::client::Client;
use crate::server::{HttpResponse, TestServer, PATIENCE};

/// How often the revision list is asked again while waiting for a revision to settle.
const POLL: Duration = Duration::from_millis(100);

/// A `multipart/form-data` body with the file `file_name` and, when given, the `name` field.
fn form(name: Option<&str>, file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "ardoisePadImportBoundary3Fz9";
    let mut body = Vec::new();
    if let Some(name) = name {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST path` of an upload form; `json` asks for a JSON answer.
async fn upload(
    server: &TestServer,
    path: &str,
    name: Option<&str>,
    file_name: &str,
    content: &[u8],
    json: bool,
) -> HttpResponse {
    let (content_type, body) = form(name, file_name, content);
    let mut headers = vec![("Content-Type", content_type.as_str())];
    if json {
        headers.push(("Accept", "application/json"));
    }
    server.request_bytes("POST", path, &headers, &body).await
}

/// An API call with a raw body of `content_type`.
async fn api_import(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> HttpResponse {
    let auth = format!("Bearer {KEY}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", content_type),
    ];
    server
        .request_bytes("POST", &format!("/api/v1{path}"), &headers, body)
        .await
}

/// Whether document `name` exists, asked through the API (which never creates).
async fn exists(server: &TestServer, name: &str) -> bool {
    let auth = format!("Bearer {KEY}");
    let r = server
        .request(
            "GET",
            &format!("/api/v1/documents/{name}"),
            &[("Authorization", auth.as_str())],
            "",
        )
        .await;
    match r.status {
        200 => true,
        404 => false,
        other => panic!("unexpected {other}: {}", r.body),
    }
}

fn server_with_key(extra: &[&str]) -> crate::server::Builder {
    let mut args = vec!["--api-key-sha256", KEY_SHA256];
    args.extend_from_slice(extra);
    TestServer::builder().args(&args)
}

#[tokio::test]
async fn the_home_form_makes_a_pad_from_text_and_a_calc_from_csv() {
    let server = server_with_key(&[]).start().await;
    let r = upload(
        &server,
        "/import?lang=fr",
        Some("notes"),
        "Notes.TXT",
        "Première ligne\nDeuxième, avec une virgule\n".as_bytes(),
        false,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/p/notes?lang=fr"));
    let text = server.get("/p/notes/export/txt").await.1;
    assert!(
        text.contains("Première ligne\nDeuxième, avec une virgule"),
        "{text:?}"
    );

    // A calc file is still a calc.
    let r = upload(&server, "/import", Some("table"), "t.csv", b"a,1\n", false).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/c/table?")),
        "{:?}",
        r.header("location")
    );
    assert_eq!(server.get("/c/table/export/csv").await.1, "a,1\r\n");

    // Without a name, a random one.
    let r = upload(&server, "/import", None, "x.txt", b"hello", false).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.header("location").is_some_and(|l| l.starts_with("/p/")));

    // A file that is neither is refused with the accepted extensions, and nothing is made.
    let r = upload(
        &server,
        "/import",
        Some("photo"),
        "photo.png",
        b"\x89PNG",
        false,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains(".txt") && r.body.contains(".docx") && r.body.contains(".ods"),
        "{}",
        r.body
    );
    assert!(!exists(&server, "photo").await);

    // A pad file given a calc's name, or the other way round: refused, nothing changed.
    let r = upload(&server, "/import", Some("table"), "t.txt", b"text", true).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(server.get("/c/table/export/csv").await.1, "a,1\r\n");
    let r = upload(&server, "/import", Some("notes"), "t.csv", b"b,2\n", true).await;
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test]
async fn a_bad_or_too_large_file_creates_nothing() {
    let server = server_with_key(&["--max-import-bytes", "64"]).start().await;
    let invalid = b"ok \xc3\x28 no";
    let r = upload(&server, "/import", Some("broken"), "b.txt", invalid, false).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("UTF-8"), "{}", r.body);
    assert!(!exists(&server, "broken").await);
    let r = upload(&server, "/p/broken/import", None, "b.txt", invalid, true).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let answer: Value = serde_json::from_slice(&r.bytes).expect("JSON");
    assert_eq!(answer["error"], "bad_file", "{answer}");
    assert!(!exists(&server, "broken").await);

    let big = vec![b'a'; 100];
    let r = upload(&server, "/import", Some("big"), "big.txt", &big, false).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("import limit of 64 bytes"), "{}", r.body);
    assert!(!exists(&server, "big").await);
    let r = upload(&server, "/p/big/import", None, "big.txt", &big, true).await;
    assert_eq!(r.status, 413, "{}", r.body);
    let answer: Value = serde_json::from_slice(&r.bytes).expect("JSON");
    assert_eq!(answer["error"], "too_large", "{answer}");
    assert!(!exists(&server, "big").await);
    let r = api_import(
        &server,
        "/documents/big/import?format=txt&create=true",
        "text/plain",
        &big,
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(!exists(&server, "big").await);

    // A pad route given a file that is no pad format names the ones it takes.
    let r = upload(&server, "/p/sheet/import", None, "s.csv", b"a,1", true).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(".md"), "{}", r.body);
    assert!(!exists(&server, "sheet").await);
}

#[tokio::test]
async fn while_creation_is_closed_an_import_creates_nothing() {
    let server = server_with_key(&["--shedding-mode", "closed"])
        .start()
        .await;
    let r = upload(&server, "/import", Some("shed"), "a.txt", b"text", false).await;
    assert_eq!(r.status, 503, "{}", r.body);
    let r = upload(&server, "/p/shed/import", None, "a.txt", b"text", true).await;
    assert_eq!(r.status, 503, "{}", r.body);
    let answer: Value = serde_json::from_slice(&r.bytes).expect("JSON");
    assert_eq!(answer["error"], "creation_closed", "{answer}");
    let r = api_import(
        &server,
        "/documents/shed/import?create=true",
        "text/plain",
        b"text",
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(json(&r)["error"], "creation_closed");
    assert!(!exists(&server, "shed").await);
}

/// The revisions of pad `name` as `/p/{name}/history` lists them.
async fn revisions(server: &TestServer, name: &str) -> Vec<u64> {
    let r = server
        .request("GET", &format!("/p/{name}/history"), &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .filter_map(|v| v["rev"].as_u64())
        .collect()
}

/// The revisions of pad `name` once `pred` holds for them (a revision settles after a second
/// without edits, which no event tells a test: the list is read again until then).
async fn settled(server: &TestServer, name: &str, pred: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let revs = revisions(server, name).await;
            if pred(&revs) {
                return revs;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await
    .expect("the revisions settle")
}

#[tokio::test]
async fn a_live_pad_is_replaced_and_its_previous_content_stays_a_revision() {
    let server = TestServer::start().await;
    let mut live = Client::connect(&server, "cours").await;
    live.insert(0, "Ancien texte de la leçon").await;
    live.barrier().await;

    let r = upload(
        &server,
        "/p/cours/import",
        None,
        "lecon.txt",
        "Nouvelle leçon\nDeuxième ligne".as_bytes(),
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = json(&r);
    let rev = answer["rev"].as_u64().expect("rev");
    assert_eq!(
        answer["dropped"],
        serde_json::json!({"images": 0, "links": 0, "other": 0})
    );
    live.until("the imported text", |c| c.text().contains("Nouvelle leçon"))
        .await;
    assert!(!live.text().contains("Ancien"), "{:?}", live.text());

    // The content before the import is a revision of its own, and reads as it was.
    let listed = settled(&server, "cours", |revs| revs.iter().any(|&r| r < rev)).await;
    let before = listed.into_iter().find(|&r| r < rev).expect("listed");
    let (status, old) = server
        .get(&format!("/p/cours/history/{before}/export/txt"))
        .await;
    assert_eq!(status, 200, "{old}");
    assert!(old.contains("Ancien texte de la leçon"), "{old:?}");

    // A read-only link has no import.
    let page = server.get("/p/cours").await.1;
    let read_only = page
        .split("data-readonly-path=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the read-only link")
        .to_owned();
    let r = upload(
        &server,
        &format!("{read_only}/import"),
        None,
        "a.txt",
        b"no",
        true,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // A plain form gets the pad back.
    let r = upload(
        &server,
        "/p/cours/import?lang=en",
        None,
        "a.txt",
        b"again",
        false,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/p/cours?lang=en"));
    live.until("the second import", |c| c.text().contains("again"))
        .await;
}

#[tokio::test]
async fn the_api_imports_a_file_into_a_pad_and_creates_it_when_asked() {
    let server = server_with_key(&[]).start().await;
    let path = "/documents/depuis-api/import";
    let r = api_import(&server, &format!("{path}?format=txt"), "text/plain", b"un").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(!exists(&server, "depuis-api").await);

    let r = api_import(
        &server,
        &format!("{path}?create=true&lifetime=7d"),
        "text/plain",
        b"un",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let answer = json(&r);
    assert_eq!(answer["created"], true);
    assert_eq!(answer["name"], "depuis-api");
    assert!(answer["rev"].is_u64(), "{answer}");

    let r = api_import(
        &server,
        &format!("{path}?format=txt"),
        "application/octet-stream",
        "deux\ntrois".as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["created"], false);
    let auth = format!("Bearer {KEY}");
    let text = server
        .request(
            "GET",
            "/api/v1/documents/depuis-api/text",
            &[("Authorization", auth.as_str())],
            "",
        )
        .await;
    assert!(
        json(&text)["text"]
            .as_str()
            .is_some_and(|t| t.contains("deux\ntrois") && !t.contains("un")),
        "{}",
        text.body
    );

    // The format must be said, and known.
    let r = api_import(&server, path, "application/octet-stream", b"x").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(json(&r)["message"]
        .as_str()
        .is_some_and(|m| m.contains("docx")));
    let r = api_import(&server, &format!("{path}?format=pdf"), "text/plain", b"x").await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Without the key, nothing.
    let r = server
        .request_bytes(
            "POST",
            &format!("/api/v1{path}?format=txt"),
            &[("Content-Type", "text/plain")],
            b"x",
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    // A calc is not a pad.
    let r = upload(
        &server,
        "/import",
        Some("une-table"),
        "t.csv",
        b"a,1\n",
        false,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = api_import(&server, "/documents/une-table/import", "text/plain", b"x").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(json(&r)["error"], "wrong_kind");
}

#[tokio::test]
async fn old_etherpad_links_lead_to_the_migrated_pad() {
    let server = server_with_key(&[]).start().await;
    let migrated = DocName::foreign("Réunion 2020").expect("a name");
    let r = upload(
        &server,
        "/import",
        Some(migrated.as_str()),
        "r.txt",
        b"compte rendu",
        false,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);

    let old = "/p/R%C3%A9union%202020";
    let r = server
        .request("GET", &format!("{old}?lang=fr"), &[], "")
        .await;
    assert_eq!(r.status, 301, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("/p/{migrated}?lang=fr").as_str())
    );
    let r = server
        .request("GET", &format!("{old}/export/txt"), &[], "")
        .await;
    assert_eq!(r.status, 301, "{}", r.body);
    let to = r.header("location").expect("location").to_owned();
    assert_eq!(to, format!("/p/{migrated}/export/txt"));
    let (status, text) = server.get(&to).await;
    assert_eq!(status, 200);
    assert!(text.contains("compte rendu"), "{text:?}");

    // An id nobody migrated is the usual invalid name, and creates nothing.
    let r = server
        .request("GET", "/p/Autre%20r%C3%A9union", &[], "")
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let never = DocName::foreign("Autre réunion").expect("a name");
    assert!(!exists(&server, never.as_str()).await);
}

/// Etherpad's own test file (tests/fixtures/etherpad/README.md): one bulleted line `hello`.
const TEST_ETHERPAD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/etherpad/test.etherpad"
);

#[tokio::test]
async fn an_etherpad_export_becomes_a_pad_by_the_form_and_the_api() {
    let server = server_with_key(&[]).start().await;
    let file = std::fs::read(TEST_ETHERPAD).expect("the fixture");
    let r = upload(
        &server,
        "/import",
        Some("migre"),
        "Pd4b1.etherpad",
        &file,
        false,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r
        .header("location")
        .is_some_and(|l| l.starts_with("/p/migre?")));
    let (status, text) = server.get("/p/migre/export/md").await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("- hello") || text.contains("* hello"),
        "{text:?}"
    );
    // The import is a revision of the new pad's history.
    settled(&server, "migre", |revs| !revs.is_empty()).await;

    // The same file through the API, and a broken one refused without a pad.
    let r = api_import(
        &server,
        "/documents/migre-api/import?format=etherpad&create=true",
        "application/json",
        &file,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api_import(
        &server,
        "/documents/casse/import?format=etherpad&create=true",
        "application/json",
        &file[..file.len() / 2],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!exists(&server, "casse").await);
}

/// A pad written by a client with a heading, bold and italic, both kinds of list and a link.
async fn formatted_pad(server: &TestServer, name: &str) -> Client {
    use yrs::types::Attrs;
    use yrs::{Any, Text};
    let attrs = |pairs: &[(&str, Any)]| -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (std::sync::Arc::from(*k), v.clone()))
            .collect()
    };
    let mut live = Client::connect(server, name).await;
    let pieces: Vec<(&str, Attrs)> = vec![
        ("Leçon de choses", attrs(&[])),
        ("\n", attrs(&[("header", 1.into())])),
        ("Les plantes", attrs(&[])),
        ("\n", attrs(&[("header", 2.into())])),
        ("Du texte ", attrs(&[])),
        ("gras", attrs(&[("bold", true.into())])),
        (" et ", attrs(&[])),
        ("penché", attrs(&[("italic", true.into())])),
        (", un ", attrs(&[])),
        ("lien", attrs(&[("link", "https://example.org/".into())])),
        (".\n", attrs(&[])),
        ("la racine", attrs(&[])),
        ("\n", attrs(&[("list", "bullet".into())])),
        ("la tige", attrs(&[])),
        ("\n", attrs(&[("list", "bullet".into())])),
        ("semer", attrs(&[])),
        ("\n", attrs(&[("list", "ordered".into())])),
        ("arroser", attrs(&[])),
        ("\n", attrs(&[("list", "ordered".into())])),
        ("Fin 🌱", attrs(&[])),
        ("\n", attrs(&[])),
    ];
    live.edit(|txn, text| {
        for (s, a) in pieces {
            let end = text.len(txn);
            text.insert_with_attributes(txn, end, s, a);
        }
    })
    .await;
    live.barrier().await;
    live
}

/// The Markdown export of pad `name`, without the authors list.
async fn markdown_of(server: &TestServer, name: &str) -> String {
    let (status, md) = server.get(&format!("/p/{name}/export/md?authors=0")).await;
    assert_eq!(status, 200, "{md}");
    md
}

/// Our own `format` export of a formatted pad, imported into a new pad, reads the same.
async fn round_trip(format: &str) {
    let server = TestServer::start().await;
    let source = format!("source-{format}");
    let _live = formatted_pad(&server, &source).await;
    let file = server
        .request(
            "GET",
            &format!("/p/{source}/export/{format}?colors=0"),
            &[],
            "",
        )
        .await;
    assert_eq!(file.status, 200, "{}", file.body);
    let target = format!("from-{format}");
    let r = upload(
        &server,
        &format!("/p/{target}/import"),
        None,
        &format!("lecon.{format}"),
        &file.bytes,
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let expected = markdown_of(&server, &source).await;
    assert!(
        expected.contains("# Leçon de choses") && expected.contains("**gras**"),
        "{expected}"
    );
    assert_eq!(markdown_of(&server, &target).await, expected, "{format}");
}

#[tokio::test]
async fn our_own_markdown_export_imports_back_the_same() {
    round_trip("md").await;
}

#[tokio::test]
async fn our_own_html_export_imports_back_the_same() {
    round_trip("html").await;
}

#[tokio::test]
async fn html_with_an_image_and_a_script_says_what_it_left_out() {
    let server = TestServer::start().await;
    let page = "<!doctype html><h1>Titre</h1><p>Un <b>mot</b> <img src=\"x.png\" alt=\"\"> \
                <a href=\"javascript:alert(1)\">lien</a></p><script>alert(1)</script>";
    let r = upload(
        &server,
        "/p/page/import",
        None,
        "page.html",
        page.as_bytes(),
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = json(&r);
    assert_eq!(answer["dropped"]["images"], 1, "{answer}");
    assert_eq!(answer["dropped"]["links"], 1, "{answer}");
    let md = markdown_of(&server, "page").await;
    assert!(md.contains("# Titre") && md.contains("**mot**"), "{md}");
    assert!(!md.contains("alert") && !md.contains("javascript"), "{md}");
}
