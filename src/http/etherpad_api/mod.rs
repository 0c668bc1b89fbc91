//! The Etherpad-compatible HTTP API at `/api/{version}/{function}`, so scripts and plugins
//! written for Etherpad talk to ardoise unchanged: GET or POST, parameters in the query or an
//! `application/x-www-form-urlencoded` body, the key as Etherpad takes it (`apikey`, `api_key`,
//! or `Authorization`, raw or `Bearer`) checked against the `/api/v1` key's hash, and answers
//! `{"code", "message", "data"}` with Etherpad's statuses ([`EtherpadError`]). The version and
//! function are checked first, as Etherpad does; then the key, before any body is read when it
//! is in the query or a header; the functions themselves are in [`calls`].

mod calls;
mod params;
mod read;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::http::error::api::ApiError;
use crate::http::error::etherpad::EtherpadError;
use crate::http::gate::{self, ApiLimit, Charge, Limit};
use crate::http::{AppError, AppState};
use params::Params;

/// Etherpad's API versions, oldest first (APIHandler.ts); a function exists in its version
/// and every later one.
const VERSIONS: [&str; 14] = [
    "1", "1.1", "1.2", "1.2.1", "1.2.7", "1.2.8", "1.2.9", "1.2.10", "1.2.11", "1.2.12", "1.2.13",
    "1.2.14", "1.2.15", "1.3.0",
];

/// What `/api` says, as Etherpad does.
const LATEST: &str = "1.3.0";

/// What a function of Etherpad's list does here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    /// One of the pad functions of [`calls`].
    Pad(calls::Call),
    /// A group, session or author function: ardoise has none of these.
    NoGroups,
    /// A function ardoise does not offer (copies, saved revisions, changesets...).
    NotOffered,
}

/// Etherpad's functions, each with the version it appeared in (an index into [`VERSIONS`]).
const FUNCTIONS: &[(&str, usize, Function)] = {
    use calls::Call::*;
    use Function::{NoGroups, NotOffered, Pad};
    &[
        ("createPad", 0, Pad(CreatePad)),
        ("getText", 0, Pad(GetText)),
        ("setText", 0, Pad(SetText)),
        ("getHTML", 0, Pad(GetHtml)),
        ("setHTML", 0, Pad(SetHtml)),
        ("getRevisionsCount", 0, Pad(GetRevisionsCount)),
        ("getLastEdited", 0, Pad(GetLastEdited)),
        ("deletePad", 0, Pad(DeletePad)),
        ("getReadOnlyID", 0, Pad(GetReadOnlyId)),
        ("listAuthorsOfPad", 0, Pad(ListAuthorsOfPad)),
        ("padUsersCount", 0, Pad(PadUsersCount)),
        ("checkToken", 2, Pad(CheckToken)),
        ("listAllPads", 3, Pad(ListAllPads)),
        ("getChatHistory", 4, Pad(GetChatHistory)),
        ("appendText", 10, Pad(AppendText)),
        ("createGroup", 0, NoGroups),
        ("createGroupIfNotExistsFor", 0, NoGroups),
        ("deleteGroup", 0, NoGroups),
        ("listPads", 0, NoGroups),
        ("createGroupPad", 0, NoGroups),
        ("createAuthor", 0, NoGroups),
        ("createAuthorIfNotExistsFor", 0, NoGroups),
        ("listPadsOfAuthor", 0, NoGroups),
        ("createSession", 0, NoGroups),
        ("deleteSession", 0, NoGroups),
        ("getSessionInfo", 0, NoGroups),
        ("listSessionsOfGroup", 0, NoGroups),
        ("listSessionsOfAuthor", 0, NoGroups),
        ("setPublicStatus", 0, NoGroups),
        ("getPublicStatus", 0, NoGroups),
        ("getAuthorName", 1, NoGroups),
        ("listAllGroups", 1, NoGroups),
        ("padUsers", 1, NotOffered),
        ("sendClientsMessage", 1, NotOffered),
        ("createDiffHTML", 4, NotOffered),
        ("getChatHead", 4, NotOffered),
        ("getAttributePool", 5, NotOffered),
        ("getRevisionChangeset", 5, NotOffered),
        ("copyPad", 6, NotOffered),
        ("movePad", 6, NotOffered),
        ("getPadID", 7, NotOffered),
        ("getSavedRevisionsCount", 8, NotOffered),
        ("listSavedRevisions", 8, NotOffered),
        ("saveRevision", 8, NotOffered),
        ("restoreRevision", 8, NotOffered),
        ("appendChatMessage", 9, NotOffered),
        ("getStats", 11, NotOffered),
        ("copyPadWithoutHistory", 12, NotOffered),
    ]
};

/// `GET /api`: the latest version, as Etherpad answers it.
pub(crate) async fn current_version() -> Response {
    no_store(Json(json!({ "currentVersion": LATEST })).into_response())
}

/// `GET|POST /api/{version}/{function}`.
pub(crate) async fn call(
    State(state): State<AppState>,
    Path((version, function)): Path<(String, String)>,
    request: Request,
) -> Response {
    // `/api/v1/…` paths the JSON API does not have reach this route (its own fallback only
    // sees deeper paths): they are the JSON API's 404, not an Etherpad version.
    if format!("/api/{version}") == crate::http::api::PREFIX {
        return ApiError::from(AppError::NoEndpoint).into_response();
    }
    match answer(&state, &version, &function, request).await {
        Ok(data) => {
            no_store(Json(json!({ "code": 0, "message": "ok", "data": data })).into_response())
        }
        Err(e) => e.into_response(),
    }
}

/// The function `name` of API version `version`.
fn function(version: &str, name: &str) -> Result<Function, EtherpadError> {
    let version = VERSIONS
        .iter()
        .position(|v| *v == version)
        .ok_or_else(|| EtherpadError::no_such("no such api version"))?;
    FUNCTIONS
        .iter()
        .find(|(n, since, _)| *n == name && *since <= version)
        .map(|(_, _, f)| *f)
        .ok_or_else(|| EtherpadError::no_such("no such function"))
}

async fn answer(
    state: &AppState,
    version: &str,
    name: &str,
    request: Request,
) -> Result<Value, EtherpadError> {
    let function = function(version, name)?;
    let (parts, body) = request.into_parts();
    let mut params = Params::default();
    params
        .add_encoded(parts.uri.query().unwrap_or("").as_bytes())
        .map_err(EtherpadError::bad)?;
    let Some(hash) = &state.config.api_key_sha256 else {
        return Err(EtherpadError::wrong_key());
    };
    // A key in the query or a header is checked before the body is read.
    let outside = given_key(&params).or_else(|| header_key(&parts.headers));
    if outside.as_deref().is_some_and(|key| !hash.matches(key)) {
        return Err(EtherpadError::wrong_key());
    }
    // Held until the call is answered: the parameters keep what the body held.
    let mut charge = Charge::new(&state.bodies);
    if parts.method == Method::POST {
        read_form(state, body, &parts.headers, &mut charge, &mut params).await?;
    }
    if outside.is_none() && !given_key(&params).is_some_and(|key| hash.matches(&key)) {
        return Err(EtherpadError::wrong_key());
    }
    match function {
        Function::Pad(call) => calls::run(state, call, &params).await,
        Function::NoGroups => Err(EtherpadError::no_such(format!(
            "{name}: ardoise has no groups, sessions or authors to create"
        ))),
        Function::NotOffered => Err(EtherpadError::no_such(format!(
            "{name}: ardoise does not offer this function"
        ))),
    }
}

/// The key among the parameters (`apikey`, else `api_key`).
fn given_key(params: &Params) -> Option<String> {
    params
        .get("apikey")
        .or_else(|| params.get("api_key"))
        .map(str::to_owned)
}

/// The key of an `Authorization` header: `Bearer KEY` or the raw key, as Etherpad takes it.
fn header_key(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = gate::bearer_token(headers) {
        return Some(key.to_owned());
    }
    let raw = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// Adds the parameters of a form body, read under the API's body limit; a body of another
/// type is refused (code 1) rather than ignored, so a client does not lose its parameters
/// silently.
async fn read_form(
    state: &AppState,
    body: Body,
    headers: &HeaderMap,
    charge: &mut Charge,
    params: &mut Params,
) -> Result<(), EtherpadError> {
    let limit = ApiLimit::max(&state.config);
    let bytes = gate::read_bounded(body, headers, limit, charge)
        .await
        .map_err(AppError::Body)?;
    if bytes.is_empty() {
        return Ok(());
    }
    if !is_form(headers) {
        return Err(EtherpadError::bad(
            "send the parameters in the query string or as an \
             application/x-www-form-urlencoded body",
        ));
    }
    params.add_encoded(&bytes).map_err(EtherpadError::bad)
}

/// Whether the body is declared `application/x-www-form-urlencoded`.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `response`, kept by no cache.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_exist_from_their_version_on() {
        assert!(matches!(function("1", "createPad"), Ok(Function::Pad(_))));
        assert!(matches!(function("1.3.0", "getText"), Ok(Function::Pad(_))));
        assert_eq!(
            function("1.2.12", "appendText").map_err(|e| e.code()).err(),
            Some(3)
        );
        assert!(matches!(
            function("1.2.13", "appendText"),
            Ok(Function::Pad(_))
        ));
        assert!(matches!(
            function("1", "createGroup"),
            Ok(Function::NoGroups)
        ));
        for (bad_version, bad_name) in [("2", "getText"), ("1.2.2", "getText"), ("1", "nope")] {
            assert_eq!(
                function(bad_version, bad_name).map_err(|e| e.code()).err(),
                Some(3)
            );
        }
        assert_eq!(VERSIONS.last(), Some(&LATEST));
    }

    #[test]
    fn the_key_comes_raw_or_as_a_bearer() {
        let mut h = HeaderMap::new();
        assert_eq!(header_key(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k1"));
        assert_eq!(header_key(&h).as_deref(), Some("k1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static(" k2 "));
        assert_eq!(header_key(&h).as_deref(), Some("k2"));
    }
}
