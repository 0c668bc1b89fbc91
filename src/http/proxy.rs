//! Forwarding to the node that holds a document's lease (several nodes on one PostgreSQL): a
//! WebSocket upgrade for a document live on another node is accepted here and its frames are
//! pumped both ways to that node's advertised URL. No queue of its own: each frame is sent on
//! before the next is read, so a slow side slows the other, and the owner's bounded outbox
//! (close 1013 when full) stays the one overflow policy. An HTTP request for such a document
//! (`/p/{name}…`, `/c/{name}…`, `/_/{name}…`, `/api/v1/documents/{name}…`, `/r/{token}…`) is
//! forwarded whole,
//! its body and the answer's each read to a bound first.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::doc::name::DocName;
use crate::http::upgrade::Upgrade;
use crate::http::AppState;
use crate::sync::outbox::code;

/// How long connecting to the owner may take before the client is told to reconnect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a forwarded HTTP request may take in all (an export of a large document included).
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Headers that describe one hop, not the request: never forwarded either way. The encoding
/// and length go too: the client may decode the answer, and axum sets the length again.
const HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "content-encoding",
];

/// The document an HTTP path names, for the routes that reach a document through its room.
fn doc_of(path: &str) -> Option<&str> {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next()?, parts.next()?) {
        ("p" | "c" | "_", name) => Some(name),
        ("api", "v1") => match (parts.next()?, parts.next()?) {
            ("documents", name) => Some(name),
            _ => None,
        },
        _ => None,
    }
}

/// The document a path reaches: named in it, or designated by the read-only token of
/// `/r/{token}…` (looked up in storage).
async fn named(state: &AppState, path: &str) -> Option<DocName> {
    if let Some(name) = doc_of(path) {
        return DocName::parse(name).ok();
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let token = match (parts.next()?, parts.next()?) {
        ("r", token) => token.to_owned(),
        _ => return None,
    };
    let store = state.hub.store().clone();
    let name = tokio::task::spawn_blocking(move || store.token_name(&token))
        .await
        .ok()?
        .ok()??;
    DocName::parse(&name).ok()
}

/// Middleware: forwards a request for a document live on another node to that node; anything
/// else goes on here.
pub(crate) async fn forward(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let owner = match state.hub.node() {
        Some(_) => match named(&state, request.uri().path()).await {
            Some(name) => owner_elsewhere(&state, &name).await,
            None => None,
        },
        None => None,
    };
    let Some(owner) = owner else {
        return next.run(request).await;
    };
    // A body is bounded as the largest document: no route takes more.
    let limit = state.config.max_doc_bytes;
    match forward_http(request, &owner, limit).await {
        Ok(response) => {
            state.metrics.proxied.inc();
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot forward a request to the document's node");
            (
                axum::http::StatusCode::BAD_GATEWAY,
                "the document's server did not answer; try again",
            )
                .into_response()
        }
    }
}

/// Why a forwarded request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    /// The request's body was larger than the bound, or could not be read.
    #[error("request body: {0}")]
    Body(String),
    /// The owner could not be reached or its answer read.
    #[error("forwarding: {0}")]
    Upstream(String),
    /// The forwarding task panicked.
    #[error("the forwarding task failed")]
    Panicked,
}

/// Sends `request` to the node at `base` (blocking client, on the blocking pool) and returns
/// its answer, both bodies read to `limit` bytes at most.
async fn forward_http(
    request: axum::extract::Request,
    base: &str,
    limit: usize,
) -> Result<Response, ProxyError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| ProxyError::Body(e.to_string()))?;
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut upstream = ureq::http::Request::builder()
        .method(parts.method.as_str())
        .uri(url);
    for (name, value) in &parts.headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            // A redirect is the owner's answer: passed on to the client as it is.
            .max_redirects_will_error(false)
            .allow_non_standard_methods(true)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(HTTP_TIMEOUT))
            .build()
            .into();
        let failed = |e: ureq::Error| ProxyError::Upstream(e.to_string());
        let built = |e: ureq::http::Error| ProxyError::Upstream(e.to_string());
        // Without a body, none is sent (a GET with an empty body is not what the client sent).
        let mut response = if body.is_empty() {
            agent.run(upstream.body(()).map_err(built)?)
        } else {
            agent.run(upstream.body(body.to_vec()).map_err(built)?)
        }
        .map_err(failed)?;
        let status = response.status().as_u16();
        let headers: Vec<(String, Vec<u8>)> = response
            .headers()
            .iter()
            .filter(|(n, _)| !HOP_HEADERS.contains(&n.as_str()))
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
            .map_err(failed)?;
        Ok::<_, ProxyError>((status, headers, bytes))
    })
    .await
    .map_err(|_| ProxyError::Panicked)??;
    let (status, headers, bytes) = answer;
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_bytes(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

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
pub(crate) fn websocket(state: &AppState, upgrade: Upgrade, upstream: String) -> Response {
    let max = state.config.max_message_bytes;
    let shutdown = state.shutdown.clone();
    let connections = state.connections.clone();
    state.metrics.proxied.inc();
    upgrade
        .accept(move |upgraded| connections.track_future(pump(upgraded, upstream, max, shutdown)))
}

/// The client's side of a forwarded connection.
type ClientSocket = WebSocketStream<TokioIo<Upgraded>>;

/// Pumps frames until either side closes: a close frame passes through as it is (4410, 1012
/// from the owner), an owner that vanishes (killed) closes the client with 1012 so it
/// reconnects, and a shutdown closes it with 1001.
async fn pump(upgraded: Upgraded, upstream: String, max: usize, shutdown: CancellationToken) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let mut client =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
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
            from_client = client.next() => {
                let Some(Ok(msg)) = from_client else {
                    let _ = owner.close(None).await;
                    return;
                };
                let closing = matches!(msg, Message::Close(_));
                if owner.send(msg).await.is_err() {
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
                if matches!(msg, Message::Frame(_)) {
                    // A raw frame: never what a read gives.
                    continue;
                }
                let closing = matches!(msg, Message::Close(_));
                if client.send(msg).await.is_err() || closing {
                    let _ = owner.close(None).await;
                    return;
                }
            }
        }
    }
}

/// Closes the client's socket with `code` and `reason`.
async fn close(mut client: ClientSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = client.send(Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_of_a_path_is_found_for_the_routes_that_reach_one() {
        assert_eq!(doc_of("/p/a/export/txt"), Some("a"));
        assert_eq!(doc_of("/c/b"), Some("b"));
        assert_eq!(doc_of("/_/e/cells/A1"), Some("e"));
        assert_eq!(doc_of("/api/v1/documents/d/text"), Some("d"));
        assert_eq!(doc_of("/api/v1/documents"), None);
        assert_eq!(doc_of("/metrics"), None);
        assert_eq!(doc_of("/ws/a"), None);
    }

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
