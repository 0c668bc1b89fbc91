//! The WebSocket handshake (RFC 6455 §4.2): checks the request, answers 101 Switching
//! Protocols, and hands the upgraded connection over, either as its TCP socket (`ws` frames it
//! by hand, so a room's broadcast is encoded once and written straight from the room) or as
//! hyper's stream (the proxy's tungstenite).

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::http::accept::{Counted, Slot};

/// A valid WebSocket upgrade request, not yet answered.
pub(crate) struct Upgrade {
    key: HeaderValue,
    on: OnUpgrade,
}

/// The request is not a WebSocket upgrade.
#[derive(Debug)]
pub(crate) struct NotUpgrade;

impl IntoResponse for NotUpgrade {
    fn into_response(self) -> Response {
        StatusCode::BAD_REQUEST.into_response()
    }
}

/// Whether header `name` lists `token` (comma-separated, any case).
fn lists(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotUpgrade;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, NotUpgrade> {
        let headers = &parts.headers;
        if parts.method != Method::GET
            || !lists(headers, CONNECTION, "upgrade")
            || !lists(headers, UPGRADE, "websocket")
            || headers
                .get(SEC_WEBSOCKET_VERSION)
                .map(HeaderValue::as_bytes)
                != Some(b"13")
        {
            return Err(NotUpgrade);
        }
        let key = headers.get(SEC_WEBSOCKET_KEY).ok_or(NotUpgrade)?.clone();
        let on = parts.extensions.remove::<OnUpgrade>().ok_or(NotUpgrade)?;
        Ok(Self { key, on })
    }
}

impl Upgrade {
    /// Answers 101 and runs `serve` on the connection once hyper has handed it over.
    pub(crate) fn accept<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on = self.on;
        tokio::spawn(async move {
            match on.await {
                Ok(upgraded) => serve(upgraded).await,
                Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
            }
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// The TCP socket under an upgraded connection, its connection slot (to give back when the
/// socket closes) and what the client sent past the handshake that hyper had already read.
/// `None` if the connection is not one the accept loop made (it always is).
pub(crate) fn socket(upgraded: Upgraded) -> Option<(TcpStream, Option<Slot>, BytesMut)> {
    let parts = upgraded.downcast::<TokioIo<Counted>>().ok()?;
    let (tcp, slot) = parts.io.into_inner().into_parts();
    // Copied out: hyper's `read_buf` is a slice of its whole read buffer (kilobytes), which
    // would otherwise live as long as the connection.
    Some((tcp, slot, BytesMut::from(&parts.read_buf[..])))
}
