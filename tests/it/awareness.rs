//! Presence: states appear, change and disappear, whatever way a connection ends.

use crate::client::Client;
use crate::server::TestServer;

#[tokio::test]
async fn awareness_appears_changes_and_leaves_on_clean_close() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "presence").await;
    let mut b = Client::connect(&server, "presence").await;
    a.send_awareness(
        1001,
        1,
        Some(r##"{"user":{"name":"Ana","color":"#112233"}}"##),
    )
    .await;
    b.until("Ana appears", |c| {
        c.live_awareness()
            .get(&1001)
            .is_some_and(|s| s.contains("Ana"))
    })
    .await;
    a.send_awareness(
        1001,
        2,
        Some(r##"{"user":{"name":"Ana B","color":"#112233"}}"##),
    )
    .await;
    b.until("Ana renamed", |c| {
        c.live_awareness()
            .get(&1001)
            .is_some_and(|s| s.contains("Ana B"))
    })
    .await;
    // The sender receives its own broadcast too.
    a.until("own state echoed", |c| {
        c.live_awareness().contains_key(&1001)
    })
    .await;
    // A late joiner gets the current states in the frame after step 1.
    let c = Client::connect(&server, "presence").await;
    assert!(c
        .live_awareness()
        .get(&1001)
        .is_some_and(|s| s.contains("Ana B")));
    a.close().await;
    b.until("Ana removed", |c| !c.live_awareness().contains_key(&1001))
        .await;
}

#[tokio::test]
async fn awareness_leaves_when_the_socket_drops_without_close() {
    let server = TestServer::start().await;
    let mut a = Client::connect(&server, "abrupt").await;
    let mut b = Client::connect(&server, "abrupt").await;
    a.send_awareness(7, 1, Some(r#"{"cursor":3}"#)).await;
    a.send_awareness(8, 1, Some(r#"{"cursor":4}"#)).await;
    b.until("both states", |c| c.live_awareness().len() == 2)
        .await;
    a.drop_abruptly();
    b.until("states removed", |c| c.live_awareness().is_empty())
        .await;
    let (clock, state) = b.awareness[&7].clone();
    assert_eq!(
        (clock, state),
        (1, None),
        "removal keeps the clock, like y-protocols"
    );
}

#[tokio::test]
async fn query_awareness_is_answered_and_stale_states_expire() {
    let server = TestServer::builder()
        .args(&["--awareness-timeout-secs", "1"])
        .start()
        .await;
    let mut a = Client::connect(&server, "expire").await;
    let mut b = Client::connect(&server, "expire").await;
    a.send_awareness(55, 1, Some(r#"{"x":1}"#)).await;
    b.until("state", |c| c.live_awareness().contains_key(&55))
        .await;
    b.awareness.clear();
    b.send(ardoise::sync::protocol::query_awareness()).await;
    b.until("query answered", |c| c.live_awareness().contains_key(&55))
        .await;
    // Never renewed: the server drops it after the timeout and tells everyone.
    b.until("state expired", |c| {
        c.awareness.get(&55).is_some_and(|(_, s)| s.is_none())
    })
    .await;
}

#[tokio::test]
async fn oversized_or_garbage_awareness_closes_only_the_sender() {
    let server = TestServer::builder()
        .args(&["--max-awareness-bytes", "64"])
        .start()
        .await;
    let mut ok = Client::connect(&server, "aw-limits").await;
    let mut big = Client::connect(&server, "aw-limits").await;
    big.send_awareness(9, 1, Some(&format!("\"{}\"", "x".repeat(100))))
        .await;
    let frame = big.closed_by_server().await.expect("close frame");
    assert_eq!(u16::from(frame.code), 1008);
    assert!(frame.reason.contains("larger than 64"), "{}", frame.reason);
    let mut garbage = Client::connect(&server, "aw-limits").await;
    garbage.send_awareness(10, 1, Some("{not json")).await;
    let frame = garbage.closed_by_server().await.expect("close frame");
    assert_eq!(u16::from(frame.code), 1008);
    ok.insert(0, "still fine").await;
    ok.barrier().await;
    assert_eq!(ok.text(), "still fine");
}
