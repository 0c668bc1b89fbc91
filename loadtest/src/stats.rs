//! Latency samples and their percentiles.

use serde::{Deserialize, Serialize};

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
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

/// Nearest-rank percentile `q` (0–100) of samples sorted in ascending order.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Summarises samples given in microseconds; `None` when there are none.
pub fn summarize(mut samples_us: Vec<u32>) -> Option<Summary> {
    samples_us.sort_unstable();
    let ms = |q: f64| percentile(&samples_us, q).map_or(0.0, |us| f64::from(us) / 1000.0);
    (!samples_us.is_empty()).then(|| Summary {
        count: samples_us.len(),
        p50_ms: ms(50.0),
        p95_ms: ms(95.0),
        p99_ms: ms(99.0),
        p999_ms: ms(99.9),
        max_ms: ms(100.0),
    })
}

/// A duration in whole microseconds, saturating (for samples stored as `u32`).
pub fn micros(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50));
        assert_eq!(percentile(&samples, 99.0), Some(99));
        assert_eq!(percentile(&samples, 99.9), Some(100));
        assert_eq!(percentile(&samples, 100.0), Some(100));
        assert_eq!(percentile(&samples, 0.0), Some(1));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_sorts_and_converts_to_ms() {
        let s = summarize(vec![3000, 1000, 2000, 4000]).expect("samples");
        assert_eq!(s.count, 4);
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p99_ms, 4.0);
        assert_eq!(s.max_ms, 4.0);
        assert_eq!(summarize(Vec::new()), None);
    }

    #[test]
    fn micros_saturate() {
        assert_eq!(micros(std::time::Duration::from_millis(3)), 3000);
        assert_eq!(micros(std::time::Duration::from_secs(1 << 40)), u32::MAX);
    }
}
