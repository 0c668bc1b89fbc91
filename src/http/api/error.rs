//! Errors of the HTTP API, answered as JSON `{"error": "<code>", "message": "<text>"}` with the
//! matching status. Internal causes are logged where they happen, never echoed.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::convert::pad::UnknownFormat;
use crate::doc::edit::EditRefused;
use crate::doc::name::NameError;
use crate::http::error::RETRY_AFTER_SECS;
use crate::http::AppError;
use crate::service::ServiceError;
use crate::sync::hub::HubError;

/// What the API answers instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No API key is configured: the API does not exist.
    #[error("no such endpoint")]
    Disabled,
    /// The `Authorization: Bearer` key is missing or wrong.
    #[error("missing or wrong API key (Authorization: Bearer <key>)")]
    Unauthorized,
    /// A document name in the path or body is invalid.
    #[error("invalid document name: {0}")]
    BadName(#[from] NameError),
    /// The request is malformed; the text says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is larger than `api_max_body_bytes`.
    #[error("request body too large")]
    BodyTooLarge,
    /// No such document, endpoint or format.
    #[error("{0}")]
    NotFound(&'static str),
    /// The export format is unknown; the message lists the known ones.
    #[error(transparent)]
    UnknownFormat(#[from] UnknownFormat),
    /// The calc export format is unknown; the message lists the known ones.
    #[error(transparent)]
    UnknownCalcFormat(#[from] crate::convert::calc::UnknownCalcFormat),
    /// A document with this name already exists.
    #[error("a document with this name already exists")]
    Exists,
    /// The document is not a pad.
    #[error("this operation needs a pad, and the document is a calc")]
    WrongKind,
    /// The edit would take the document past `max_doc_bytes`.
    #[error("the document would exceed its size limit")]
    DocumentTooLarge,
    /// The document is past a limit of the file work asked for (an export's cells or formula
    /// work); the text says which.
    #[error("{0}")]
    TooLargeToExport(String),
    /// New documents are paused while the server sheds load.
    #[error("new documents are paused while the server is busy; existing ones work")]
    CreationClosed,
    /// Storage, an export or shutdown got in the way (details are in the log).
    #[error("{0}")]
    Unavailable(&'static str),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Disabled => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::BadName(_) => (StatusCode::BAD_REQUEST, "bad_name"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::UnknownFormat(_) | ApiError::UnknownCalcFormat(_) => {
                (StatusCode::NOT_FOUND, "unknown_format")
            }
            ApiError::Exists => (StatusCode::CONFLICT, "exists"),
            ApiError::WrongKind => (StatusCode::CONFLICT, "wrong_kind"),
            ApiError::DocumentTooLarge | ApiError::TooLargeToExport(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "document_too_large")
            }
            ApiError::CreationClosed => (StatusCode::SERVICE_UNAVAILABLE, "creation_closed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    /// The error of a JSON body that could not be read.
    pub fn from_body(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = json!({ "error": code, "message": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            ApiError::Unauthorized => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ardoise\""),
                );
            }
            ApiError::CreationClosed | ApiError::Unavailable(_) => {
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

impl From<crate::http::gate::BodyError> for ApiError {
    fn from(e: crate::http::gate::BodyError) -> Self {
        match e {
            crate::http::gate::BodyError::TooLarge(_) => ApiError::BodyTooLarge,
            crate::http::gate::BodyError::Unreadable => ApiError::BadRequest(e.to_string()),
            crate::http::gate::BodyError::Busy => ApiError::Unavailable(
                "the server is receiving too many request bodies at once; retry shortly",
            ),
        }
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::ShuttingDown => ApiError::Unavailable("server shutting down"),
            HubError::Unavailable => ApiError::Unavailable("document unavailable, try again later"),
        }
    }
}

impl From<EditRefused> for ApiError {
    fn from(e: EditRefused) -> Self {
        match e {
            EditRefused::NotFound => ApiError::NotFound("no such document"),
            EditRefused::WrongKind => ApiError::WrongKind,
            EditRefused::TooBig => ApiError::DocumentTooLarge,
            EditRefused::Unavailable => {
                ApiError::Unavailable("document unavailable, try again later")
            }
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => ApiError::NotFound("no such document"),
            ServiceError::CreationClosed(..) => ApiError::CreationClosed,
            ServiceError::ShuttingDown => ApiError::Unavailable("server shutting down"),
            ServiceError::Unavailable => {
                ApiError::Unavailable("document unavailable, try again later")
            }
            ServiceError::FileJobFailed => {
                ApiError::Unavailable("the export could not be produced, try again later")
            }
        }
    }
}

/// The shared export path answers page errors; the API says the same in JSON.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::BadName(e) => ApiError::BadName(e),
            AppError::BadRequest(text) => ApiError::BadRequest(text),
            AppError::NotWebSocket => ApiError::BadRequest(e.to_string()),
            AppError::NotFound => ApiError::NotFound("no such document"),
            AppError::UnknownFormat(e) => ApiError::UnknownFormat(e),
            AppError::CreationClosed(..) => ApiError::CreationClosed,
            AppError::ShuttingDown => ApiError::Unavailable("server shutting down"),
            AppError::Unavailable => ApiError::Unavailable("document unavailable, try again later"),
            AppError::ExportFailed => {
                ApiError::Unavailable("the export could not be produced, try again later")
            }
            AppError::TooLarge(why) => ApiError::TooLargeToExport(why),
            AppError::BadForm | AppError::BadLifetime(_) => ApiError::BadRequest(e.to_string()),
            // The calc files' own kinds: the calc export turns them into "no such document"
            // before they get here; said in the API's terms all the same.
            AppError::NotACalc => ApiError::NotFound("no such document"),
            AppError::BadFile(text) => ApiError::BadRequest(text),
            AppError::FileTooLarge(_) => ApiError::BodyTooLarge,
            AppError::DocTooLarge => ApiError::DocumentTooLarge,
            AppError::UnsupportedType => ApiError::BadRequest(e.to_string()),
            AppError::Unauthorized => ApiError::Unauthorized,
            AppError::Busy(e) => e.into(),
        }
    }
}
