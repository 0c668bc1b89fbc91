//! The HTTP edge: health, unknown routes, invalid names, non-WebSocket requests.

use crate::server::TestServer;

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await, (200, "ok".into()));
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/nope").await.0, 404);
}

#[tokio::test]
async fn invalid_names_are_refused_at_the_upgrade() {
    let server = TestServer::start().await;
    let long = "a".repeat(101);
    for (name, why) in [
        ("a%20b", "letters without accents"),
        ("%C3%A9t%C3%A9", "letters without accents"),
        (long.as_str(), "longer than 100"),
    ] {
        let response = server.refused_upgrade(name).await;
        assert_eq!(response.status(), 400, "{name}");
        let body =
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
        assert!(body.contains(why), "{name}: {body}");
    }
}

#[tokio::test]
async fn plain_get_on_the_websocket_route_is_a_clear_400() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/ws/some-pad").await;
    assert_eq!(status, 400);
    assert!(body.contains("WebSocket"), "{body}");
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let server = TestServer::builder()
        .args(&["--idle-timeout-secs", "1", "--ping-secs", "3600"])
        .start()
        .await;
    let mut c = crate::client::Client::connect(&server, "idle").await;
    let frame = c.closed_by_server().await.expect("close frame");
    assert_eq!(frame.reason.as_str(), "idle timeout");
}
