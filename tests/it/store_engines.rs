//! `--store`: the real server on the sled engine keeps pads across a SIGTERM, a SIGKILL past a
//! flush interval and, with `--sync`, right after the answer (the crash tests of `durability.rs`,
//! run on sled); its API backup restores on the default engine; a second server on the same
//! store is refused; an unknown engine stops the binary at start with a message that names the
//! problem.

use std::process::Command;

use crate::api::backup_taken_while_running_restores;
use crate::durability::{
    sigkill_after_a_flush_interval_loses_nothing_on, sigkill_with_sync_loses_nothing,
    sigterm_persists_and_exits_zero,
};
use crate::server::{TestServer, BINARY};

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
    let (code, stderr) = refused("postgres://ardoise:hunter2@db:5432/pads");
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(stderr.contains("PostgreSQL is not supported"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is not printed: {stderr}"
    );
}
