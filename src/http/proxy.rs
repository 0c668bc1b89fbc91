//! Forwarding to the node that holds a document's lease (several nodes on one PostgreSQL): a
//! WebSocket upgrade for a document live on another node is accepted here and its frames are
//! pumped both ways to that node's advertised URL. No queue of its own: each frame is sent on
//! before the next is read, so a slow side slows the other, and the owner's bounded outbox
//! (close 1013 when full) stays the one overflow policy.

use std::time::Duration;

use axum::extract::ws::{self, CloseFrame, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

use crate::doc::name::DocName;
use crate::http::AppState;
use crate::sync::outbox::code;

/// How long connecting to the owner may take before the client is told to reconnect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The advertised URL of the node holding `name`'s lease, when that is another node. `None`
/// when this server is alone on its database, the document is live nowhere or here, or the
/// lease cannot be read (then the room's own lease decides).
pub(crate) async fn owner_elsewhere(state: &AppState, name: &DocName) -> Option<String> {
    let node = state.hub.node()?.clone();
    let store = state.hub.store().clone();
    let doc = name.as_str().to_owned();
    let holder = tokio::task::spawn_blocking(move || store.lease_holder(&doc))
        .await
        .ok()?
        .ok()??;
    (holder.owner != node.id && !holder.url.is_empty()).then_some(holder.url)
}

/// `path` (starting with `/`) on the node advertised at `base`, as a WebSocket URL.
pub(crate) fn ws_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}{path}")
}

/// Accepts the upgrade and pumps its frames to and from `upstream` (a `ws://` URL).
pub(crate) fn websocket(state: &AppState, upgrade: WebSocketUpgrade, upstream: String) -> Response {
    let max = state.config.max_message_bytes;
    let shutdown = state.shutdown.clone();
    let connections = state.connections.clone();
    state.metrics.proxied.inc();
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connections.track_future(pump(socket, upstream, max, shutdown)))
}

/// Pumps frames until either side closes: a close frame passes through as it is (4410, 1012
/// from the owner), an owner that vanishes (killed) closes the client with 1012 so it
/// reconnects, and a shutdown closes it with 1001.
async fn pump(mut client: WebSocket, upstream: String, max: usize, shutdown: CancellationToken) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let connect = tokio_tungstenite::connect_async_with_config(&upstream, Some(config), false);
    let mut owner = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok((owner, _))) => owner,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot reach the document's node");
            return close(client, code::SERVICE_RESTART, "document moving, reconnect").await;
        }
        Err(_) => {
            tracing::warn!("the document's node did not answer in time");
            return close(client, code::SERVICE_RESTART, "document moving, reconnect").await;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = owner.close(None).await;
                return close(client, code::GOING_AWAY, "server shutting down").await;
            }
            from_client = client.recv() => {
                let Some(Ok(msg)) = from_client else {
                    let _ = owner.close(None).await;
                    return;
                };
                let closing = matches!(msg, ws::Message::Close(_));
                if owner.send(upward(msg)).await.is_err() {
                    return close(client, code::SERVICE_RESTART, "document moving, reconnect").await;
                }
                if closing {
                    return;
                }
            }
            from_owner = owner.next() => {
                let Some(Ok(msg)) = from_owner else {
                    return close(client, code::SERVICE_RESTART, "document moving, reconnect").await;
                };
                let Some(msg) = downward(msg) else { continue };
                let closing = matches!(msg, ws::Message::Close(_));
                if client.send(msg).await.is_err() || closing {
                    let _ = owner.close(None).await;
                    return;
                }
            }
        }
    }
}

/// Closes the client's socket with `code` and `reason`.
async fn close(mut client: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = client.send(ws::Message::Close(Some(frame))).await;
}

/// A client's frame as the owner's connection sends it.
fn upward(msg: ws::Message) -> Message {
    match msg {
        ws::Message::Text(text) => Message::Text(text.as_str().into()),
        ws::Message::Binary(bytes) => Message::Binary(bytes),
        ws::Message::Ping(bytes) => Message::Ping(bytes),
        ws::Message::Pong(bytes) => Message::Pong(bytes),
        ws::Message::Close(frame) => {
            Message::Close(frame.map(|f| tungstenite::protocol::CloseFrame {
                code: CloseCode::from(f.code),
                reason: f.reason.as_str().into(),
            }))
        }
    }
}

/// The owner's frame as the client's socket sends it (`None`: a raw frame, never read).
fn downward(msg: Message) -> Option<ws::Message> {
    Some(match msg {
        Message::Text(text) => ws::Message::Text(text.as_str().into()),
        Message::Binary(bytes) => ws::Message::Binary(bytes),
        Message::Ping(bytes) => ws::Message::Ping(bytes),
        Message::Pong(bytes) => ws::Message::Pong(bytes),
        Message::Close(frame) => ws::Message::Close(frame.map(|f| CloseFrame {
            code: u16::from(f.code),
            reason: f.reason.as_str().into(),
        })),
        Message::Frame(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advertised_url_becomes_the_websocket_url_of_a_path() {
        assert_eq!(
            ws_url("http://10.0.0.2:8080/", "/ws/a"),
            "ws://10.0.0.2:8080/ws/a"
        );
        assert_eq!(
            ws_url("https://pads.example/base", "/ws/r/t"),
            "wss://pads.example/base/ws/r/t"
        );
    }
}
