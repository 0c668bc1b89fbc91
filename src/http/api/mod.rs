//! The HTTP API under `/api/v1`: JSON, for scripts and integrations, behind an API key
//! (`Authorization: Bearer <key>`, kept hashed in the configuration). Every edit goes through
//! the document's room, so live editors see it at once; exports use the pages' bounded export
//! path (`service::export`). The routes are in `http::routes` (`api_endpoints`); their OpenAPI
//! description is [`openapi::document`]. Errors are said through [`ApiError`], the API's face of
//! the edge error.

pub mod openapi;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::Config;
use crate::convert::pad::import::ImportFormat;
use crate::convert::pad::{ExportOptions, PadFormat};
use crate::doc::edit::TextEdit;
use crate::doc::lifetime::{choose_lifetime, Lifetime};
use crate::doc::meta::{random_name, DocMeta, Kind};
use crate::doc::name::DocName;
use crate::http::base_path::public_base;
use crate::http::calc_export;
use crate::http::extract::{json_body, ApiKey, Authorized};
use crate::http::gate::{ApiLimit, Authed, ImportLimit};
use crate::http::pad::ExportQuery;
use crate::http::respond::download;
use crate::http::{pad_import, AppError, AppState};
use crate::service::{backup, creation, export};

pub use crate::config::secrets::{ApiKeyHash, BadKeyHash};
use crate::http::error::api::ApiError;

/// Where the API is mounted (under the base path).
pub const PREFIX: &str = "/api/v1";

/// Most documents one list call returns.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Documents a list call returns when `limit` is not given.
const DEFAULT_LIST_LIMIT: usize = 100;

/// A request with the API key and a body of at most `api_max_body_bytes`.
type KeyAndBody = Authed<ApiKey, ApiLimit>;

/// A request with the API key and a file of at most `max_import_bytes`.
type KeyAndFile = Authed<ApiKey, ImportLimit>;

/// A document name from the path, validated.
fn doc_name(raw: &str) -> Result<DocName, ApiError> {
    Ok(DocName::parse(raw)?)
}

/// The lifetime of a new document, checked against what the operator offers (the same rule
/// as the home form's).
pub fn lifetime(config: &Config, requested: Option<&str>) -> Result<Lifetime, ApiError> {
    choose_lifetime(
        &config.retention_choices,
        config.retention_default,
        requested,
    )
    .map_err(|e| {
        let offered: Vec<String> = config
            .retention_choices
            .iter()
            .map(|l| l.to_string())
            .collect();
        AppError::BadRequest(format!("{e}; choose one of {}", offered.join(", "))).into()
    })
}

/// 404 unless document `name` exists; asked without loading it, so probing unknown names
/// costs no room.
async fn must_exist(state: &AppState, name: &DocName) -> Result<(), ApiError> {
    if state.hub.exists(name).await? {
        Ok(())
    } else {
        Err(AppError::NotFound.into())
    }
}

/// The metadata of an existing document.
async fn meta_of(state: &AppState, name: &DocName) -> Result<DocMeta, ApiError> {
    must_exist(state, name).await?;
    state
        .hub
        .open(name, None)
        .await?
        .ok_or(AppError::NotFound.into())
}

/// The metadata of an existing pad (409 for a calc).
pub(crate) async fn pad_meta(state: &AppState, name: &DocName) -> Result<DocMeta, ApiError> {
    let meta = meta_of(state, name).await?;
    if meta.kind == Kind::Pad {
        Ok(meta)
    } else {
        Err(AppError::WrongKind.into())
    }
}

fn kind_str(kind: Kind) -> &'static str {
    match kind {
        Kind::Pad => "pad",
        Kind::Calc => "calc",
    }
}

/// Absolute URLs of a document's pages.
fn links(state: &AppState, headers: &HeaderMap, name: &DocName, meta: &DocMeta) -> Value {
    let base = public_base(&state.config, headers);
    let page = match meta.kind {
        Kind::Pad => "p",
        Kind::Calc => "c",
    };
    json!({
        "url": format!("{base}/{page}/{name}"),
        "read_only_url": format!("{base}/r/{}", meta.read_token.as_str()),
    })
}

/// A document as the API describes it.
fn describe(state: &AppState, headers: &HeaderMap, name: &DocName, meta: &DocMeta) -> Value {
    let mut doc = json!({
        "name": name.as_str(),
        "kind": kind_str(meta.kind),
        "created": meta.created,
        "last_edit": meta.last_edit,
        "lifetime": meta.lifetime.to_string(),
        "expires": meta.expires_at(),
    });
    if let (Some(doc), Value::Object(links)) =
        (doc.as_object_mut(), links(state, headers, name, meta))
    {
        doc.extend(links);
    }
    doc
}

/// A JSON answer that no cache keeps.
fn ok(status: StatusCode, value: Value) -> Response {
    let mut response = (status, Json(value)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) async fn openapi_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.config.api_key_sha256.is_none() {
        return Err(AppError::Disabled.into());
    }
    Ok(Json(openapi::document(&state.config)).into_response())
}

/// Body of `POST /documents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: Option<String>,
    #[serde(default = "default_kind")]
    kind: Kind,
    lifetime: Option<String>,
}

fn default_kind() -> Kind {
    Kind::Pad
}

pub(crate) async fn create(
    State(state): State<AppState>,
    req: KeyAndBody,
) -> Result<Response, ApiError> {
    let headers = &req.headers;
    let req: CreateBody = json_body(&req.headers, &req.body)?;
    let lifetime = lifetime(&state.config, req.lifetime.as_deref())?;
    let name = match req.name.as_deref().map(str::trim) {
        None | Some("") => DocName::parse(&random_name())?,
        Some(raw) => doc_name(raw)?,
    };
    if state.hub.exists(&name).await? {
        return Err(AppError::Exists.into());
    }
    let new = creation::asked(req.kind, lifetime, None);
    let meta = state.open_or_create(&name, new).await?;
    Ok(ok(
        StatusCode::CREATED,
        describe(&state, headers, &name, &meta),
    ))
}

/// Query of `GET /documents`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    prefix: String,
    after: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn list(
    _: Authorized,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(
            AppError::BadRequest(format!("limit must be between 1 and {MAX_LIST_LIMIT}")).into(),
        );
    }
    // A prefix is the start of a name: same characters, same length bound.
    if !query.prefix.is_empty() {
        doc_name(&query.prefix)?;
    }
    let after = query.after.as_deref().map(doc_name).transpose()?;
    let docs = state.hub.list(&query.prefix, after.as_ref(), limit).await?;
    let next = (docs.len() == limit)
        .then(|| docs.last().map(|d| d.name.as_str().to_owned()))
        .flatten();
    let documents: Vec<Value> = docs
        .iter()
        .map(|d| {
            json!({
                "name": d.name.as_str(),
                "kind": kind_str(d.meta.kind),
                "created": d.meta.created,
                "last_edit": d.meta.last_edit,
                "lifetime": d.meta.lifetime.to_string(),
                "expires": d.meta.expires_at(),
                "bytes": d.bytes,
            })
        })
        .collect();
    Ok(ok(
        StatusCode::OK,
        json!({ "documents": documents, "next": next }),
    ))
}

pub(crate) async fn info(
    _: Authorized,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    let meta = meta_of(&state, &name).await?;
    Ok(ok(StatusCode::OK, describe(&state, &headers, &name, &meta)))
}

/// Query of `DELETE /documents/{name}`.
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteQuery {
    reason: Option<String>,
}

/// Shown to live editors of a deleted document when none is given.
pub(crate) const DEFAULT_DELETE_REASON: &str = "this document was deleted";

pub(crate) async fn remove(
    _: Authorized,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    must_exist(&state, &name).await?;
    let reason = query
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DELETE_REASON.to_owned());
    if state.hub.delete(&name, &reason).await? {
        Ok(ok(StatusCode::OK, json!({ "deleted": name.as_str() })))
    } else {
        Err(AppError::NotFound.into())
    }
}

/// Renders pad `name` in `format` through the pages' bounded export path (`service::export`).
pub(crate) async fn render(
    state: &AppState,
    name: &DocName,
    format: PadFormat,
    options: ExportOptions,
) -> Result<Vec<u8>, ApiError> {
    pad_meta(state, name).await?;
    Ok(export::render_pad(&state.hub, &state.exports, name, format, options).await?)
}

/// The options of a pad's plain text: the text alone, without the authors.
pub(crate) fn plain_options() -> ExportOptions {
    ExportOptions {
        colors: false,
        authors_list: false,
        ..ExportOptions::default()
    }
}

/// The plain text of a pad, as the txt export writes it.
pub(crate) async fn plain_text(state: &AppState, name: &DocName) -> Result<String, ApiError> {
    let bytes = render(state, name, PadFormat::Txt, plain_options()).await?;
    String::from_utf8(bytes)
        .map_err(|_| AppError::Unproduced("the text could not be produced").into())
}

pub(crate) async fn get_text(
    _: Authorized,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    let text = plain_text(&state, &name).await?;
    Ok(ok(StatusCode::OK, json!({ "text": text })))
}

/// Body of the text edits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    text: String,
}

/// Applies an edit through the pad's room and answers with the new last-edit time.
async fn edit(state: &AppState, raw: &str, edit: TextEdit) -> Result<Response, ApiError> {
    let name = doc_name(raw)?;
    must_exist(state, &name).await?;
    let meta = state.hub.edit(&name, edit).await??;
    Ok(ok(
        StatusCode::OK,
        json!({ "name": name.as_str(), "last_edit": meta.last_edit }),
    ))
}

pub(crate) async fn set_text(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    req: KeyAndBody,
) -> Result<Response, ApiError> {
    let req: TextBody = json_body(&req.headers, &req.body)?;
    edit(&state, &raw, TextEdit::Set(req.text)).await
}

pub(crate) async fn append_text(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    req: KeyAndBody,
) -> Result<Response, ApiError> {
    let req: TextBody = json_body(&req.headers, &req.body)?;
    edit(&state, &raw, TextEdit::Append(req.text)).await
}

pub(crate) async fn get_html(
    _: Authorized,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    let bytes = render(&state, &name, PadFormat::Html, query.options()).await?;
    let html = String::from_utf8(bytes)
        .map_err(|_| AppError::Unproduced("the HTML could not be produced"))?;
    Ok(ok(StatusCode::OK, json!({ "html": html })))
}

pub(crate) async fn export(
    _: Authorized,
    State(state): State<AppState>,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    if calc_export::is_calc(&state, &name).await? {
        // Checked here so that an unknown format is answered as for a pad, naming the calc's.
        format.parse::<crate::convert::calc::CalcFormat>()?;
        let sheet = query.sheet.as_deref();
        return Ok(calc_export::download(&state, &name, name.as_str(), &format, sheet).await?);
    }
    let format: PadFormat = format.parse()?;
    let bytes = render(&state, &name, format, query.options()).await?;
    Ok(download(bytes, format, name.as_str()))
}

pub(crate) async fn last_edited(
    _: Authorized,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    let meta = meta_of(&state, &name).await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "name": name.as_str(), "last_edit": meta.last_edit }),
    ))
}

pub(crate) async fn read_only_link(
    _: Authorized,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    let meta = meta_of(&state, &name).await?;
    let links = links(&state, &headers, &name, &meta);
    Ok(ok(
        StatusCode::OK,
        json!({
            "token": meta.read_token.as_str(),
            "url": links["read_only_url"],
        }),
    ))
}

/// Query of `POST /documents/{name}/import`.
#[derive(Debug, Deserialize)]
pub(crate) struct ImportQuery {
    format: Option<String>,
    create: Option<String>,
    lifetime: Option<String>,
}

/// The pad format of an imported body: `?format=`, else its `Content-Type`.
fn import_format(query: &ImportQuery, headers: &HeaderMap) -> Result<ImportFormat, ApiError> {
    let known = || ImportFormat::ALL.map(ImportFormat::extension).join(", ");
    if let Some(name) = query.format.as_deref() {
        return ImportFormat::from_name(name).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown import format; available formats: {}",
                known()
            ))
            .into()
        });
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("text/plain") => Ok(ImportFormat::Txt),
        Some("text/markdown") => Ok(ImportFormat::Md),
        Some("text/html") => Ok(ImportFormat::Html),
        Some("application/vnd.oasis.opendocument.text") => Ok(ImportFormat::Odt),
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document") => {
            Ok(ImportFormat::Docx)
        }
        _ => Err(AppError::BadRequest(format!(
            "say the file's format with ?format= ({}) or its Content-Type",
            known()
        ))
        .into()),
    }
}

pub(crate) async fn import(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<ImportQuery>,
    req: KeyAndFile,
) -> Result<Response, ApiError> {
    let name = doc_name(&raw)?;
    let format = import_format(&query, &req.headers)?;
    let create = matches!(query.create.as_deref(), Some("true" | "1"));
    let lifetime = if create {
        Some(lifetime(&state.config, query.lifetime.as_deref())?)
    } else {
        None
    };
    if req.body.is_empty() {
        return Err(
            AppError::BadRequest("the body is empty: send the file as the body".into()).into(),
        );
    }
    let done = pad_import::import(&state, &name, req.body, format, create, lifetime).await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok(
        status,
        json!({
            "name": name.as_str(),
            "rev": done.imported.rev,
            "dropped": done.imported.dropped,
            "created": done.created,
        }),
    ))
}

/// What `GET /stats` answers.
#[derive(Debug, Serialize)]
struct Stats {
    documents_live: usize,
    connections: usize,
    creation: &'static str,
}

pub(crate) async fn stats(_: Authorized, State(state): State<AppState>) -> Response {
    let stats = Stats {
        documents_live: state.hub.live_rooms(),
        connections: state.connections.len(),
        creation: if state.admission.is_open() {
            "open"
        } else {
            "closed"
        },
    };
    ok(StatusCode::OK, json!(stats))
}

pub(crate) async fn backup(
    _: Authorized,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let report = backup::run(
        state.store.clone(),
        &state.config.data,
        state.config.cache_bytes,
    )
    .await?;
    Ok(ok(
        StatusCode::CREATED,
        json!({
            "path": report.path.display().to_string(),
            "documents": report.documents,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_hash_and_base_path_come_from_flags_or_the_file() {
        use std::io::Write;
        let hash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(f, "api_key_sha256 = \"{hash}\"\nbase_path = \"/pad/\"").expect("write");
        let path = f.path().to_str().expect("utf-8 path");
        let c = Config::load_from(["ardoise", "--config", path]).expect("parses");
        assert!(c
            .api_key_sha256
            .as_ref()
            .is_some_and(|h| h.matches("secret")));
        assert_eq!(c.base_path.as_str(), "/pad");
        let c = Config::load_from(["ardoise", "--api-key-sha256", hash, "--base-path", "/a/b"])
            .expect("parses");
        assert!(c.api_key_sha256.is_some());
        assert_eq!(c.base_path.as_str(), "/a/b");
        assert!(Config::load_from(["ardoise", "--api-key-sha256", "secret"]).is_err());
        assert!(Config::load_from(["ardoise", "--base-path", "pad"]).is_err());
        let defaults = Config::load_from(["ardoise"]).expect("parses");
        assert!(defaults.api_key_sha256.is_none() && defaults.base_path.is_root());
    }

    #[test]
    fn lifetimes_are_the_offered_ones() {
        let config = Config::load_from([
            "ardoise",
            "--retention-choices",
            "1d,7d",
            "--retention-default",
            "1d",
        ])
        .expect("parses");
        assert_eq!(
            lifetime(&config, Some("7d")).ok(),
            Some(Lifetime::After(7 * 86_400))
        );
        assert!(lifetime(&config, Some("3d")).is_err());
        assert!(lifetime(&config, Some("soon")).is_err());
        assert!(lifetime(&config, None).is_ok());
    }
}
