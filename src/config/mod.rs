//! The one `Config` struct: command-line flags, `ARDOISE_*` environment variables and an optional
//! TOML file, in that order of precedence, over built-in defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use serde::{Deserialize, Serialize};

use crate::doc::lifetime::Lifetime;
use shedding::{Mode, SheddingConfig, TrustedHost};

pub mod base_path;
pub mod migrate;
pub mod secrets;
pub mod shedding;
pub mod store_url;

use base_path::BasePath;
use secrets::{AdminToken, ApiKeyHash};
use store_url::StoreUrl;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Everything an operator can set. Every field is a flag, an environment variable and a key of
/// the TOML file given with `--config` (same name, snake_case).
#[derive(Debug, Clone, Parser, Serialize, Deserialize)]
#[command(
    name = "ardoise",
    version,
    about = "Real-time collaborative pad and calc server"
)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ARDOISE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded database.
    // Global: `ardoise migrate … --data DIR` names the directory it writes to.
    #[arg(long, env = "ARDOISE_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,

    /// Storage engine and where it keeps documents: `redb:FILE`, `sled:DIR` (relative paths
    /// from the working directory) or `postgres://USER[:PASS]@HOST[:PORT]/DB` (password also
    /// from PGPASSWORD) [default: redb:DATA/ardoise.redb].
    #[arg(long, env = "ARDOISE_STORE")]
    pub store: Option<StoreUrl>,

    /// This server's name among the nodes sharing one PostgreSQL database (`--store
    /// postgres://…`); each live document is then leased to one node [default: none, the
    /// server is alone on its database and takes no lease].
    #[arg(long, env = "ARDOISE_NODE_ID")]
    pub node_id: Option<String>,

    /// The URL other nodes forward requests for this node's live documents to
    /// [default: http://LISTEN].
    #[arg(long, env = "ARDOISE_ADVERTISE_URL")]
    pub advertise_url: Option<String>,

    /// Seconds a node's lease on a live document lasts unless renewed (every third of it):
    /// how long a dead node's documents wait before another node serves them. 6 s keeps a
    /// failover (with the stock client's reconnection delay) within 10 s; each live document
    /// then costs its node one UPDATE every 2 s.
    #[arg(long, env = "ARDOISE_LEASE_SECS", default_value_t = 6)]
    pub lease_secs: u64,

    /// TOML file with any of these options; flags and environment variables win over it
    /// [default: none].
    #[arg(long, env = "ARDOISE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, env = "ARDOISE_MAX_MESSAGE_BYTES", default_value_t = 8 * MIB)]
    pub max_message_bytes: usize,

    /// Largest document, in bytes of its encoded state; growth beyond it is refused.
    #[arg(long, env = "ARDOISE_MAX_DOC_BYTES", default_value_t = 64 * MIB)]
    pub max_doc_bytes: usize,

    /// Largest awareness (presence) state of one client, in bytes of JSON.
    #[arg(long, env = "ARDOISE_MAX_AWARENESS_BYTES", default_value_t = 16 * KIB)]
    pub max_awareness_bytes: usize,

    /// Seconds after which an awareness state that was not renewed is dropped.
    #[arg(long, env = "ARDOISE_AWARENESS_TIMEOUT_SECS", default_value_t = 30)]
    pub awareness_timeout_secs: u64,

    /// Messages that may wait in one connection's outbound queue before it is closed (1013).
    #[arg(long, env = "ARDOISE_OUTBOUND_QUEUE_MESSAGES", default_value_t = 1024)]
    pub outbound_queue_messages: usize,

    /// Bytes that may wait in one connection's outbound queue before it is closed (1013).
    #[arg(long, env = "ARDOISE_OUTBOUND_QUEUE_BYTES", default_value_t = 16 * MIB)]
    pub outbound_queue_bytes: usize,

    /// Messages that may wait in one document's inbound queue; readers wait when it is full.
    #[arg(long, env = "ARDOISE_ROOM_QUEUE_MESSAGES", default_value_t = 4096)]
    pub room_queue_messages: usize,

    /// Seconds between pings sent to each connection.
    #[arg(long, env = "ARDOISE_PING_SECS", default_value_t = 30)]
    pub ping_secs: u64,

    /// Seconds of silence after which a connection is closed.
    #[arg(long, env = "ARDOISE_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Seconds a document stays loaded after its last connection leaves.
    #[arg(long, env = "ARDOISE_UNLOAD_GRACE_SECS", default_value_t = 30)]
    pub unload_grace_secs: u64,

    /// Milliseconds between flushes to disk: the most a crash can lose.
    #[arg(long, env = "ARDOISE_FLUSH_INTERVAL_MS", default_value_t = 100)]
    pub flush_interval_ms: u64,

    /// Make every batch of edits durable on disk before it is broadcast [default: off].
    #[arg(long, env = "ARDOISE_SYNC")]
    pub sync: bool,

    /// Bytes of the database's page cache.
    #[arg(long, env = "ARDOISE_CACHE_BYTES", default_value_t = 64 * MIB)]
    pub cache_bytes: usize,

    /// Logged updates after which a checkpoint of a document is stored (once the log since the
    /// last one also weighs at least that checkpoint).
    #[arg(long, env = "ARDOISE_COMPACT_AFTER_UPDATES", default_value_t = 1000)]
    pub compact_after_updates: usize,

    /// Logged bytes after which a checkpoint of a document is stored (same rule).
    #[arg(long, env = "ARDOISE_COMPACT_AFTER_BYTES", default_value_t = 4 * MIB)]
    pub compact_after_bytes: usize,

    /// Public base URL of the server (e.g. `https://pad.example.org`), used in share links and QR
    /// codes; by default links use the Host the browser asked for [default: none].
    #[arg(long, env = "ARDOISE_PUBLIC_URL")]
    pub public_url: Option<String>,

    // ---- Retention and privacy (issue 8). In the file, also as a `[retention]` table whose
    // keys drop the `retention_` prefix (`[retention] choices = ["1d", "7d"]`).
    /// Lifetimes offered when a document is created (erased this long after its last edit):
    /// numbers with a unit s, m, h or d; `forever` only if listed here.
    #[arg(
        long,
        env = "ARDOISE_RETENTION_CHOICES",
        value_delimiter = ',',
        default_value = "1d,7d,30d,60d,180d,365d"
    )]
    pub retention_choices: Vec<Lifetime>,

    /// Lifetime of documents created without a choice; must be one of the choices.
    #[arg(long, env = "ARDOISE_RETENTION_DEFAULT", default_value = "60d")]
    pub retention_default: Lifetime,

    /// Seconds between two passes of the sweeper that erases expired documents.
    #[arg(long, env = "ARDOISE_RETENTION_SWEEP_SECS", default_value_t = 60)]
    pub retention_sweep_secs: u64,

    /// Directory where each expired pad is saved as HTML before it is erased [default: none,
    /// nothing is kept].
    #[arg(long, env = "ARDOISE_RETENTION_ARCHIVE_DIR")]
    pub retention_archive_dir: Option<PathBuf>,

    /// How to reach the operator, shown on the /privacy page (an e-mail address or a URL)
    /// [default: none].
    #[arg(long, env = "ARDOISE_CONTACT")]
    pub contact: Option<String>,
    // ---- end of issue 8
    // Issue 20. In the file, also as `[history] keep = "90d"`.
    /// How long history is kept: a number with a unit s, m, h or d (older revisions are
    /// dropped), or `document` for as long as the document lives.
    #[arg(long, env = "ARDOISE_HISTORY_KEEP", default_value = "document")]
    pub history_keep: HistoryKeep,
    // Issue 6: the room's broadcast throttle.
    /// Milliseconds over which a document's changes are gathered into one broadcast: the first
    /// change after a quiet period goes out at once, later ones at the end of the tick; 0 sends
    /// every batch at once.
    #[arg(long, env = "ARDOISE_BROADCAST_TICK_MS", default_value_t = 5)]
    pub broadcast_tick_ms: u64,

    /// Who decides whether new documents may be created: auto, open or closed; overrides the
    /// config file's `[shedding] mode` [default: from the file, else auto].
    #[arg(long, env = "ARDOISE_SHEDDING_MODE")]
    pub shedding_mode: Option<Mode>,

    // Calc files in and out, and the EtherCalc-compatible API (#10).
    /// Largest calc file accepted for import (upload or API body), in bytes.
    #[arg(long, env = "ARDOISE_MAX_IMPORT_BYTES", default_value_t = 16 * MIB)]
    pub max_import_bytes: usize,

    // ---- Issue 8 (API and running it for real) ------------------------------------------------
    /// SHA-256 (64 hex digits) of the HTTP API key; the API (`/api/v1`) answers 404 without
    /// it. Compute with `printf %s "$KEY" | sha256sum` [default: none, API off].
    #[arg(long, env = "ARDOISE_API_KEY_SHA256")]
    pub api_key_sha256: Option<ApiKeyHash>,

    /// Largest request body the HTTP API accepts, in bytes (larger ones get 413).
    #[arg(long, env = "ARDOISE_API_MAX_BODY_BYTES", default_value_t = MIB)]
    pub api_max_body_bytes: usize,

    /// Sub-path the whole application is served under behind a reverse proxy, e.g. `/pad`
    /// [default: none, served at the root].
    #[arg(
        long,
        env = "ARDOISE_BASE_PATH",
        default_value = "",
        hide_default_value = true
    )]
    #[serde(default)]
    pub base_path: BasePath,
    // ---- end of issue 8 ---------------------------------------------------------------------------
    // --- Issue 7: operator access and rate limits ---
    /// Bearer token of the `/admin` page and API; without one every `/admin` route answers 404
    /// [default: none].
    #[arg(long, env = "ARDOISE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<AdminToken>,

    /// Take the client address from the rightmost `X-Forwarded-For` entry (the one the reverse
    /// proxy added) instead of the TCP peer; only behind a proxy that sets it [default: off].
    #[arg(long, env = "ARDOISE_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// WebSocket messages per second one connection may send, on average over ten seconds;
    /// beyond, it is closed (1013). 0 disables the limit.
    #[arg(long, env = "ARDOISE_CONN_MESSAGES_PER_SEC", default_value_t = 100)]
    pub conn_messages_per_sec: u32,

    /// WebSocket bytes per second one connection may send, on average over ten seconds;
    /// beyond, it is closed (1013). 0 disables the limit.
    #[arg(long, env = "ARDOISE_CONN_BYTES_PER_SEC", default_value_t = MIB)]
    pub conn_bytes_per_sec: usize,

    /// Page and API requests per second from one client address (an IPv6 /64), on average over
    /// ten seconds; beyond, 429 with Retry-After. 0 disables the limit.
    #[arg(long, env = "ARDOISE_IP_REQUESTS_PER_SEC", default_value_t = 100)]
    pub ip_requests_per_sec: u32,

    /// WebSocket upgrades per second from one client address (an IPv6 /64), on average over ten
    /// seconds; beyond, 429 with Retry-After. 0 disables the limit.
    #[arg(long, env = "ARDOISE_IP_UPGRADES_PER_SEC", default_value_t = 50)]
    pub ip_upgrades_per_sec: u32,

    // --- Issue 16: connections ---
    /// Seconds a connection may take to send a complete request head, counted from its
    /// opening or, on a kept-alive connection, from the end of the previous response (so it
    /// is also the keep-alive idle timeout); beyond, it is closed.
    #[arg(long, env = "ARDOISE_HTTP_HEADER_TIMEOUT_SECS", default_value_t = 15)]
    pub http_header_timeout_secs: u64,

    /// Open connections (HTTP and WebSocket) at once; beyond, a new connection is closed at
    /// once and counted in /metrics. Lowered to the open-file limit minus 64. 0: only that
    /// limit.
    #[arg(long, env = "ARDOISE_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Open connections at once from one client address (an IPv6 /64); beyond, a new
    /// connection is closed at once and counted in /metrics. Loopback peers and, with
    /// --trust-proxy, the proxy are not limited. 0 disables the limit.
    #[arg(
        long,
        env = "ARDOISE_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 512
    )]
    pub max_connections_per_address: usize,

    /// When to stop creating documents under load: the `[shedding]` table of the config file.
    #[arg(skip)]
    #[serde(default)]
    pub shedding: SheddingConfig,

    /// Partner hosts offered while creation is closed: `[[trusted_hosts]]` in the config file.
    #[arg(skip)]
    #[serde(default)]
    pub trusted_hosts: Vec<TrustedHost>,

    /// What to run instead of the server (`ardoise migrate …`); `None` serves.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<migrate::Command>,
}

/// Config-file sections that have no command-line flag.
const FILE_ONLY: [&str; 2] = ["shedding", "trusted_hosts"];

/// Config-file tables whose keys are flags with the table's name as a prefix.
const FLATTENED: [&str; 2] = ["retention", "history"];

/// Moves the keys of the [`FLATTENED`] tables to the top level with their table's name as a
/// prefix (`[retention] default` is `retention_default`, `[history] keep` is `history_keep`).
fn flatten_retention(mut file: toml::Table) -> Result<toml::Table, String> {
    for table in FLATTENED {
        let Some(section) = file.remove(table) else {
            continue;
        };
        let toml::Value::Table(section) = section else {
            return Err(format!("`{table}` must be a table"));
        };
        for (key, value) in section {
            let flat = format!("{table}_{key}");
            if file.contains_key(&flat) {
                return Err(format!("`{flat}` is set twice"));
            }
            file.insert(flat, value);
        }
    }
    Ok(file)
}

/// Why the configuration could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The command line or environment was invalid (includes `--help` and `--version`).
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file given with `--config`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML file is not valid or has an unknown or mistyped key.
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The file given with `--config`.
        path: PathBuf,
        /// What is wrong, from the TOML parser.
        message: String,
    },
}

impl Config {
    /// Builds the configuration from the process's arguments, environment and config file.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(std::env::args_os())
    }

    /// Builds the configuration from `args` (the first is the program name).
    pub fn load_from<I, T>(args: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let cli = Self::from_arg_matches(&matches)?;
        let Some(path) = cli.config.clone() else {
            cli.validate_settings().map_err(|message| {
                Self::command().error(clap::error::ErrorKind::ValueValidation, message)
            })?;
            return Ok(cli.with_mode_override());
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message,
        };
        let file: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        // Start from what clap settled (defaults included) and let the file replace only the
        // values that came from defaults, so flags and environment variables keep precedence.
        let mut merged = toml::Table::try_from(&cli).map_err(|e| invalid(e.to_string()))?;
        let known: Vec<String> = Self::command()
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        for (key, value) in flatten_retention(file).map_err(invalid)? {
            if FILE_ONLY.contains(&key.as_str()) {
                merged.insert(key, value);
                continue;
            }
            if key == "config" || !known.contains(&key) {
                return Err(invalid(format!("unknown key `{key}`")));
            }
            let set_outside_file = matches!(
                matches.value_source(&key),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
            if !set_outside_file {
                merged.insert(key, value);
            }
        }
        let mut config: Config = merged
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        config
            .shedding
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        for host in &config.trusted_hosts {
            host.validate().map_err(|e| invalid(e.to_string()))?;
        }
        config.validate_settings().map_err(invalid)?;
        config.config = Some(path);
        // Not a setting: the file cannot hold it, so the merge above dropped it.
        config.command = cli.command;
        Ok(config.with_mode_override())
    }

    /// The default lifetime must be offered, and something must be; the storage engine must be
    /// one this build has.
    fn validate_settings(&self) -> Result<(), String> {
        if let Some(store) = &self.store {
            store.supported().map_err(|e| e.to_string())?;
        }
        if !self.retention_choices.contains(&self.retention_default) {
            return Err(format!(
                "the default lifetime `{}` is not one of the retention choices",
                self.retention_default
            ));
        }
        Ok(())
    }

    /// Applies `--shedding-mode` over the file's `[shedding] mode`.
    fn with_mode_override(mut self) -> Self {
        if let Some(mode) = self.shedding_mode {
            self.shedding.mode = mode;
        }
        self
    }

    /// The storage engine to open: `--store`, else redb in the data directory (as is `redb:`
    /// without a path).
    pub fn store_url(&self) -> StoreUrl {
        match &self.store {
            Some(StoreUrl::Redb(path)) if path.as_os_str().is_empty() => {
                StoreUrl::default_for(&self.data)
            }
            Some(url) => url.clone(),
            None => StoreUrl::default_for(&self.data),
        }
    }

    /// How long a node's lease on a live document lasts unless renewed.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(1))
    }

    /// Interval between two passes of the sweeper.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.retention_sweep_secs.max(1))
    }

    /// Interval between pings.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_secs.max(1))
    }

    /// Silence after which a connection is closed.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    /// A room's broadcast throttle; capped at one second, beyond which typing would look
    /// frozen.
    pub fn broadcast_tick(&self) -> Duration {
        Duration::from_millis(self.broadcast_tick_ms.min(1000))
    }

    /// Longest wait for a complete request head (and between two requests of a kept-alive
    /// connection).
    pub fn http_header_timeout(&self) -> Duration {
        Duration::from_secs(self.http_header_timeout_secs.max(1))
    }

    /// How long history is kept (the `[history] keep` setting).
    pub fn history_keep(&self) -> HistoryKeep {
        self.history_keep
    }

    /// Time a room stays loaded without connections.
    pub fn unload_grace(&self) -> Duration {
        Duration::from_secs(self.unload_grace_secs)
    }

    /// Age at which an awareness state that was not renewed is dropped.
    pub fn awareness_timeout(&self) -> Duration {
        Duration::from_secs(self.awareness_timeout_secs.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn defaults_match_the_documented_contract() {
        let c = Config::load_from(["ardoise"]).expect("defaults parse");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data, PathBuf::from("./data"));
        assert_eq!(c.max_message_bytes, 8 * MIB);
        assert_eq!(c.max_doc_bytes, 64 * MIB);
        assert_eq!(c.max_awareness_bytes, 16 * KIB);
        assert_eq!(c.flush_interval_ms, 100);
        assert_eq!(c.cache_bytes, 64 * MIB);
        assert!(!c.sync);
        assert_eq!(c.http_header_timeout(), Duration::from_secs(15));
        assert_eq!(
            (c.max_connections, c.max_connections_per_address),
            (10_000, 512)
        );
    }

    #[test]
    fn file_fills_defaults_but_flags_win() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            f,
            "unload_grace_secs = 5\nlisten = \"127.0.0.1:9000\"\nsync = true"
        )
        .expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        let c = Config::load_from(["ardoise", "--config", &path, "--listen", "127.0.0.1:0"])
            .expect("parses");
        assert_eq!(c.unload_grace_secs, 5);
        assert!(c.sync);
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
    }

    #[test]
    fn shedding_and_trusted_hosts_come_from_the_file() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            f,
            "[shedding]\nrooms_high = 10\nrooms_low = 5\nmode = \"closed\"\n\n\
             [[trusted_hosts]]\nname = \"Partner\"\nurl = \"https://pad.example/p/{{name}}\"\nweight = 2"
        )
        .expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        let c = Config::load_from(["ardoise", "--config", &path]).expect("parses");
        assert_eq!((c.shedding.rooms_high, c.shedding.rooms_low), (10, 5));
        assert_eq!(c.trusted_hosts.len(), 1);
        assert_eq!(c.trusted_hosts[0].weight, 2);
        assert_eq!(c.shedding.mode, Mode::Closed);
        let c = Config::load_from(["ardoise", "--config", &path, "--shedding-mode", "open"])
            .expect("parses");
        assert_eq!(c.shedding.mode, Mode::Open, "the flag wins over the file");

        let mut bad = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(bad, "[shedding]\nrooms_high = 1\nrooms_low = 5").expect("write");
        let path = bad.path().to_str().expect("utf-8 path").to_owned();
        let err = Config::load_from(["ardoise", "--config", &path]).expect_err("low above high");
        assert!(err.to_string().contains("rooms_low"), "{err}");
    }

    #[test]
    fn retention_comes_from_a_table_or_flags() {
        let c = Config::load_from(["ardoise"]).expect("defaults");
        assert_eq!(c.retention_default, Lifetime::After(60 * 86_400));
        assert_eq!(c.retention_choices.len(), 6);
        assert!(!c.retention_choices.contains(&Lifetime::Forever));

        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            f,
            "contact = \"dpo@example.org\"\n[retention]\nchoices = [\"30s\", \"7d\", \"forever\"]\n\
             default = \"7d\"\nsweep_secs = 5"
        )
        .expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        let c = Config::load_from(["ardoise", "--config", &path]).expect("parses");
        assert_eq!(
            c.retention_choices,
            [
                Lifetime::After(30),
                Lifetime::After(7 * 86_400),
                Lifetime::Forever
            ]
        );
        assert_eq!(c.retention_default, Lifetime::After(7 * 86_400));
        assert_eq!(c.sweep_interval(), Duration::from_secs(5));
        assert_eq!(c.contact.as_deref(), Some("dpo@example.org"));
        let c = Config::load_from(["ardoise", "--config", &path, "--retention-default", "30s"])
            .expect("parses");
        assert_eq!(c.retention_default, Lifetime::After(30), "the flag wins");

        let err = Config::load_from(["ardoise", "--retention-default", "2d"])
            .expect_err("default not offered");
        assert!(err.to_string().contains("not one of"), "{err}");
        let err = Config::load_from(["ardoise", "--retention-choices", "1x"]).expect_err("bad");
        assert!(err.to_string().contains("not a lifetime"), "{err}");
    }

    #[test]
    fn admin_token_and_limits_come_from_flags_env_or_file_and_never_print() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            f,
            "admin_token = \"from-the-file\"\ntrust_proxy = true\nip_requests_per_sec = 7"
        )
        .expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        let c = Config::load_from(["ardoise", "--config", &path]).expect("parses");
        let token = c.admin_token.as_ref().expect("token");
        assert!(token.matches("from-the-file"));
        assert!(c.trust_proxy);
        assert_eq!(c.ip_requests_per_sec, 7);
        assert!(
            !format!("{c:?}").contains("from-the-file"),
            "Debug hides it"
        );
        let c = Config::load_from(["ardoise", "--config", &path, "--admin-token", "flag"])
            .expect("parses");
        assert!(c.admin_token.expect("token").matches("flag"));
        let c = Config::load_from(["ardoise"]).expect("defaults");
        assert!(c.admin_token.is_none() && !c.trust_proxy);
        assert_eq!((c.conn_messages_per_sec, c.conn_bytes_per_sec), (100, MIB));
        assert!(Config::load_from(["ardoise", "--admin-token", " "]).is_err());
    }

    #[test]
    fn history_keep_comes_from_its_table_flags_or_environment() {
        let keep =
            |args: &[&str]| Config::load_from(args.iter().copied()).map(|c| c.history_keep());
        assert_eq!(keep(&["ardoise"]).expect("default"), HistoryKeep::Document);
        assert_eq!(
            keep(&["ardoise", "--history-keep", "90d"]).expect("flag"),
            HistoryKeep::For(Duration::from_secs(90 * 86_400))
        );
        assert!(keep(&["ardoise", "--history-keep", "forever"]).is_err());
        assert!(keep(&["ardoise", "--history-keep", "3x"]).is_err());
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(f, "[history]\nkeep = \"12h\"").expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        assert_eq!(
            keep(&["ardoise", "--config", &path]).expect("file"),
            HistoryKeep::For(Duration::from_secs(12 * 3600))
        );
        assert_eq!(
            keep(&["ardoise", "--config", &path, "--history-keep", "document"]).expect("flag"),
            HistoryKeep::Document,
            "the flag wins"
        );
        let mut bad = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(bad, "[history]\nkeep = \"soon\"").expect("write");
        let path = bad.path().to_str().expect("utf-8 path").to_owned();
        assert!(keep(&["ardoise", "--config", &path]).is_err());
        assert_eq!(
            HistoryKeep::For(Duration::from_secs(7_776_000)).to_string(),
            "90d"
        );
    }

    #[test]
    fn the_store_comes_from_flags_or_the_file_and_defaults_to_redb_in_data() {
        let c = Config::load_from(["ardoise", "--data", "d"]).expect("defaults");
        assert_eq!(
            c.store_url(),
            StoreUrl::Redb(PathBuf::from("d/ardoise.redb"))
        );
        let c = Config::load_from(["ardoise", "--data", "d", "--store", "redb:"]).expect("redb:");
        assert_eq!(
            c.store_url(),
            StoreUrl::Redb(PathBuf::from("d/ardoise.redb"))
        );
        let c = Config::load_from(["ardoise", "--store", "sled:s"]).expect("sled");
        assert_eq!(c.store_url(), StoreUrl::Sled(PathBuf::from("s")));
        let err = Config::load_from(["ardoise", "--store", "mongo://x"]).expect_err("unknown");
        assert!(err.to_string().contains("unknown storage engine"), "{err}");
        let err = Config::load_from(["ardoise", "--store", "postgres://u:pw@h/db?sslmode=require"])
            .expect_err("no TLS in this build");
        assert!(err.to_string().contains("no TLS"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
        let c = Config::load_from(["ardoise", "--store", "postgres://u:pw@h/db"]).expect("pg");
        assert!(matches!(c.store_url(), StoreUrl::Postgres(_)));
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(f, "store = \"sled:from-file\"").expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        let c = Config::load_from(["ardoise", "--config", &path]).expect("file");
        assert_eq!(c.store_url(), StoreUrl::Sled(PathBuf::from("from-file")));
        let c = Config::load_from(["ardoise", "--config", &path, "--store", "redb:x.redb"])
            .expect("flag");
        assert_eq!(
            c.store_url(),
            StoreUrl::Redb(PathBuf::from("x.redb")),
            "the flag wins"
        );
        // The merge with a file goes through TOML: the password must survive it.
        let c = Config::load_from([
            "ardoise",
            "--config",
            &path,
            "--store",
            "postgres://u:pw@h/db",
        ])
        .expect("flag");
        match c.store_url() {
            StoreUrl::Postgres(pg) => assert_eq!(pg.password.as_deref(), Some("pw")),
            other => panic!("not postgres: {other}"),
        }
        let mut bad = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(bad, "store = \"nope:x\"").expect("write");
        let path = bad.path().to_str().expect("utf-8 path").to_owned();
        let err = Config::load_from(["ardoise", "--config", &path]).expect_err("refused");
        assert!(err.to_string().contains("unknown storage engine"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(f, "no_such_option = 1").expect("write");
        let path = f.path().to_str().expect("utf-8 path").to_owned();
        let err = Config::load_from(["ardoise", "--config", &path]).expect_err("refused");
        assert!(err.to_string().contains("no_such_option"), "{err}");
    }
}

/// How long a document's history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum HistoryKeep {
    /// As long as the document lives.
    #[default]
    Document,
    /// Revisions older than this are dropped (the document keeps its content).
    For(Duration),
}

/// The word for [`HistoryKeep::Document`].
const KEEP_DOCUMENT: &str = "document";

impl std::str::FromStr for HistoryKeep {
    type Err = String;

    /// `document`, or a duration written like a retention choice (`90d`).
    fn from_str(raw: &str) -> Result<Self, String> {
        if raw.trim().eq_ignore_ascii_case(KEEP_DOCUMENT) {
            return Ok(HistoryKeep::Document);
        }
        match raw.parse::<Lifetime>() {
            Ok(lifetime) => match lifetime.secs() {
                Some(secs) => Ok(HistoryKeep::For(Duration::from_secs(secs))),
                None => Err(format!(
                    "`{raw}`: history is kept `{KEEP_DOCUMENT}` or for a duration"
                )),
            },
            Err(e) => Err(format!("{e} (or `{KEEP_DOCUMENT}`)")),
        }
    }
}

impl std::fmt::Display for HistoryKeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryKeep::Document => f.write_str(KEEP_DOCUMENT),
            HistoryKeep::For(d) => Lifetime::After(d.as_secs()).fmt(f),
        }
    }
}

impl TryFrom<String> for HistoryKeep {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<HistoryKeep> for String {
    fn from(keep: HistoryKeep) -> String {
        keep.to_string()
    }
}
