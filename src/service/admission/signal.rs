//! What the admission controller watches: a [`Sample`] holding one value of each [`Signal`]
//! (the kinds of load, named by the `[shedding]` configuration).

use serde::Serialize;

pub use crate::config::shedding::Signal;

/// One measurement of every signal.
///
/// A value that could not be measured (no `/proc`, no CPU baseline yet) is NaN: the controller
/// ignores non-finite values, so a broken probe neither closes creation nor keeps it closed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Live documents.
    pub rooms: f64,
    /// Live WebSocket connections.
    pub connections: f64,
    /// Resident memory, MiB.
    pub memory_mib: f64,
    /// Worst event-loop lag over the window, ms.
    pub loop_lag_ms: f64,
    /// Process CPU, percent of the usable cores.
    pub cpu_percent: f64,
    /// Broadcast delay, ms.
    pub broadcast_delay_ms: f64,
}

impl Sample {
    /// Nothing measured yet.
    pub const UNKNOWN: Sample = Sample {
        rooms: f64::NAN,
        connections: f64::NAN,
        memory_mib: f64::NAN,
        loop_lag_ms: f64::NAN,
        cpu_percent: f64::NAN,
        broadcast_delay_ms: f64::NAN,
    };

    /// Every signal at zero: an idle server.
    pub const ZERO: Sample = Sample {
        rooms: 0.0,
        connections: 0.0,
        memory_mib: 0.0,
        loop_lag_ms: 0.0,
        cpu_percent: 0.0,
        broadcast_delay_ms: 0.0,
    };

    /// The value of `signal`.
    pub fn get(&self, signal: Signal) -> f64 {
        match signal {
            Signal::Rooms => self.rooms,
            Signal::Connections => self.connections,
            Signal::MemoryMib => self.memory_mib,
            Signal::LoopLagMs => self.loop_lag_ms,
            Signal::CpuPercent => self.cpu_percent,
            Signal::BroadcastDelayMs => self.broadcast_delay_ms,
        }
    }

    /// Sets the value of `signal`.
    pub fn set(&mut self, signal: Signal, value: f64) {
        let slot = match signal {
            Signal::Rooms => &mut self.rooms,
            Signal::Connections => &mut self.connections,
            Signal::MemoryMib => &mut self.memory_mib,
            Signal::LoopLagMs => &mut self.loop_lag_ms,
            Signal::CpuPercent => &mut self.cpu_percent,
            Signal::BroadcastDelayMs => &mut self.broadcast_delay_ms,
        };
        *slot = value;
    }

    /// This sample with `signal` set to `value`.
    pub fn with(mut self, signal: Signal, value: f64) -> Self {
        self.set(signal, value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_match_serde_and_config_keys() {
        let names: Vec<&str> = Signal::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "rooms",
                "connections",
                "memory_mib",
                "loop_lag_ms",
                "cpu_percent",
                "broadcast_delay_ms"
            ]
        );
        for s in Signal::ALL {
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                serde_json::Value::from(s.name())
            );
            assert_eq!(s.to_string(), s.name());
            assert!(s.high_key().contains("_high"), "{}", s.high_key());
            assert_eq!(s.low_key(), s.high_key().replace("_high", "_low"));
        }
    }

    #[test]
    fn get_reads_what_set_wrote() {
        for (i, s) in Signal::ALL.into_iter().enumerate() {
            let sample = Sample::ZERO.with(s, i as f64 + 1.0);
            assert_eq!(sample.get(s), i as f64 + 1.0);
            let others = Signal::ALL.into_iter().filter(|o| *o != s);
            assert!(others.map(|o| sample.get(o)).all(|v| v == 0.0));
        }
        assert!(Signal::ALL.iter().all(|s| Sample::UNKNOWN.get(*s).is_nan()));
    }
}
