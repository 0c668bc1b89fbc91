//! `--base-path`: the sub-path the whole application is served under behind a reverse proxy,
//! e.g. `/pad` (the edge mounts its router under it, `http::base_path`).

use std::fmt;
use std::str::FromStr;

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
}
