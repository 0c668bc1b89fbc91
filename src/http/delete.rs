//! `POST /p/{name}/delete` and `POST /c/{name}/delete`: the browser that created a pad or a
//! calc erases it at once with its creator secret (JSON `{"secret": …}` or a form field
//! `secret`). Live clients are closed with 4410 and the reason below. A wrong or missing secret
//! is 403, an unknown document 404. The prefix must match the kind fixed at creation (a pad
//! under `/c/` is 404, as its exports are): the secret alone would be enough to authorise, but
//! a URL naming the wrong kind is a client's mistake, and refusing it keeps every `/c/` route
//! about calcs only.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::doc::meta::{DocMeta, Kind};
use crate::doc::name::DocName;
use crate::doc::secret::{CreatorHash, CreatorSecret};
use crate::http::base_path;
use crate::http::respond::{html, CSP_STATIC};
use crate::http::{AppState, RequestLang};
use crate::sync::room::DeleteIf;

/// The close reason live clients receive (with code 4410).
pub const DELETED_REASON: &str = "deleted by its creator";

/// Whether `meta` was created with `secret` (so the request holding it created the document).
pub fn created_by(meta: &DocMeta, secret: &CreatorSecret) -> bool {
    meta.creator
        .is_some_and(|stored| stored.matches(&secret.hash()))
}

#[derive(Debug, Deserialize)]
struct DeleteRequest {
    #[serde(default)]
    secret: String,
}

/// The outcome, as JSON for scripts and `fetch`, as a page or redirect for a plain form.
enum Answer {
    Deleted,
    Error(StatusCode, &'static str, String),
}

pub(crate) async fn delete_pad(
    state: State<AppState>,
    lang: RequestLang,
    raw: Path<String>,
    request: Request,
) -> Response {
    delete(state, lang, raw, request, Kind::Pad).await
}

pub(crate) async fn delete_calc(
    state: State<AppState>,
    lang: RequestLang,
    raw: Path<String>,
    request: Request,
) -> Response {
    delete(state, lang, raw, request, Kind::Calc).await
}

async fn delete(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    request: Request,
    kind: Kind,
) -> Response {
    let json = wants_json(request.headers());
    let answer = async {
        let name = DocName::parse(&raw)
            .map_err(|e| Answer::Error(StatusCode::BAD_REQUEST, "bad_name", e.to_string()))?;
        let secret = if json {
            Json::<DeleteRequest>::from_request(request, &state)
                .await
                .map(|Json(r)| r.secret)
                .map_err(|e| e.body_text())
        } else {
            Form::<DeleteRequest>::from_request(request, &state)
                .await
                .map(|Form(r)| r.secret)
                .map_err(|e| e.body_text())
        }
        .map_err(|message| Answer::Error(StatusCode::BAD_REQUEST, "bad_request", message))?;
        let unavailable = |_| {
            Answer::Error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "document unavailable, try again later".into(),
            )
        };
        let meta = state.hub.meta(&name).await.map_err(unavailable)?;
        if meta.is_none_or(|meta| meta.kind != kind) {
            return Err(Answer::Error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such document".into(),
            ));
        }
        let only_if = DeleteIf::Creator(CreatorHash::of(secret.trim()));
        if state
            .hub
            .delete_if(&name, DELETED_REASON, only_if)
            .await
            .map_err(unavailable)?
        {
            Ok(Answer::Deleted)
        } else {
            Err(Answer::Error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only the browser that created this document can delete it".into(),
            ))
        }
    }
    .await
    .unwrap_or_else(|e| e);
    match (answer, json) {
        (Answer::Deleted, true) => Json(json!({ "deleted": true })).into_response(),
        (Answer::Deleted, false) => {
            Redirect::to(&base_path::url(&format!("/?lang={}", lang.code()))).into_response()
        }
        (Answer::Error(status, error, message), true) => {
            (status, Json(json!({ "error": error, "message": message }))).into_response()
        }
        (Answer::Error(status, _, message), false) => {
            let kind = match status {
                StatusCode::NOT_FOUND => crate::http::pages::ErrorKind::NotFound,
                StatusCode::SERVICE_UNAVAILABLE => crate::http::pages::ErrorKind::Unavailable,
                _ => crate::http::pages::ErrorKind::BadRequest,
            };
            html(
                status,
                crate::http::pages::error(lang, crate::http::assets::urls(), kind, &message),
                CSP_STATIC.into(),
            )
        }
    }
}

/// A JSON body (or a client that asks for JSON) gets JSON back.
fn wants_json(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    has(header::CONTENT_TYPE) || has(header::ACCEPT)
}
