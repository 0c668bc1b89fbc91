//! Pad uploads: `POST /p/{name}/import` replaces a pad's content with a file (txt, md, html,
//! odt, docx, etherpad), and the pad half of the home page's `POST /import`. The file is read
//! (`service::import::read_pad`) before anything is created, so a file that does not read leaves
//! nothing behind; the content is then replaced through the pad's room
//! (`service::import::into_pad`), so live editors see it and the previous content stays a
//! revision of the history.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::convert::pad::import::ImportFormat;
use crate::doc::lifetime::Lifetime;
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::http::editor::editor_path;
use crate::http::extract::RequestLang;
use crate::http::respond::json_response;
use crate::http::upload::read_upload;
use crate::http::{AppError, AppState};
use crate::service::creation;
use crate::service::import::{self, PadImported};

/// Opens pad `name`, creating it when `create` and creation is open (`service::creation`'s
/// rule, as every creation); a calc of that name is [`AppError::WrongKind`]. `Ok(true)` if it
/// was created now.
pub(crate) async fn open_pad(
    state: &AppState,
    name: &DocName,
    create: bool,
    lifetime: Option<Lifetime>,
) -> Result<bool, AppError> {
    if let Some(meta) = state.hub.open(name, None).await? {
        return if meta.kind == Kind::Pad {
            Ok(false)
        } else {
            Err(AppError::WrongKind)
        };
    }
    if !create {
        return Err(AppError::NotFound);
    }
    let lifetime = lifetime.unwrap_or(state.config.retention_default);
    let new = creation::asked(Kind::Pad, lifetime, None);
    match state.open_or_create(name, new).await? {
        meta if meta.kind == Kind::Pad => Ok(true),
        _ => Err(AppError::WrongKind),
    }
}

/// What an import did to a pad, and whether it made the pad.
pub(crate) struct Done {
    /// The revision and what was dropped.
    pub(crate) imported: PadImported,
    /// Whether the pad was created by this import.
    pub(crate) created: bool,
}

/// Makes the `format` file `bytes` the content of pad `name` (creating the pad when `create`
/// and creation is open, with `lifetime` or the server's default). The file is read first: a file that does not read creates nothing.
pub(crate) async fn import(
    state: &AppState,
    name: &DocName,
    bytes: Bytes,
    format: ImportFormat,
    create: bool,
    lifetime: Option<Lifetime>,
) -> Result<Done, AppError> {
    let read = import::read_pad(&state.exports, name, bytes, format).await?;
    let created = open_pad(state, name, create, lifetime).await?;
    let imported = import::into_pad(&state.hub, name, read).await?;
    tracing::info!(doc = %name, %format, rev = imported.rev, "pad imported");
    Ok(Done { imported, created })
}

/// The pad format of an uploaded file, from its name; 400 naming the pad formats otherwise.
pub(crate) fn format_of(file_name: &str) -> Result<ImportFormat, AppError> {
    ImportFormat::from_file_name(file_name).ok_or_else(|| {
        let known = ImportFormat::ALL.map(|f| format!(".{}", f.extension()));
        AppError::BadFile(format!(
            "a pad cannot be made from this kind of file; accepted files: {}",
            known.join(", ")
        ))
    })
}

/// Whether the client asked for a JSON answer (the pad page's `fetch`).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `POST /p/{name}/import`: replaces the pad with the uploaded file (creating it like
/// `/c/{name}/import` creates a calc), then shows it; a client asking for JSON gets
/// `{"rev": N, "dropped": {"images", "links", "other"}}` or `{error, message}`.
pub(crate) async fn into_pad(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    request: Request,
) -> Response {
    let json = wants_json(request.headers());
    let result = async {
        let name = DocName::parse(&raw).map_err(AppError::from)?;
        let upload = read_upload(&state, request).await?;
        let format = format_of(&upload.file_name)?;
        let done = import(&state, &name, upload.bytes, format, true, None).await?;
        Ok::<_, AppError>((name, done.imported))
    };
    match (result.await, json) {
        (Ok((name, imported)), true) => json_response(
            StatusCode::OK,
            json!({
                "name": name.as_str(),
                "rev": imported.rev,
                "dropped": imported.dropped,
            }),
        ),
        (Err(e), true) => e.calc_json(),
        (Ok((name, _)), false) => {
            Redirect::to(&editor_path(Kind::Pad, &name, lang)).into_response()
        }
        (Err(e), false) => e.calc_page(&state, lang),
    }
}
