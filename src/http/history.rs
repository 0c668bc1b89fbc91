//! History routes: the revisions of a document, a past version (one update, for the browser's
//! preview), its exports and restoring it. Under the pages (`/p/{name}/history…`,
//! `/c/{name}/history…`, `/r/{token}/history…`; the edit name or the read-only token is the
//! credential, and a read-only link never restores) and under the API
//! (`/api/v1/documents/{name}/revisions…`, with the API key). The work is
//! `service::history`'s; this file reads requests and says answers.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::convert::calc::CalcFormat;
use crate::convert::pad::PadFormat;
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::http::calc_export::sheet_index;
use crate::http::editor::resolve;
use crate::http::error::api::ApiError;
use crate::http::error::history::HistoryError;
use crate::http::extract::{Authorized, RequestLang};
use crate::http::pad::ExportQuery;
use crate::http::pages::Lang;
use crate::http::respond::{download, download_file, json_response};
use crate::http::{AppError, AppState};
use crate::service::history::{self, RevisionPage, Window, DEFAULT_LIMIT, MAX_LIMIT};

/// How a page route designates its document.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// Its edit name under the prefix of its kind (`/p/` or `/c/`).
    Edit(Kind),
    /// A read-only token (`/r/`), whatever its kind.
    ReadOnly,
}

/// A document a history request is about: its name, kind, and the stem of its files' names.
struct Target {
    name: DocName,
    kind: Kind,
    stem: String,
}

/// The document `raw` designates through `via`; `NotFound` if there is none, or it is of the
/// other kind than its prefix says (as pages answer).
async fn target(state: &AppState, via: Via, raw: &str) -> Result<Target, AppError> {
    match via {
        Via::Edit(expected) => {
            let name = DocName::parse(raw)?;
            let kind = history::kind(&state.hub, &name).await?;
            if kind != expected {
                return Err(AppError::NotFound);
            }
            let stem = name.as_str().to_owned();
            Ok(Target { name, kind, stem })
        }
        Via::ReadOnly => {
            let (_, name) = resolve(state, raw).await?;
            let kind = history::kind(&state.hub, &name).await?;
            // A read-only link must not reveal the (writable) name.
            let stem = match kind {
                Kind::Pad => "pad",
                Kind::Calc => "calc",
            }
            .to_owned();
            Ok(Target { name, kind, stem })
        }
    }
}

/// A revision number from a path or query: 400 unless it is a non-negative integer; one
/// past every stored number is simply not a revision (404).
fn revision(raw: &str, what: &str) -> Result<u64, AppError> {
    use std::num::IntErrorKind;
    match raw.trim().parse::<u64>() {
        Ok(rev) => Ok(rev),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Err(AppError::NoRevision),
        Err(_) => Err(AppError::BadRequest(format!(
            "{what} must be a revision number (a non-negative integer), not {:?}",
            cut(raw)
        ))),
    }
}

/// `raw` cut short enough to quote in a message.
fn cut(raw: &str) -> String {
    raw.chars().take(40).collect()
}

/// `?after=`, `?before=` and `?limit=` of a list of revisions.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    after: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    /// Which revisions, and how many at most.
    fn window(&self) -> Result<(Window, usize), AppError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}"))
                })?,
        };
        let window = match (self.after.as_deref(), self.before.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(AppError::BadRequest(
                    "give at most one of after and before".into(),
                ))
            }
            (Some(after), None) => Window::After(revision(after, "after").or_else(past_end)?),
            (None, Some(before)) => Window::Before(revision(before, "before").or_else(past_end)?),
            (None, None) => Window::Latest,
        };
        Ok((window, limit))
    }
}

/// A cursor past every stored number lists as the largest one does.
fn past_end(e: AppError) -> Result<u64, AppError> {
    match e {
        AppError::NoRevision => Ok(u64::MAX),
        e => Err(e),
    }
}

/// A page of revisions in the contract's JSON.
fn page_json(page: &RevisionPage) -> Value {
    let revisions: Vec<Value> = page
        .revisions
        .iter()
        .map(|r| {
            json!({
                "rev": r.rev,
                "time": r.time,
                "authors": r.authors,
                "restored_from": r.restored_from,
            })
        })
        .collect();
    json!({ "revisions": revisions, "next": page.next, "previous": page.previous })
}

/// The revisions of `name` the query asks for, as JSON.
async fn list(state: &AppState, name: &DocName, query: &ListQuery) -> Result<Response, AppError> {
    let (window, limit) = query.window()?;
    let page = history::revisions(&state.hub, &state.exports, name, window, limit).await?;
    Ok(json_response(StatusCode::OK, page_json(&page)))
}

/// Revision `rev` of `name` as one update, cached for good: a revision never changes.
async fn version(state: &AppState, name: &DocName, rev: &str) -> Result<Response, AppError> {
    let rev = revision(rev, "the revision")?;
    let bytes = history::version(&state.hub, &state.exports, name, rev).await?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Revision `rev` of `target` as a download in `format`, named `{stem}-r{rev}.{ext}`.
async fn export(
    state: &AppState,
    target: &Target,
    rev: &str,
    format: &str,
    query: &ExportQuery,
    lang: Lang,
) -> Result<Response, AppError> {
    let rev = revision(rev, "the revision")?;
    let stem = format!("{}-r{rev}", target.stem);
    match target.kind {
        Kind::Pad => {
            let format: PadFormat = format.parse()?;
            let options = query.options_in(lang);
            let bytes = history::export_pad_version(
                &state.hub,
                &state.exports,
                &target.name,
                rev,
                format,
                options,
            )
            .await?;
            Ok(download(bytes, format, &stem))
        }
        Kind::Calc => {
            let format: CalcFormat = format.parse()?;
            let sheet = query.sheet.clone();
            let bytes = history::export_calc_version(
                &state.hub,
                &state.exports,
                &target.name,
                rev,
                format,
                move |book| sheet_index(book, sheet.as_deref()),
            )
            .await?;
            Ok(download_file(
                bytes,
                format.content_type(),
                &format!("{stem}.{}", format.extension()),
            ))
        }
    }
}

/// Restores revision `rev` of `name`: `{"rev": NEW}`.
async fn restore(state: &AppState, name: &DocName, rev: &str) -> Result<Response, AppError> {
    let rev = revision(rev, "the revision")?;
    let new = history::restore(&state.hub, &state.exports, name, rev).await?;
    Ok(json_response(StatusCode::OK, json!({ "rev": new })))
}

// ---------------------------------------------------------------------------------------------
// Under the pages.

async fn page_list(
    state: &AppState,
    via: Via,
    raw: &str,
    query: &ListQuery,
) -> Result<Response, HistoryError> {
    let target = target(state, via, raw).await?;
    Ok(list(state, &target.name, query).await?)
}

async fn page_version(
    state: &AppState,
    via: Via,
    raw: &str,
    rev: &str,
) -> Result<Response, HistoryError> {
    let target = target(state, via, raw).await?;
    Ok(version(state, &target.name, rev).await?)
}

async fn page_export(
    state: &AppState,
    via: Via,
    (raw, rev, format): (String, String, String),
    query: &ExportQuery,
    lang: Lang,
) -> Result<Response, HistoryError> {
    let target = target(state, via, &raw).await?;
    Ok(export(state, &target, &rev, &format, query, lang).await?)
}

async fn page_restore(
    state: &AppState,
    kind: Kind,
    raw: &str,
    rev: &str,
) -> Result<Response, HistoryError> {
    let target = target(state, Via::Edit(kind), raw).await?;
    Ok(restore(state, &target.name, rev).await?)
}

pub(crate) async fn pad_list(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, HistoryError> {
    page_list(&state, Via::Edit(Kind::Pad), &raw, &query).await
}

pub(crate) async fn calc_list(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, HistoryError> {
    page_list(&state, Via::Edit(Kind::Calc), &raw, &query).await
}

pub(crate) async fn read_only_list(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, HistoryError> {
    page_list(&state, Via::ReadOnly, &raw, &query).await
}

pub(crate) async fn pad_version(
    State(state): State<AppState>,
    Path((raw, rev)): Path<(String, String)>,
) -> Result<Response, HistoryError> {
    page_version(&state, Via::Edit(Kind::Pad), &raw, &rev).await
}

pub(crate) async fn calc_version(
    State(state): State<AppState>,
    Path((raw, rev)): Path<(String, String)>,
) -> Result<Response, HistoryError> {
    page_version(&state, Via::Edit(Kind::Calc), &raw, &rev).await
}

pub(crate) async fn read_only_version(
    State(state): State<AppState>,
    Path((raw, rev)): Path<(String, String)>,
) -> Result<Response, HistoryError> {
    page_version(&state, Via::ReadOnly, &raw, &rev).await
}

pub(crate) async fn pad_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, HistoryError> {
    page_export(&state, Via::Edit(Kind::Pad), path, &query, lang).await
}

pub(crate) async fn calc_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, HistoryError> {
    page_export(&state, Via::Edit(Kind::Calc), path, &query, lang).await
}

pub(crate) async fn read_only_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, HistoryError> {
    page_export(&state, Via::ReadOnly, path, &query, lang).await
}

pub(crate) async fn pad_restore(
    State(state): State<AppState>,
    Path((raw, rev)): Path<(String, String)>,
) -> Result<Response, HistoryError> {
    page_restore(&state, Kind::Pad, &raw, &rev).await
}

pub(crate) async fn calc_restore(
    State(state): State<AppState>,
    Path((raw, rev)): Path<(String, String)>,
) -> Result<Response, HistoryError> {
    page_restore(&state, Kind::Calc, &raw, &rev).await
}

// ---------------------------------------------------------------------------------------------
// Under the API (any kind: the API names documents, not pages).

/// The document `raw` names, if it exists.
async fn api_target(state: &AppState, raw: &str) -> Result<Target, AppError> {
    let name = DocName::parse(raw)?;
    let kind = history::kind(&state.hub, &name).await?;
    let stem = name.as_str().to_owned();
    Ok(Target { name, kind, stem })
}

pub(crate) async fn api_list(
    _: Authorized,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let target = api_target(&state, &raw).await?;
    Ok(list(&state, &target.name, &query).await?)
}

pub(crate) async fn api_export(
    _: Authorized,
    State(state): State<AppState>,
    Path((raw, rev, format)): Path<(String, String, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let target = api_target(&state, &raw).await?;
    Ok(export(&state, &target, &rev, &format, &query, Lang::En).await?)
}

pub(crate) async fn api_restore(
    _: Authorized,
    State(state): State<AppState>,
    Path((raw, rev)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let target = api_target(&state, &raw).await?;
    Ok(restore(&state, &target.name, &rev).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(after: Option<&str>, before: Option<&str>, limit: Option<&str>) -> ListQuery {
        ListQuery {
            after: after.map(str::to_owned),
            before: before.map(str::to_owned),
            limit: limit.map(str::to_owned),
        }
    }

    #[test]
    fn revision_numbers_are_non_negative_integers() {
        assert_eq!(revision("57", "r").ok(), Some(57));
        assert!(matches!(revision("x", "r"), Err(AppError::BadRequest(_))));
        assert!(matches!(revision("-1", "r"), Err(AppError::BadRequest(_))));
        assert!(matches!(revision("", "r"), Err(AppError::BadRequest(_))));
        assert!(matches!(
            revision("99999999999999999999999", "r"),
            Err(AppError::NoRevision)
        ));
    }

    #[test]
    fn a_list_query_names_one_window_and_a_bounded_limit() {
        let window = |q: ListQuery| q.window().ok();
        assert_eq!(
            window(query(None, None, None)),
            Some((Window::Latest, DEFAULT_LIMIT))
        );
        assert_eq!(
            window(query(Some("12"), None, Some("5"))),
            Some((Window::After(12), 5))
        );
        assert_eq!(
            window(query(None, Some("99999999999999999999999"), None)),
            Some((Window::Before(u64::MAX), DEFAULT_LIMIT))
        );
        assert_eq!(window(query(Some("1"), Some("2"), None)), None);
        assert_eq!(window(query(None, None, Some("0"))), None);
        assert_eq!(window(query(None, None, Some("501"))), None);
        assert_eq!(window(query(Some("x"), None, None)), None);
    }
}
