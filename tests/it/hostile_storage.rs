//! Storage under a hostile environment (issue 16, items 9 and 10): a disk that fills up, and a
//! process killed right after a broadcast. The disk is "full" through the server's file-size
//! limit (RLIMIT_FSIZE, set on the live process: past it a write fails with EFBIG, as on a full
//! disk, and needs no privilege); raising the limit is "freeing space".

use crate::client::Client;
use crate::server::TestServer;

/// Sets the file-size limit of process `pid` to `bytes` (`None`: unlimited), keeping its hard
/// limit.
fn limit_file_size(pid: u32, bytes: Option<u64>) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads the limit into a local struct.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0, "reading the file-size limit");
    let new = libc::rlimit {
        rlim_cur: bytes.map_or(old.rlim_max, |b| b.min(old.rlim_max)),
        rlim_max: old.rlim_max,
    };
    // SAFETY: passes a pointer to a local struct; the old value is not asked for.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &new, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "setting the file-size limit");
}

/// Every write of the database file lands past this offset (the file starts bigger), while a
/// short journal record still fits under it.
const FULL: Option<u64> = Some(4096);

#[tokio::test]
async fn a_full_disk_refuses_writes_then_recovers_without_a_restart_losing_nothing_acknowledged() {
    let mut server = TestServer::start().await;
    let mut writer = Client::connect(&server, "full").await;
    let mut watcher = Client::connect(&server, "full").await;
    for i in 0..20u32 {
        writer.insert(i, "a").await;
    }
    watcher
        .until("the edits, acknowledged by their broadcast", |c| {
            c.text().len() == 20
        })
        .await;
    // (No /readyz yet: a success stands for a second, and the next one must probe.)
    assert_eq!(server.metric("ardoise_storage_writable").await, 1.0);

    limit_file_size(server.pid(), FULL);
    // The probe writes, so it sees what a read would not.
    let (status, body) = server.get("/readyz").await;
    assert_eq!((status, body.as_str()), (503, "storage unavailable"));
    server
        .wait_log("the storage failure", |l| l.contains("storage failed"))
        .await;
    // An edit now cannot be saved: its author is told so plainly, and it is not broadcast.
    writer.insert(0, "lost").await;
    let frame = writer.closed_by_server().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1013, "try again later");
    assert!(frame.reason.contains("storage unavailable"), "{frame:?}");
    watcher.closed_by_server().await;
    assert_eq!(watcher.text(), "a".repeat(20));
    assert_eq!(server.get("/readyz").await.0, 503);
    assert!(
        server.is_alive(),
        "a write past the limit is an error, not SIGXFSZ"
    );
    assert_eq!(server.metric("ardoise_storage_writable").await, 0.0);
    assert!(server.metric("ardoise_storage_errors_total").await >= 1.0);

    // Space is freed: storage comes back by itself, and so does every document.
    limit_file_size(server.pid(), None);
    server
        .wait_log("the storage recovery", |l| l.contains("storage recovered"))
        .await;
    assert_eq!(server.get("/readyz").await.0, 200);
    assert_eq!(server.metric("ardoise_storage_writable").await, 1.0);
    let mut other = Client::connect(&server, "unrelated").await;
    other.insert(0, "works again").await;
    other.barrier().await;
    let back = Client::connect(&server, "full").await;
    assert_eq!(
        back.text(),
        "a".repeat(20),
        "what was acknowledged, reloaded"
    );

    server.kill9().await;
    let server = server.start_again().await;
    assert_eq!(
        Client::connect(&server, "full").await.text(),
        "a".repeat(20)
    );
    assert_eq!(
        Client::connect(&server, "unrelated").await.text(),
        "works again"
    );
}

#[tokio::test]
async fn edits_acknowledged_before_a_full_disk_survive_a_kill_during_it() {
    // No durable commit in the test's time: only the journal can bring the edits back.
    let mut server = TestServer::builder()
        .args(&["--flush-interval-ms", "600000"])
        .start()
        .await;
    let mut writer = Client::connect(&server, "full-kill").await;
    let mut watcher = Client::connect(&server, "full-kill").await;
    for i in 0..21u32 {
        writer.insert(i, "a").await;
    }
    watcher.until("the edits", |c| c.text().len() == 21).await;
    limit_file_size(server.pid(), FULL);
    assert_eq!(server.get("/readyz").await.0, 503);
    server.kill9().await;
    let server = server.start_again().await;
    assert_eq!(
        Client::connect(&server, "full-kill").await.text(),
        "a".repeat(21)
    );
}

#[tokio::test]
async fn sigkill_right_after_a_broadcast_loses_nothing_another_client_received() {
    // Not --sync; a flush interval longer than the test, so no durable commit covers the edits
    // (with the default 100 ms one, some would be covered by chance).
    let mut server = TestServer::builder()
        .args(&["--flush-interval-ms", "600000"])
        .start()
        .await;
    let mut author = Client::connect(&server, "seen").await;
    let mut reader = Client::connect(&server, "seen").await;
    for i in 0..50u32 {
        author.insert(i, "k").await;
    }
    reader.until("every edit", |c| c.text().len() == 50).await;
    server.kill9().await;
    // The author never reconnects: only the server can have kept the edits.
    let server = server.start_again().await;
    assert_eq!(
        Client::connect(&server, "seen").await.text(),
        "k".repeat(50)
    );
}
