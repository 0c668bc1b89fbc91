//! Documents converge and persist across clients, reloads and restarts.

use std::collections::HashMap;

use yrs::types::Attrs;
use yrs::{Any, Number, ReadTxn, StateVector, Text, Transact};

use crate::client::Client;
use crate::server::TestServer;

#[tokio::test]
async fn concurrent_edits_converge() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "converge").await;
    let mut b = Client::connect(&server, "converge").await;
    a.insert(0, "alpha ").await;
    b.insert(0, "beta ").await;
    a.insert(0, "gamma ").await;
    for c in [&mut a, &mut b] {
        c.until("all three edits", |c| {
            let t = c.text();
            ["alpha ", "beta ", "gamma "].iter().all(|w| t.contains(w))
        })
        .await;
    }
    assert_eq!(a.text(), b.text());
    assert_eq!(
        a.doc.transact().state_vector(),
        b.doc.transact().state_vector()
    );
}

#[tokio::test]
async fn late_joiner_gets_everything_with_formatting() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "late").await;
    a.edit(|txn, t| {
        let bold = Attrs::from([("bold".into(), Any::Bool(true))]);
        t.insert_with_attributes(txn, 0, "Title", bold);
        t.insert_with_attributes(
            txn,
            5,
            "\n",
            Attrs::from([("header".into(), Any::Number(Number::Int(1)))]),
        );
        t.insert(txn, 6, "body text\n");
        t.format(
            txn,
            6,
            4,
            Attrs::from([("link".into(), Any::from("https://example.org"))]),
        );
    })
    .await;
    let expected = a
        .content()
        .diff(&a.doc.transact(), yrs::types::text::YChange::identity);
    a.barrier().await;
    let b = Client::connect(&server, "late").await;
    let got = b
        .content()
        .diff(&b.doc.transact(), yrs::types::text::YChange::identity);
    assert_eq!(got, expected);
    assert_eq!(b.text(), "Title\nbody text\n");
}

#[tokio::test]
async fn state_survives_the_room_unloading() {
    let server = TestServer::builder()
        .args(&["--unload-grace-secs", "0"])
        .start()
        .await;
    let mut a = Client::connect(&server, "unload").await;
    a.insert(0, "kept after unload").await;
    a.barrier().await;
    a.close().await;
    server.wait_unloaded("unload").await;
    let b = Client::connect(&server, "unload").await;
    assert_eq!(b.text(), "kept after unload");
}

#[tokio::test]
async fn offline_edits_merge_on_reconnect() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "offline").await;
    a.insert(0, "shared ").await;
    let mut b = Client::connect(&server, "offline").await;
    b.until("shared text", |c| c.text() == "shared ").await;
    // a goes offline and keeps editing its replica.
    let offline_doc = a.doc.clone();
    a.close().await;
    offline_doc
        .get_or_insert_text("content")
        .insert(&mut offline_doc.transact_mut(), 7, "offline");
    b.insert(0, "online ").await;
    let mut a = Client::connect_doc(&server, "offline", offline_doc).await;
    a.until("online edit", |c| c.text().contains("online "))
        .await;
    b.until("offline edit", |c| c.text().contains("offline"))
        .await;
    assert_eq!(a.text(), b.text());
    assert_eq!(a.text(), "online shared offline");
}

#[tokio::test]
async fn large_paste_arrives_whole() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "paste").await;
    let mut b = Client::connect(&server, "paste").await;
    let paste: String = (0..200 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    a.insert(0, &paste).await;
    b.until("the paste", |c| {
        c.content().len(&c.doc.transact()) as usize == paste.len()
    })
    .await;
    assert_eq!(b.text(), paste);
}

#[tokio::test]
async fn names_differing_by_case_or_suffix_are_isolated() {
    let server = TestServer::start().await;
    let names = ["Room", "room", "room2", "room.2", "room-"];
    for name in names {
        let mut c = Client::connect(&server, name).await;
        c.insert(0, name).await;
        c.barrier().await;
    }
    for name in names {
        let c = Client::connect(&server, name).await;
        assert_eq!(c.text(), name, "document {name} holds only its own text");
    }
}

#[tokio::test]
async fn unicode_survives_as_typed() {
    let server = TestServer::builder()
        .args(&["--unload-grace-secs", "0"])
        .start()
        .await;
    let samples = [
        "emoji 😀🎉",
        "ZWJ 👩‍👩‍👧‍👦 family",
        "CJK 漢字かなカナ한글",
        "RTL עברית العربية",
        "combining e\u{301} a\u{308}\u{323}",
    ];
    let mut a = Client::connect(&server, "unicode").await;
    let mut b = Client::connect(&server, "unicode").await;
    for s in samples {
        let end = a.content().len(&a.doc.transact());
        a.insert(end, &format!("{s}\n")).await;
    }
    let expected: String = samples.iter().map(|s| format!("{s}\n")).collect();
    b.until("all samples", |c| c.text() == expected).await;
    // Insert in the middle of a multi-byte sequence's neighbourhood from the other side.
    b.insert(0, "→").await;
    a.until("arrow", |c| c.text().starts_with('→')).await;
    a.close().await;
    b.close().await;
    server.wait_unloaded("unicode").await;
    let c = Client::connect(&server, "unicode").await;
    assert_eq!(c.text(), format!("→{expected}"));
}

#[tokio::test]
async fn a_hundred_clients_converge() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(Client::connect(&server, "hundred").await);
    }
    let mut tokens = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let token = format!("<{i}>");
        c.insert(0, &token).await;
        tokens.push(token);
    }
    for c in clients.iter_mut() {
        c.until("every client's edit", |c| {
            let t = c.text();
            tokens.iter().all(|tok| t.contains(tok.as_str()))
        })
        .await;
    }
    let texts: HashMap<String, usize> = clients.iter().fold(HashMap::new(), |mut m, c| {
        *m.entry(c.text()).or_default() += 1;
        m
    });
    assert_eq!(texts.len(), 1, "all replicas identical");
}

#[tokio::test]
async fn restart_keeps_everything() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "restart").await;
    a.insert(0, "before restart").await;
    a.barrier().await;
    let expected_sv = a.doc.transact().state_vector();
    drop(a);
    let server = server.restart().await;
    let b = Client::connect(&server, "restart").await;
    assert_eq!(b.text(), "before restart");
    assert_eq!(b.doc.transact().state_vector(), expected_sv);
}

#[tokio::test]
async fn compaction_keeps_the_document_whole() {
    let server = TestServer::builder()
        .args(&["--compact-after-updates", "5", "--unload-grace-secs", "0"])
        .start()
        .await;
    let mut a = Client::connect(&server, "compact").await;
    for i in 0..40u32 {
        a.insert(i, "x").await;
    }
    a.barrier().await;
    a.close().await;
    server.wait_unloaded("compact").await;
    let server = server.restart().await;
    let b = Client::connect(&server, "compact").await;
    assert_eq!(b.text(), "x".repeat(40));
}

#[tokio::test]
async fn a_new_document_starts_empty() {
    let server = TestServer::start().await;
    let c = Client::connect(&server, "empty").await;
    assert_eq!(c.text(), "");
    assert_eq!(c.doc.transact().state_vector(), StateVector::default());
}

#[tokio::test]
async fn concurrent_first_connections_share_one_load() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "one-load").await;
    a.insert(0, "loaded once").await;
    a.barrier().await;
    drop(a);
    let server = server.restart().await;
    let clients =
        futures_util::future::join_all((0..20).map(|_| Client::connect(&server, "one-load"))).await;
    assert!(clients.iter().all(|c| c.text() == "loaded once"));
    let loads = |l: &str| l.contains("room loaded") && l.contains("doc=one-load ");
    server.wait_log("the load", loads).await;
    assert_eq!(
        server.count_logs(loads),
        1,
        "one load for twenty first connections"
    );
}
