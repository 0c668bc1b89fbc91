//! `--store`: the real server on the sled engine keeps pads across a SIGTERM, a SIGKILL past a
//! flush interval and, with `--sync`, right after the answer (the crash tests of `durability.rs`,
//! run on sled); its API backup restores on the default engine; a second server on the same
//! store is refused; an unknown engine stops the binary at start with a message that names the
//! problem. On PostgreSQL (a throwaway cluster the tests start, `pg_cluster`), the same crash
//! tests, an acknowledged edit surviving a SIGKILL without `--sync`, a database that goes away
//! and comes back under a running server, and a wrong password refused without being printed.

use std::process::Command;

use crate::api::backup_taken_while_running_restores;
use crate::durability::{
    sigkill_after_a_flush_interval_loses_nothing_on, sigkill_with_sync_loses_nothing,
    sigterm_persists_and_exits_zero,
};
use crate::server::{Builder, TestServer, BINARY};

/// The test PostgreSQL cluster, the very file the library's conformance suite uses.
#[path = "../../src/store/postgres/test_cluster.rs"]
pub(crate) mod pg_cluster;

/// A server builder on a fresh database of the shared test cluster.
fn on_postgres() -> Builder {
    let url = pg_cluster::shared().fresh_url();
    TestServer::builder().args(&["--store", &url])
}

#[tokio::test]
async fn a_postgres_server_keeps_a_pad_across_a_sigterm_and_stores_nothing_in_redb() {
    let builder = on_postgres();
    sigterm_persists_and_exits_zero(builder.clone()).await;
    let server = builder.start().await;
    let mut a = crate::client::Client::connect(&server, "which-engine").await;
    a.insert(0, "x").await;
    a.barrier().await;
    assert!(
        !server.data.path().join("ardoise.redb").exists(),
        "no redb file is created in the data directory"
    );
}

#[tokio::test]
async fn a_postgres_server_loses_no_acknowledged_edit_to_a_sigkill() {
    // No --sync and no wait: a commit is durable before the edit is broadcast.
    let mut server = on_postgres().start().await;
    let mut a = crate::client::Client::connect(&server, "crash-pg").await;
    for i in 0..30u32 {
        a.insert(i, "k").await;
    }
    a.barrier().await;
    server.kill9().await;
    let server = server.start_again().await;
    let b = crate::client::Client::connect(&server, "crash-pg").await;
    assert_eq!(b.text(), "k".repeat(30));
}

#[tokio::test]
async fn a_postgres_server_with_sync_loses_nothing_to_a_sigkill() {
    sigkill_with_sync_loses_nothing(on_postgres()).await;
}

#[tokio::test]
async fn a_postgres_server_loses_nothing_older_than_a_flush_interval_to_a_sigkill() {
    sigkill_after_a_flush_interval_loses_nothing_on(on_postgres()).await;
}

#[tokio::test]
async fn a_lost_postgres_makes_the_server_unready_and_it_recovers_without_a_restart() {
    // A cluster of its own: this test stops it.
    let cluster = pg_cluster::Cluster::start().expect("PostgreSQL starts");
    let url = cluster.fresh_url();
    let mut server = TestServer::builder().args(&["--store", &url]).start().await;
    let mut writer = crate::client::Client::connect(&server, "outage").await;
    writer.insert(0, "before").await;
    writer.barrier().await;
    // (No /readyz yet: a success stands for a second, and the next one must probe.)
    assert_eq!(server.metric("ardoise_storage_writable").await, 1.0);

    cluster.stop();
    let (status, body) = server.get("/readyz").await;
    assert_eq!((status, body.as_str()), (503, "storage unavailable"));
    assert_eq!(server.metric("ardoise_storage_writable").await, 0.0);
    // An edit now cannot be saved: the room closes its clients, as on a full disk.
    writer.insert(0, "lost ").await;
    let frame = writer.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1013, "try again later");
    assert!(frame.reason.contains("storage unavailable"), "{frame:?}");
    assert!(
        server.is_alive(),
        "a lost database is an error, not a crash"
    );

    cluster.restart();
    assert_eq!(server.get("/readyz").await.0, 200, "the pool reconnected");
    assert_eq!(server.metric("ardoise_storage_writable").await, 1.0);
    let mut again = crate::client::Client::connect(&server, "outage").await;
    assert_eq!(again.text(), "before", "what was acknowledged is there");
    again.insert(0, "after ").await;
    again.barrier().await;
    let check = crate::client::Client::connect(&server, "outage").await;
    assert_eq!(check.text(), "after before");
}

#[test]
fn a_wrong_postgres_password_stops_the_binary_without_printing_it() {
    let cluster = pg_cluster::shared();
    let good = cluster.fresh_url();
    let bad = good.replace(pg_cluster::PASSWORD, "not-the-pw-4711");
    assert_ne!(good, bad);
    let (code, stderr) = refused(&bad);
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-pw-4711"), "{stderr}");
}

#[tokio::test]
async fn a_sled_server_keeps_a_pad_across_a_sigterm_and_stores_nothing_in_redb() {
    let builder = TestServer::builder().store("sled");
    sigterm_persists_and_exits_zero(builder.clone()).await;
    // The run above wrote through sled, not the default engine: prove it on a fresh server.
    let server = builder.start().await;
    let mut a = crate::client::Client::connect(&server, "which-engine").await;
    a.insert(0, "x").await;
    a.barrier().await;
    let data = server.data.path().to_owned();
    assert!(
        data.join("store").join("conf").exists(),
        "the sled directory holds sled's files"
    );
    assert!(
        !data.join("ardoise.redb").exists(),
        "no redb file is created next to it"
    );
}

#[tokio::test]
async fn a_sled_server_with_sync_loses_nothing_to_a_sigkill() {
    sigkill_with_sync_loses_nothing(TestServer::builder().store("sled")).await;
}

#[tokio::test]
async fn a_sled_server_loses_nothing_older_than_a_flush_interval_to_a_sigkill() {
    sigkill_after_a_flush_interval_loses_nothing_on(TestServer::builder().store("sled")).await;
}

#[tokio::test]
async fn a_backup_of_a_sled_server_restores_on_the_default_engine() {
    backup_taken_while_running_restores(TestServer::builder().store("sled")).await;
}

#[tokio::test]
async fn a_second_server_on_the_same_sled_store_is_refused() {
    let server = TestServer::builder().store("sled").start().await;
    let store = format!("sled:{}", server.data.path().join("store").display());
    let other = tempfile::tempdir().expect("temp dir");
    let out = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--store", &store, "--data"])
        .arg(other.path())
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is in use by a running ardoise"),
        "{stderr}"
    );
    assert_eq!(
        server.get("/readyz").await.0,
        200,
        "the first one serves on, writable"
    );
}

/// Runs the binary with `--store store`; returns its exit code and stderr.
fn refused(store: &str) -> (Option<i32>, String) {
    let data = tempfile::tempdir().expect("temp dir");
    let out = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--store", store, "--data"])
        .arg(data.path())
        .output()
        .expect("binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_engine_stops_the_binary_with_a_clear_message() {
    let (code, stderr) = refused("mongodb://localhost/pads");
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(stderr.contains("unknown storage engine"), "{stderr}");
    assert!(stderr.contains("sled:PATH"), "it says what works: {stderr}");
    let (code, stderr) = refused("postgres://ardoise:hunter2@db:5432/pads?sslmode=require");
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(stderr.contains("no TLS"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is not printed: {stderr}"
    );
}
