//! Nothing acknowledged is lost: not on SIGTERM, not on SIGKILL (after a durable flush, or in
//! `--sync` mode; right after a broadcast: `hostile_storage.rs`).

use std::time::Duration;

use crate::client::Client;
use crate::server::{Builder, TestServer};

#[tokio::test]
async fn sigkill_after_a_flush_interval_loses_nothing() {
    sigkill_after_a_flush_interval_loses_nothing_on(TestServer::builder()).await;
}

/// Edits older than a flush interval survive a SIGKILL: the crash bar without `--sync`, for every
/// storage engine (`store_engines.rs` runs it on sled).
pub(crate) async fn sigkill_after_a_flush_interval_loses_nothing_on(builder: Builder) {
    let mut server = builder.args(&["--flush-interval-ms", "100"]).start().await;
    let mut a = Client::connect(&server, "crash").await;
    for i in 0..50u32 {
        a.insert(i, "k").await;
    }
    a.barrier().await;
    // Past a flush interval the journal holding the edits has been synced by the background
    // flush (the database itself is made durable only once writes go quiet): the restart
    // replays it (hostile_storage.rs kills before any flush).
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill9().await;
    let server = server.start_again().await;
    let b = Client::connect(&server, "crash").await;
    assert_eq!(b.text(), "k".repeat(50));
}

#[tokio::test]
async fn sync_mode_survives_sigkill_right_after_the_answer() {
    sigkill_with_sync_loses_nothing(TestServer::builder()).await;
}

/// With `--sync`, an edit the server answered survives a SIGKILL right after the answer: the
/// crash bar of every storage engine (`store_engines.rs` runs it on sled).
pub(crate) async fn sigkill_with_sync_loses_nothing(builder: Builder) {
    let mut server = builder.args(&["--sync"]).start().await;
    let mut a = Client::connect(&server, "crash-sync").await;
    a.insert(0, "durable before broadcast").await;
    a.barrier().await;
    server.kill9().await;
    let server = server.start_again().await;
    let b = Client::connect(&server, "crash-sync").await;
    assert_eq!(b.text(), "durable before broadcast");
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_persists_and_exits_zero() {
    sigterm_persists_and_exits_zero(TestServer::builder()).await;
}

/// A SIGTERM closes sockets with 1001, persists every room and exits 0; a server started again
/// the same way finds the text.
pub(crate) async fn sigterm_persists_and_exits_zero(builder: Builder) {
    let server = builder.clone().start().await;
    let mut a = Client::connect(&server, "term").await;
    a.insert(0, "saved on shutdown").await;
    a.barrier().await;
    let data = server.data.clone();
    let (status, frame) = tokio::join!(server.stop(), a.closed_by_server());
    assert!(status.success(), "exit status {status}");
    let frame = frame.expect("close frame");
    assert_eq!(u16::from(frame.code), 1001);
    let server = builder.data(data).start().await;
    let b = Client::connect(&server, "term").await;
    assert_eq!(b.text(), "saved on shutdown");
}
