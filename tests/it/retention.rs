//! Retention and privacy, end to end: expired pads are erased and their live clients told (4410),
//! the creator's browser deletes at once and nobody else can, logs carry no client address or
//! content, every response has a CSP, and /privacy follows the configuration.

use crate::client::Client;
use crate::server::TestServer;

/// Close code of an erased document.
const GONE: u16 = 4410;

const FORM: [(&str, &str); 1] = [("Content-Type", "application/x-www-form-urlencoded")];
const JSON: [(&str, &str); 1] = [("Content-Type", "application/json")];

/// The value of `data-{attr}="…"` in a page.
fn data_attr(page: &str, attr: &str) -> Option<String> {
    let key = format!("data-{attr}=\"");
    let start = page.find(&key)? + key.len();
    Some(page[start..].split('"').next()?.to_owned())
}

/// Creates pad `name` through the home form; returns the creator secret from the redirect.
async fn create(server: &TestServer, name: &str, lifetime: &str) -> String {
    let r = server
        .request(
            "POST",
            "/new",
            &FORM,
            &format!("name={name}&lifetime={lifetime}"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.header("location").expect("location");
    assert!(location.starts_with(&format!("/p/{name}?")), "{location}");
    location
        .split_once("#creator=")
        .map(|(_, s)| s.to_owned())
        .expect("the redirect hands the secret over in the fragment")
}

#[tokio::test]
async fn an_expired_pad_is_erased_and_its_live_clients_are_told() {
    let server = TestServer::builder()
        .args(&[
            "--retention-choices",
            "5s,7d",
            "--retention-default",
            "5s",
            "--retention-sweep-secs",
            "1",
        ])
        .start()
        .await;
    let page = server.get("/p/ephemeral").await.1;
    assert!(
        page.contains("If nobody edits it, this pad will be erased on")
            && page.contains("(5 seconds after the last edit)"),
        "{page}"
    );
    let read_only = data_attr(&page, "readonly-path").expect("read-only link");
    let mut writer = Client::connect(&server, "ephemeral").await;
    writer.insert(0, "gone soon").await;
    writer.barrier().await;
    // The lifetime runs from the last edit; the sweeper then closes every client with 4410.
    let close = writer.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(close.code), GONE);
    assert_eq!(close.reason.as_str(), "expired");
    assert_eq!(
        server.get(&read_only).await.0,
        404,
        "the read-only link died"
    );
    assert_eq!(server.get("/p/ephemeral/export/txt").await.0, 404);
    server
        .wait_log("the sweep", |l| {
            l.contains("retention sweep") && l.contains("erased=1")
        })
        .await;

    // A pad created with a longer lifetime outlives the sweeps.
    create(&server, "kept", "7d").await;
    let mut reader = Client::connect(&server, "kept").await;
    reader.insert(0, "still here").await;
    reader.barrier().await;
    let sweep = |l: &str| l.contains("retention sweep");
    let before = server.count_logs(sweep);
    server.wait_logs("two more sweeps", before + 2, sweep).await;
    let export = server.get("/p/kept/export/txt").await;
    assert_eq!(export.0, 200);
    assert!(export.1.contains("still here"));
}

#[tokio::test]
async fn the_creator_deletes_at_once_and_nobody_else_can() {
    let server = TestServer::start().await;
    let secret = create(&server, "mine", "30d").await;
    let other = create(&server, "theirs", "30d").await;
    assert_ne!(secret, other);
    let mut live = Client::connect(&server, "mine").await;
    live.insert(0, "draft").await;
    live.barrier().await;

    // Another browser's secret, a made-up one and none at all are refused.
    for body in [
        format!("{{\"secret\":\"{other}\"}}"),
        "{\"secret\":\"0123456789abcdef0123456789abcdef\"}".to_owned(),
        "{}".to_owned(),
    ] {
        let r = server.request("POST", "/p/mine/delete", &JSON, &body).await;
        assert_eq!(r.status, 403, "{body}: {}", r.body);
        assert!(r.body.contains("\"error\":\"forbidden\""), "{}", r.body);
    }
    let r = server
        .request("POST", "/p/mine/delete", &FORM, &format!("secret={other}"))
        .await;
    assert_eq!(r.status, 403);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    assert!(server.get("/p/mine/export/txt").await.1.contains("draft"));

    let r = server
        .request(
            "POST",
            "/p/mine/delete",
            &JSON,
            &format!("{{\"secret\":\"{secret}\"}}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"deleted\":true"));
    let close = live.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(close.code), GONE);
    assert_eq!(close.reason.as_str(), "deleted by its creator");
    let r = server
        .request(
            "POST",
            "/p/mine/delete",
            &JSON,
            &format!("{{\"secret\":\"{secret}\"}}"),
        )
        .await;
    assert_eq!(r.status, 404, "already gone");
    // The other pad is untouched, and deletes with a form too.
    let r = server
        .request(
            "POST",
            "/p/theirs/delete",
            &FORM,
            &format!("secret={other}"),
        )
        .await;
    assert_eq!(r.status, 303);

    // A pad created by opening its page hands its secret to that page only.
    let first = server.get("/p/opened-here").await.1;
    assert!(data_attr(&first, "creator").is_some_and(|s| s.len() == 32));
    let second = server.get("/p/opened-here").await.1;
    assert_eq!(data_attr(&second, "creator"), None);
}

#[tokio::test]
async fn the_creator_of_a_calc_deletes_it_and_nobody_else_can() {
    let server = TestServer::start().await;
    // The home form hands the secret over for a calc exactly as for a pad.
    let r = server
        .request("POST", "/new", &FORM, "name=budget&lifetime=30d&kind=calc")
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.header("location").expect("location");
    assert!(location.starts_with("/c/budget?"), "{location}");
    let secret = location
        .split_once("#creator=")
        .map(|(_, s)| s.to_owned())
        .expect("the redirect hands the secret over in the fragment");
    let pad_secret = create(&server, "notes", "30d").await;
    let mut live = Client::connect(&server, "budget").await;
    live.barrier().await;

    let body = |s: &str| format!("{{\"secret\":\"{s}\"}}");
    // Another document's secret is refused.
    let r = server
        .request("POST", "/c/budget/delete", &JSON, &body(&pad_secret))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The kind is part of the address: a calc is not deleted under /p/, nor a pad under /c/.
    let r = server
        .request("POST", "/p/budget/delete", &JSON, &body(&secret))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = server
        .request("POST", "/c/notes/delete", &JSON, &body(&pad_secret))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(server.get("/c/budget/export/csv").await.0, 200);
    assert_eq!(server.get("/p/notes/export/txt").await.0, 200);

    let r = server
        .request("POST", "/c/budget/delete", &JSON, &body(&secret))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"deleted\":true"));
    let close = live.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(close.code), GONE);
    assert_eq!(close.reason.as_str(), "deleted by its creator");
    assert_eq!(server.get("/c/budget/export/csv").await.0, 404);

    // A calc created by opening its page hands its secret to that page only.
    let first = server.get("/c/opened-calc").await.1;
    assert!(data_attr(&first, "creator").is_some_and(|s| s.len() == 32));
    let second = server.get("/c/opened-calc").await.1;
    assert_eq!(data_attr(&second, "creator"), None);
}

#[tokio::test]
async fn logs_carry_no_client_address_and_no_content() {
    // The server listens on 127.0.0.2, so its own address never reads "127.0.0.1", while every
    // client connects from 127.0.0.1 (the loopback's source address).
    for log in [None, Some("debug")] {
        let server = TestServer::builder()
            .listen("127.0.0.2:0")
            .log(log)
            .start()
            .await;
        let content = "zebra-private-words-4172";
        let person = "Ottoline-private-name";
        let secret = create(&server, "private-pad", "30d").await;
        let mut a = Client::connect(&server, "private-pad").await;
        let mut b = Client::connect(&server, "private-pad").await;
        let source = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connects")
            .local_addr()
            .expect("local address");
        assert_eq!(source.ip().to_string(), "127.0.0.1", "the premise holds");
        a.insert(0, content).await;
        a.send_awareness(
            7,
            1,
            Some(&format!("{{\"user\":{{\"name\":\"{person}\"}}}}")),
        )
        .await;
        a.barrier().await;
        b.until("the text", |c| c.text().contains(content)).await;
        assert_eq!(server.get("/p/private-pad/export/html").await.0, 200);
        assert_eq!(server.get("/no/such/page").await.0, 404);
        let r = server
            .request(
                "POST",
                "/p/private-pad/delete",
                &JSON,
                &format!("{{\"secret\":\"{secret}\"}}"),
            )
            .await;
        assert_eq!(r.status, 200);
        b.closed_by_server().await;
        // Log lines arrive through the server's stderr: wait for the erasure's before reading.
        server
            .wait_log("the erasure", |l| l.contains("document deleted"))
            .await;
        let logs = server.logs();
        for line in &logs {
            for secretive in ["127.0.0.1", content, person, secret.as_str()] {
                assert!(
                    !line.contains(secretive),
                    "log level {log:?}: {line:?} contains {secretive:?}"
                );
            }
        }
        drop((a, b));
        server.stop().await;
    }
}

#[tokio::test]
async fn every_response_carries_a_strict_csp() {
    let server = TestServer::start().await;
    let token = data_attr(&server.get("/p/csp-pad").await.1, "readonly-path").expect("link");
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/?lang=fr"),
        ("GET", "/privacy"),
        ("GET", "/p/csp-pad"),
        ("GET", token.as_str()),
        ("GET", "/p/csp-pad/qr.svg"),
        ("GET", "/p/csp-pad/export/html"),
        ("GET", "/p/bad%20name"),
        ("GET", "/r/not-a-token"),
        ("GET", "/nowhere"),
        ("GET", "/open?name=x"),
        ("GET", "/ws/csp-pad"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/favicon.ico"),
        ("POST", "/new"),
        ("POST", "/p/csp-pad/delete"),
    ] {
        let r = server.request(method, path, &FORM, "").await;
        let csp = r
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{method} {path} ({}) has no CSP", r.status));
        assert!(
            csp.contains("default-src 'self'") || csp.contains("default-src 'none'"),
            "{method} {path}: {csp}"
        );
        assert!(!csp.contains("unsafe-eval"), "{method} {path}: {csp}");
    }
}

#[tokio::test]
async fn the_privacy_page_follows_the_configuration() {
    let server = TestServer::builder()
        .args(&[
            "--retention-choices",
            "1d,30d,forever",
            "--retention-default",
            "30d",
            "--contact",
            "privacy@example.org",
        ])
        .start()
        .await;
    let en = server.get("/privacy?lang=en").await;
    assert_eq!(en.0, 200);
    assert!(
        en.1.contains("Offered: 1 day, 30 days, until deleted."),
        "{}",
        en.1
    );
    assert!(en.1.contains("Without a choice: 30 days."));
    assert!(en.1.contains("mailto:privacy@example.org"));
    assert!(en.1.contains("never logs IP addresses"));
    let fr = server
        .request("GET", "/privacy", &[("Accept-Language", "fr")], "")
        .await;
    assert!(fr
        .body
        .contains("Durées proposées : 1 jour, 30 jours, jusqu&#39;à suppression."));
    let home = server.get("/?lang=en").await.1;
    assert!(home.contains("<option value=\"30d\" selected>30 days</option>"));
    assert!(home.contains("<option value=\"forever\">until deleted</option>"));
    assert!(home.contains("href=\"/privacy?lang=en\""));
}

/// Writes a sled data directory the way the versions before the redb store left it: `data/db`,
/// one tree per table, pad `name` last edited at t = 1000 with `lifetime`, its metadata and
/// read-only token (no expiry-index entry) and, when `text` is given, a snapshot holding it.
/// Returns the pad's metadata.
fn write_sled_directory(
    data: &std::path::Path,
    name: &str,
    lifetime: ardoise::doc::lifetime::Lifetime,
    text: Option<&str>,
) -> ardoise::doc::meta::DocMeta {
    use ardoise::doc::meta::{DocMeta, Kind, NewDoc};
    use yrs::{ReadTxn, StateVector, Text, Transact};
    let new = NewDoc {
        kind: Kind::Pad,
        lifetime,
        creator: None,
        provisional: false,
    };
    let meta = DocMeta::new(new, 1_000);
    let old = sled::Config::new()
        .path(data.join("db"))
        // No background flusher, whose thread would hold the lock a moment after the drop.
        .flush_every_ms(None)
        .open()
        .expect("sled");
    old.open_tree("meta")
        .expect("tree")
        .insert(name, meta.to_bytes())
        .expect("meta");
    old.open_tree("tokens")
        .expect("tree")
        .insert(meta.read_token.as_str(), name)
        .expect("token");
    if let Some(text) = text {
        let doc = yrs::Doc::new();
        doc.get_or_insert_text("content")
            .insert(&mut doc.transact_mut(), 0, text);
        let snapshot = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        old.open_tree("snapshots")
            .expect("tree")
            .insert(name, snapshot)
            .expect("snapshot");
    }
    old.flush().expect("flush");
    meta
}

#[tokio::test]
async fn a_data_directory_of_the_sled_versions_is_imported_whole() {
    use ardoise::doc::lifetime::Lifetime;
    use std::sync::Arc;

    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    let meta = write_sled_directory(
        data.path(),
        "ancienne",
        Lifetime::Forever,
        Some("Texte d'avant la migration"),
    );
    let server = TestServer::builder().data(data.clone()).start().await;
    server
        .wait_log("the import", |l| l.contains("imported the sled database"))
        .await;
    assert!(
        !data.path().join("db").exists(),
        "the sled directory is removed"
    );
    let (status, text) = server.get("/p/ancienne/export/txt").await;
    assert_eq!(status, 200);
    assert!(text.contains("Texte d'avant la migration"), "{text}");
    let (status, text) = server
        .get(&format!("/r/{}/export/txt", meta.read_token.as_str()))
        .await;
    assert_eq!(status, 200, "the read-only link still works");
    assert!(text.contains("Texte d'avant la migration"));
    // A live editor sees it, and what it writes is kept across a restart.
    let mut client = Client::connect(&server, "ancienne").await;
    assert!(client.text().contains("Texte d'avant"));
    client.insert(0, "Ajout. ").await;
    client.barrier().await;
    client.close().await;
    let server = server.restart().await;
    assert_eq!(
        server.count_logs(|l| l.contains("imported the sled database")),
        0,
        "imported once"
    );
    let text = server.get("/p/ancienne/export/txt").await.1;
    assert!(text.starts_with("Ajout. Texte d'avant"), "{text}");
}

#[tokio::test]
async fn documents_stored_before_the_expiry_index_expire_too() {
    use ardoise::doc::lifetime::Lifetime;
    use std::sync::Arc;

    // A data directory as an older version left it: in sled, a pad edited long ago with a
    // one-day lifetime and no entry in the expiry index (which the sweeper reads, and nothing
    // else). It is imported, then indexed by the migration, then erased.
    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    write_sled_directory(data.path(), "legacy", Lifetime::After(86_400), None);
    let server = TestServer::builder()
        .data(data)
        .args(&["--retention-sweep-secs", "1"])
        .start()
        .await;
    server
        .wait_log("the migration", |l| {
            l.contains("older documents now have an expiry") && l.contains("indexed=1")
        })
        .await;
    server
        .wait_log("the sweep", |l| {
            l.contains("retention sweep") && l.contains("erased=1")
        })
        .await;
    assert_eq!(server.get("/p/legacy/export/txt").await.0, 404);

    // The next start finds the step done and does not scan again.
    let server = server.restart().await;
    server
        .wait_log("the migration check", |l| {
            l.contains("no migration pending")
        })
        .await;
    assert_eq!(
        server.count_logs(|l| l.contains("older documents now have an expiry")),
        0
    );
}
