//! Liveness, readiness and metrics for the operator's probes and scrapers.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::metrics::Snapshot;
use crate::http::AppState;
use crate::service::admission;

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if state.hub.storage_ready().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable").into_response()
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let now = Snapshot {
        connections: state.connections.len(),
        tcp_connections: state.slots.open(),
        rooms: state.hub.live_rooms(),
        stored_documents: state.hub.stored_documents(),
        rss_bytes: rss_bytes(),
        admission: state.admission.state(),
        storage: state.hub.storage_health(),
        commits: state.hub.commits(),
    };
    let mut response = state.metrics.render(&now).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Resident memory in bytes, 0 when unknown.
fn rss_bytes() -> u64 {
    let mib = admission::probe::rss_mib();
    if mib.is_finite() {
        (mib * 1024.0 * 1024.0) as u64
    } else {
        0
    }
}
