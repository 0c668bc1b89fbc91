//! The sub-path the whole application is served under behind a reverse proxy (`--base-path`),
//! e.g. `/pad`: every route, link, asset, redirect and WebSocket URL starts with it. The
//! router is mounted under it by [`mount`].

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Router;
use serde::{Deserialize, Serialize};

/// A URL path prefix: empty (served at the root) or `/segment[/segment…]` without a trailing
/// slash, each segment of `[A-Za-z0-9_.~-]`, so it needs no escaping anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BasePath(String);

/// A base path with characters outside the allowed set, or an empty segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("base path must look like /pad or /apps/pad (letters, digits, '_', '.', '~', '-'): {0:?}")]
pub struct BadBasePath(String);

impl BasePath {
    /// The prefix, `""` at the root.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the application is served at the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// `path` (which starts with `/`) under the base path.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl FromStr for BasePath {
    type Err = BadBasePath;

    fn from_str(raw: &str) -> Result<Self, BadBasePath> {
        let trimmed = raw.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(Self::default());
        }
        let valid = trimmed.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.~-".contains(&b))
            })
        });
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(BadBasePath(raw.to_owned()))
        }
    }
}

impl TryFrom<String> for BasePath {
    type Error = BadBasePath;
    fn try_from(s: String) -> Result<Self, BadBasePath> {
        s.parse()
    }
}

impl From<BasePath> for String {
    fn from(b: BasePath) -> String {
        b.0
    }
}

impl fmt::Display for BasePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalised_and_checked() {
        let ok = |s: &str| s.parse::<BasePath>().map(|b| b.as_str().to_owned());
        assert_eq!(ok(""), Ok(String::new()));
        assert_eq!(ok("/"), Ok(String::new()));
        assert_eq!(ok("/pad/"), Ok("/pad".into()));
        assert_eq!(ok("/apps/pad"), Ok("/apps/pad".into()));
        for bad in ["pad", "/p d", "/a//b", "/a/../b", "/é", "/a\"b", "/a?b"] {
            assert!(bad.parse::<BasePath>().is_err(), "{bad}");
        }
    }

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
