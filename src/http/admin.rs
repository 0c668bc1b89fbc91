//! The operator's `/admin` page and its JSON API under `/admin/api/`: stats, the creation
//! override, a paged search of documents, deletion with a message, and a notice shown on every
//! open pad. Everything answers 404 unless an admin token is configured; the API wants it as
//! `Authorization: Bearer <token>` (any case of `Bearer`, compared in constant time) and answers
//! 401 otherwise, before reading any body. The
//! page itself holds no data: its script asks for the token and keeps it in memory only.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

pub use crate::config::secrets::{AdminToken, EmptyToken};
use crate::doc::name::DocName;
use crate::http::error::admin::AdminError;
use crate::http::extract::{json_body, Admin, AdminKey};
use crate::http::gate::{ApiLimit, Authed};
use crate::http::respond::static_page;
use crate::http::{assets, pages};
use crate::http::{AppError, AppState, RequestLang};
use crate::service::admission::{Mode, Signal};
use crate::service::nodes;
use crate::store::NodeReport;

/// Most documents one page of the search returns.
pub const MAX_PAGE: usize = 200;

/// Longest notice, in characters.
pub const MAX_NOTICE_CHARS: usize = 500;

/// What disconnected clients are told when the operator gives no message.
const DEFAULT_DELETE_REASON: &str = "this document was deleted by the operator";

/// Another method on an admin path: 405, or 404 like everything else when the admin is off
/// (so a disabled admin does not show that its paths exist).
pub(crate) async fn wrong_method(State(state): State<AppState>) -> Response {
    if state.config.admin_token.is_none() {
        AppError::NotFound.into_response()
    } else {
        StatusCode::METHOD_NOT_ALLOWED.into_response()
    }
}

/// A request with the admin token and a body of at most `api_max_body_bytes`.
type TokenAndBody = Authed<AdminKey, ApiLimit>;

pub(crate) async fn page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
) -> Response {
    if state.config.admin_token.is_none() {
        return AppError::NotFound.page(lang);
    }
    static_page(pages::admin(lang, assets::urls()))
}

/// One load signal with its marks.
#[derive(Debug, Serialize)]
struct SignalView {
    /// Latest value (`null` when unknown).
    value: Option<f64>,
    high: u64,
    low: u64,
}

/// The creation state.
#[derive(Debug, Serialize)]
struct CreationView {
    open: bool,
    mode: Mode,
    /// The signal that closed creation automatically, while it stays closed.
    cause: Option<CauseView>,
}

#[derive(Debug, Serialize)]
struct CauseView {
    signal: Signal,
    value: f64,
}

/// `GET /admin/api/stats`.
#[derive(Debug, Serialize)]
struct Stats {
    connections: usize,
    rooms: usize,
    stored_documents: u64,
    creation: CreationView,
    signals: std::collections::BTreeMap<&'static str, SignalView>,
    notice: Option<String>,
}

fn creation_view(state: &crate::service::admission::AdmissionState) -> CreationView {
    CreationView {
        open: state.open,
        mode: state.mode,
        cause: state
            .cause
            .map(|(signal, value)| CauseView { signal, value }),
    }
}

pub(crate) async fn stats(_: Admin, State(state): State<AppState>) -> Response {
    let admission = state.admission.state();
    let marks = &state.config.shedding;
    let signals = Signal::ALL
        .into_iter()
        .map(|s| {
            let value = admission.last.get(s);
            let view = SignalView {
                value: value.is_finite().then_some(value),
                high: marks.high(s),
                low: marks.low(s),
            };
            (s.name(), view)
        })
        .collect();
    json(Stats {
        connections: state.connections.len(),
        rooms: state.hub.live_rooms(),
        stored_documents: state.hub.stored_documents(),
        creation: creation_view(&admission),
        signals,
        notice: state.hub.notice().map(|n| n.to_string()),
    })
}

/// One node of `GET /admin/api/nodes`.
#[derive(Debug, Serialize)]
struct NodeView {
    /// Its `--node-id`; `null` for a server alone on its database.
    id: Option<String>,
    url: String,
    /// The node that answered this request.
    this_node: bool,
    /// Reported within the last three lease lengths (always true for the node that answered).
    alive: bool,
    /// Seconds since its last report, by the database's clock (0 for the node that answered).
    seen_secs_ago: u64,
    rooms: u64,
    connections: u64,
    creation: CreationView,
    cpu_percent: Option<f64>,
    memory_mib: Option<f64>,
    /// Unix seconds, by the node's own clock.
    started_at: u64,
    version: String,
}

/// `GET /admin/api/nodes`.
#[derive(Debug, Serialize)]
struct NodesView {
    /// The node that answered first, then the others by id.
    nodes: Vec<NodeView>,
    /// The other nodes' reports could not be read (the list holds this node only).
    others_unavailable: bool,
}

fn node_view(report: NodeReport, this_node: bool, alive: bool, seen_secs_ago: u64) -> NodeView {
    let mode = report.mode.parse().unwrap_or_default();
    // A report names its signal as the configuration does; one this version does not know
    // (a newer node's) is shown without its cause rather than not at all.
    let cause = report.cause.and_then(|(name, value)| {
        Signal::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .map(|signal| CauseView { signal, value })
    });
    NodeView {
        id: (!report.id.is_empty()).then_some(report.id),
        url: report.url,
        this_node,
        alive,
        seen_secs_ago,
        rooms: report.rooms,
        connections: report.connections,
        creation: CreationView {
            open: report.creation_open,
            mode,
            cause,
        },
        cpu_percent: report.cpu_percent,
        memory_mib: report.memory_mib,
        started_at: report.started_at,
        version: report.version,
    }
}

pub(crate) async fn nodes(_: Admin, State(state): State<AppState>) -> Response {
    let me = state.reporter.id().map(str::to_owned);
    let mut nodes = vec![node_view(state.reporter.now(), true, true, 0)];
    let lease = state.config.lease();
    let others_unavailable = match nodes::others(state.store.clone(), me).await {
        Ok(others) => {
            nodes.extend(others.into_iter().map(|n| {
                let alive = nodes::alive(n.age, lease);
                node_view(n.report, false, alive, n.age.as_secs())
            }));
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the other nodes' reports");
            true
        }
    };
    json(NodesView {
        nodes,
        others_unavailable,
    })
}

/// Body of `PUT /admin/api/creation`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreationBody {
    mode: Mode,
}

pub(crate) async fn set_creation(
    State(state): State<AppState>,
    request: TokenAndBody,
) -> Result<Response, AdminError> {
    let body: CreationBody = json_body(&request.headers, &request.body)?;
    let now = state
        .admission
        .set_mode(body.mode)
        .await
        .map_err(|_| AppError::Unavailable)?;
    Ok(json(creation_view(&now)))
}

/// Query of `GET /admin/api/documents`.
#[derive(Debug, Deserialize)]
pub(crate) struct DocumentsQuery {
    #[serde(default)]
    prefix: String,
    after: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
struct DocumentView {
    name: String,
    kind: crate::doc::meta::Kind,
    /// Bytes stored (snapshot and log).
    bytes: u64,
    /// Unix seconds.
    created: u64,
    /// Unix seconds.
    last_edit: u64,
    /// Live WebSocket connections.
    connections: usize,
}

#[derive(Debug, Serialize)]
struct DocumentsPage {
    documents: Vec<DocumentView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next: Option<String>,
}

pub(crate) async fn documents(
    _: Admin,
    State(state): State<AppState>,
    query: Result<Query<DocumentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let prefix = query.prefix.trim();
    // A prefix is part of a name, so the same characters; empty lists everything.
    if !prefix.is_empty() {
        DocName::parse(prefix).map_err(|e| AppError::BadRequest(e.to_string()))?;
    }
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(DocName::parse(raw).map_err(|e| AppError::BadRequest(e.to_string()))?),
    };
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    // One more than asked tells whether there is a next page.
    let mut listed = state.hub.list(prefix, after.as_ref(), limit + 1).await?;
    let more = listed.len() > limit;
    listed.truncate(limit);
    let next = more
        .then(|| listed.last().map(|d| d.name.to_string()))
        .flatten();
    let documents = listed
        .into_iter()
        .map(|d| DocumentView {
            connections: state.hub.live_connections(&d.name),
            name: d.name.to_string(),
            kind: d.meta.kind,
            bytes: d.bytes,
            created: d.meta.created,
            last_edit: d.meta.last_edit,
        })
        .collect();
    Ok(json(DocumentsPage { documents, next }))
}

/// Body of `DELETE /admin/api/documents/{name}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    /// Shown to the disconnected clients.
    #[serde(default)]
    message: String,
}

pub(crate) async fn delete_document(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    request: TokenAndBody,
) -> Result<Response, AdminError> {
    let name = DocName::parse(&raw).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let body: DeleteBody = json_body(&request.headers, &request.body)?;
    let message = match body.message.trim() {
        "" => DEFAULT_DELETE_REASON,
        text => text,
    };
    // Probe first, so an unknown name does not load (and create nothing in) a room.
    if !state.hub.exists(&name).await? {
        return Err(AppError::NotFound.into());
    }
    if !state.hub.delete(&name, message).await? {
        return Err(AppError::NotFound.into());
    }
    tracing::info!(doc = %name, "document deleted by the operator");
    Ok(json(serde_json::json!({ "deleted": name.as_str() })))
}

/// Body of `PUT /admin/api/notice`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    message: String,
}

pub(crate) async fn set_notice(
    State(state): State<AppState>,
    request: TokenAndBody,
) -> Result<Response, AdminError> {
    let body: NoticeBody = json_body(&request.headers, &request.body)?;
    let message = body.message.trim();
    if message.chars().count() > MAX_NOTICE_CHARS {
        return Err(AppError::BadRequest(format!(
            "a notice has at most {MAX_NOTICE_CHARS} characters"
        ))
        .into());
    }
    if message.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::BadRequest(
            "a notice is plain text without control characters".into(),
        )
        .into());
    }
    state
        .hub
        .set_notice((!message.is_empty()).then(|| message.to_owned()));
    tracing::info!(chars = message.chars().count(), "notice to open pads set");
    Ok(json(
        serde_json::json!({ "notice": state.hub.notice().as_deref() }),
    ))
}

pub(crate) async fn clear_notice(_: Admin, State(state): State<AppState>) -> Response {
    state.hub.set_notice(None);
    tracing::info!("notice to open pads cleared");
    json(serde_json::json!({ "notice": null }))
}

/// A JSON answer nobody caches.
fn json(value: impl Serialize) -> Response {
    let mut response = Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_exactly_and_never_print() {
        let token: AdminToken = "s3cret-token".parse().expect("token");
        assert!(token.matches("s3cret-token"));
        assert!(!token.matches("s3cret-toke"));
        assert!(!token.matches("s3cret-tokenX"));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("s3cret"));
        assert_eq!("  ".parse::<AdminToken>(), Err(EmptyToken));
    }
}
