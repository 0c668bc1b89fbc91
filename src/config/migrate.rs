//! The flags of `ardoise migrate`: commands run on a data directory instead of the server.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Subcommand};

/// Fetches from one Etherpad instance that may run at once, by default.
const DEFAULT_JOBS: usize = 4;

/// Most fetches at once: an instance is someone's server, not a load test target.
const MAX_JOBS: usize = 64;

/// What the binary runs instead of the server.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Bring documents from another server into the data directory (run it while ardoise is
    /// stopped).
    #[command(subcommand)]
    Migrate(Migrate),
}

/// Where `ardoise migrate` brings documents from.
#[derive(Debug, Clone, Subcommand)]
pub enum Migrate {
    /// Etherpad pads, from a running instance (its HTTP API and exports) or from a directory of
    /// `.etherpad` files, under the same names; pads already present are skipped, so an
    /// interrupted run is resumed by running it again.
    Etherpad(EtherpadArgs),
}

/// `ardoise migrate etherpad`: its source and bounds. The data directory is the server's own
/// `--data` (it may be given after the subcommand).
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["url", "from_dir"]))]
pub struct EtherpadArgs {
    /// Base URL of the Etherpad instance (e.g. `https://pad.example.org`).
    #[arg(long, requires = "apikey")]
    pub url: Option<String>,

    /// The instance's API key (its APIKEY.txt).
    #[arg(long, env = "ETHERPAD_APIKEY", hide_env_values = true)]
    pub apikey: Option<ApiKey>,

    /// A directory of `.etherpad` files (Etherpad's `/p/{id}/export/etherpad`) instead of an
    /// instance.
    #[arg(long, conflicts_with_all = ["url", "apikey"])]
    pub from_dir: Option<PathBuf>,

    /// Only these pad ids (Etherpad's, as listed by the instance or in the files).
    #[arg(long, num_args = 1.., value_name = "PADID")]
    pub only: Vec<String>,

    /// Pads fetched at once (1 to 64).
    #[arg(long, default_value_t = DEFAULT_JOBS, value_parser = parse_jobs)]
    pub jobs: usize,
}

/// `--jobs`: 1 to [`MAX_JOBS`].
fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ 1..=MAX_JOBS) => Ok(n),
        _ => Err(format!("expected a number from 1 to {MAX_JOBS}")),
    }
}

/// An Etherpad API key: never printed (`Debug` hides it).
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key itself, to send.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

impl FromStr for ApiKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim();
        if key.is_empty() {
            return Err("the API key is empty".into());
        }
        Ok(Self(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::{Command, Migrate};

    fn etherpad(args: &[&str]) -> Result<super::EtherpadArgs, String> {
        let config = Config::load_from(args).map_err(|e| e.to_string())?;
        match config.command {
            Some(Command::Migrate(Migrate::Etherpad(args))) => Ok(args),
            None => Err("no command".into()),
        }
    }

    #[test]
    fn an_instance_or_a_directory() {
        let a = etherpad(&[
            "ardoise", "migrate", "etherpad", "--url", "http://e", "--apikey", "k", "--only", "a",
            "b", "--data", "/tmp/x",
        ])
        .expect("parses");
        assert_eq!(a.url.as_deref(), Some("http://e"));
        assert_eq!(
            a.apikey.map(|k| k.expose().to_owned()).as_deref(),
            Some("k")
        );
        assert_eq!(a.only, ["a", "b"]);
        assert_eq!(a.jobs, 4);
        let d =
            etherpad(&["ardoise", "migrate", "etherpad", "--from-dir", "/tmp/p"]).expect("parses");
        assert!(d.url.is_none() && d.from_dir.is_some());
    }

    #[test]
    fn refuses_what_cannot_run() {
        for bad in [
            &["ardoise", "migrate", "etherpad"][..],
            &["ardoise", "migrate", "etherpad", "--url", "http://e"],
            &[
                "ardoise",
                "migrate",
                "etherpad",
                "--from-dir",
                "d",
                "--url",
                "u",
                "--apikey",
                "k",
            ],
            &[
                "ardoise",
                "migrate",
                "etherpad",
                "--from-dir",
                "d",
                "--jobs",
                "0",
            ],
            &[
                "ardoise",
                "migrate",
                "etherpad",
                "--from-dir",
                "d",
                "--jobs",
                "65",
            ],
        ] {
            assert!(etherpad(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn data_comes_before_or_after_the_command() {
        for args in [
            &[
                "ardoise",
                "--data",
                "/d",
                "migrate",
                "etherpad",
                "--from-dir",
                "p",
            ][..],
            &[
                "ardoise",
                "migrate",
                "etherpad",
                "--from-dir",
                "p",
                "--data",
                "/d",
            ],
        ] {
            let c = Config::load_from(args).expect("parses");
            assert_eq!(c.data, std::path::PathBuf::from("/d"));
        }
        assert!(Config::load_from(["ardoise"])
            .expect("parses")
            .command
            .is_none());
    }

    #[test]
    fn a_config_file_keeps_the_command_and_flags_still_win() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, b"data = \"/file\"\nmax_import_bytes = 99\n")
            .expect("write");
        let path = f.path().to_str().expect("utf-8 path");
        let c = Config::load_from([
            "ardoise",
            "--config",
            path,
            "migrate",
            "etherpad",
            "--from-dir",
            "p",
        ])
        .expect("parses");
        assert!(c.command.is_some());
        assert_eq!((c.data.to_str(), c.max_import_bytes), (Some("/file"), 99));
        let c = Config::load_from([
            "ardoise",
            "--config",
            path,
            "migrate",
            "etherpad",
            "--from-dir",
            "p",
            "--data",
            "/cli",
        ])
        .expect("parses");
        assert_eq!(c.data.to_str(), Some("/cli"));
    }

    #[test]
    fn the_key_is_never_printed() {
        let a = etherpad(&[
            "ardoise", "migrate", "etherpad", "--url", "u", "--apikey", "s3cret",
        ])
        .expect("parses");
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
