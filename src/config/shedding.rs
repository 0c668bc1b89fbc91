//! The operator's contract: the `[shedding]` table and the `[[trusted_hosts]]` entries. Scripts
//! rely on these TOML names; renaming one is a breaking change.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::doc::meta::Kind;

/// Who decides whether new documents may be created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The controller decides from the signals.
    #[default]
    Auto,
    /// Forced open by the operator, whatever the load.
    Open,
    /// Forced closed by the operator, whatever the load.
    Closed,
}

/// A string that is not `auto`, `open` or `closed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected auto, open or closed")]
pub struct BadMode;

impl std::str::FromStr for Mode {
    type Err = BadMode;
    fn from_str(s: &str) -> Result<Self, BadMode> {
        match s {
            "auto" => Ok(Mode::Auto),
            "open" => Ok(Mode::Open),
            "closed" => Ok(Mode::Closed),
            _ => Err(BadMode),
        }
    }
}

impl Mode {
    /// Stable name for logs, metrics and JSON (the same as its TOML value).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Open => "open",
            Mode::Closed => "closed",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[shedding]` table: a high and a low water mark per [`Signal`], the hold time and the
/// mode. A signal strictly above its high mark closes creation; creation reopens once every
/// signal has stayed at or below its low mark for `hold_secs`.
///
/// A signal is effectively disabled by setting both of its marks very high.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SheddingConfig {
    /// Live documents above which creation closes.
    pub rooms_high: u64,
    /// Live documents at or below which creation may reopen.
    pub rooms_low: u64,
    /// Live WebSocket connections above which creation closes.
    pub connections_high: u64,
    /// Live WebSocket connections at or below which creation may reopen.
    pub connections_low: u64,
    /// Resident memory (MiB) above which creation closes.
    pub memory_high_mib: u64,
    /// Resident memory (MiB) at or below which creation may reopen.
    pub memory_low_mib: u64,
    /// Event-loop lag (ms) above which creation closes.
    pub loop_lag_high_ms: u64,
    /// Event-loop lag (ms) at or below which creation may reopen.
    pub loop_lag_low_ms: u64,
    /// Process CPU (percent of the usable cores, 0–100) above which creation closes.
    pub cpu_high_percent: u64,
    /// Process CPU (percent of the usable cores) at or below which creation may reopen.
    pub cpu_low_percent: u64,
    /// Room broadcast delay (ms) above which creation closes.
    pub broadcast_delay_high_ms: u64,
    /// Room broadcast delay (ms) at or below which creation may reopen.
    pub broadcast_delay_low_ms: u64,
    /// Seconds every signal must stay at or below its low mark before creation reopens.
    pub hold_secs: u64,
    /// Who decides at startup: `"auto"`, `"open"` or `"closed"`.
    pub mode: Mode,
}

/// Defaults for a modest server (2 cores, 2–4 GiB of RAM). Each low mark sits well under its
/// high mark so that a load hovering around one mark cannot make creation flap.
impl Default for SheddingConfig {
    fn default() -> Self {
        Self {
            rooms_high: 2000,
            rooms_low: 1500,
            connections_high: 5000,
            connections_low: 4000,
            // Leaves room for the page cache and the OS on a 2 GiB machine. The low mark is
            // close to the high one because allocators rarely hand freed memory back: RSS falls
            // slowly after a peak, and a far low mark could keep creation closed for good.
            memory_high_mib: 1536,
            memory_low_mib: 1280,
            // An idle runtime wakes within a millisecond or two. The signal closes creation only
            // when sustained for three samples (the controller's rule), so a quarter second of it
            // in each means
            // every keystroke on every pad is visibly late: that is what shedding protects.
            loop_lag_high_ms: 250,
            loop_lag_low_ms: 50,
            cpu_high_percent: 90,
            cpu_low_percent: 60,
            broadcast_delay_high_ms: 200,
            broadcast_delay_low_ms: 50,
            hold_secs: 60,
            mode: Mode::Auto,
        }
    }
}

/// Why a `[shedding]` table is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheddingError {
    /// A low water mark is above its high water mark, which would leave no hysteresis band.
    #[error("shedding: {low_key} ({low}) is above {high_key} ({high})")]
    LowAboveHigh {
        /// The signal whose marks are inverted.
        signal: Signal,
        /// The TOML key of the low mark.
        low_key: &'static str,
        /// Its value.
        low: u64,
        /// The TOML key of the high mark.
        high_key: &'static str,
        /// Its value.
        high: u64,
    },
}

impl SheddingConfig {
    /// The high water mark of `signal`.
    pub fn high(&self, signal: Signal) -> u64 {
        match signal {
            Signal::Rooms => self.rooms_high,
            Signal::Connections => self.connections_high,
            Signal::MemoryMib => self.memory_high_mib,
            Signal::LoopLagMs => self.loop_lag_high_ms,
            Signal::CpuPercent => self.cpu_high_percent,
            Signal::BroadcastDelayMs => self.broadcast_delay_high_ms,
        }
    }

    /// The low water mark of `signal`.
    pub fn low(&self, signal: Signal) -> u64 {
        match signal {
            Signal::Rooms => self.rooms_low,
            Signal::Connections => self.connections_low,
            Signal::MemoryMib => self.memory_low_mib,
            Signal::LoopLagMs => self.loop_lag_low_ms,
            Signal::CpuPercent => self.cpu_low_percent,
            Signal::BroadcastDelayMs => self.broadcast_delay_low_ms,
        }
    }

    /// Checks that every low mark is at or below its high mark (equal marks are allowed: no
    /// band, but still no contradiction).
    pub fn validate(&self) -> Result<(), SheddingError> {
        for signal in Signal::ALL {
            let (low, high) = (self.low(signal), self.high(signal));
            if low > high {
                return Err(SheddingError::LowAboveHigh {
                    signal,
                    low_key: signal.low_key(),
                    low,
                    high_key: signal.high_key(),
                    high,
                });
            }
        }
        Ok(())
    }
}

/// A partner host offered when creation is closed: `[[trusted_hosts]]` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedHost {
    /// Shown to users, e.g. `"Framapad"`.
    pub name: String,
    /// Where a pad is created there; `{name}` stands for the pad's name.
    pub url: String,
    /// Relative share of the users sent there (at least 1; defaults to 1).
    #[serde(default = "one")]
    pub weight: u32,
    /// Where a calc is created there, `{name}` as in `url`; without it the host is not offered
    /// for calcs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calc_url: Option<String>,
}

fn one() -> u32 {
    1
}

/// Why a `[[trusted_hosts]]` entry is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedHostError {
    /// The name is empty or only spaces: users could not tell the hosts apart.
    #[error("trusted host with url {url:?}: name is empty")]
    EmptyName {
        /// The entry's URL, to find it in the config.
        url: String,
    },
    /// The URL is not http(s), so a browser might not open it (or would run it as a script).
    #[error("trusted host {name:?}: url must start with http:// or https://")]
    Scheme {
        /// The entry's name.
        name: String,
    },
    /// The URL has no `{name}`, so every pad would land on the same page.
    #[error("trusted host {name:?}: url must contain {{name}}")]
    NoPlaceholder {
        /// The entry's name.
        name: String,
    },
    /// A weight of zero would list the host but never pick it.
    #[error("trusted host {name:?}: weight must be at least 1")]
    ZeroWeight {
        /// The entry's name.
        name: String,
    },
}

impl TrustedHost {
    /// The text that stands for the pad's name in [`TrustedHost::url`].
    pub const PLACEHOLDER: &'static str = "{name}";

    /// Checks the entry: a non-empty name, an http(s) URL containing `{name}`, a weight ≥ 1.
    pub fn validate(&self) -> Result<(), TrustedHostError> {
        let name = || self.name.clone();
        if self.name.trim().is_empty() {
            return Err(TrustedHostError::EmptyName {
                url: self.url.clone(),
            });
        }
        for url in std::iter::once(&self.url).chain(&self.calc_url) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(TrustedHostError::Scheme { name: name() });
            }
            if !url.contains(Self::PLACEHOLDER) {
                return Err(TrustedHostError::NoPlaceholder { name: name() });
            }
        }
        if self.weight == 0 {
            return Err(TrustedHostError::ZeroWeight { name: name() });
        }
        Ok(())
    }

    /// The URL that creates `pad` on this host: every `{name}` replaced by `pad`,
    /// percent-encoded so that any pad name stays inside its path segment or query value.
    pub fn url_for(&self, pad: &str) -> String {
        Self::fill(&self.url, pad)
    }

    /// The URL that creates a document of `kind` named `name` on this host; `None` for a calc
    /// when the host offers none (no `calc_url`).
    pub fn url_for_kind(&self, kind: Kind, name: &str) -> Option<String> {
        match kind {
            Kind::Pad => Some(self.url_for(name)),
            Kind::Calc => self.calc_url.as_deref().map(|url| Self::fill(url, name)),
        }
    }

    /// The host's home: the scheme and authority of `url` (validated as http(s)), then `/`.
    pub fn home(&self) -> String {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        let end = self.url[after_scheme..]
            .find(['/', '?', '#'])
            .map_or(self.url.len(), |i| after_scheme + i);
        format!("{}/", &self.url[..end])
    }

    fn fill(url: &str, pad: &str) -> String {
        let mut encoded = String::with_capacity(pad.len());
        for byte in pad.bytes() {
            // RFC 3986 unreserved characters are safe in every part of a URL.
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                encoded.push(char::from(byte));
            } else {
                // Writing to a String cannot fail.
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
        url.replace(Self::PLACEHOLDER, &encoded)
    }
}

/// Picks a host with probability proportional to its weight, deterministically from `r` (pass
/// a uniformly random `u64`). `None` when there is no host or every weight is zero.
pub fn pick_weighted(hosts: &[TrustedHost], r: u64) -> Option<&TrustedHost> {
    // u32 weights cannot overflow a u64 sum with any list that fits in memory.
    let total: u64 = hosts.iter().map(|h| u64::from(h.weight)).sum();
    if total == 0 {
        return None;
    }
    // The modulo bias is at most total / 2^64: negligible for any real list of weights.
    let mut target = r % total;
    for host in hosts {
        let weight = u64::from(host.weight);
        if target < weight {
            return Some(host);
        }
        target -= weight;
    }
    None
}

/// One kind of load, each with a high and a low water mark in [`SheddingConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Live (loaded) documents.
    Rooms,
    /// Live WebSocket connections.
    Connections,
    /// Resident memory of the process, in MiB.
    MemoryMib,
    /// How late a periodic tick of the runtime woke up, in milliseconds (worst over the window).
    LoopLagMs,
    /// CPU used by this process, as a percentage of the cores it may use (0–100).
    CpuPercent,
    /// Delay of room broadcasts as reported by the server, in milliseconds.
    BroadcastDelayMs,
}

impl Signal {
    /// Every signal, in the order the controller checks them (and so picks a cause when several
    /// are over their marks at once).
    pub const ALL: [Signal; 6] = [
        Signal::Rooms,
        Signal::Connections,
        Signal::MemoryMib,
        Signal::LoopLagMs,
        Signal::CpuPercent,
        Signal::BroadcastDelayMs,
    ];

    /// Stable name for logs, metrics labels and JSON (the same as its serde name).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Rooms => "rooms",
            Signal::Connections => "connections",
            Signal::MemoryMib => "memory_mib",
            Signal::LoopLagMs => "loop_lag_ms",
            Signal::CpuPercent => "cpu_percent",
            Signal::BroadcastDelayMs => "broadcast_delay_ms",
        }
    }

    /// The `[shedding]` key of its high water mark, for messages that send operators to it.
    pub fn high_key(self) -> &'static str {
        match self {
            Signal::Rooms => "rooms_high",
            Signal::Connections => "connections_high",
            Signal::MemoryMib => "memory_high_mib",
            Signal::LoopLagMs => "loop_lag_high_ms",
            Signal::CpuPercent => "cpu_high_percent",
            Signal::BroadcastDelayMs => "broadcast_delay_high_ms",
        }
    }

    /// The `[shedding]` key of its low water mark.
    pub fn low_key(self) -> &'static str {
        match self {
            Signal::Rooms => "rooms_low",
            Signal::Connections => "connections_low",
            Signal::MemoryMib => "memory_low_mib",
            Signal::LoopLagMs => "loop_lag_low_ms",
            Signal::CpuPercent => "cpu_low_percent",
            Signal::BroadcastDelayMs => "broadcast_delay_low_ms",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        shedding: SheddingConfig,
        #[serde(default)]
        trusted_hosts: Vec<TrustedHost>,
    }

    fn host(name: &str, weight: u32) -> TrustedHost {
        TrustedHost {
            name: name.into(),
            url: format!("https://{name}.example/p/{{name}}"),
            weight,
            calc_url: None,
        }
    }

    #[test]
    fn defaults_are_valid_with_a_band_for_every_signal() {
        let c = SheddingConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.hold_secs, 60);
        assert_eq!(c.mode, Mode::Auto);
        for s in Signal::ALL {
            assert!(c.low(s) < c.high(s), "{s} needs a hysteresis band");
        }
    }

    #[test]
    fn parses_the_documented_toml_names() {
        let f: File = toml::from_str(
            r#"
            [shedding]
            rooms_high = 10
            rooms_low = 5
            connections_high = 20
            connections_low = 15
            memory_high_mib = 512
            memory_low_mib = 400
            loop_lag_high_ms = 80
            loop_lag_low_ms = 10
            cpu_high_percent = 85
            cpu_low_percent = 50
            broadcast_delay_high_ms = 150
            broadcast_delay_low_ms = 30
            hold_secs = 5
            mode = "closed"

            [[trusted_hosts]]
            name = "Framapad"
            url = "https://framapad.org/p/{name}"
            weight = 3

            [[trusted_hosts]]
            name = "Other"
            url = "http://pads.example/new?name={name}"
            "#,
        )
        .expect("valid config");
        let c = f.shedding;
        let marks: Vec<(u64, u64)> = Signal::ALL
            .iter()
            .map(|s| (c.high(*s), c.low(*s)))
            .collect();
        assert_eq!(
            marks,
            [(10, 5), (20, 15), (512, 400), (80, 10), (85, 50), (150, 30)]
        );
        assert_eq!((c.hold_secs, c.mode), (5, Mode::Closed));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(f.trusted_hosts.len(), 2);
        assert_eq!(f.trusted_hosts[0].weight, 3);
        assert_eq!(f.trusted_hosts[1].weight, 1, "weight defaults to 1");
        assert!(f.trusted_hosts.iter().all(|h| h.validate().is_ok()));
    }

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_are_refused() {
        let f: File = toml::from_str("[shedding]\nrooms_high = 3000\n").expect("partial table");
        assert_eq!(
            f.shedding,
            SheddingConfig {
                rooms_high: 3000,
                ..SheddingConfig::default()
            }
        );
        let typo = toml::from_str::<File>("[shedding]\nroom_high = 3000\n");
        assert!(typo.is_err(), "a misspelt key must not be ignored");
        let mode = toml::from_str::<File>("[shedding]\nmode = \"Closed\"\n");
        assert!(mode.is_err(), "modes are lowercase");
        let extra = toml::from_str::<File>(
            "[[trusted_hosts]]\nname = \"a\"\nurl = \"https://a/{name}\"\nwieght = 2\n",
        );
        assert!(extra.is_err());
    }

    #[test]
    fn serialises_back_to_the_same_names() {
        let c = SheddingConfig {
            mode: Mode::Open,
            ..SheddingConfig::default()
        };
        let text = toml::to_string(&c).expect("serialises");
        assert!(text.contains("memory_high_mib = 1536"), "{text}");
        assert!(text.contains("mode = \"open\""), "{text}");
        assert_eq!(
            toml::from_str::<SheddingConfig>(&text).expect("parses back"),
            c
        );
    }

    #[test]
    fn low_above_high_names_both_keys() {
        let c = SheddingConfig {
            memory_low_mib: 2000,
            memory_high_mib: 1000,
            ..SheddingConfig::default()
        };
        let err = c.validate().expect_err("inverted marks");
        assert!(matches!(
            err,
            SheddingError::LowAboveHigh {
                signal: Signal::MemoryMib,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "shedding: memory_low_mib (2000) is above memory_high_mib (1000)"
        );
        let equal = SheddingConfig {
            rooms_low: 7,
            rooms_high: 7,
            ..SheddingConfig::default()
        };
        assert_eq!(equal.validate(), Ok(()));
    }

    #[test]
    fn trusted_host_validation() {
        assert_eq!(host("a", 1).validate(), Ok(()));
        let with = |url: &str, weight: u32| TrustedHost {
            name: "a".into(),
            url: url.into(),
            weight,
            calc_url: None,
        };
        assert_eq!(
            with("ftp://a/{name}", 1).validate(),
            Err(TrustedHostError::Scheme { name: "a".into() })
        );
        assert_eq!(
            with("javascript:alert(1)//{name}", 1).validate(),
            Err(TrustedHostError::Scheme { name: "a".into() })
        );
        assert_eq!(
            with("https://a/p/", 1).validate(),
            Err(TrustedHostError::NoPlaceholder { name: "a".into() })
        );
        assert_eq!(
            with("https://a/p/{name}", 0).validate(),
            Err(TrustedHostError::ZeroWeight { name: "a".into() })
        );
        let calc = |url: &str| TrustedHost {
            calc_url: Some(url.into()),
            ..host("a", 1)
        };
        assert_eq!(calc("https://a/c/{name}").validate(), Ok(()));
        assert_eq!(
            calc("javascript:x//{name}").validate(),
            Err(TrustedHostError::Scheme { name: "a".into() })
        );
        assert_eq!(
            calc("https://a/c/").validate(),
            Err(TrustedHostError::NoPlaceholder { name: "a".into() })
        );
        assert_eq!(host("a", 1).home(), "https://a.example/");
        assert_eq!(with("http://h:8080?p={name}", 1).home(), "http://h:8080/");
        assert_eq!(host("a", 1).url_for_kind(Kind::Calc, "x"), None);
        assert_eq!(
            calc("https://a/c/{name}")
                .url_for_kind(Kind::Calc, "x")
                .as_deref(),
            Some("https://a/c/x")
        );
        let nameless = TrustedHost {
            name: "  ".into(),
            ..host("a", 1)
        };
        assert!(matches!(
            nameless.validate(),
            Err(TrustedHostError::EmptyName { .. })
        ));
    }

    #[test]
    fn url_for_encodes_the_pad_name() {
        let h = TrustedHost {
            name: "a".into(),
            url: "https://a.example/p/{name}?from={name}".into(),
            weight: 1,
            calc_url: None,
        };
        assert_eq!(
            h.url_for("réunion 2/3&x"),
            "https://a.example/p/r%C3%A9union%202%2F3%26x?from=r%C3%A9union%202%2F3%26x"
        );
        assert_eq!(
            h.url_for("ok-name_1.~"),
            "https://a.example/p/ok-name_1.~?from=ok-name_1.~"
        );
    }

    #[test]
    fn pick_weighted_follows_weights_exactly_over_one_period() {
        let hosts = [host("a", 1), host("b", 3), host("c", 0), host("d", 2)];
        let mut counts = std::collections::HashMap::new();
        for r in 0..6 {
            let picked = pick_weighted(&hosts, r).expect("some host");
            *counts.entry(picked.name.as_str()).or_insert(0) += 1;
        }
        assert_eq!(counts.get("a"), Some(&1));
        assert_eq!(counts.get("b"), Some(&3));
        assert_eq!(counts.get("c"), None, "weight 0 is never picked");
        assert_eq!(counts.get("d"), Some(&2));
    }

    #[test]
    fn pick_weighted_is_deterministic_and_total() {
        let hosts = [host("a", 1), host("b", 3)];
        for r in [0, 1, 2, 3, 4, 1 << 40, u64::MAX] {
            let first = pick_weighted(&hosts, r).map(|h| h.name.clone());
            assert!(first.is_some());
            assert_eq!(first, pick_weighted(&hosts, r).map(|h| h.name.clone()));
        }
        assert_eq!(pick_weighted(&hosts, 0).map(|h| h.name.as_str()), Some("a"));
        assert_eq!(pick_weighted(&hosts, 1).map(|h| h.name.as_str()), Some("b"));
        assert_eq!(pick_weighted(&hosts, 4).map(|h| h.name.as_str()), Some("a"));
        assert!(pick_weighted(&[], 7).is_none());
        assert!(pick_weighted(&[host("z", 0)], 7).is_none());
    }
}
