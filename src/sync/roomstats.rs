//! What every room's hot path counts: updates and bytes in and out, how long an update waits
//! before its broadcast is queued, and how long before it is persisted. One [`RoomStats`] is
//! shared by all rooms; `/metrics` reads it at scrape time and the admission controller takes
//! the worst broadcast delay of each sampling window from it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

/// Histogram buckets, in seconds: 0.5 ms to 5 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// Counters and histograms of all rooms. Cloning a metric shares it, so `metrics.rs` registers
/// clones of these and reads the same values.
#[derive(Debug)]
pub struct RoomStats {
    /// Document updates accepted from connections.
    pub updates_in: Counter,
    /// Bytes of those updates.
    pub update_bytes_in: Counter,
    /// Update broadcasts (one frame each, after coalescing).
    pub broadcasts: Counter,
    /// Bytes queued to connections: update and awareness frames times their recipients.
    pub bytes_out: Counter,
    /// Oldest update of a broadcast: arrival at the room → broadcast queued, in seconds.
    pub broadcast_delay: Histogram,
    /// Oldest update of a log entry: arrival at the room → appended to storage, in seconds.
    pub persist_lag: Histogram,
    /// Largest broadcast delay since the admission controller last asked, in microseconds.
    window_max_us: AtomicU64,
}

impl Default for RoomStats {
    fn default() -> Self {
        Self {
            updates_in: Counter::default(),
            update_bytes_in: Counter::default(),
            broadcasts: Counter::default(),
            bytes_out: Counter::default(),
            broadcast_delay: Histogram::new(BUCKETS),
            persist_lag: Histogram::new(BUCKETS),
            window_max_us: AtomicU64::new(0),
        }
    }
}

impl RoomStats {
    /// Records one broadcast whose oldest update waited `delay`.
    pub fn broadcast(&self, delay: Duration) {
        self.broadcasts.inc();
        self.broadcast_delay.observe(delay.as_secs_f64());
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.window_max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The largest broadcast delay since the previous call, in milliseconds, and starts a new
    /// window. 0 when nothing was broadcast: an idle server has no delay.
    pub fn take_window_max_ms(&self) -> f64 {
        self.window_max_us.swap(0, Ordering::Relaxed) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_max_resets_on_read() {
        let stats = RoomStats::default();
        assert_eq!(stats.take_window_max_ms(), 0.0);
        stats.broadcast(Duration::from_millis(3));
        stats.broadcast(Duration::from_millis(40));
        stats.broadcast(Duration::from_millis(7));
        assert_eq!(stats.take_window_max_ms(), 40.0);
        assert_eq!(stats.take_window_max_ms(), 0.0, "a new window starts empty");
        assert_eq!(stats.broadcasts.get(), 3);
    }
}
