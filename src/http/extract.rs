//! What handlers take from a request besides its path and body: the interface language, and
//! the credentials. Each credential is checked by an extractor argument of the handlers that
//! need it — `Bearer<C>` without a body, `gate::Authed<C, L>` (credential first, then the body
//! under its limit) with one — never by a call in the handler: the API key of `/api/v1`
//! ([`Authorized`]), the admin token of `/admin/api` ([`Admin`]), the EtherCalc API's key
//! ([`EtherCalcKey`], required only when an API key is configured).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::de::DeserializeOwned;

use crate::http::error::admin::AdminError;
use crate::http::error::api::ApiError;
use crate::http::error::PlainText;
use crate::http::gate::{self, Bearer, Credential};
use crate::http::pages::Lang;
use crate::http::{AppError, AppState};

/// The JSON body of a request that passed its credential and body limit (`gate::Authed`): 400
/// if it is not declared as JSON or is not of the expected shape.
pub(crate) fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, AppError> {
    if !gate::is_json(headers) {
        return Err(AppError::BadRequest(
            "Expected request with `Content-Type: application/json`".into(),
        ));
    }
    Json::<T>::from_bytes(body)
        .map(|Json(v)| v)
        .map_err(|e| AppError::BadRequest(e.body_text()))
}

/// The interface language of a request.
pub(crate) struct RequestLang(pub(crate) Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(RequestLang(Lang::choose(query, accept)))
    }
}

/// The API key as a [`Credential`]: 404 when the API is off, 401 when the key is missing or
/// wrong.
pub struct ApiKey;

impl Credential for ApiKey {
    type Rejection = ApiError;

    fn check(state: &AppState, token: Option<&str>) -> Result<Self, ApiError> {
        let Some(hash) = &state.config.api_key_sha256 else {
            return Err(AppError::Disabled.into());
        };
        match token {
            Some(key) if hash.matches(key) => Ok(ApiKey),
            _ => Err(AppError::Unauthorized.into()),
        }
    }
}

/// Proof that the request carried the API key.
pub type Authorized = Bearer<ApiKey>;

/// The admin token as a [`Credential`]: 404 when the admin is off, 401 when the token is
/// missing or wrong.
pub struct AdminKey;

impl Credential for AdminKey {
    type Rejection = AdminError;

    fn check(state: &AppState, token: Option<&str>) -> Result<Self, AdminError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(AppError::Disabled.into());
        };
        match token {
            Some(given) if expected.matches(given) => Ok(AdminKey),
            _ => Err(AppError::Unauthorized.into()),
        }
    }
}

/// Proof that the request carries the admin token.
pub type Admin = Bearer<AdminKey>;

/// The EtherCalc API's credential: none is needed when no API key is configured (as
/// EtherCalc's API is open), else the `/api/v1` key (`Authorization: Bearer KEY`); 401 otherwise.
pub struct EtherCalcKey;

impl Credential for EtherCalcKey {
    type Rejection = PlainText;

    fn check(state: &AppState, token: Option<&str>) -> Result<Self, PlainText> {
        match &state.config.api_key_sha256 {
            None => Ok(EtherCalcKey),
            Some(hash) if token.is_some_and(|key| hash.matches(key)) => Ok(EtherCalcKey),
            Some(_) => Err(PlainText(AppError::Unauthorized)),
        }
    }
}
