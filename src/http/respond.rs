//! Responses every area builds the same way: pages with their CSP and no-cache headers, and
//! downloads.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::convert::pad::PadFormat;

/// Policy of pages without the editor: nothing but our own files.
pub(crate) const CSP_STATIC: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// An HTML response with the headers every page carries.
pub(crate) fn html(status: StatusCode, body: String, csp: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages embed per-response nonces and share links: never cache them.
    private_document(h);
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// Headers of a response made for one person (a page, a download): never stored by caches,
/// and never reinterpreted as another content type.
fn private_document(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// A page without the editor: 200, strict CSP, not cached.
pub(crate) fn static_page(body: String) -> Response {
    html(StatusCode::OK, body, CSP_STATIC.into())
}

/// A pad export as a download named `stem.{ext}`.
pub(crate) fn download(bytes: Vec<u8>, format: PadFormat, stem: &str) -> Response {
    download_file(
        bytes,
        format.content_type(),
        &format!("{stem}.{}", format.extension()),
    )
}

/// A file download named `file_name` (made of name characters and an extension only), with
/// the headers every download carries.
pub(crate) fn download_file(
    bytes: Vec<u8>,
    content_type: &'static str,
    file_name: &str,
) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Names are [A-Za-z0-9_.-] only, so the quoted filename needs no escaping.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    private_document(h);
    // An HTML export opened in place must not run anything or reach anything.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

/// A JSON answer no cache keeps.
pub(crate) fn json_response(status: StatusCode, value: Value) -> Response {
    let mut r = (status, Json(value)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
