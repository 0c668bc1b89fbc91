//! Creation decisions read metadata only: a refused creation loads no room and leaves nothing
//! in the hub (so refusals never keep the `rooms` signal up), and a document someone joined
//! over WebSocket while creation was open is an existing document afterwards.

use std::io::Write;
use std::time::Duration;

use crate::client::Client;
use crate::server::TestServer;

const TOKEN: &str = "creation-test-admin-token";

/// Sets the creation override through the admin API.
async fn set_creation(server: &TestServer, mode: &str) {
    let auth = format!("Bearer {TOKEN}");
    let r = server
        .request(
            "PUT",
            "/admin/api/creation",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            &format!(r#"{{"mode":"{mode}"}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn refused_creations_leave_no_room_behind() {
    let server = TestServer::builder()
        .args(&["--shedding-mode", "closed"])
        .start()
        .await;
    assert_eq!(server.metric("ardoise_rooms").await, 0.0);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let csv = [("Content-Type", "text/csv")];
    for i in 0..10 {
        assert_eq!(server.get(&format!("/p/refused-pad-{i}")).await.0, 503);
        assert_eq!(server.get(&format!("/c/refused-calc-{i}")).await.0, 503);
        let r = server
            .request("POST", "/new", &form, &format!("name=refused-form-{i}"))
            .await;
        assert_eq!(r.status, 503);
        assert_eq!(
            server
                .refused_upgrade(&format!("refused-ws-{i}"))
                .await
                .status(),
            503
        );
        let r = server
            .request("PUT", &format!("/_/refused-put-{i}"), &csv, "a,b\n1,2\n")
            .await;
        assert_eq!(r.status, 503, "{}", r.body);
        let r = server.request("POST", "/_", &csv, "a,b\n1,2\n").await;
        assert_eq!(r.status, 503, "{}", r.body);
    }
    assert_eq!(
        server.metric("ardoise_rooms").await,
        0.0,
        "refusals left rooms in the hub"
    );
    assert_eq!(server.metric("ardoise_stored_documents").await, 0.0);
}

#[tokio::test]
async fn creation_reopens_while_refused_attempts_continue() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(
        file,
        "[shedding]\nrooms_high = 1\nrooms_low = 1\nhold_secs = 1"
    )
    .expect("write");
    let path = file.path().to_str().expect("utf-8 path");
    let server = TestServer::builder()
        .args(&[
            "--config",
            path,
            "--shedding-mode",
            "auto",
            "--unload-grace-secs",
            "1",
        ])
        .start()
        .await;
    // Two live documents: above the mark.
    let a = Client::connect(&server, "load-a").await;
    let b = Client::connect(&server, "load-b").await;
    server
        .wait_log("creation closing", |l| {
            l.contains("creation of new documents closed")
        })
        .await;
    // The load goes; people keep trying new names, ten a second. Without rooms of their own,
    // the refusals let the room count fall to its low mark and creation reopens.
    a.close().await;
    b.close().await;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for i in 0.. {
        tick.tick().await;
        let (code, _) = server.get(&format!("/p/try-{i}")).await;
        if code == 200 {
            break;
        }
        assert_eq!(code, 503);
        // Unload grace (1 s) + hold (1 s) + sampling: reopening takes about 3 s; 30 s means never.
        assert!(i < 300, "creation still closed after {i} refused attempts");
    }
}

/// Starts a server whose creation override the test sets.
async fn with_override() -> TestServer {
    let server = TestServer::builder()
        .args(&["--admin-token", TOKEN])
        .start()
        .await;
    set_creation(&server, "open").await;
    server
}

/// Document `name` opens and syncs between two clients while creation is closed.
async fn opens_and_syncs(server: &TestServer, name: &str) {
    let (code, page) = server.get(&format!("/p/{name}")).await;
    assert_eq!(code, 200, "{page}");
    let mut one = Client::connect(server, name).await;
    let mut two = Client::connect(server, name).await;
    one.insert(0, "typed after closing").await;
    two.until("the first client's edit", |c| {
        c.text() == "typed after closing"
    })
    .await;
}

#[tokio::test]
async fn a_document_joined_over_websocket_exists_once_creation_closes() {
    let server = with_override().await;
    // A stock client joins a new name and types nothing.
    let joined = Client::connect(&server, "joined-first").await;
    joined.close().await;
    set_creation(&server, "closed").await;
    assert_eq!(server.refused_upgrade("never-joined").await.status(), 503);
    opens_and_syncs(&server, "joined-first").await;
}

#[tokio::test]
async fn a_document_opened_as_a_page_exists_once_creation_closes() {
    let server = with_override().await;
    assert_eq!(server.get("/p/paged-first").await.0, 200);
    set_creation(&server, "closed").await;
    assert_eq!(server.get("/p/never-paged").await.0, 503);
    opens_and_syncs(&server, "paged-first").await;
}
