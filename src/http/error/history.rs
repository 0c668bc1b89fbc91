//! The history endpoints' face of the edge error ([`AppError`]) under the page prefixes
//! (`/p/…/history`, `/c/…/history`, `/r/…/history`): JSON `{"error": "<human message>"}` with
//! the API's status for the same kind (503s with `Retry-After`), for the page's script to show.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::error::api::said;
use crate::http::error::RETRY_AFTER_SECS;
use crate::http::respond::json_response;
use crate::http::AppError;

/// What a history endpoint under a page prefix answers instead of a result.
#[derive(Debug)]
pub struct HistoryError(pub(crate) AppError);

impl<E: Into<AppError>> From<E> for HistoryError {
    fn from(e: E) -> Self {
        HistoryError(e.into())
    }
}

impl IntoResponse for HistoryError {
    fn into_response(self) -> Response {
        let (status, _, message) = said(&self.0);
        let mut response = json_response(status, json!({ "error": message }));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::hub::HubError;

    #[test]
    fn errors_are_a_status_and_a_message() {
        let missing = HistoryError(AppError::NoRevision).into_response();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let busy = HistoryError::from(HubError::Unavailable).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(RETRY_AFTER_SECS.as_bytes())
        );
        let bad = HistoryError(AppError::BadRequest("the revision must be a number".into()));
        assert_eq!(bad.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
