//! The HTTP edge of calc files: exports (`/c/{name}/export/…`), imports (upload forms), and the
//! EtherCalc-compatible API (`/_/…`, `/{name}.csv`) that Framacalc scripts and forms use.
//!
//! File work (parsing, evaluating, writing) runs through [`http::bounded`]: on the blocking pool,
//! under the export semaphore and timeout. Every change to a calc is an update made on a copy of
//! the document ([`calc_io::bridge`]) and applied by the document's room, so live editors see it
//! at once and it is persisted before it is broadcast.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value as JsonValue};

use crate::convert::calc::engine::{Computed, Value};
use crate::convert::calc::{self as calc_io, bridge, Book, CalcFormat, CalcIoError, Grid};
use crate::doc::meta::{random_name, Kind, NewDoc};
use crate::doc::name::DocName;
use crate::http::gate::{self, Authed, BodyError, Credential, ImportLimit};
use crate::http::pages::Lang;
use crate::http::{self, AppError, AppState, RequestLang};
use crate::sync::room::Applied;

/// The calc routes, merged into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{name}/export/{format}", get(export_route))
        .route("/c/{name}/import", post(import_form))
        .route("/import", post(import_form_new))
        .route("/{file}", get(dot_csv))
        .route("/_", post(api_create))
        .route("/_/{name}", get(api_save).put(api_replace).post(api_append))
        .route("/_/{name}/{view}", get(api_view))
        .route("/_/{name}/cells/{coord}", get(api_cell))
        // Bodies are read by `gate::Authed` and the upload forms under the import limit, which
        // say what the limit is; axum's own limit would only answer first without saying it.
        .layer(DefaultBodyLimit::disable())
}

/// Errors of the calc routes: pages for browsers, plain text for the API.
#[derive(Debug, thiserror::Error)]
pub enum CalcError {
    /// An error the rest of the server already knows.
    #[error(transparent)]
    App(#[from] AppError),
    /// The document is a pad.
    #[error("this document is a pad, not a calc")]
    NotACalc,
    /// The uploaded file could not be read; the text says why.
    #[error("{0}")]
    BadFile(String),
    /// The body or file is too large; the text says which limit.
    #[error("{0}")]
    TooLarge(String),
    /// The calc would pass the document size limit.
    #[error("the calc would be larger than the server's document size limit")]
    DocTooLarge,
    /// The body's type is not one the call accepts.
    #[error("unsupported Content-Type; send text/csv, ODS, XLSX or text/x-socialcalc")]
    UnsupportedType,
    /// The API key is missing or wrong.
    #[error("missing or wrong API key (Authorization: Bearer KEY)")]
    Unauthorized,
    /// Other uploads hold the server's body budget.
    #[error("{0}")]
    Busy(BodyError),
}

impl From<CalcIoError> for CalcError {
    fn from(e: CalcIoError) -> Self {
        match e {
            CalcIoError::Invalid(m) => CalcError::BadFile(m),
            CalcIoError::TooLarge(m) => CalcError::TooLarge(m),
            // Imports, commands and the API's views all come through here (the page exports
            // say "export" themselves): a neutral answer for a failure that is ours.
            CalcIoError::Engine(m) => {
                tracing::error!(error = %m, "calc file job failed");
                CalcError::App(AppError::Unavailable)
            }
        }
    }
}

impl From<crate::sync::hub::HubError> for CalcError {
    fn from(e: crate::sync::hub::HubError) -> Self {
        CalcError::App(e.into())
    }
}

impl CalcError {
    fn status(&self) -> StatusCode {
        match self {
            CalcError::App(AppError::NotFound | AppError::UnknownFormat(_)) => {
                StatusCode::NOT_FOUND
            }
            CalcError::App(AppError::BadName(_) | AppError::BadRequest(_)) => {
                StatusCode::BAD_REQUEST
            }
            CalcError::App(_) => StatusCode::SERVICE_UNAVAILABLE,
            CalcError::NotACalc => StatusCode::CONFLICT,
            CalcError::BadFile(_) => StatusCode::BAD_REQUEST,
            CalcError::TooLarge(_) | CalcError::DocTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            CalcError::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CalcError::Unauthorized => StatusCode::UNAUTHORIZED,
            CalcError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error as a page in `lang`.
    fn page(self, state: &AppState, lang: Lang) -> Response {
        match self {
            CalcError::App(e) => state.fail(lang, e),
            other => {
                let status = other.status();
                let mut page = AppError::BadRequest(other.to_string()).page(lang);
                *page.status_mut() = status;
                page
            }
        }
    }

    /// The error as `fetch` from the calc page reads it: `{error, message}` with the status
    /// (503s with `Retry-After`); the message is the one the error page would show.
    fn json(self) -> Response {
        let status = self.status();
        let code = match &self {
            CalcError::App(AppError::CreationClosed(..)) => "creation_closed",
            CalcError::App(AppError::NotFound) => "not_found",
            CalcError::App(AppError::BadName(_) | AppError::BadRequest(_)) => "bad_request",
            CalcError::App(_) => "unavailable",
            CalcError::NotACalc => "not_a_calc",
            CalcError::BadFile(_) => "bad_file",
            CalcError::TooLarge(_) | CalcError::DocTooLarge => "too_large",
            CalcError::UnsupportedType => "unsupported_type",
            CalcError::Unauthorized => "unauthorized",
            CalcError::Busy(_) => "unavailable",
        };
        let mut r = json_response(
            status,
            json!({ "error": code, "message": self.to_string() }),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        r
    }

    /// The error as the API answers it: plain text (503s with `Retry-After`).
    fn text(self, state: &AppState) -> Response {
        if let CalcError::App(AppError::CreationClosed(name, kind)) = self {
            let mut r = state.creation_closed(Lang::En, Some(&name), kind);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            *r.body_mut() =
                "new documents are paused while the server is busy; retry later\n".into();
            return r;
        }
        self.plain()
    }

    /// The error as plain text, for everything but a refused creation (which counts a refusal
    /// and needs the server's state).
    fn plain(self) -> Response {
        let status = self.status();
        let mut r = (status, format!("{self}\n")).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        if let CalcError::Unauthorized = self {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// How the EtherCalc API refuses a request before its handler runs (a missing key, a body too
/// large): as text, like its handlers.
impl IntoResponse for CalcError {
    fn into_response(self) -> Response {
        self.plain()
    }
}

impl From<BodyError> for CalcError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(limit) => CalcError::TooLarge(too_large(limit)),
            BodyError::Unreadable => CalcError::App(AppError::BadRequest(e.to_string())),
            BodyError::Busy => CalcError::Busy(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The operations, shared by the pages and the API

/// Whether document `name` is a calc (`false` for a pad); `NotFound` if it does not exist.
pub async fn is_calc(state: &AppState, name: &DocName) -> Result<bool, AppError> {
    let meta = state
        .hub
        .open(name, None)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(meta.kind == Kind::Calc)
}

/// The calc `name` read into a [`Book`] (off the async workers).
async fn load(state: &AppState, name: &DocName) -> Result<Book, CalcError> {
    if !is_calc(state, name).await? {
        return Err(CalcError::NotACalc);
    }
    let snapshot = state.hub.snapshot(name).await?.ok_or(AppError::NotFound)?;
    Ok(http::bounded(state, name, "calc read", move || bridge::read(&snapshot)).await??)
}

/// The sheet `?sheet=` designates: a 1-based number or a sheet name; the first otherwise.
fn sheet_index(book: &Book, sheet: Option<&str>) -> usize {
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

/// The calc `name` as a download in `format`, named `stem.{ext}`.
pub async fn export(
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
    let book = load(state, name).await.map_err(|e| match e {
        CalcError::App(e) => e,
        _ => AppError::NotFound,
    })?;
    let index = sheet_index(&book, sheet);
    let bytes = http::bounded(state, name, "calc export", move || {
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
    Ok(http::download_file(
        bytes,
        format.content_type(),
        &format!("{stem}.{}", format.extension()),
    ))
}

/// Opens calc `name`, creating it when `create` and creation is open. `Ok(true)` if it was
/// created now.
async fn open_calc(state: &AppState, name: &DocName, create: bool) -> Result<bool, CalcError> {
    if let Some(meta) = state.hub.open(name, None).await? {
        return if meta.kind == Kind::Calc {
            Ok(false)
        } else {
            Err(CalcError::NotACalc)
        };
    }
    if !create {
        return Err(AppError::NotFound.into());
    }
    let new = NewDoc {
        kind: Kind::Calc,
        lifetime: state.config.retention_default,
        creator: None,
        provisional: false,
    };
    match state.open_or_create(name, new).await? {
        Some(meta) if meta.kind == Kind::Calc => Ok(true),
        Some(_) => Err(CalcError::NotACalc),
        None => Err(AppError::CreationClosed(name.clone(), Kind::Calc).into()),
    }
}

/// Hands an update to the calc's room.
async fn apply(state: &AppState, name: &DocName, update: Vec<u8>) -> Result<(), CalcError> {
    match state.hub.apply(name, &update).await? {
        Applied::Done => Ok(()),
        Applied::Missing => Err(AppError::NotFound.into()),
        Applied::TooBig => Err(CalcError::DocTooLarge),
    }
}

/// What a file past the import limit is told.
fn too_large(limit: usize) -> String {
    format!(
        "the file is larger than the import limit of {}",
        gate::describe(limit)
    )
}

/// Checks the import size limit.
fn check_size(state: &AppState, len: usize) -> Result<(), CalcError> {
    let max = state.config.max_import_bytes;
    if len > max {
        return Err(CalcError::TooLarge(too_large(max)));
    }
    Ok(())
}

/// Replaces the content of calc `name` with the file `bytes` (creating the calc when `create`
/// and creation is open); `Ok(true)` if it was created. `bytes` were read under the import
/// limit already (`gate::Authed` or the upload form).
async fn replace(
    state: &AppState,
    name: &DocName,
    bytes: Bytes,
    format: CalcFormat,
    create: bool,
) -> Result<bool, CalcError> {
    // Parsed before anything is created, so a bad file leaves nothing behind.
    let book = http::bounded(state, name, "calc import", move || {
        calc_io::import(&bytes, format)
    })
    .await??;
    let created = open_calc(state, name, create).await?;
    let snapshot = state.hub.snapshot(name).await?;
    let update = http::bounded(state, name, "calc import", move || {
        bridge::replace(snapshot.as_deref(), &book)
    })
    .await??;
    apply(state, name, update).await?;
    tracing::info!(doc = %name, %format, "calc imported");
    Ok(created)
}

// ---------------------------------------------------------------------------------------------
// Pages: export links and upload forms

async fn export_route(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let result = async {
        let name = DocName::parse(&raw)?;
        export(
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
struct SheetQuery {
    sheet: Option<String>,
}

/// The fields of an upload form: the file, and on the home page an optional name.
struct Upload {
    name: String,
    file_name: String,
    bytes: Bytes,
    /// The file's share of the server's body budget.
    charge: gate::Charge,
}

/// Bytes of an upload form beyond its file: the boundaries, part headers and the name field.
const FORM_OVERHEAD: usize = 64 * 1024;

/// Reads an upload form (`multipart/form-data` with `file` and optionally `name`), refusing a
/// file past the import limit as soon as it passes it.
async fn read_upload(state: &AppState, request: Request) -> Result<Upload, CalcError> {
    let bad = |m: &str| CalcError::App(AppError::BadRequest(m.to_owned()));
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| bad("expected a file upload form (multipart/form-data)"))?;
    // The whole form may hold the file and a few short fields, no more: refused from its
    // declared length before anything is read, else as it streams.
    let whole = state.config.max_import_bytes.saturating_add(FORM_OVERHEAD);
    if gate::check_declared(request.headers(), whole).is_err() {
        return Err(CalcError::TooLarge(too_large(
            state.config.max_import_bytes,
        )));
    }
    let stream = request.into_body().into_data_stream();
    let limit = multer::SizeLimit::new().whole_stream(whole as u64);
    let mut form = multer::Multipart::with_constraints(
        stream,
        boundary,
        multer::Constraints::new().size_limit(limit),
    );
    let mut upload = Upload {
        name: String::new(),
        file_name: String::new(),
        bytes: Bytes::new(),
        charge: gate::Charge::new(&state.bodies),
    };
    // A form trickled in would hold its share of the body budget for ever.
    let fields = async {
        while let Some(mut field) = form
            .next_field()
            .await
            .map_err(|_| bad("the upload form could not be read"))?
        {
            match field.name() {
                Some("file") => {
                    upload.file_name = field.file_name().unwrap_or("").to_owned();
                    let mut data = Vec::new();
                    while let Some(chunk) = field
                        .chunk()
                        .await
                        .map_err(|_| bad("the upload form could not be read"))?
                    {
                        check_size(state, data.len().saturating_add(chunk.len()))?;
                        data.extend_from_slice(&chunk);
                        upload.charge.cover(data.capacity())?;
                    }
                    upload.bytes = data.into();
                }
                Some("name") => {
                    let text = field
                        .text()
                        .await
                        .map_err(|_| bad("the upload form could not be read"))?;
                    upload.name = text.chars().take(200).collect();
                }
                _ => {}
            }
        }
        Ok::<_, CalcError>(())
    };
    tokio::time::timeout(gate::BODY_DEADLINE, fields)
        .await
        .map_err(|_| bad("the upload took too long"))??;
    if upload.bytes.is_empty() {
        return Err(bad("choose a file to import"));
    }
    Ok(upload)
}

/// `POST /c/{name}/import`: replaces the calc with the uploaded file, then shows it; a client
/// asking for JSON (the calc page's `fetch`) gets `{"replaced": true}` or `{error, message}`.
async fn import_form(
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
        Ok::<_, CalcError>(name)
    };
    match (result.await, wants_json) {
        (Ok(_), true) => json_response(StatusCode::OK, json!({ "replaced": true })),
        (Err(e), true) => e.json(),
        (Ok(name), false) => Redirect::to(&crate::http::base_path::url(&format!(
            "/c/{name}?lang={}",
            lang.code()
        )))
        .into_response(),
        (Err(e), false) => e.page(&state, lang),
    }
}

/// `POST /import` (home page): a new calc (named, or with a random name) from the file.
async fn import_form_new(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    request: Request,
) -> Response {
    let result = async {
        let upload = read_upload(&state, request).await?;
        let raw = upload.name.trim();
        let name = if raw.is_empty() {
            DocName::parse(&random_name())
        } else {
            DocName::parse(raw)
        }
        .map_err(AppError::from)?;
        let format = CalcFormat::sniff(&upload.bytes, &upload.file_name);
        replace(&state, &name, upload.bytes, format, true).await?;
        Ok::<_, CalcError>(name)
    };
    match result.await {
        Ok(name) => Redirect::to(&crate::http::base_path::url(&format!(
            "/c/{name}?lang={}",
            lang.code()
        )))
        .into_response(),
        Err(e) => e.page(&state, lang),
    }
}

// ---------------------------------------------------------------------------------------------
// The EtherCalc-compatible API

/// The EtherCalc API's credential: none is needed when no API key is configured (as
/// EtherCalc's API is open), else the `/api/v1` key (`Authorization: Bearer KEY`); 401 otherwise.
pub struct EtherCalcKey;

impl Credential for EtherCalcKey {
    type Rejection = CalcError;

    fn check(state: &AppState, token: Option<&str>) -> Result<Self, CalcError> {
        match &state.config.api_key_sha256 {
            None => Ok(EtherCalcKey),
            Some(hash) if token.is_some_and(|key| hash.matches(key)) => Ok(EtherCalcKey),
            Some(_) => Err(CalcError::Unauthorized),
        }
    }
}

/// A request of the EtherCalc API with its key checked, then its body read under the import
/// limit.
type KeyAndFile = Authed<EtherCalcKey, ImportLimit>;

/// The key check of the routes without a body.
fn guard(state: &AppState, headers: &HeaderMap) -> Result<(), CalcError> {
    EtherCalcKey::check(state, gate::bearer_token(headers)).map(drop)
}

/// The format of an API body, from its `Content-Type` (sniffed when absent or generic).
fn body_format(headers: &HeaderMap, body: &[u8]) -> Result<CalcFormat, CalcError> {
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
        None => Err(CalcError::UnsupportedType),
    }
}

fn api_name(raw: &str) -> Result<DocName, CalcError> {
    Ok(DocName::parse(raw).map_err(AppError::from)?)
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
) -> Result<Response, CalcError> {
    let book = load(state, name).await?;
    let index = sheet_index(&book, sheet);
    let bytes = http::bounded(state, name, "calc export", move || {
        calc_io::export(&book, format, index)
    })
    .await??;
    Ok(file_response(bytes, format))
}

/// `GET /_/{name}`: the first sheet (or `?sheet=`) in SocialCalc's save format, as EtherCalc
/// serves a room.
async fn api_save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let result = async {
        guard(&state, &headers)?;
        let name = api_name(&raw)?;
        sheet_file(
            &state,
            &name,
            query.sheet.as_deref(),
            CalcFormat::SocialCalc,
        )
        .await
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}

/// `GET /{name}.csv` (EtherCalc's short form); anything else on one segment is a 404.
async fn dot_csv(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let Some(raw) = file.strip_suffix(".csv") else {
        return http::not_found(lang).await;
    };
    let result = async {
        guard(&state, &headers)?;
        sheet_file(
            &state,
            &api_name(raw)?,
            query.sheet.as_deref(),
            CalcFormat::Csv,
        )
        .await
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}

/// `GET /_/{name}/csv`, `/_/{name}/csv.json`, `/_/{name}/cells`.
async fn api_view(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((raw, view)): Path<(String, String)>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let result = async {
        guard(&state, &headers)?;
        let name = api_name(&raw)?;
        match view.as_str() {
            "csv" => sheet_file(&state, &name, query.sheet.as_deref(), CalcFormat::Csv).await,
            "csv.json" | "cells" => {
                let book = load(&state, &name).await?;
                let index = sheet_index(&book, query.sheet.as_deref());
                let cells = view == "cells";
                let json = http::bounded(&state, &name, "calc export", move || {
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
            _ => Err(AppError::NotFound.into()),
        }
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}

/// `GET /_/{name}/cells/{A1}`.
async fn api_cell(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((raw, coord)): Path<(String, String)>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let result = async {
        guard(&state, &headers)?;
        let name = api_name(&raw)?;
        let (row, col) = calc_io::openformula::parse_a1(&coord)
            .ok_or_else(|| AppError::BadRequest("not a cell coordinate such as B2".into()))?;
        let book = load(&state, &name).await?;
        let index = sheet_index(&book, query.sheet.as_deref());
        let json = http::bounded(&state, &name, "calc export", move || {
            let computed = Computed::new(&book)?;
            Ok::<_, CalcIoError>(cell_json(&book, &computed, index, row, col))
        })
        .await??;
        Ok::<_, CalcError>(json_response(StatusCode::OK, json))
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}

fn json_response(status: StatusCode, value: JsonValue) -> Response {
    let mut r = (status, Json(value)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
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
async fn api_create(State(state): State<AppState>, request: KeyAndFile) -> Response {
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
        let location = crate::http::base_path::url(&format!("/_/{name}"));
        let mut r = (StatusCode::CREATED, format!("{location}\n")).into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        Ok::<_, CalcError>(r)
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}

/// `PUT /_/{name}`: replaces the calc with the CSV, ODS, XLSX or SocialCalc body (creating it
/// if needed);
/// 201 when created, else 200.
async fn api_replace(
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
        Ok::<_, CalcError>((status, "OK\n").into_response())
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}

/// `?row=N` of `POST /_/{name}`: insert at 1-based row N instead of appending.
#[derive(Debug, Deserialize)]
struct AppendQuery {
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
fn command_lines(headers: &HeaderMap, body: &[u8]) -> Option<Result<Vec<String>, CalcError>> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if declared.starts_with("application/json") {
        let parsed = serde_json::from_slice::<CommandBody>(body).map_err(|_| {
            CalcError::BadFile(
                "expected JSON {\"command\": \"…\"} or {\"command\": [\"…\"]}".into(),
            )
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
                .map_err(|_| CalcError::BadFile("commands must be UTF-8 text".into())),
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
) -> Result<Response, CalcError> {
    let commands = calc_io::commands::parse(&lines)?;
    if !is_calc(state, name).await? {
        return Err(CalcError::NotACalc);
    }
    let snapshot = state.hub.snapshot(name).await?.ok_or(AppError::NotFound)?;
    let update = http::bounded(state, name, "calc commands", move || {
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
async fn api_append(
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
            return Err(CalcError::UnsupportedType);
        }

        if !is_calc(&state, &name).await? {
            return Err(CalcError::NotACalc);
        }
        let grid = http::bounded(&state, &name, "calc append", move || {
            calc_io::csv::read(&body, "")
        })
        .await??;
        let snapshot = state.hub.snapshot(&name).await?.ok_or(AppError::NotFound)?;
        let at = query.row.map(|n| n.saturating_sub(1));
        let sheet = query.sheet.clone();
        let (update, first, rows) = http::bounded(&state, &name, "calc append", move || {
            let book = bridge::read(&snapshot)?;
            let index = sheet_index(&book, sheet.as_deref());
            let (update, first) = bridge::append(&snapshot, &grid, index, at)?;
            Ok::<_, CalcIoError>((update, first, grid.extent().0))
        })
        .await??;
        apply(&state, &name, update).await?;
        Ok::<_, CalcError>(json_response(
            StatusCode::ACCEPTED,
            json!({ "row": first + 1, "rows": rows }),
        ))
    };
    result.await.unwrap_or_else(|e| e.text(&state))
}
