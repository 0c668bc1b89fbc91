//! The browser client's built bundle (`web/dist/`), embedded in the binary so the server needs
//! no Node and no files beside it. Served with strong ETags, gzip when the client accepts it,
//! and year-long caching for URLs that carry the content hash.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::http::base_path;
use crate::http::pages::AssetUrls;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct Dist;

/// Content hash of an embedded file, as lowercase hex (the first 8 bytes of its SHA-256).
fn hash_of(path: &str) -> Option<String> {
    Dist::get(path).map(|f| {
        f.metadata.sha256_hash()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// Versioned URLs of the page assets under the base path, computed once (after
/// [`base_path::init`], which the router runs before serving anything).
pub fn urls() -> &'static AssetUrls {
    static URLS: LazyLock<AssetUrls> = LazyLock::new(|| {
        let base = base_path::current();
        let url = |file: &str| {
            format!(
                "{base}/assets/{file}?v={}",
                hash_of(file).unwrap_or_default()
            )
        };
        AssetUrls {
            css: url("app.css"),
            pad_js: url("pad.js"),
            admin_js: url("admin.js"),
            calc_js: url("calc.js"),
            calc_wasm: url("ironcalc.wasm"),
            icon: url("favicon.svg"),
            base: base.to_owned(),
        }
    });
    &URLS
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        // The calc's IronCalc engine: browsers compile it while streaming only with this type.
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The cache-busting query of asset URLs.
#[derive(Debug, Deserialize)]
pub struct Version {
    v: Option<String>,
}

/// `GET /assets/{*path}`.
pub async fn serve(
    Path(path): Path<String>,
    Query(version): Query<Version>,
    headers: HeaderMap,
) -> Response {
    // Compressed siblings are an encoding of their original, not addressable on their own.
    if path.ends_with(".gz") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (Some(file), Some(hash)) = (Dist::get(&path), hash_of(&path)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{hash}\"");
    let cache = if version.v.as_deref() == Some(hash.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let gzip_ok = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        match Dist::get(&format!("{path}.gz")).filter(|_| gzip_ok) {
            Some(gz) => {
                let mut r = Response::new(Body::from(gz.data.into_owned()));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            None => Response::new(Body::from(file.data.into_owned())),
        }
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
