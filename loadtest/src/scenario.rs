//! The load shapes of `PEERS.md` and the bounds every run stays within.

use std::time::Duration;

use anyhow::{ensure, Result};
use clap::ValueEnum;
use serde::Serialize;

/// Most client connections one run may open (documents' clients plus the create storm).
pub const MAX_CLIENTS: usize = 15_000;
/// Longest measured phase.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Highest edit rate of one writer, per second.
pub const MAX_RATE: f64 = 1000.0;
/// Highest connection rate, per second.
pub const MAX_CONNECT_RATE: f64 = 10_000.0;

/// A named load shape (PEERS.md, "Scenarios").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// 20 docs × (2 writers + 8 readers), 5 edits/s per writer, 30 s.
    A,
    /// 1 doc × (20 writers + 180 readers), 2 edits/s per writer, 30 s.
    B,
    /// 200 docs × 10 idle clients: sync latency and memory per connection.
    C,
    /// 200 docs × (1 writer + 4 readers), 2 edits/s per writer, 30 s.
    D,
    /// 500 connections to brand-new docs at 50/s while (a) runs.
    E,
    /// Nothing preset: 1 doc × (1 writer + 1 reader), 1 edit/s, 10 s, unless overridden.
    Custom,
}

/// Everything one run does. Counts of writers and readers are per document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The preset this plan started from.
    pub scenario: Scenario,
    /// Documents under load.
    pub docs: usize,
    /// Writers per document.
    pub writers: usize,
    /// Readers per document.
    pub readers: usize,
    /// Edits per second of each writer.
    pub rate: f64,
    /// Length of the measured phase, in seconds.
    pub duration_secs: f64,
    /// Connections to brand-new documents opened while the load runs.
    pub storm_conns: usize,
    /// Rate of those connections, per second.
    pub storm_rate: f64,
    /// Rate at which the documents' clients connect before the measured phase, per second.
    pub connect_rate: f64,
    /// Longest wait for outstanding deliveries after the last edit, in seconds.
    pub drain_secs: f64,
    /// Characters inserted by each edit.
    pub chars: usize,
    /// Readers count frames without decoding them (latency is then measured by the writers).
    pub count_readers: bool,
    /// Each edit is followed by an awareness update moving the writer's cursor, as an editor
    /// sends on every keystroke.
    pub cursor: bool,
}

impl Scenario {
    /// The plan PEERS.md describes for this scenario.
    pub fn preset(self) -> Plan {
        let base = Plan {
            scenario: self,
            docs: 1,
            writers: 1,
            readers: 1,
            rate: 1.0,
            duration_secs: 30.0,
            storm_conns: 0,
            storm_rate: 50.0,
            connect_rate: 500.0,
            drain_secs: 3.0,
            chars: 4,
            count_readers: false,
            cursor: false,
        };
        let a = Plan {
            docs: 20,
            writers: 2,
            readers: 8,
            rate: 5.0,
            ..base.clone()
        };
        match self {
            Scenario::A => a,
            Scenario::B => Plan {
                docs: 1,
                writers: 20,
                readers: 180,
                rate: 2.0,
                ..base
            },
            Scenario::C => Plan {
                docs: 200,
                writers: 0,
                readers: 10,
                rate: 0.0,
                ..base
            },
            Scenario::D => Plan {
                docs: 200,
                writers: 1,
                readers: 4,
                rate: 2.0,
                ..base
            },
            Scenario::E => Plan {
                storm_conns: 500,
                ..a
            },
            Scenario::Custom => Plan {
                duration_secs: 10.0,
                ..base
            },
        }
    }
}

impl Plan {
    /// Clients connected to the documents under load.
    pub fn doc_clients(&self) -> usize {
        self.docs * (self.writers + self.readers)
    }

    /// The measured phase.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration_secs)
    }

    /// The longest drain.
    pub fn drain(&self) -> Duration {
        Duration::from_secs_f64(self.drain_secs)
    }

    /// Fails unless the plan is within the bounds above.
    pub fn validate(&self) -> Result<()> {
        let clients = self
            .docs
            .checked_mul(self.writers.saturating_add(self.readers))
            .and_then(|n| n.checked_add(self.storm_conns))
            .unwrap_or(usize::MAX);
        ensure!(
            clients <= MAX_CLIENTS,
            "{clients} connections asked, at most {MAX_CLIENTS} allowed"
        );
        ensure!(self.docs >= 1, "at least one document is needed");
        ensure!(
            self.writers + self.readers >= 1,
            "each document needs at least one client"
        );
        ensure!(
            self.rate.is_finite() && (0.0..=MAX_RATE).contains(&self.rate),
            "--rate must be within 0..={MAX_RATE}"
        );
        ensure!(
            self.writers == 0 || self.rate > 0.0,
            "writers need a positive --rate"
        );
        let max = MAX_DURATION.as_secs_f64();
        ensure!(
            self.duration_secs.is_finite() && self.duration_secs > 0.0 && self.duration_secs <= max,
            "--duration-secs must be within (0, {max}]"
        );
        ensure!(
            (1..=1000).contains(&self.chars),
            "--chars must be within 1..=1000"
        );
        ensure!(
            self.drain_secs.is_finite() && (0.0..=60.0).contains(&self.drain_secs),
            "--drain-secs must be within 0..=60"
        );
        for (name, rate) in [
            ("--connect-rate", self.connect_rate),
            ("--storm-rate", self.storm_rate),
        ] {
            ensure!(
                rate.is_finite() && rate > 0.0 && rate <= MAX_CONNECT_RATE,
                "{name} must be within (0, {MAX_CONNECT_RATE}]"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_peers() {
        let b = Scenario::B.preset();
        assert_eq!((b.docs, b.writers, b.readers, b.rate), (1, 20, 180, 2.0));
        assert_eq!(Scenario::C.preset().doc_clients(), 2000);
        let e = Scenario::E.preset();
        assert_eq!((e.docs, e.storm_conns, e.storm_rate), (20, 500, 50.0));
        for s in [
            Scenario::A,
            Scenario::B,
            Scenario::C,
            Scenario::D,
            Scenario::E,
        ] {
            s.preset().validate().expect("presets are within bounds");
        }
    }

    #[test]
    fn bounds_are_enforced() {
        let mut p = Scenario::A.preset();
        p.docs = 10_000;
        assert!(p.validate().is_err());
        let mut p = Scenario::A.preset();
        p.duration_secs = 1e9;
        assert!(p.validate().is_err());
    }
}
