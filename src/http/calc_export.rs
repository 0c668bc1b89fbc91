//! Calc downloads: `/c/{name}/export/{format}` (ODS, XLSX, CSV, HTML), and the calc export the
//! read-only link and the API share. The file work runs within `service::export::bounded`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::convert::calc::{self as calc_io, bridge, Book, CalcFormat};
use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::http::extract::RequestLang;
use crate::http::respond::download_file;
use crate::http::{AppError, AppState};
use crate::service::export::bounded;

/// Whether document `name` is a calc (`false` for a pad); `NotFound` if it does not exist.
pub(crate) async fn is_calc(state: &AppState, name: &DocName) -> Result<bool, AppError> {
    let meta = state
        .hub
        .open(name, None)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(meta.kind == Kind::Calc)
}

/// The calc `name` read into a [`Book`] (off the async workers).
pub(crate) async fn load(state: &AppState, name: &DocName) -> Result<Book, AppError> {
    if !is_calc(state, name).await? {
        return Err(AppError::NotACalc);
    }
    let snapshot = state.hub.snapshot(name).await?.ok_or(AppError::NotFound)?;
    Ok(bounded(&state.exports, name, "calc read", move || {
        bridge::read(&snapshot)
    })
    .await??)
}

/// The sheet `?sheet=` designates: a 1-based number or a sheet name; the first otherwise.
pub(crate) fn sheet_index(book: &Book, sheet: Option<&str>) -> usize {
    let Some(sheet) = sheet.map(str::trim).filter(|s| !s.is_empty()) else {
        return 0;
    };
    if let Ok(n) = sheet.parse::<usize>() {
        return n.saturating_sub(1);
    }
    book.sheets
        .iter()
        .position(|s| s.name.eq_ignore_ascii_case(sheet))
        .unwrap_or(0)
}

/// The calc `name` as a download in `format`, named `stem.{ext}`: the one calc export of the
/// calc page, the read-only link and the API.
pub(crate) async fn download(
    state: &AppState,
    name: &DocName,
    stem: &str,
    format: &str,
    sheet: Option<&str>,
) -> Result<Response, AppError> {
    let format: CalcFormat = format
        .parse()
        .map_err(|e: calc_io::UnknownCalcFormat| AppError::BadRequest(e.to_string()))
        .map_err(|_| AppError::NotFound)?;
    // A calc that cannot be read here is not a calc to download: 404, as a missing one.
    let book = load(state, name).await.map_err(|e| {
        if e.is_calc_file_kind() {
            AppError::NotFound
        } else {
            e
        }
    })?;
    let index = sheet_index(&book, sheet);
    let bytes = bounded(&state.exports, name, "calc export", move || {
        calc_io::export(&book, format, index)
    })
    .await?
    .map_err(|e| match e {
        // The calc is past the export's cell or formula-work budget: say so, it will not pass later.
        calc_io::CalcIoError::TooLarge(why) => AppError::TooLarge(why),
        e => {
            tracing::error!(doc = %name, %format, error = %e, "calc export failed");
            AppError::ExportFailed
        }
    })?;
    Ok(download_file(
        bytes,
        format.content_type(),
        &format!("{stem}.{}", format.extension()),
    ))
}

pub(crate) async fn export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let result = async {
        let name = DocName::parse(&raw)?;
        download(
            &state,
            &name,
            name.as_str(),
            &format,
            query.sheet.as_deref(),
        )
        .await
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

/// `?sheet=` of the CSV views.
#[derive(Debug, Deserialize)]
pub(crate) struct SheetQuery {
    pub(crate) sheet: Option<String>,
}
