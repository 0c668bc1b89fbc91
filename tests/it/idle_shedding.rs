//! An idle server in `auto` shedding mode with the default marks never closes creation: people
//! create pads one after another and type into them, as a class does at the start of a lesson.

use std::time::Duration;

use crate::client::Client;
use crate::server::TestServer;

/// Pads created one after another.
const PADS: usize = 8;

/// Repeats of a 12-byte phrase in the large paste (about 2.4 MB; messages may be 8 MiB).
const BIG_PASTE: usize = 200_000;

/// Time between two keystrokes.
const KEYSTROKE_MS: u64 = 30;

/// The value of the metric line starting with `prefix` (name and labels), if present.
fn metric(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Broadcasts recorded so far, and how many of them waited over 50 ms.
fn broadcast_delays(metrics: &str) -> (f64, f64) {
    let total = metric(metrics, "ardoise_room_broadcast_delay_seconds_count").unwrap_or(0.0);
    let fast = metric(
        metrics,
        "ardoise_room_broadcast_delay_seconds_bucket{le=\"0.05\"}",
    )
    .unwrap_or(0.0);
    (total, total - fast)
}

#[tokio::test]
async fn creating_pads_one_after_another_on_an_idle_server_never_gets_503() {
    let server = TestServer::builder()
        .args(&["--shedding-mode", "auto"])
        .start()
        .await;
    for i in 0..PADS {
        let name = format!("lesson-{i}");
        let page = server
            .request(
                "GET",
                &format!("/p/{name}"),
                &[("Accept-Language", "en")],
                "",
            )
            .await;
        assert_eq!(page.status, 200, "pad {i} refused: {}", page.body);
        let mut client = Client::connect(&server, &name).await;
        // Two words, one keystroke (one update, one broadcast) at a time, at a typist's pace
        // (pacing, not synchronisation: each keystroke then meets the store's background
        // work as a person's would).
        for (at, c) in "hello world".chars().enumerate() {
            client.insert(at as u32, &c.to_string()).await;
            tokio::time::sleep(Duration::from_millis(KEYSTROKE_MS)).await;
        }
        // A paste; in one pad a large one: one slow save (a big update to apply, journal and
        // store), which on its own must not close creation.
        let paste = if i == 1 { BIG_PASTE } else { 1_000 };
        client.insert(11, &" lorem ipsum".repeat(paste)).await;
        client.barrier().await;
        assert!(client.text().starts_with("hello world lorem"));
        client.close().await;
    }
    // Wait for the admission task to sample a window without broadcasts: every window with one
    // has been sampled by then, and any of them could have closed creation.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        let metrics = server.get("/metrics").await.1;
        let delay = metric(
            &metrics,
            "ardoise_admission_signal{signal=\"broadcast_delay_ms\"}",
        );
        if delay == Some(0.0) {
            break metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no quiet sample: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (broadcasts, over_50ms) = broadcast_delays(&metrics);
    eprintln!("broadcasts: {broadcasts}, over 50 ms: {over_50ms}");
    assert!(broadcasts >= PADS as f64, "{metrics}");
    assert_eq!(
        metric(&metrics, "ardoise_creation_open"),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        !server
            .logs()
            .iter()
            .any(|l| l.contains("creation of new documents closed")),
        "creation closed on an idle server"
    );
    assert_eq!(server.get("/p/after-the-lesson").await.0, 200);
}
