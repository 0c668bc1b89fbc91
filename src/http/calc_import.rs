//! Calc uploads: `POST /c/{name}/import` replaces a calc with a file, `POST /import` (home page)
//! makes a new document from one (a calc here, a pad through `pad_import`, by the file's
//! extension); and the replacement the EtherCalc API shares, and the upload form reader the pad
//! uploads share. Every change is an update made on a copy of the document
//! (`convert::calc::bridge`) and applied by the document's room, so live editors see it at once
//! and it is persisted before it is broadcast.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::convert::calc::{self as calc_io, bridge, CalcFormat};
use crate::convert::pad::import::ImportFormat;
use crate::doc::meta::{random_name, Kind};
use crate::doc::name::DocName;
use crate::http::editor::editor_path;
use crate::http::error::too_large;
use crate::http::extract::RequestLang;
use crate::http::respond::json_response;
use crate::http::{base_path, gate, pad_import, AppError, AppState};
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

/// Checks the import size limit.
fn check_size(state: &AppState, len: usize) -> Result<(), AppError> {
    let max = state.config.max_import_bytes;
    if len > max {
        return Err(AppError::FileTooLarge(too_large(max)));
    }
    Ok(())
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

/// The fields of an upload form: the file, and on the home page an optional name.
pub(crate) struct Upload {
    /// The `name` field (at most 200 characters), empty when not given.
    pub(crate) name: String,
    /// The file's name as the browser gave it.
    pub(crate) file_name: String,
    /// The file, at most the import limit.
    pub(crate) bytes: Bytes,
    /// The file's share of the server's body budget, held as long as the upload is.
    pub(crate) charge: gate::Charge,
}

/// Bytes of an upload form beyond its file: the boundaries, part headers and the name field.
const FORM_OVERHEAD: usize = 64 * 1024;

/// Reads an upload form (`multipart/form-data` with `file` and optionally `name`), refusing a
/// file past the import limit as soon as it passes it.
pub(crate) async fn read_upload(state: &AppState, request: Request) -> Result<Upload, AppError> {
    let bad = |m: &str| AppError::BadRequest(m.to_owned());
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
        return Err(AppError::FileTooLarge(too_large(
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
        Ok::<_, AppError>(())
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

/// The calc files the home form takes by their extension; SocialCalc saves, ODS and XLSX are
/// also recognised by their first bytes whatever their name.
const CALC_EXTENSIONS: [&str; 4] = ["csv", "ods", "xlsx", "sc"];

/// What a file given to the home form becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewDocument {
    Pad(ImportFormat),
    Calc(CalcFormat),
}

/// Every extension the home form takes, as its error says them.
fn accepted_extensions() -> String {
    let pads = ImportFormat::ALL.map(ImportFormat::extension);
    pads.iter()
        .chain(CALC_EXTENSIONS.iter())
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the file becomes, from its extension (pad formats first, so `.txt` is a pad), else
/// from its first bytes when they name a calc format; anything else is refused.
fn new_document(file_name: &str, bytes: &[u8]) -> Result<NewDocument, AppError> {
    if let Some(format) = ImportFormat::from_file_name(file_name) {
        return Ok(NewDocument::Pad(format));
    }
    let sniffed = CalcFormat::sniff(bytes, file_name);
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    if sniffed != CalcFormat::Csv
        || extension.is_some_and(|e| CALC_EXTENSIONS.contains(&e.as_str()))
    {
        return Ok(NewDocument::Calc(sniffed));
    }
    Err(AppError::BadFile(format!(
        "this kind of file cannot be imported; accepted files: {}",
        accepted_extensions()
    )))
}

/// The name the home form asks for, or a random one.
fn new_name(upload: &Upload) -> Result<DocName, AppError> {
    let raw = upload.name.trim();
    Ok(if raw.is_empty() {
        DocName::parse(&random_name())
    } else {
        DocName::parse(raw)
    }?)
}

/// `POST /import` (home page): a new pad or calc (named, or with a random name) from the
/// file, by its extension; a pad's answer is `pad_import`'s.
pub(crate) async fn new_from_file(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    request: Request,
) -> Response {
    let result = async {
        let upload = read_upload(&state, request).await?;
        let name = new_name(&upload)?;
        match new_document(&upload.file_name, &upload.bytes)? {
            NewDocument::Pad(format) => {
                pad_import::import(&state, &name, upload.bytes, format, true, None).await?;
                Ok::<_, AppError>(editor_path(Kind::Pad, &name, lang))
            }
            NewDocument::Calc(format) => {
                replace(&state, &name, upload.bytes, format, true).await?;
                Ok(editor_path(Kind::Calc, &name, lang))
            }
        }
    };
    match result.await {
        Ok(path) => Redirect::to(&path).into_response(),
        Err(e) => e.calc_page(&state, lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_form_takes_pads_by_extension_and_calcs_by_extension_or_content() {
        let pad = |f| NewDocument::Pad(f);
        assert_eq!(
            new_document("notes.txt", b"a,b").ok(),
            Some(pad(ImportFormat::Txt))
        );
        assert_eq!(
            new_document("Cours.MD", b"# x").ok(),
            Some(pad(ImportFormat::Md))
        );
        assert_eq!(
            new_document("a.htm", b"").ok(),
            Some(pad(ImportFormat::Html))
        );
        assert_eq!(
            new_document("a.docx", b"PK\x03\x04").ok(),
            Some(pad(ImportFormat::Docx))
        );
        assert_eq!(
            new_document("old.etherpad", b"{}").ok(),
            Some(pad(ImportFormat::Etherpad))
        );
        let calc = |f| NewDocument::Calc(f);
        assert_eq!(
            new_document("t.csv", b"a,1").ok(),
            Some(calc(CalcFormat::Csv))
        );
        assert_eq!(
            new_document("t.xlsx", b"PK\x03\x04").ok(),
            Some(calc(CalcFormat::Xlsx))
        );
        assert_eq!(
            new_document("save", b"socialcalc:version:1.0\n").ok(),
            Some(calc(CalcFormat::SocialCalc))
        );
        for refused in ["photo.png", "notes", "a.pdf"] {
            let e = new_document(refused, b"plain").expect_err(refused);
            assert!(
                e.to_string().contains(".md") && e.to_string().contains(".ods"),
                "{e}"
            );
        }
    }
}
