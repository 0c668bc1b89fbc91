//! The admin API's face of the edge error: `{"error": "..."}` with the status, and the site's
//! 404 page when no admin token is configured.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::http::gate::BodyError;
use crate::http::AppError;

/// The admin API's face of the edge error ([`AppError`]): `{"error": "..."}` with the status;
/// every failure of ours is one neutral 503.
#[derive(Debug)]
pub struct AdminError(AppError);

impl<E: Into<AppError>> From<E> for AdminError {
    fn from(e: E) -> Self {
        AdminError(e.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, message) = match self.0 {
            // The admin does not exist: the site's 404 page.
            AppError::Disabled => return AppError::NotFound.into_response(),
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "a valid admin token is required (Authorization: Bearer …)".to_owned(),
            ),
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such document".to_owned()),
            AppError::Body(e @ BodyError::TooLarge(_)) => {
                (StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            AppError::Body(e @ BodyError::Unreadable) => (StatusCode::BAD_REQUEST, e.to_string()),
            AppError::BadRequest(text) => (StatusCode::BAD_REQUEST, text),
            AppError::ShuttingDown
            | AppError::Unavailable
            | AppError::ExportFailed
            | AppError::CreationClosed(..)
            | AppError::Unproduced(_)
            | AppError::Body(BodyError::Busy) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable, try again later".to_owned(),
            ),
            // Kinds the admin API does not produce: a bad request, in their own words.
            other => (StatusCode::BAD_REQUEST, other.to_string()),
        };
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ardoise admin\""),
            );
        }
        response
    }
}
