//! Pad routes: the editor `/p/{name}` and its QR code (pages shared with calcs are in
//! `editor.rs`), and the pad exports of `/p/{name}/export/…` and `/r/{token}/export/…`. An old
//! Etherpad link whose pad id is not an ardoise name (`/p/Réunion 2020`) is sent on to the pad
//! it was migrated to (`DocName::foreign`), when there is one.

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::convert::pad::{ExportOptions, Language, PadFormat};
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::http::editor::{doc_qr, editor_page, resolve};
use crate::http::extract::RequestLang;
use crate::http::pages::Lang;
use crate::http::respond::download;
use crate::http::{base_path, calc_export, AppError, AppState};
use crate::service::export;

pub(crate) async fn pad_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(moved) = foreign_redirect(&state, &raw, "", query.as_deref()).await {
        return moved;
    }
    editor_page(&state, lang, &raw, Kind::Pad).await
}

/// A permanent redirect from an Etherpad pad id that is not a valid name to the pad
/// [`DocName::foreign`] named when it was migrated, at the same `tail` of the path and with
/// the same query; `None` (the usual answer follows) for a valid name, or when no such pad
/// exists. Asked without loading the pad, so probing costs no room.
async fn foreign_redirect(
    state: &AppState,
    raw: &str,
    tail: &str,
    query: Option<&str>,
) -> Option<Response> {
    if DocName::parse(raw).is_ok() {
        return None;
    }
    let name = DocName::foreign(raw)?;
    if !state.hub.exists(&name).await.ok()? {
        return None;
    }
    let path = base_path::url(&format!("/p/{name}{tail}"));
    let with_query = query
        .filter(|q| !q.is_empty())
        .and_then(|q| HeaderValue::from_str(&format!("{path}?{q}")).ok());
    let location = match with_query {
        Some(v) => v,
        None => HeaderValue::from_str(&path).ok()?,
    };
    Some(
        (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
        )
            .into_response(),
    )
}

pub(crate) async fn pad_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    doc_qr(&state, &headers, &raw, "p")
}

/// Export switches: `?colors=0` drops the authors' shading, `?authors=0` the authors list;
/// `?sheet=` picks a calc's sheet for CSV.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    colors: Option<String>,
    authors: Option<String>,
    pub(crate) sheet: Option<String>,
}

impl ExportQuery {
    pub(crate) fn options(&self) -> ExportOptions {
        let on = |v: &Option<String>| !matches!(v.as_deref(), Some("0" | "false" | "off"));
        ExportOptions {
            colors: on(&self.colors),
            authors_list: on(&self.authors),
            ..ExportOptions::default()
        }
    }

    /// The options, with the words an export adds in the page's language.
    pub(crate) fn options_in(&self, lang: Lang) -> ExportOptions {
        ExportOptions {
            language: match lang {
                Lang::En => Language::En,
                Lang::Fr => Language::Fr,
            },
            ..self.options()
        }
    }
}

pub(crate) async fn pad_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
    RawQuery(raw_query): RawQuery,
) -> Response {
    // Etherpad's export links (`/p/{id}/export/txt`) of a migrated pad.
    if format.chars().all(|c| c.is_ascii_alphanumeric()) {
        let tail = format!("/export/{format}");
        if let Some(moved) = foreign_redirect(&state, &raw, &tail, raw_query.as_deref()).await {
            return moved;
        }
    }
    let result = async {
        let name = DocName::parse(&raw)?;
        export(&state, &name, name.as_str(), &format, &query, lang).await
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

pub(crate) async fn read_only_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let result = async {
        let (_, name) = resolve(&state, &raw).await?;
        if calc_export::is_calc(&state, &name).await? {
            // Named "calc" for the same reason as below.
            return calc_export::download(&state, &name, "calc", &format, query.sheet.as_deref())
                .await;
        }
        // The file is named "pad": a read-only link must not reveal the (writable) name.
        export(&state, &name, "pad", &format, &query, lang).await
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

/// Renders document `name` as a download named `stem.{ext}`, off the async workers, with the
/// words the export adds (the authors heading) in the page's language.
pub(crate) async fn export(
    state: &AppState,
    name: &DocName,
    stem: &str,
    format: &str,
    query: &ExportQuery,
    lang: Lang,
) -> Result<Response, AppError> {
    let format: PadFormat = format.parse()?;
    let options = query.options_in(lang);
    let bytes = export::render_pad(&state.hub, &state.exports, name, format, options).await?;
    Ok(download(bytes, format, stem))
}
