//! Privacy at the HTTP edge: the `/privacy` page generated from the configuration, and the
//! layer that gives every response without a policy of its own the strict static CSP, so no
//! route (error pages, redirects, QR codes, anything added later) is served without one.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::http::assets;
use crate::http::pages::{self, PrivacyFacts};
use crate::http::{html, AppState, RequestLang, CSP_STATIC};

/// The route of the privacy page.
pub fn routes() -> Router<AppState> {
    Router::new().route("/privacy", get(page))
}

async fn page(State(state): State<AppState>, RequestLang(lang): RequestLang) -> Response {
    let config = &state.config;
    let facts = PrivacyFacts {
        choices: &config.retention_choices,
        default: config.retention_default,
        archives: config.retention_archive_dir.is_some(),
        contact: config.contact.as_deref(),
    };
    html(
        StatusCode::OK,
        pages::privacy(lang, assets::urls(), &facts),
        CSP_STATIC.into(),
    )
}

/// Adds the static CSP and `Referrer-Policy: no-referrer` to a response that has none.
pub async fn default_csp(mut response: Response) -> Response {
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP_STATIC),
        );
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}
