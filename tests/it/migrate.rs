//! `ardoise migrate etherpad` as an operator runs it: the real binary against a stub Etherpad
//! (its `listAllPads` API and `/p/{id}/export/etherpad` route, served from files the test
//! writes) or a directory of `.etherpad` files, then the real server on the data directory it
//! filled.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::server::{TestServer, BINARY, PATIENCE};

/// The stub's API key.
const KEY: &str = "s3cret-key";

/// A pad id that is an ardoise name as it is.
const PLAIN: &str = "plain-pad";

/// A pad id that is not: it lands under `DocName::foreign`'s name for it.
const FOREIGN: &str = "réunion du lundi";

/// A pad whose export is not an Etherpad file.
const BROKEN: &str = "broken";

/// The pad of Etherpad's own test file: one bulleted line `hello` by one author.
const REAL: &str = "Pd4b1Kgvv9qHZZtj8yzl";

/// Etherpad's own export of [`REAL`] (tests/fixtures/etherpad/README.md).
const REAL_FILE: &[u8] = include_bytes!("../fixtures/etherpad/test.etherpad");

/// What the stub serves: the pads' exports by id.
struct Etherpad {
    pads: BTreeMap<String, Vec<u8>>,
}

/// Starts a stub Etherpad on 127.0.0.1; answers its base URL.
async fn stub(pads: BTreeMap<String, Vec<u8>>) -> String {
    async fn list(
        State(e): State<Arc<Etherpad>>,
        Query(q): Query<BTreeMap<String, String>>,
    ) -> Response {
        if q.get("apikey").map(String::as_str) != Some(KEY) {
            // Etherpad's own answer to a wrong key (recent versions add the 401).
            let body = json!({"code": 4, "message": "no or wrong API Key", "data": null});
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        let ids: Vec<&String> = e.pads.keys().collect();
        Json(json!({"code": 0, "message": "ok", "data": {"padIDs": ids}})).into_response()
    }
    async fn export(State(e): State<Arc<Etherpad>>, UrlPath(id): UrlPath<String>) -> Response {
        match e.pads.get(&id) {
            Some(bytes) => bytes.clone().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = Router::new()
        .route("/api/1.2.1/listAllPads", get(list))
        .route("/p/{id}/export/etherpad", get(export))
        .with_state(Arc::new(Etherpad { pads }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr: SocketAddr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// `n` in base 36, as Etherpad writes lengths.
fn base36(mut n: usize) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// An `.etherpad` export of pad `id` holding one line, `line` (no newline), typed by author
/// "Ann" in one revision, as Etherpad writes it.
fn etherpad_file(id: &str, line: &str) -> Vec<u8> {
    let author = "a.migrationAnn01";
    let len = base36(line.encode_utf16().count());
    let pool = json!({"numToAttrib": {"0": ["author", author]}, "nextNum": 1});
    let atext = json!({"text": format!("{line}\n"), "attribs": format!("*0+{len}|1+1")});
    let mut file = serde_json::Map::new();
    file.insert(
        format!("pad:{id}"),
        json!({"atext": atext, "pool": pool, "head": 0, "chatHead": -1,
               "publicStatus": false, "passwordHash": null, "savedRevisions": []}),
    );
    file.insert(
        format!("globalAuthor:{author}"),
        json!({"colorId": 3, "name": "Ann", "timestamp": 1_595_111_151_414_u64, "padIDs": id}),
    );
    file.insert(
        format!("pad:{id}:revs:0"),
        json!({"changeset": format!("Z:1>{len}*0+{len}${line}"),
               "meta": {"author": author, "timestamp": 1_595_111_151_414_u64,
                        "pool": pool, "atext": atext}}),
    );
    serde_json::to_vec(&Value::Object(file)).expect("serialises")
}

/// The pads the stub serves: three good ones (one exported by Etherpad itself) and a broken
/// one.
fn instance_pads() -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([
        (PLAIN.to_owned(), etherpad_file(PLAIN, "Plain pad text")),
        (REAL.to_owned(), REAL_FILE.to_vec()),
        (
            FOREIGN.to_owned(),
            etherpad_file(FOREIGN, "Ordre du jour 🗓 lundi"),
        ),
        (BROKEN.to_owned(), b"{\"pad:broken\": {\"atext\": ".to_vec()),
    ])
}

/// What one run of the binary did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `ardoise migrate etherpad ARGS --data DATA` to its end.
async fn migrate(data: &Path, args: &[&str]) -> Ran {
    let out = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new(BINARY)
            .args(["migrate", "etherpad"])
            .args(args)
            .arg("--data")
            .arg(data)
            .env_remove("ARDOISE_LOG")
            .env_remove("ETHERPAD_APIKEY")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the migration ends in time")
    .expect("the binary runs");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The report's count on the line starting with `what`.
fn count(report: &str, what: &str) -> usize {
    report
        .lines()
        .find_map(|l| l.strip_prefix(what))
        .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
        .unwrap_or_else(|| panic!("no {what:?} in the report:\n{report}"))
}

/// The name `DocName::foreign` gives `id`, as the library computes it.
fn foreign(id: &str) -> String {
    ardoise::doc::name::DocName::foreign(id)
        .expect("a usable id")
        .to_string()
}

/// The text of pad `name` as the server exports it.
async fn pad_text(server: &TestServer, name: &str) -> String {
    let (status, body) = server.get(&format!("/p/{name}/export/txt")).await;
    assert_eq!(status, 200, "export of {name}: {body}");
    body
}

#[tokio::test]
async fn an_instance_is_migrated_once_and_reports_its_broken_pad() {
    let url = stub(instance_pads()).await;
    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    let first = migrate(data.path(), &["--url", &url, "--apikey", KEY]).await;
    assert_eq!(
        first.code,
        Some(1),
        "a pad failed: {}{}",
        first.stdout,
        first.stderr
    );
    assert_eq!(count(&first.stdout, "imported"), 3, "{}", first.stdout);
    assert_eq!(count(&first.stdout, "skipped (present)"), 0);
    assert_eq!(count(&first.stdout, "failed"), 1);
    let failure = first
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{BROKEN}:")))
        .unwrap_or_else(|| panic!("the broken pad is listed:\n{}", first.stdout));
    assert!(
        failure.len() > BROKEN.len() + 3,
        "with its reason: {failure}"
    );

    let again = migrate(data.path(), &["--url", &url, "--apikey", KEY]).await;
    assert_eq!(count(&again.stdout, "imported"), 0, "{}", again.stdout);
    assert_eq!(count(&again.stdout, "skipped (present)"), 3);
    assert_eq!(count(&again.stdout, "failed"), 1);

    let only = migrate(
        data.path(),
        &["--url", &url, "--apikey", KEY, "--only", PLAIN, "missing"],
    )
    .await;
    assert_eq!(only.code, Some(1), "{}", only.stdout);
    assert_eq!(
        count(&only.stdout, "skipped (present)"),
        1,
        "{}",
        only.stdout
    );
    assert!(only.stdout.contains("missing: "), "{}", only.stdout);

    let server = TestServer::builder().data(data.clone()).start().await;
    assert!(pad_text(&server, PLAIN).await.contains("Plain pad text"));
    // The author came along: the Markdown export ends with the pad's authors.
    let (status, md) = server.get(&format!("/p/{PLAIN}/export/md")).await;
    assert_eq!(status, 200, "{md}");
    assert!(md.contains("- Ann"), "the author is named: {md}");
    let (status, md) = server.get(&format!("/p/{REAL}/export/md")).await;
    assert_eq!(status, 200, "{md}");
    assert!(
        md.starts_with("- hello\n"),
        "Etherpad's bulleted line: {md}"
    );
    let name = foreign(FOREIGN);
    assert_ne!(name, FOREIGN);
    assert!(pad_text(&server, &name)
        .await
        .contains("Ordre du jour 🗓 lundi"));
    let (status, _) = server
        .get(&format!("/p/{}/export/txt", foreign(BROKEN)))
        .await;
    assert_eq!(status, 404, "a pad that failed leaves nothing");
}

#[tokio::test]
async fn a_directory_of_etherpad_files_is_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    // File names need not be the pad ids: the id is read from the file.
    std::fs::write(
        dir.path().join("one.etherpad"),
        etherpad_file(PLAIN, "From a file"),
    )
    .expect("writes");
    std::fs::write(
        dir.path().join("two.etherpad"),
        etherpad_file(FOREIGN, "Deux"),
    )
    .expect("writes");
    std::fs::write(dir.path().join("notes.txt"), "not a pad").expect("writes");
    std::fs::write(dir.path().join("bad.etherpad"), "[1, 2]").expect("writes");
    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    let from = dir.path().to_str().expect("UTF-8 path");
    let ran = migrate(data.path(), &["--from-dir", from]).await;
    assert_eq!(ran.code, Some(1), "{}{}", ran.stdout, ran.stderr);
    assert_eq!(count(&ran.stdout, "imported"), 2, "{}", ran.stdout);
    assert_eq!(count(&ran.stdout, "failed"), 1);
    assert!(ran.stdout.contains("bad.etherpad: "), "{}", ran.stdout);

    std::fs::remove_file(dir.path().join("bad.etherpad")).expect("removes");
    let only = migrate(data.path(), &["--from-dir", from, "--only", PLAIN, "gone"]).await;
    assert_eq!(only.code, Some(1), "{}{}", only.stdout, only.stderr);
    assert_eq!(
        count(&only.stdout, "skipped (present)"),
        1,
        "{}",
        only.stdout
    );
    assert_eq!(
        count(&only.stdout, "imported"),
        0,
        "the other pad is not selected"
    );
    assert!(only.stdout.contains("gone: "), "{}", only.stdout);
    let all = migrate(data.path(), &["--from-dir", from]).await;
    assert_eq!(all.code, Some(0), "{}{}", all.stdout, all.stderr);
    assert_eq!(count(&all.stdout, "skipped (present)"), 2, "{}", all.stdout);

    let server = TestServer::builder().data(data.clone()).start().await;
    assert!(pad_text(&server, PLAIN).await.contains("From a file"));
    assert!(pad_text(&server, &foreign(FOREIGN)).await.contains("Deux"));
}

#[tokio::test]
async fn a_pad_an_interrupted_run_left_marked_is_migrated_again() {
    let url = stub(BTreeMap::from([(
        PLAIN.to_owned(),
        etherpad_file(PLAIN, "Whole"),
    )]))
    .await;
    let data = tempfile::tempdir().expect("temp dir");
    let ran = migrate(data.path(), &["--url", &url, "--apikey", KEY]).await;
    assert_eq!(ran.code, Some(0), "{}{}", ran.stdout, ran.stderr);
    assert!(
        !data.path().join("migrate-pending").exists(),
        "no marks left"
    );
    // What a run killed between creating the pad and filling it leaves: the pad, still marked.
    std::fs::create_dir(data.path().join("migrate-pending")).expect("mkdir");
    std::fs::write(
        data.path()
            .join("migrate-pending")
            .join(format!("{PLAIN}.pending")),
        "",
    )
    .expect("marks");
    let again = migrate(data.path(), &["--url", &url, "--apikey", KEY]).await;
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert_eq!(
        count(&again.stdout, "imported"),
        1,
        "erased and redone: {}",
        again.stdout
    );
    assert_eq!(count(&again.stdout, "skipped (present)"), 0);
    let server = TestServer::builder().data(Arc::new(data)).start().await;
    assert!(pad_text(&server, PLAIN).await.contains("Whole"));
}

#[tokio::test]
async fn a_wrong_key_or_a_running_server_stops_the_run_with_a_clear_error() {
    let url = stub(instance_pads()).await;
    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    let wrong = migrate(data.path(), &["--url", &url, "--apikey", "nope"]).await;
    assert_eq!(wrong.code, Some(2), "{}{}", wrong.stdout, wrong.stderr);
    assert!(wrong.stderr.contains("code 4"), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("wrong API Key"), "{}", wrong.stderr);
    assert!(wrong.stdout.is_empty(), "no report: {}", wrong.stdout);

    let nowhere = migrate(
        data.path(),
        &["--url", "http://127.0.0.1:1", "--apikey", KEY],
    )
    .await;
    assert_eq!(nowhere.code, Some(2), "{}", nowhere.stderr);
    assert!(
        nowhere.stderr.contains("cannot list the pads"),
        "{}",
        nowhere.stderr
    );

    let server = TestServer::builder().data(data.clone()).start().await;
    let busy = migrate(data.path(), &["--url", &url, "--apikey", KEY]).await;
    assert_eq!(busy.code, Some(2), "{}", busy.stderr);
    assert!(busy.stderr.contains("stop it first"), "{}", busy.stderr);
    drop(server);
}

#[tokio::test]
async fn the_help_shows_the_subcommand_and_the_server_still_starts_without_it() {
    let help = tokio::process::Command::new(BINARY)
        .arg("--help")
        .output()
        .await
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("migrate"), "{help}");
    let sub = tokio::process::Command::new(BINARY)
        .args(["migrate", "etherpad", "--help"])
        .output()
        .await
        .expect("runs");
    let sub = String::from_utf8_lossy(&sub.stdout);
    for flag in [
        "--url",
        "--apikey",
        "--from-dir",
        "--only",
        "--jobs",
        "--data",
    ] {
        assert!(sub.contains(flag), "{flag} in:\n{sub}");
    }
    let server = TestServer::builder().start().await;
    assert_eq!(server.get("/healthz").await.0, 200);
}
