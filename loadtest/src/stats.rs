//! Latency histograms (HDR: constant relative error, constant memory) and their percentiles.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Longest latency a histogram holds, in microseconds (longer samples are clamped to it).
const MAX_US: u64 = 3_600_000_000;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

/// An empty histogram of microseconds, 1 µs to 1 h, three significant digits.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_US, 3).unwrap_or_else(|_| unreachable!("valid bounds"))
}

/// Records `d` in a histogram of microseconds, clamped to its range.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros())
        .unwrap_or(MAX_US)
        .clamp(1, MAX_US);
    h.saturating_record(us);
}

/// Summarises a histogram of microseconds; `None` when it is empty.
pub fn summarize(h: &Histogram<u64>) -> Option<Summary> {
    let ms = |us: u64| us as f64 / 1000.0;
    (!h.is_empty()).then(|| Summary {
        count: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p95_ms: ms(h.value_at_quantile(0.95)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p999_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    })
}

/// The 99th percentile of a histogram of microseconds, in milliseconds (0 when empty).
pub fn p99_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(0.99) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_a_thousandth() {
        let mut h = histogram();
        for ms in 1..=100u64 {
            record(&mut h, Duration::from_millis(ms));
        }
        let s = summarize(&h).expect("samples");
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() <= 0.05, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() <= 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() <= 0.1, "{s:?}");
        assert_eq!(summarize(&histogram()), None);
        assert_eq!(p99_ms(&histogram()), 0.0);
    }

    #[test]
    fn out_of_range_samples_are_clamped() {
        let mut h = histogram();
        record(&mut h, Duration::from_secs(1 << 40));
        record(&mut h, Duration::ZERO);
        assert_eq!(h.len(), 2);
    }
}
