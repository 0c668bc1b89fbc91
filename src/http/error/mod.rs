//! The edge's one error type, [`AppError`], and its faces: an error page in the request's
//! language (with the partner hosts when creation was refused), the calc files' page, JSON and
//! EtherCalc plain text (here), the API's JSON (`api::ApiError`), the admin API's JSON
//! (`admin::AdminError`) and the Etherpad API's codes (`etherpad::EtherpadError`), each in its
//! file beside this one. Each handler picks the face by what
//! it returns; the kind is the same everywhere, converted once from the layers below
//! (`HubError`, `ServiceError`, ...). Client-facing errors carry a clear message; internal ones
//! are logged where they happen, never echoed.

pub mod admin;
pub mod api;
pub mod etherpad;
pub mod history;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::convert::calc::{CalcIoError, UnknownCalcFormat};
use crate::convert::pad::{PadFormat, UnknownFormat};
use crate::doc::edit::EditRefused;
use crate::doc::lifetime::LifetimeError;
use crate::doc::meta::Kind;
use crate::doc::name::{DocName, NameError};
use crate::http::gate::{self, BodyError};
use crate::http::pages::{self, ErrorKind, Lang, Problem};
use crate::http::respond::{html, json_response, CSP_STATIC};
use crate::http::{assets, AppState};
use crate::service::ServiceError;
use crate::sync::hub::HubError;

impl AppState {
    /// The answer to a request that would create a document of `kind` while creation is
    /// closed: 503, `Retry-After`, and the partner hosts that make that kind.
    pub(crate) fn creation_closed(
        &self,
        lang: Lang,
        name: Option<&DocName>,
        kind: Kind,
    ) -> Response {
        // Counted where it was refused (`AppState::open_or_create`).
        let body = pages::creation_closed(
            lang,
            assets::urls(),
            name.map(DocName::as_str),
            kind,
            &self.config.trusted_hosts,
        );
        let mut response = html(StatusCode::SERVICE_UNAVAILABLE, body, CSP_STATIC.into());
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
        response
    }

    /// The error page for `e`, with the partner hosts when creation was refused.
    pub(crate) fn fail(&self, lang: Lang, e: AppError) -> Response {
        match e {
            AppError::CreationClosed(name, kind) => self.creation_closed(lang, Some(&name), kind),
            other => other.page(lang),
        }
    }
}

/// What `Retry-After` says while creation is closed: about the admission hold time's scale.
pub(crate) const RETRY_AFTER_SECS: &str = "60";

/// Every error the edge answers, whatever the area; `page` is its HTML face.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The document name in the request is invalid.
    #[error("invalid document name: {0}")]
    BadName(#[from] NameError),
    /// The request should have been a WebSocket upgrade.
    #[error("this endpoint expects a WebSocket upgrade (y-websocket protocol)")]
    NotWebSocket,
    /// A form or query was invalid; the text says what.
    #[error("{0}")]
    BadRequest(String),
    /// No such route, document or link.
    #[error("not found")]
    NotFound,
    /// The document exists but has no such revision.
    #[error("no such revision")]
    NoRevision,
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
    /// Storage failed (details are in the log).
    #[error("document unavailable, try again later")]
    Unavailable,
    /// The export format is unknown; the message lists the known ones.
    #[error(transparent)]
    UnknownFormat(#[from] UnknownFormat),
    /// Creating this document (of this kind) was refused because the server is shedding load.
    #[error("new documents are paused while the server is busy; existing ones work")]
    CreationClosed(DocName, Kind),
    /// The export did not finish in time or failed (details are in the log).
    #[error("the export could not be produced, try again later")]
    ExportFailed,
    /// The document is past a limit of the file work asked for; the text says which.
    #[error("{0}")]
    TooLarge(String),
    /// A form could not be read (missing or malformed fields).
    #[error("the form is incomplete or malformed")]
    BadForm,
    /// The lifetime asked for is not one the server offers.
    #[error(transparent)]
    BadLifetime(#[from] LifetimeError),
    /// A calc file route was asked about a pad.
    #[error("this document is a pad, not a calc")]
    NotACalc,
    /// The uploaded calc file could not be read; the text says why.
    #[error("{0}")]
    BadFile(String),
    /// The calc body or file is too large; the text says which limit.
    #[error("{0}")]
    FileTooLarge(String),
    /// The calc would pass the document size limit.
    #[error("the calc would be larger than the server's document size limit")]
    DocTooLarge,
    /// The body's type is not one the EtherCalc call accepts.
    #[error("unsupported Content-Type; send text/csv, ODS, XLSX or text/x-socialcalc")]
    UnsupportedType,
    /// The EtherCalc API's key is missing or wrong.
    #[error("missing or wrong API key (Authorization: Bearer KEY)")]
    Unauthorized,
    /// A request body was refused by `gate` (too large, unreadable, or the budget is held).
    #[error("{0}")]
    Body(BodyError),
    /// The area is off (no API key, no admin token): it does not exist.
    #[error("no such endpoint")]
    Disabled,
    /// No route of the API has this path.
    #[error("no such endpoint")]
    NoEndpoint,
    /// A document with this name already exists.
    #[error("a document with this name already exists")]
    Exists,
    /// The operation needs a pad, and the document is a calc.
    #[error("this operation needs a pad, and the document is a calc")]
    WrongKind,
    /// The edit would take the document past `max_doc_bytes`.
    #[error("the document would exceed its size limit")]
    DocumentTooLarge,
    /// A result could not be produced (details are in the log); the text says which.
    #[error("{0}")]
    Unproduced(&'static str),
    /// The calc export format is unknown; the message lists the known ones.
    #[error(transparent)]
    UnknownCalcFormat(#[from] UnknownCalcFormat),
}

impl From<HubError> for AppError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::ShuttingDown => AppError::ShuttingDown,
            HubError::Unavailable => AppError::Unavailable,
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::NoRevision => AppError::NoRevision,
            ServiceError::ShuttingDown => AppError::ShuttingDown,
            ServiceError::Unavailable => AppError::Unavailable,
            ServiceError::FileJobFailed => AppError::ExportFailed,
            ServiceError::CreationClosed(name, kind) => AppError::CreationClosed(name, kind),
            ServiceError::TooLarge(why) => AppError::TooLarge(why),
            ServiceError::DocumentTooLarge => AppError::DocumentTooLarge,
            ServiceError::Import(e) if e.is_too_large() => AppError::FileTooLarge(e.to_string()),
            ServiceError::Import(e) => AppError::BadFile(e.to_string()),
        }
    }
}

impl From<EditRefused> for AppError {
    fn from(e: EditRefused) -> Self {
        match e {
            EditRefused::NotFound => AppError::NotFound,
            EditRefused::WrongKind => AppError::WrongKind,
            EditRefused::TooBig => AppError::DocumentTooLarge,
            EditRefused::Unavailable => AppError::Unavailable,
        }
    }
}

impl AppError {
    /// The error page in `lang`.
    pub fn page(self, lang: Lang) -> Response {
        let this = self.settle();
        let text = this.to_string();
        let formats = PadFormat::ALL.map(|f| f.extension()).join(", ");
        let bad = StatusCode::BAD_REQUEST;
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        // Each kind is said with the page's catalogue, never with this type's English
        // `Display` (which the API and the log use).
        let (status, kind, problem) = match &this {
            AppError::BadName(e) => (
                bad,
                ErrorKind::BadName,
                match e {
                    NameError::Empty => Problem::NameEmpty,
                    NameError::TooLong => Problem::NameTooLong,
                    NameError::BadChar => Problem::NameBadChar,
                    NameError::OnlyDots => Problem::NameOnlyDots,
                },
            ),
            AppError::NotWebSocket => (bad, ErrorKind::BadRequest, Problem::NotWebSocket),
            AppError::BadRequest(text) => (bad, ErrorKind::BadRequest, Problem::Other(text)),
            AppError::BadForm => (bad, ErrorKind::BadRequest, Problem::BadForm),
            AppError::BadLifetime(
                LifetimeError::Syntax(value)
                | LifetimeError::Range(value)
                | LifetimeError::NotOffered(value),
            ) => (bad, ErrorKind::BadRequest, Problem::BadLifetime(value)),
            AppError::TooLarge(text) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::BadRequest,
                Problem::TooLarge(text),
            ),
            AppError::NotFound
            | AppError::NoRevision
            | AppError::Disabled
            | AppError::NoEndpoint => (StatusCode::NOT_FOUND, ErrorKind::NotFound, Problem::None),
            AppError::UnknownFormat(_) => (
                StatusCode::NOT_FOUND,
                ErrorKind::NotFound,
                Problem::UnknownFormat(&formats),
            ),
            AppError::ShuttingDown => (unavailable, ErrorKind::Unavailable, Problem::ShuttingDown),
            AppError::Unavailable | AppError::CreationClosed(..) => {
                (unavailable, ErrorKind::Unavailable, Problem::Unavailable)
            }
            AppError::ExportFailed => (unavailable, ErrorKind::Unavailable, Problem::ExportFailed),
            // The calc files' own kinds: a page saying their text, with their status (as
            // `calc_page` answers them) and no `Retry-After`.
            AppError::NotACalc
            | AppError::BadFile(_)
            | AppError::FileTooLarge(_)
            | AppError::DocTooLarge
            | AppError::UnsupportedType
            | AppError::Unauthorized
            | AppError::Body(_)
            | AppError::Exists
            | AppError::WrongKind
            | AppError::DocumentTooLarge
            | AppError::Unproduced(_)
            | AppError::UnknownCalcFormat(_) => (
                this.calc_status(),
                ErrorKind::BadRequest,
                Problem::Other(&text),
            ),
        };
        let mut response = html(
            status,
            pages::problem_page(lang, assets::urls(), kind, problem),
            CSP_STATIC.into(),
        );
        if kind == ErrorKind::Unavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.page(Lang::En)
    }
}

// ---------------------------------------------------------------------------------------------
// The faces of the calc file routes: a page (forms), JSON (the calc page's `fetch`), plain text
// (the EtherCalc API).

impl From<CalcIoError> for AppError {
    fn from(e: CalcIoError) -> Self {
        match e {
            CalcIoError::Invalid(m) => AppError::BadFile(m),
            CalcIoError::TooLarge(m) => AppError::FileTooLarge(m),
            // Imports, commands and the API's views all come through here (the page exports
            // say "export" themselves): a neutral answer for a failure that is ours.
            CalcIoError::Engine(m) => {
                tracing::error!(error = %m, "calc file job failed");
                AppError::Unavailable
            }
        }
    }
}

impl From<BodyError> for AppError {
    fn from(e: BodyError) -> Self {
        AppError::Body(e)
    }
}

impl AppError {
    /// A refused body said as the calc files say it (a file past the import limit, a bad
    /// request); the other kinds as they are.
    fn settle(self) -> Self {
        match self {
            AppError::Body(BodyError::TooLarge(limit)) => AppError::FileTooLarge(too_large(limit)),
            AppError::Body(e @ BodyError::Unreadable) => AppError::BadRequest(e.to_string()),
            other => other,
        }
    }

    /// Whether this is one of the calc files' own kinds (not one every area shares).
    pub(crate) fn is_calc_file_kind(&self) -> bool {
        matches!(
            self,
            AppError::NotACalc
                | AppError::BadFile(_)
                | AppError::FileTooLarge(_)
                | AppError::DocTooLarge
                | AppError::UnsupportedType
                | AppError::Unauthorized
                | AppError::Body(_)
        )
    }

    /// The status of the calc file routes' answers.
    fn calc_status(&self) -> StatusCode {
        match self {
            AppError::NotFound
            | AppError::NoRevision
            | AppError::UnknownFormat(_)
            | AppError::UnknownCalcFormat(_)
            | AppError::Disabled
            | AppError::NoEndpoint => StatusCode::NOT_FOUND,
            AppError::BadName(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Exists | AppError::WrongKind => StatusCode::CONFLICT,
            AppError::DocumentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::NotACalc => StatusCode::CONFLICT,
            AppError::BadFile(_) => StatusCode::BAD_REQUEST,
            AppError::FileTooLarge(_) | AppError::DocTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error as a page of a calc upload form in `lang`.
    pub(crate) fn calc_page(self, state: &AppState, lang: Lang) -> Response {
        state.fail(lang, self)
    }

    /// The error as `fetch` from the calc page reads it: `{error, message}` with the status
    /// (503s with `Retry-After`); the message is the one the error page would show.
    pub(crate) fn calc_json(self) -> Response {
        let e = self.settle();
        let status = e.calc_status();
        let code = match &e {
            AppError::CreationClosed(..) => "creation_closed",
            AppError::NotFound => "not_found",
            AppError::BadName(_) | AppError::BadRequest(_) => "bad_request",
            AppError::NotACalc => "not_a_calc",
            AppError::WrongKind => "not_a_pad",
            AppError::BadFile(_) => "bad_file",
            AppError::FileTooLarge(_) | AppError::DocTooLarge => "too_large",
            AppError::UnsupportedType => "unsupported_type",
            AppError::Unauthorized => "unauthorized",
            _ => "unavailable",
        };
        let mut r = json_response(status, json!({ "error": code, "message": e.to_string() }));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        r
    }

    /// The error as the EtherCalc API answers it: plain text (503s with `Retry-After`).
    pub(crate) fn ethercalc_text(self, state: &AppState) -> Response {
        if let AppError::CreationClosed(name, kind) = self {
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

    /// The error as plain text, for everything but a refused creation (which needs the
    /// server's state).
    fn plain(self) -> Response {
        let e = self.settle();
        let status = e.calc_status();
        let mut r = (status, format!("{e}\n")).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        if let AppError::Unauthorized = e {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// How the EtherCalc API refuses a request before its handler runs (a missing key, a body too
/// large): as text, like its handlers.
pub struct PlainText(pub(crate) AppError);

impl<E: Into<AppError>> From<E> for PlainText {
    fn from(e: E) -> Self {
        PlainText(e.into())
    }
}

impl IntoResponse for PlainText {
    fn into_response(self) -> Response {
        self.0.plain()
    }
}

/// What a file past the import limit is told.
pub(crate) fn too_large(limit: usize) -> String {
    format!(
        "the file is larger than the import limit of {}",
        gate::describe(limit)
    )
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::admin::AdminError;
    use super::api::ApiError;
    use super::*;

    fn retry_after(r: &Response) -> Option<&str> {
        r.headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
    }

    #[test]
    fn one_storage_failure_is_said_in_each_face() {
        let page = AppError::from(HubError::Unavailable).page(Lang::En);
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&page), Some("30"));
        let api = ApiError::from(HubError::Unavailable).into_response();
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&api), Some(RETRY_AFTER_SECS));
        let admin = AdminError::from(HubError::Unavailable).into_response();
        assert_eq!(admin.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&admin), None);
        let text = AppError::from(HubError::Unavailable).plain();
        assert_eq!(text.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&text), Some("30"));
    }

    #[test]
    fn a_refused_body_is_said_as_each_area_says_it() {
        let too_big = || AppError::from(BodyError::TooLarge(1024));
        assert_eq!(
            ApiError::from(too_big()).into_response().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            AdminError::from(too_big()).into_response().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        // The calc files name the import limit.
        assert!(matches!(too_big().settle(), AppError::FileTooLarge(_)));
        let busy = AppError::from(BodyError::Busy).page(Lang::En);
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&busy), None);
    }
}
