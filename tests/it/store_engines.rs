//! `--store`: the real server on the sled engine keeps pads across a SIGTERM and, with `--sync`,
//! a SIGKILL (the crash tests of `durability.rs`, run on sled); an unknown engine stops the binary
//! at start with a message that names the problem.

use std::process::Command;

use crate::durability::{sigkill_with_sync_loses_nothing, sigterm_persists_and_exits_zero};
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
