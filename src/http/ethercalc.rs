//! The EtherCalc-compatible API that Framacalc scripts and forms use: `POST /_` (create),
//! `GET|PUT|POST /_/{name}` (save, replace, commands or rows), `/_/{name}/{csv,csv.json,cells}`,
//! `/_/{name}/cells/{A1}` and the short `/{name}.csv`. Open like EtherCalc's unless an API key
//! is configured; answers in plain text, as EtherCalc does.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value as JsonValue};

use crate::convert::calc::engine::{Computed, Value};
use crate::convert::calc::{self as calc_io, bridge, Book, CalcFormat, CalcIoError, Grid};
use crate::doc::meta::random_name;
use crate::doc::name::DocName;
use crate::http::calc_export::{is_calc, load, sheet_index, SheetQuery};
use crate::http::calc_import::{apply, open_calc, replace};
use crate::http::error::PlainText;
use crate::http::extract::EtherCalcKey;
use crate::http::extract::RequestLang;
use crate::http::gate::{Authed, Bearer, ImportLimit};
use crate::http::respond::json_response;
use crate::http::{base_path, site, AppError, AppState};
use crate::service::export::bounded;

/// A request of the EtherCalc API with its key checked, then its body read under the import
/// limit.
type KeyAndFile = Authed<EtherCalcKey, ImportLimit>;

/// A request of the EtherCalc API without a body, with its key checked.
type Key = Bearer<EtherCalcKey>;

/// The format of an API body, from its `Content-Type` (sniffed when absent or generic).
fn body_format(headers: &HeaderMap, body: &[u8]) -> Result<CalcFormat, AppError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match CalcFormat::from_content_type(declared) {
        Some(format) => Ok(format),
        None if declared.is_empty()
            || declared.starts_with("application/octet-stream")
            || declared.starts_with("application/x-www-form-urlencoded") =>
        {
            Ok(CalcFormat::sniff(body, ""))
        }
        None => Err(AppError::UnsupportedType),
    }
}

fn api_name(raw: &str) -> Result<DocName, AppError> {
    DocName::parse(raw).map_err(AppError::from)
}

/// A CSV or SocialCalc answer (EtherCalc's `Content-Type`s), never cached.
fn file_response(bytes: Vec<u8>, format: CalcFormat) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The first sheet (or `?sheet=`) as CSV (computed values) or a SocialCalc save.
async fn sheet_file(
    state: &AppState,
    name: &DocName,
    sheet: Option<&str>,
    format: CalcFormat,
) -> Result<Response, AppError> {
    let book = load(state, name).await?;
    let index = sheet_index(&book, sheet);
    let bytes = bounded(&state.exports, name, "calc export", move || {
        calc_io::export(&book, format, index)
    })
    .await??;
    Ok(file_response(bytes, format))
}

/// `GET /_/{name}`: the first sheet (or `?sheet=`) in SocialCalc's save format, as EtherCalc
/// serves a room.
pub(crate) async fn save(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<SheetQuery>,
    _: Key,
) -> Response {
    let result = async {
        let name = api_name(&raw)?;
        sheet_file(
            &state,
            &name,
            query.sheet.as_deref(),
            CalcFormat::SocialCalc,
        )
        .await
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}

/// `GET /{name}.csv` (EtherCalc's short form); anything else on one segment is a 404.
pub(crate) async fn dot_csv(
    State(state): State<AppState>,
    lang: RequestLang,
    Path(file): Path<String>,
    Query(query): Query<SheetQuery>,
    // Checked after the path: a path that is no `.csv` is a 404, as everywhere.
    key: Result<Key, PlainText>,
) -> Response {
    let Some(raw) = file.strip_suffix(".csv") else {
        return site::not_found(lang).await;
    };
    let result = async {
        key.map_err(|refused| refused.0)?;
        sheet_file(
            &state,
            &api_name(raw)?,
            query.sheet.as_deref(),
            CalcFormat::Csv,
        )
        .await
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}

/// `GET /_/{name}/csv`, `/_/{name}/csv.json`, `/_/{name}/cells`.
pub(crate) async fn view(
    State(state): State<AppState>,
    Path((raw, view)): Path<(String, String)>,
    Query(query): Query<SheetQuery>,
    _: Key,
) -> Response {
    let result = async {
        let name = api_name(&raw)?;
        match view.as_str() {
            "csv" => sheet_file(&state, &name, query.sheet.as_deref(), CalcFormat::Csv).await,
            "csv.json" | "cells" => {
                let book = load(&state, &name).await?;
                let index = sheet_index(&book, query.sheet.as_deref());
                let cells = view == "cells";
                let json = bounded(&state.exports, &name, "calc export", move || {
                    let computed = Computed::new(&book)?;
                    Ok::<_, CalcIoError>(if cells {
                        cells_json(&book, &computed, index)
                    } else {
                        rows_json(&book, &computed, index)
                    })
                })
                .await??;
                Ok(json_response(StatusCode::OK, json))
            }
            _ => Err(AppError::NotFound),
        }
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}

/// `GET /_/{name}/cells/{A1}`.
pub(crate) async fn cell(
    State(state): State<AppState>,
    Path((raw, coord)): Path<(String, String)>,
    Query(query): Query<SheetQuery>,
    _: Key,
) -> Response {
    let result = async {
        let name = api_name(&raw)?;
        let (row, col) = calc_io::openformula::parse_a1(&coord)
            .ok_or_else(|| AppError::BadRequest("not a cell coordinate such as B2".into()))?;
        let book = load(&state, &name).await?;
        let index = sheet_index(&book, query.sheet.as_deref());
        let json = bounded(&state.exports, &name, "calc export", move || {
            let computed = Computed::new(&book)?;
            Ok::<_, CalcIoError>(cell_json(&book, &computed, index, row, col))
        })
        .await??;
        Ok::<_, AppError>(json_response(StatusCode::OK, json))
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}

/// One cell in EtherCalc's (SocialCalc's) shape: `datatype` `v` (number), `t` (text), `f`
/// (formula); `valuetype` `n`, `t`, `nl` (logical), `e…` (error), `b` (blank); `formula`
/// without its `=`; `datavalue` the computed value.
fn cell_json(book: &Book, computed: &Computed, sheet: usize, row: u32, col: u32) -> JsonValue {
    let coord = calc_io::openformula::a1(row, col);
    let entry = book.sheets.get(sheet).and_then(|g| g.entry(row, col));
    let (datatype, formula) = match entry {
        Some(calc_io::Entry::Formula(f)) => ("f", f.strip_prefix('=').unwrap_or(f).to_owned()),
        Some(calc_io::Entry::Text(_)) => ("t", String::new()),
        _ => ("v", String::new()),
    };
    let (datavalue, valuetype) = match computed.value(sheet, row, col) {
        Value::Empty => (json!(""), "b".to_owned()),
        Value::Number(n) => (json!(n), "n".to_owned()),
        Value::Text(t) => (json!(t), "t".to_owned()),
        Value::Bool(b) => (json!(u8::from(b)), "nl".to_owned()),
        Value::Error(e) => (json!(e), format!("e{e}")),
    };
    json!({
        "coord": coord,
        "datavalue": datavalue,
        "datatype": datatype,
        "formula": formula,
        "valuetype": valuetype,
    })
}

/// Every non-empty cell of the sheet, keyed by coordinate.
fn cells_json(book: &Book, computed: &Computed, sheet: usize) -> JsonValue {
    let mut out = Map::new();
    if let Some(grid) = book.sheets.get(sheet) {
        for (&(r, c), cell) in &grid.cells {
            if cell.entry != calc_io::Entry::Empty {
                out.insert(
                    calc_io::openformula::a1(r, c),
                    cell_json(book, computed, sheet, r, c),
                );
            }
        }
    }
    JsonValue::Object(out)
}

/// The sheet as rows of values, as EtherCalc's `csv.json`.
fn rows_json(book: &Book, computed: &Computed, sheet: usize) -> JsonValue {
    let (rows, cols) = book.sheets.get(sheet).map_or((0, 0), Grid::extent);
    let rows: Vec<JsonValue> = (0..rows)
        .map(|r| {
            let row: Vec<JsonValue> = (0..cols)
                .map(|c| match computed.value(sheet, r, c) {
                    Value::Number(n) => json!(n),
                    other => json!(calc_io::csv::value_text(&other)),
                })
                .collect();
            JsonValue::Array(row)
        })
        .collect();
    JsonValue::Array(rows)
}

/// Body of `POST /_` in JSON: EtherCalc's `{room, snapshot}`; only an empty snapshot (a new
/// empty calc) is supported, SocialCalc save format is not.
#[derive(Debug, Deserialize)]
struct CreateJson {
    room: Option<String>,
    #[serde(default)]
    snapshot: String,
}

/// `POST /_`: creates a calc (from a CSV, ODS, XLSX or SocialCalc body, or JSON `{room}` with
/// an optional SocialCalc `snapshot`); 201 + Location.
pub(crate) async fn create(State(state): State<AppState>, request: KeyAndFile) -> Response {
    let KeyAndFile { headers, body, .. } = request;
    let result = async {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let name = if json {
            let request: CreateJson = serde_json::from_slice(&body)
                .map_err(|_| AppError::BadRequest("expected {\"room\": NAME}".into()))?;
            let name = api_name(request.room.as_deref().unwrap_or(&random_name()))?;
            if request.snapshot.is_empty() {
                open_calc(&state, &name, true).await?;
            } else {
                // EtherCalc's snapshot is a SocialCalc save.
                let snapshot = Bytes::from(request.snapshot.into_bytes());
                replace(&state, &name, snapshot, CalcFormat::SocialCalc, true).await?;
            }
            name
        } else {
            let format = body_format(&headers, &body)?;
            let name = api_name(&random_name())?;
            replace(&state, &name, body, format, true).await?;
            name
        };
        let location = base_path::url(&format!("/_/{name}"));
        let mut r = (StatusCode::CREATED, format!("{location}\n")).into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        Ok::<_, AppError>(r)
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}

/// `PUT /_/{name}`: replaces the calc with the CSV, ODS, XLSX or SocialCalc body (creating it
/// if needed);
/// 201 when created, else 200.
pub(crate) async fn overwrite(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    request: KeyAndFile,
) -> Response {
    let KeyAndFile { headers, body, .. } = request;
    let result = async {
        let name = api_name(&raw)?;
        let format = body_format(&headers, &body)?;
        let created = replace(&state, &name, body, format, true).await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok::<_, AppError>((status, "OK\n").into_response())
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}

/// `?row=N` of `POST /_/{name}`: insert at 1-based row N instead of appending.
#[derive(Debug, Deserialize)]
pub(crate) struct AppendQuery {
    row: Option<u32>,
    sheet: Option<String>,
}

/// EtherCalc's command body: one command or several.
#[derive(Debug, Deserialize)]
struct CommandBody {
    command: OneOrMany,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The SocialCalc commands of a `POST /_/{name}` body, if it is a command call: JSON
/// `{"command": …}` or a plain-text body (EtherCalc's two forms).
fn command_lines(headers: &HeaderMap, body: &[u8]) -> Option<Result<Vec<String>, AppError>> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if declared.starts_with("application/json") {
        let parsed = serde_json::from_slice::<CommandBody>(body).map_err(|_| {
            AppError::BadFile("expected JSON {\"command\": \"…\"} or {\"command\": [\"…\"]}".into())
        });
        return Some(parsed.map(|b| match b.command {
            OneOrMany::One(c) => vec![c],
            OneOrMany::Many(c) => c,
        }));
    }
    if declared.starts_with("text/plain") || declared.starts_with("text/x-socialcalc") {
        return Some(
            std::str::from_utf8(body)
                .map(|t| vec![t.to_owned()])
                .map_err(|_| AppError::BadFile("commands must be UTF-8 text".into())),
        );
    }
    None
}

/// `POST /_/{name}` with SocialCalc commands: runs them through the document's room; 202 with
/// the commands, as EtherCalc answers.
async fn api_commands(
    state: &AppState,
    name: &DocName,
    sheet: Option<String>,
    lines: Vec<String>,
) -> Result<Response, AppError> {
    let commands = calc_io::commands::parse(&lines)?;
    if !is_calc(state, name).await? {
        return Err(AppError::NotACalc);
    }
    let snapshot = state.hub.snapshot(name).await?.ok_or(AppError::NotFound)?;
    let update = bounded(&state.exports, name, "calc commands", move || {
        let book = bridge::read(&snapshot)?;
        let index = sheet_index(&book, sheet.as_deref());
        calc_io::commands::apply(&snapshot, &commands, index)
    })
    .await??;
    apply(state, name, update).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        json!({ "command": lines }),
    ))
}

/// `POST /_/{name}`: SocialCalc commands (JSON or plain text), or a CSV body whose rows are
/// appended after the last non-empty row (or inserted at `?row=N`); 202 with where they landed.
pub(crate) async fn append(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<AppendQuery>,
    request: KeyAndFile,
) -> Response {
    let KeyAndFile { headers, body, .. } = request;
    let result = async {
        let name = api_name(&raw)?;
        if let Some(lines) = command_lines(&headers, &body) {
            return api_commands(&state, &name, query.sheet.clone(), lines?).await;
        }
        if body_format(&headers, &body)? != CalcFormat::Csv {
            return Err(AppError::UnsupportedType);
        }

        if !is_calc(&state, &name).await? {
            return Err(AppError::NotACalc);
        }
        let grid = bounded(&state.exports, &name, "calc append", move || {
            calc_io::csv::read(&body, "")
        })
        .await??;
        let snapshot = state.hub.snapshot(&name).await?.ok_or(AppError::NotFound)?;
        let at = query.row.map(|n| n.saturating_sub(1));
        let sheet = query.sheet.clone();
        let (update, first, rows) = bounded(&state.exports, &name, "calc append", move || {
            let book = bridge::read(&snapshot)?;
            let index = sheet_index(&book, sheet.as_deref());
            let (update, first) = bridge::append(&snapshot, &grid, index, at)?;
            Ok::<_, CalcIoError>((update, first, grid.extent().0))
        })
        .await??;
        apply(&state, &name, update).await?;
        Ok::<_, AppError>(json_response(
            StatusCode::ACCEPTED,
            json!({ "row": first + 1, "rows": rows }),
        ))
    };
    result.await.unwrap_or_else(|e| e.ethercalc_text(&state))
}
