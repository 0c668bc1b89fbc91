//! The sub-path the whole application is served under behind a reverse proxy (`--base-path`),
//! e.g. `/pad`: every route, link, asset, redirect and WebSocket URL starts with it. The
//! router is mounted under it by [`mount`]. Absolute links (share links, QR codes, the API's
//! URLs) start with [`public_base`].

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{header, HeaderMap, Uri};
use axum::response::Response;
use axum::Router;

pub use crate::config::base_path::BasePath;
use crate::config::Config;

static CURRENT: OnceLock<BasePath> = OnceLock::new();

/// Records the process's base path, once, at startup. Pages and error responses are built in
/// places that have no request state (e.g. `IntoResponse` of an error), like the asset URLs,
/// so the one value the configuration gives is kept here; later calls are ignored.
pub fn init(base: &BasePath) {
    let _ = CURRENT.set(base.clone());
}

/// The process's base path (`""` until [`init`] ran, as in unit tests).
pub fn current() -> &'static str {
    CURRENT.get().map_or("", BasePath::as_str)
}

/// `path` (which starts with `/`) under the process's base path.
pub fn url(path: &str) -> String {
    format!("{}{path}", current())
}

/// Serves `app` under `base`: the prefix is taken off before routing (so `/pad` and `/pad/`
/// are both the home page), and a request outside it gets `outside(headers)` (a 404 page).
pub fn mount(app: Router, base: &BasePath, outside: fn(&HeaderMap) -> Response) -> Router {
    if base.is_root() {
        return app;
    }
    let base = base.clone();
    Router::new()
        .fallback_service(app)
        .layer(axum::middleware::map_request(move |mut req: Request| {
            let inside = strip(req.uri(), &base);
            async move {
                match inside {
                    Some(uri) => {
                        *req.uri_mut() = uri;
                        Ok(req)
                    }
                    None => Err(outside(req.headers())),
                }
            }
        }))
}

/// `uri` with `base` taken off its path; `None` when it lies outside the base path.
fn strip(uri: &Uri, base: &BasePath) -> Option<Uri> {
    let rest = uri
        .path()
        .strip_prefix(base.as_str())
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))?;
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// The base URL links are built on: the configured public URL, else the Host asked for;
/// followed by the base path (unless the public URL already ends with it).
pub fn public_base(config: &Config, headers: &HeaderMap) -> String {
    let origin = public_origin(config, headers);
    let base = config.base_path.as_str();
    if origin.ends_with(base) {
        origin
    } else {
        format!("{origin}{base}")
    }
}

fn public_origin(config: &Config, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    match host {
        Some(host) => format!("http://{host}"),
        None => format!("http://{}", config.listen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_stripped_only_at_a_segment_boundary() {
        let base: BasePath = "/pad".parse().expect("valid");
        let strip = |u: &str| strip(&u.parse().expect("uri"), &base).map(|u| u.to_string());
        assert_eq!(strip("/pad"), Some("/".into()));
        assert_eq!(strip("/pad/"), Some("/".into()));
        assert_eq!(strip("/pad/p/x?lang=fr"), Some("/p/x?lang=fr".into()));
        assert_eq!(strip("/padding/p/x"), None);
        assert_eq!(strip("/p/x"), None);
    }
}
