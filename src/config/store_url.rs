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
    /// `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=disable|prefer]` (or `postgresql://…`):
    /// one PostgreSQL database. Printed without its password.
    Postgres(PgSettings),
    /// A `postgres://` URL this build cannot use: accepted by the parser and refused by
    /// [`StoreUrl::supported`], because clap prints the values its parser refuses and the URL
    /// may hold a password. Nothing of the URL is kept.
    BadPostgres(BadStoreUrl),
}

/// The connection settings of a `postgres://` URL. Its `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgSettings {
    /// The role to connect as.
    pub user: String,
    /// Its password, if the URL has one (else `PGPASSWORD`, read when the store opens).
    pub password: Option<String>,
    /// The server's host name or address.
    pub host: String,
    /// Its TCP port (5432 unless given).
    pub port: u16,
    /// The database.
    pub dbname: String,
    /// `sslmode=prefer` was given (the default is `disable`); this build has no TLS, so both
    /// connect in plain text.
    pub prefer_tls: bool,
}

impl PgSettings {
    /// The URL again, with the password when `with_password` (for the configuration's own
    /// round trip only, never for a message).
    fn url(&self, with_password: bool) -> String {
        let password = match (&self.password, with_password) {
            (Some(p), true) => format!(":{}", encode(p)),
            (Some(_), false) => ":***".to_owned(),
            (None, _) => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let ssl = if self.prefer_tls {
            "?sslmode=prefer"
        } else {
            ""
        };
        format!(
            "postgres://{}{password}@{host}:{}/{}{ssl}",
            encode(&self.user),
            self.port,
            encode(&self.dbname)
        )
    }

    /// Parses what follows `postgres://`.
    fn parse(rest: &str) -> Result<Self, BadStoreUrl> {
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut prefer_tls = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (key, value) {
                ("sslmode", "disable") => prefer_tls = false,
                ("sslmode", "prefer") => prefer_tls = true,
                ("sslmode", _) => return Err(BadStoreUrl::PostgresTls),
                _ => return Err(BadStoreUrl::PostgresParameter),
            }
        }
        let (authority, dbname) = rest.split_once('/').ok_or(BadStoreUrl::PostgresForm)?;
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or(BadStoreUrl::PostgresForm)?;
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(decode(password)?)),
            None => (userinfo, None),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or(BadStoreUrl::PostgresForm)?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| BadStoreUrl::PostgresForm)?,
            None => 5432,
        };
        let (user, dbname) = (decode(user)?, decode(dbname)?);
        if user.is_empty() || host.is_empty() || dbname.is_empty() {
            return Err(BadStoreUrl::PostgresForm);
        }
        Ok(PgSettings {
            user,
            password,
            host: host.to_owned(),
            port,
            dbname,
            prefer_tls,
        })
    }
}

impl fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url(false))
    }
}

impl fmt::Display for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url(false))
    }
}

/// Percent-encodes what a URL part cannot hold as it is.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (a password may hold `@`, `:` or `/` that way).
fn decode(text: &str) -> Result<String, BadStoreUrl> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(BadStoreUrl::PostgresForm)?;
            let hex = std::str::from_utf8(hex).map_err(|_| BadStoreUrl::PostgresForm)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| BadStoreUrl::PostgresForm)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| BadStoreUrl::PostgresForm)
}

/// A `--store` value this build cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadStoreUrl {
    /// A scheme no engine answers to.
    #[error("unknown storage engine in {0:?}: use redb:PATH or sled:PATH")]
    UnknownScheme(String),
    /// A `postgres://` URL asking for TLS, which this build does not have.
    #[error("--store: this build has no TLS for PostgreSQL: use sslmode=disable or sslmode=prefer (or none), over a trusted network")]
    PostgresTls,
    /// A `postgres://` URL with a query parameter other than `sslmode`.
    #[error("--store: the only parameter a postgres:// URL takes is sslmode=disable|prefer")]
    PostgresParameter,
    /// A `postgres://` URL not of the form `postgres://USER[:PASS]@HOST[:PORT]/DB`.
    #[error("--store: a PostgreSQL URL is postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (the URL given is not repeated here, as it may hold a password)")]
    PostgresForm,
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
            StoreUrl::Postgres(_) | StoreUrl::BadPostgres(_) => "postgres",
        }
    }

    /// Whether this build has the engine: an error for one it only recognises.
    pub fn supported(&self) -> Result<(), BadStoreUrl> {
        match self {
            StoreUrl::BadPostgres(e) => Err(e.clone()),
            StoreUrl::Redb(_) | StoreUrl::Sled(_) | StoreUrl::Postgres(_) => Ok(()),
        }
    }
}

impl FromStr for StoreUrl {
    type Err = BadStoreUrl;

    fn from_str(raw: &str) -> Result<Self, BadStoreUrl> {
        let raw = raw.trim();
        let lower = raw.to_ascii_lowercase();
        for scheme in ["postgres://", "postgresql://"] {
            if lower.starts_with(scheme) {
                // Never an error here: clap would print the URL, password included, with it.
                return Ok(match PgSettings::parse(&raw[scheme.len()..]) {
                    Ok(settings) => StoreUrl::Postgres(settings),
                    Err(e) => StoreUrl::BadPostgres(e),
                });
            }
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
            StoreUrl::Postgres(settings) => write!(f, "{settings}"),
            StoreUrl::BadPostgres(_) => f.write_str("postgres://"),
        }
    }
}

impl TryFrom<String> for StoreUrl {
    type Error = BadStoreUrl;
    fn try_from(s: String) -> Result<Self, BadStoreUrl> {
        s.parse()
    }
}

/// The configuration's round trip through TOML (merging a file with the command line): the
/// password must survive it, unlike `Display`.
impl From<StoreUrl> for String {
    fn from(url: StoreUrl) -> String {
        match url {
            StoreUrl::Postgres(settings) => settings.url(true),
            other => other.to_string(),
        }
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
        for raw in [
            "postgres://u:secret@h/db?sslmode=require",
            "postgres://u:secret@h/db?sslmode=verify-full",
            "postgres://u:secret@h/db?application_name=x",
            "postgres://u:secret@h",
            "PostgreSQL://u:secret@h:notaport/db",
        ] {
            let url = raw.parse::<StoreUrl>().expect("accepted by the parser");
            assert!(matches!(url, StoreUrl::BadPostgres(_)), "{raw}");
            let text = url.supported().expect_err("refused").to_string();
            assert!(!text.contains("secret"), "{text}");
            assert!(!format!("{url:?}{url}").contains("secret"));
        }
        let text = "postgres://u:p@h/db?sslmode=require"
            .parse::<StoreUrl>()
            .expect("parsed")
            .supported()
            .expect_err("no TLS")
            .to_string();
        assert!(text.contains("no TLS"), "{text}");
        assert!(StoreUrl::Sled(PathBuf::from("s")).supported().is_ok());
    }

    #[test]
    fn postgres_urls_keep_their_settings_and_hide_the_password() {
        let url: StoreUrl = "postgresql://ardoise:s%40cret@db.local:6543/pads?sslmode=prefer"
            .parse()
            .expect("parses");
        let StoreUrl::Postgres(settings) = &url else {
            panic!("not postgres: {url}");
        };
        assert_eq!(settings.user, "ardoise");
        assert_eq!(settings.password.as_deref(), Some("s@cret"));
        assert_eq!((settings.host.as_str(), settings.port), ("db.local", 6543));
        assert_eq!(settings.dbname, "pads");
        assert!(settings.prefer_tls);
        assert!(url.supported().is_ok());
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("cret"), "{shown}");
            assert!(shown.contains("ardoise:***@db.local:6543/pads"), "{shown}");
        }
        let round: StoreUrl = String::from(url.clone()).parse().expect("round trip");
        assert_eq!(
            round, url,
            "the configuration's round trip keeps the password"
        );
        let plain: StoreUrl = "postgres://u@[::1]/d".parse().expect("parses");
        let StoreUrl::Postgres(plain) = plain else {
            panic!("not postgres");
        };
        assert_eq!((plain.host.as_str(), plain.port), ("::1", 5432));
        assert_eq!(plain.password, None);
        assert!(!plain.prefer_tls);
    }
}
