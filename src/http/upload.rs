//! The upload form that pad and calc uploads share (`multipart/form-data` with `file` and, on
//! the home page, `name`): bounded by the import limit as it streams, charged to the server's
//! body budget, and given up when it trickles.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::header;

use crate::http::error::too_large;
use crate::http::{gate, AppError, AppState};

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

/// Checks the import size limit.
fn check_size(state: &AppState, len: usize) -> Result<(), AppError> {
    let max = state.config.max_import_bytes;
    if len > max {
        return Err(AppError::FileTooLarge(too_large(max)));
    }
    Ok(())
}
