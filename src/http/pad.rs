//! Pad pages and files: the editor `/p/{name}` (and the shared editor-page logic of calcs), the
//! read-only page `/r/{token}`, their QR codes and exports.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::convert::pad::{ExportOptions, Language, PadFormat};
use crate::doc::meta::{DocMeta, Kind, ReadToken};
use crate::doc::name::DocName;
use crate::doc::random::random_hex;
use crate::doc::secret::CreatorSecret;
use crate::http::extract::RequestLang;
use crate::http::pages::{self, Lang, PadShell, Retention};
use crate::http::respond::{download, html};
use crate::http::{assets, base_path, calc, calc_export, delete, qr, AppError, AppState};
use crate::service::{creation, export};

/// Opens document `raw`, creating it as a `kind` if it does not exist (and creation is open);
/// with the creator secret if this request created it.
pub(crate) async fn open_doc(
    state: &AppState,
    raw: &str,
    kind: Kind,
) -> Result<(DocName, DocMeta, Option<CreatorSecret>), AppError> {
    let name = DocName::parse(raw)?;
    let secret = CreatorSecret::generate();
    // Made by visiting its link: kept only once someone types (`creation`'s rule).
    let new = creation::visited(kind, state.config.retention_default, Some(secret.hash()));
    let meta = state.open_or_create(&name, new).await?;
    let secret = delete::created_by(&meta, &secret).then_some(secret);
    Ok((name, meta, secret))
}

/// The document a read-only link designates.
pub(crate) async fn resolve(state: &AppState, raw: &str) -> Result<(ReadToken, DocName), AppError> {
    let token = ReadToken::parse(raw).map_err(|_| AppError::NotFound)?;
    let name = state
        .hub
        .resolve_token(&token)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((token, name))
}

fn pad_response(lang: Lang, shell: &PadShell<'_>) -> Response {
    let nonce = random_hex();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    html(
        StatusCode::OK,
        pages::editor(Kind::Pad, lang, assets::urls(), &nonce, shell),
        csp,
    )
}

pub(crate) async fn pad_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    editor_page(&state, lang, &raw, Kind::Pad).await
}

/// The editor of document `raw` (created as a `kind` if it does not exist and creation is
/// open), or a redirect to the editor of the kind it was created as.
pub(crate) async fn editor_page(state: &AppState, lang: Lang, raw: &str, kind: Kind) -> Response {
    match open_doc(state, raw, kind).await {
        Ok((name, meta, _)) if meta.kind != kind => {
            Redirect::to(&calc::editor_path(meta.kind, &name, lang)).into_response()
        }
        Ok((name, meta, secret)) => {
            let prefix = match kind {
                Kind::Pad => "p",
                Kind::Calc => "c",
            };
            let read_only_path = base_path::url(&format!("/r/{}", meta.read_token.as_str()));
            let export_base = base_path::url(&format!("/{prefix}/{name}/export/"));
            let qr_base = base_path::url(&format!("/{prefix}/{name}"));
            let shell = PadShell {
                name: Some(name.as_str()),
                room: name.as_str(),
                read_only_path: Some(&read_only_path),
                export_base: &export_base,
                qr_base: &qr_base,
                retention: Some(Retention {
                    lifetime: meta.lifetime,
                    expires_at: meta.expires_at(),
                }),
                creator_secret: secret.as_ref().map(CreatorSecret::as_str),
            };
            match kind {
                Kind::Pad => pad_response(lang, &shell),
                Kind::Calc => calc::calc_response(lang, &shell),
            }
        }
        Err(e) => state.fail(lang, e),
    }
}

pub(crate) async fn read_only_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    match resolve(&state, &raw).await {
        Ok((token, name)) => {
            match state.hub.open(&name, None).await {
                Ok(Some(meta)) if meta.kind == Kind::Calc => {
                    return calc::read_only_response(lang, token.as_str())
                }
                Ok(_) => {}
                Err(e) => return AppError::from(e).page(lang),
            }
            let base = base_path::url(&format!("/r/{}", token.as_str()));
            let room = format!("r/{}", token.as_str());
            let export_base = format!("{base}/export/");
            let shell = PadShell {
                name: None,
                room: &room,
                read_only_path: None,
                export_base: &export_base,
                qr_base: &base,
                retention: None,
                creator_secret: None,
            };
            pad_response(lang, &shell)
        }
        Err(e) => e.page(lang),
    }
}

fn svg_response(text: &str) -> Response {
    match qr::svg(text) {
        Some(svg) => {
            let mut r = svg.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            );
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            r
        }
        None => AppError::NotFound.into_response(),
    }
}

pub(crate) async fn pad_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    doc_qr(&state, &headers, &raw, "p")
}

/// The QR code of the editable link `/{prefix}/{raw}` (`p` for pads, `c` for calcs).
pub(crate) fn doc_qr(state: &AppState, headers: &HeaderMap, raw: &str, prefix: &str) -> Response {
    match DocName::parse(raw) {
        Ok(name) => svg_response(&format!(
            "{}/{prefix}/{name}",
            base_path::public_base(&state.config, headers)
        )),
        Err(e) => AppError::from(e).into_response(),
    }
}

pub(crate) async fn read_only_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    match resolve(&state, &raw).await {
        Ok((token, _)) => svg_response(&format!(
            "{}/r/{}",
            base_path::public_base(&state.config, &headers),
            token.as_str()
        )),
        Err(e) => e.into_response(),
    }
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
}

pub(crate) async fn pad_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> Response {
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
    let options = ExportOptions {
        language: match lang {
            Lang::En => Language::En,
            Lang::Fr => Language::Fr,
        },
        ..query.options()
    };
    let bytes = export::render_pad(&state.hub, &state.exports, name, format, options).await?;
    Ok(download(bytes, format, stem))
}
