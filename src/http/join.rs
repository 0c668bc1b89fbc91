//! The WebSocket upgrade routes: `/ws/{name}` (joining, creating if creation is open) and
//! `/ws/r/{token}` (read-only). The connection itself is served by `ws`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::http::editor::resolve;
use crate::http::extract::RequestLang;
use crate::http::pages::Lang;
use crate::http::upgrade::{NotUpgrade, Upgrade};
use crate::http::{proxy, ws, AppError, AppState};
use crate::service::{creation, ServiceError};

/// `?kind=calc` of a calc page's WebSocket: what its join creates if the document is missing (a
/// provisional calc erased while its page was away); a pad otherwise.
#[derive(Debug, Deserialize)]
pub(crate) struct JoinQuery {
    kind: Option<Kind>,
}

pub(crate) async fn websocket(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    query: Result<Query<JoinQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<Upgrade, NotUpgrade>,
) -> Response {
    let kind = query.ok().and_then(|Query(q)| q.kind).unwrap_or(Kind::Pad);
    join(&state, lang, &raw, kind, upgrade)
        .await
        .unwrap_or_else(|e| e.page(lang))
}

/// The upgrade of a join to document `raw`, creating it if creation is open.
pub(crate) async fn join(
    state: &AppState,
    lang: Lang,
    raw: &str,
    kind: Kind,
    upgrade: Result<Upgrade, NotUpgrade>,
) -> Result<Response, AppError> {
    let name = DocName::parse(raw)?;
    // Checked before anything is created: a plain GET on this route creates nothing.
    let upgrade = upgrade.map_err(|_| AppError::NotWebSocket)?;
    if let Some(owner) = proxy::owner_elsewhere(state, &name).await {
        let kind = match kind {
            Kind::Pad => "pad",
            Kind::Calc => "calc",
        };
        let upstream = proxy::ws_url(&owner, &format!("/ws/{name}?kind={kind}"));
        return Ok(proxy::websocket(state, upgrade, upstream));
    }
    // A join accepted while creation is open creates the document as opening its page does
    // (metadata, default lifetime, read-only token), so it stays an existing document once
    // creation closes. Refused at the upgrade, so a client never gets an empty document it
    // would fill: reconnections to existing documents always pass.
    // No page to hand a creator secret to: nobody can delete it as its creator.
    let new = creation::visited(kind, state.config.retention_default, None);
    match state.open_or_create(&name, new).await {
        Ok(_) => {}
        Err(ServiceError::CreationClosed(..)) => {
            return Ok(state.creation_closed(lang, Some(&name), kind))
        }
        Err(e) => return Err(e.into()),
    }
    upgrade_to(state.clone(), name, false, Ok(upgrade))
}

pub(crate) async fn read_only_websocket(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    upgrade: Result<Upgrade, NotUpgrade>,
) -> Response {
    let result = async {
        let (_, name) = resolve(&state, &raw).await?;
        if let Some(owner) = proxy::owner_elsewhere(&state, &name).await {
            let upgrade = upgrade.map_err(|_| AppError::NotWebSocket)?;
            let upstream = proxy::ws_url(&owner, &format!("/ws/r/{raw}"));
            return Ok(proxy::websocket(&state, upgrade, upstream));
        }
        upgrade_to(state.clone(), name, true, upgrade)
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

fn upgrade_to(
    state: AppState,
    name: DocName,
    read_only: bool,
    upgrade: Result<Upgrade, NotUpgrade>,
) -> Result<Response, AppError> {
    let upgrade = upgrade.map_err(|_| AppError::NotWebSocket)?;
    if state.shutdown.is_cancelled() {
        return Err(AppError::ShuttingDown);
    }
    let AppState {
        hub,
        config,
        shutdown,
        connections,
        ..
    } = state;
    Ok(upgrade.accept(move |upgraded| {
        connections.track_future(ws::serve(upgraded, name, read_only, hub, config, shutdown))
    }))
}
