//! `--store URL`: which storage engine holds the documents, and where. Parsed once, when the
//! configuration is read, so a mistyped scheme stops the server before it opens anything.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The file of the redb engine inside the data directory when `--store` is not given (the same
/// name as `store::DB_FILE`, which this lower layer cannot name).
const DEFAULT_REDB_FILE: &str = "ardoise.redb";

/// A storage engine and its location. Relative paths are kept relative: they are resolved
/// against the working directory of the server, as any other path on its command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StoreUrl {
    /// `redb:PATH`: one redb file (the default engine). `redb:` alone is the default file.
    Redb(PathBuf),
    /// `sled:PATH`: a sled 0.34 directory.
    Sled(PathBuf),
    /// `postgres://…` or `postgresql://…`: recognised so that the configuration can refuse it
    /// with a clear message ([`StoreUrl::supported`]); nothing of the URL is kept, since it may
    /// hold a password and clap prints the values it refuses.
    Postgres,
}

/// A `--store` value this build cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadStoreUrl {
    /// A scheme no engine answers to.
    #[error("unknown storage engine in {0:?}: use redb:PATH or sled:PATH")]
    UnknownScheme(String),
    /// `postgres://` or `postgresql://`: recognised, not built yet.
    #[error("--store: PostgreSQL is not supported by this build yet; use redb:PATH or sled:PATH")]
    PostgresNotYet,
    /// `sled:` without a directory.
    #[error("`sled:` needs a directory, e.g. sled:/var/lib/ardoise/sled")]
    MissingPath,
}

impl StoreUrl {
    /// The engine used without `--store`: redb in the file `ardoise.redb` of the data directory.
    pub fn default_for(data: &Path) -> Self {
        StoreUrl::Redb(data.join(DEFAULT_REDB_FILE))
    }

    /// The engine's name, for logs.
    pub fn engine(&self) -> &'static str {
        match self {
            StoreUrl::Redb(_) => "redb",
            StoreUrl::Sled(_) => "sled",
            StoreUrl::Postgres => "postgres",
        }
    }

    /// Whether this build has the engine: an error for one it only recognises.
    pub fn supported(&self) -> Result<(), BadStoreUrl> {
        match self {
            StoreUrl::Postgres => Err(BadStoreUrl::PostgresNotYet),
            StoreUrl::Redb(_) | StoreUrl::Sled(_) => Ok(()),
        }
    }
}

impl FromStr for StoreUrl {
    type Err = BadStoreUrl;

    fn from_str(raw: &str) -> Result<Self, BadStoreUrl> {
        let raw = raw.trim();
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            // Accepted here and refused by `supported`, so no error message carries the URL.
            return Ok(StoreUrl::Postgres);
        }
        let Some((scheme, path)) = raw.split_once(':') else {
            return Err(BadStoreUrl::UnknownScheme(raw.to_owned()));
        };
        match scheme.to_ascii_lowercase().as_str() {
            // An empty path is `Redb("")`, which `Config::store_url` reads as the default file.
            "redb" => Ok(StoreUrl::Redb(PathBuf::from(path))),
            "sled" if path.is_empty() => Err(BadStoreUrl::MissingPath),
            "sled" => Ok(StoreUrl::Sled(PathBuf::from(path))),
            _ => Err(BadStoreUrl::UnknownScheme(raw.to_owned())),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Redb(path) => write!(f, "redb:{}", path.display()),
            StoreUrl::Sled(path) => write!(f, "sled:{}", path.display()),
            StoreUrl::Postgres => f.write_str("postgres://"),
        }
    }
}

impl TryFrom<String> for StoreUrl {
    type Error = BadStoreUrl;
    fn try_from(s: String) -> Result<Self, BadStoreUrl> {
        s.parse()
    }
}

impl From<StoreUrl> for String {
    fn from(url: StoreUrl) -> String {
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_print_back() {
        for raw in ["redb:/srv/a.redb", "sled:data/sled", "sled:/abs"] {
            let url: StoreUrl = raw.parse().expect("parses");
            assert_eq!(url.to_string(), raw);
        }
        assert_eq!(
            "sled:rel/dir".parse(),
            Ok(StoreUrl::Sled(PathBuf::from("rel/dir"))),
            "a relative path stays relative (to the working directory)"
        );
        assert_eq!("redb:".parse(), Ok(StoreUrl::Redb(PathBuf::new())));
        assert_eq!(
            StoreUrl::default_for(Path::new("d")),
            StoreUrl::Redb(PathBuf::from("d/ardoise.redb"))
        );
    }

    #[test]
    fn unknown_schemes_and_postgres_are_refused_clearly() {
        let err = "mysql://x".parse::<StoreUrl>().expect_err("unknown");
        assert!(err.to_string().contains("unknown storage engine"), "{err}");
        assert!("/just/a/path".parse::<StoreUrl>().is_err());
        assert_eq!("sled:".parse::<StoreUrl>(), Err(BadStoreUrl::MissingPath));
        for raw in ["postgres://u:secret@h/db", "PostgreSQL://u@h:5432/db"] {
            let url = raw.parse::<StoreUrl>().expect("recognised");
            assert_eq!(url, StoreUrl::Postgres, "nothing of the URL is kept");
            let text = url.supported().expect_err("not yet").to_string();
            assert!(text.contains("PostgreSQL is not supported"), "{text}");
        }
        assert!(StoreUrl::Sled(PathBuf::from("s")).supported().is_ok());
    }
}
