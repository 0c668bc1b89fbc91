//! The API's face of the edge error ([`AppError`]): JSON `{"error": "<code>", "message":
//! "<text>"}` with the matching status. Internal causes are logged where they happen, never
//! echoed.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::http::error::RETRY_AFTER_SECS;
use crate::http::gate::BodyError;
use crate::http::AppError;

/// What the API answers instead of a result: any edge error, said in the API's terms.
#[derive(Debug)]
pub struct ApiError(pub(crate) AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// The status, code and message the API answers `e` with.
pub(super) fn said(e: &AppError) -> (StatusCode, &'static str, String) {
    let unavailable = |message: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            message.to_owned(),
        )
    };
    match e {
        AppError::Disabled | AppError::NoEndpoint => {
            (StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        AppError::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong API key (Authorization: Bearer <key>)".to_owned(),
        ),
        AppError::BadName(_) => (StatusCode::BAD_REQUEST, "bad_name", e.to_string()),
        AppError::BadRequest(text) | AppError::BadFile(text) => {
            (StatusCode::BAD_REQUEST, "bad_request", text.clone())
        }
        AppError::Body(BodyError::Unreadable)
        | AppError::NotWebSocket
        | AppError::BadForm
        | AppError::BadLifetime(_)
        | AppError::UnsupportedType => (StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        AppError::Body(BodyError::TooLarge(_)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body too large".to_owned(),
        ),
        AppError::FileTooLarge(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body too large".to_owned(),
        ),
        AppError::NotFound | AppError::NotACalc => (
            StatusCode::NOT_FOUND,
            "not_found",
            "no such document".to_owned(),
        ),
        AppError::NoRevision => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
        AppError::UnknownFormat(_) | AppError::UnknownCalcFormat(_) => {
            (StatusCode::NOT_FOUND, "unknown_format", e.to_string())
        }
        AppError::Exists => (StatusCode::CONFLICT, "exists", e.to_string()),
        AppError::WrongKind => (StatusCode::CONFLICT, "wrong_kind", e.to_string()),
        AppError::DocumentTooLarge | AppError::DocTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "document_too_large",
            "the document would exceed its size limit".to_owned(),
        ),
        AppError::TooLarge(why) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "document_too_large",
            why.clone(),
        ),
        AppError::CreationClosed(..) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "creation_closed",
            e.to_string(),
        ),
        AppError::ShuttingDown
        | AppError::Unavailable
        | AppError::ExportFailed
        | AppError::Body(BodyError::Busy) => unavailable(&e.to_string()),
        AppError::Unproduced(message) => unavailable(message),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = said(&self.0);
        let body = json!({ "error": code, "message": message });
        let mut response = (status, Json(body)).into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.0 {
            AppError::Unauthorized => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ardoise\""),
                );
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                h.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response
    }
}
