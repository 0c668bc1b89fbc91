//! The HTTP edge: routes, the WebSocket upgrade, and the mapping of errors to responses.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::hub::Hub;
use crate::name::{DocName, NameError};
use crate::ws;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Live rooms.
    pub hub: Arc<Hub>,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket connections so shutdown can wait for their close frames.
    pub connections: TaskTracker,
}

/// Errors answered to HTTP clients; the text is the response body.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The document name in the path is invalid.
    #[error("invalid document name: {0}")]
    BadName(#[from] NameError),
    /// The request should have been a WebSocket upgrade.
    #[error("this endpoint expects a WebSocket upgrade (y-websocket protocol)")]
    NotWebSocket,
    /// No such route.
    #[error("not found")]
    NotFound,
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match self {
            AppError::BadName(_) | AppError::NotWebSocket => StatusCode::BAD_REQUEST,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{self}\n"),
        )
            .into_response()
    }
}

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws/{name}", get(websocket))
        .fallback(|| async { AppError::NotFound })
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn websocket(
    State(state): State<AppState>,
    Path(name): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let name = DocName::parse(&name)?;
    let upgrade = upgrade.map_err(|_| AppError::NotWebSocket)?;
    if state.shutdown.is_cancelled() {
        return Err(AppError::ShuttingDown);
    }
    let max = state.config.max_message_bytes;
    let AppState {
        hub,
        config,
        shutdown,
        connections,
    } = state;
    Ok(upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            connections.track_future(ws::serve(socket, name, hub, config, shutdown))
        }))
}
