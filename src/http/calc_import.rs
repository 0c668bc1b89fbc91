//! Calc uploads: `POST /c/{name}/import` replaces a calc with a file, and the replacement the
//! home form (`home_import`) and the EtherCalc API share. Every change is an update made on a copy of the document
//! (`convert::calc::bridge`) and applied by the document's room, so live editors see it at once
//! and it is persisted before it is broadcast.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::convert::calc::{self as calc_io, bridge, CalcFormat};
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::http::extract::RequestLang;
use crate::http::respond::json_response;
use crate::http::upload::read_upload;
use crate::http::{base_path, AppError, AppState};
use crate::service::creation;
use crate::service::export::bounded;
use crate::sync::room::Applied;

/// Opens calc `name`, creating it when `create` and creation is open. `Ok(true)` if it was
/// created now.
pub(crate) async fn open_calc(
    state: &AppState,
    name: &DocName,
    create: bool,
) -> Result<bool, AppError> {
    if let Some(meta) = state.hub.open(name, None).await? {
        return if meta.kind == Kind::Calc {
            Ok(false)
        } else {
            Err(AppError::NotACalc)
        };
    }
    if !create {
        return Err(AppError::NotFound);
    }
    let new = creation::asked(Kind::Calc, state.config.retention_default, None);
    match state.open_or_create(name, new).await? {
        meta if meta.kind == Kind::Calc => Ok(true),
        _ => Err(AppError::NotACalc),
    }
}

/// Hands an update to the calc's room.
pub(crate) async fn apply(
    state: &AppState,
    name: &DocName,
    update: Vec<u8>,
) -> Result<(), AppError> {
    match state.hub.apply(name, &update).await? {
        Applied::Done => Ok(()),
        Applied::Missing => Err(AppError::NotFound),
        Applied::TooBig => Err(AppError::DocTooLarge),
    }
}

/// Replaces the content of calc `name` with the file `bytes` (creating the calc when `create`
/// and creation is open); `Ok(true)` if it was created. `bytes` were read under the import
/// limit already (`gate::Authed` or the upload form).
pub(crate) async fn replace(
    state: &AppState,
    name: &DocName,
    bytes: Bytes,
    format: CalcFormat,
    create: bool,
) -> Result<bool, AppError> {
    // Parsed before anything is created, so a bad file leaves nothing behind.
    let book = bounded(&state.exports, name, "calc import", move || {
        calc_io::import(&bytes, format)
    })
    .await??;
    let created = open_calc(state, name, create).await?;
    let snapshot = state.hub.snapshot(name).await?;
    let update = bounded(&state.exports, name, "calc import", move || {
        bridge::replace(snapshot.as_deref(), &book)
    })
    .await??;
    apply(state, name, update).await?;
    tracing::info!(doc = %name, %format, "calc imported");
    Ok(created)
}

/// `POST /c/{name}/import`: replaces the calc with the uploaded file, then shows it; a client
/// asking for JSON (the calc page's `fetch`) gets `{"replaced": true}` or `{error, message}`.
pub(crate) async fn into_calc(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    request: Request,
) -> Response {
    let wants_json = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let result = async {
        let name = DocName::parse(&raw).map_err(AppError::from)?;
        let upload = read_upload(&state, request).await?;
        let format = CalcFormat::sniff(&upload.bytes, &upload.file_name);
        replace(&state, &name, upload.bytes, format, true).await?;
        Ok::<_, AppError>(name)
    };
    match (result.await, wants_json) {
        (Ok(_), true) => json_response(StatusCode::OK, json!({ "replaced": true })),
        (Err(e), true) => e.calc_json(),
        (Ok(name), false) => {
            Redirect::to(&base_path::url(&format!("/c/{name}?lang={}", lang.code())))
                .into_response()
        }
        (Err(e), false) => e.calc_page(&state, lang),
    }
}
