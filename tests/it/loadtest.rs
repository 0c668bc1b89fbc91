//! The load generator end to end: a short `loadtest run` against the real server, with every
//! pad checked for convergence. No timing is asserted: the machine may be busy.

use ::loadtest::run::{execute, Options};
use ::loadtest::scenario::Scenario;
use ::loadtest::target::Target;

use crate::server::TestServer;

/// A 2-second run of `docs` pads × (`writers` + `readers`) at 5 edits/s against `server`,
/// `cursor` as `--cursor`: every client synced, none lost, every edit delivered to each other
/// client of its pad once, every pad converged. Answers the report.
async fn short_run(
    server: &TestServer,
    (docs, writers, readers): (usize, usize, usize),
    cursor: bool,
) -> ::loadtest::report::Report {
    let url = format!("ws://{}/ws/{{doc}}", server.addr);
    let mut plan = Scenario::Custom.preset();
    plan.docs = docs;
    plan.writers = writers;
    plan.readers = readers;
    plan.rate = 5.0;
    plan.duration_secs = 2.0;
    // Generous: on a loaded machine deliveries may lag; the drain ends as soon as all arrived.
    plan.drain_secs = 30.0;
    plan.cursor = cursor;
    plan.validate().expect("plan within bounds");
    let report = execute(Options {
        target: Target::parse(&url).expect("loopback URL"),
        plan,
        server: None,
        label: "ardoise".into(),
        progress: false,
    })
    .await
    .expect("the run completes");
    let clients = docs * (writers + readers);
    assert_eq!(report.synced, clients, "{}", report.human());
    assert_eq!(
        (report.connect_failures, report.lost),
        (0, 0),
        "{}",
        report.human()
    );
    assert!(report.edits_sent > 0, "{}", report.human());
    assert_eq!(report.delivered, report.expected, "{}", report.human());
    assert_eq!(
        report.expected,
        report.edits_sent * (writers + readers - 1) as u64,
        "each edit reaches the other clients of its pad, once"
    );
    assert_eq!(report.docs_checked, docs);
    assert!(report.converged, "{}", report.human());
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_delivers_every_edit_and_every_pad_converges() {
    let server = TestServer::start().await;
    let report = short_run(&server, (3, 2, 3), false).await;

    // The rooms counted what went through them.
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
    };
    let context = format!("{}\n{metrics}", report.human());
    // Each client's sync step 2 counts as an update too: 15 clients and 3 fresh ones (each
    // ends with the closing handshake, so the server read its step 2 before it left).
    assert_eq!(
        value("ardoise_room_updates_in_total"),
        (report.edits_sent + 18) as f64,
        "{context}"
    );
    assert!(
        value("ardoise_room_updates_in_bytes_total") > 0.0,
        "{context}"
    );
    let broadcasts = value("ardoise_room_broadcasts_total");
    assert!(
        broadcasts >= 1.0 && broadcasts <= report.edits_sent as f64,
        "{context}"
    );
    assert_eq!(
        value("ardoise_room_broadcast_delay_seconds_count"),
        broadcasts,
        "{context}"
    );
    assert!(value("ardoise_room_sent_bytes_total") > 0.0, "{context}");
    assert!(
        value("ardoise_room_persist_lag_seconds_count") >= 1.0,
        "{context}"
    );
    // The default engine groups the rooms' flushes: at least one per commit, never more
    // commits than flushes (each broadcast was persisted first).
    let (batches, writes) = (
        value("ardoise_store_commit_batches_total"),
        value("ardoise_store_commit_writes_total"),
    );
    assert!(batches >= 1.0 && writes >= batches, "{context}");
    assert!(writes >= broadcasts, "{context}");
    server.stop().await;
}

/// With `--cursor`, every edit is followed by an awareness update in the same write: the server
/// takes both (no connection closed), and the awareness frames it relays count as no delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_with_cursor_updates_delivers_every_edit() {
    let server = TestServer::start().await;
    short_run(&server, (2, 2, 2), true).await;
    server.stop().await;
}
