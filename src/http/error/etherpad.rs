//! The Etherpad-compatible API's face of the edge error: `{"code": N, "message": "...",
//! "data": null}` with the HTTP status Etherpad's own server answers each code with
//! (src/node/hooks/express/openapi.ts): code 1 (bad parameters) 200, 2 (internal) 500, 3 (no
//! such function or version) 404, 4 (no or wrong key) 401. The one departure: an error the
//! `/api/v1` face answers 503 (shutting down, busy, creation paused) keeps its 503 and
//! `Retry-After`, so a client knows to retry. Internal causes are logged where they happen,
//! never echoed.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::http::error::api::said;
use crate::http::error::RETRY_AFTER_SECS;
use crate::http::AppError;

/// What the Etherpad API answers instead of a result.
#[derive(Debug)]
pub struct EtherpadError {
    code: u8,
    status: StatusCode,
    message: String,
}

impl EtherpadError {
    /// Code 1: a parameter is missing or wrong; the message says which.
    pub fn bad(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            status: StatusCode::OK,
            message: message.into(),
        }
    }

    /// Code 3: no such function or version (or one ardoise does not offer); the message says.
    pub fn no_such(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// Code 4: the key is missing or wrong, or no key is configured (the API is locked).
    pub fn wrong_key() -> Self {
        Self {
            code: 4,
            status: StatusCode::UNAUTHORIZED,
            message: "no or wrong API key".to_owned(),
        }
    }

    /// The code, for tests.
    #[cfg(test)]
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl<E: Into<AppError>> From<E> for EtherpadError {
    fn from(e: E) -> Self {
        match e.into() {
            AppError::Unauthorized | AppError::Disabled => Self::wrong_key(),
            AppError::NotFound => Self::bad("padID does not exist"),
            AppError::Exists => Self::bad("padID does already exist"),
            AppError::WrongKind | AppError::NotACalc => {
                Self::bad("padID is a calc, not a pad: this API reads and writes pads only")
            }
            AppError::NoRevision => Self::bad("rev is not a revision of this pad"),
            other => {
                let (status, _, message) = said(&other);
                match status {
                    StatusCode::SERVICE_UNAVAILABLE => Self {
                        code: 2,
                        status,
                        message,
                    },
                    s if s.is_server_error() => Self {
                        code: 2,
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        message,
                    },
                    _ => Self::bad(message),
                }
            }
        }
    }
}

impl IntoResponse for EtherpadError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message, "data": null });
        let mut response = (self.status, Json(body)).into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(
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

    #[test]
    fn codes_carry_etherpads_statuses() {
        let e = EtherpadError::from(AppError::NotFound);
        assert_eq!((e.code, e.status), (1, StatusCode::OK));
        let e = EtherpadError::from(AppError::Unauthorized);
        assert_eq!((e.code, e.status), (4, StatusCode::UNAUTHORIZED));
        let e = EtherpadError::from(AppError::ExportFailed);
        assert_eq!((e.code, e.status), (2, StatusCode::SERVICE_UNAVAILABLE));
        let e = EtherpadError::from(AppError::BadRequest("x".into()));
        assert_eq!(
            (e.code, e.status, e.message.as_str()),
            (1, StatusCode::OK, "x")
        );
        let e = EtherpadError::no_such("no such function");
        assert_eq!((e.code, e.status), (3, StatusCode::NOT_FOUND));
    }
}
