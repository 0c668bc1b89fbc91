//! The clock of retention and of rooms' edit times.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where retention reads the time: the system clock, or (in tests under paused tokio time) a
/// clock that advances with tokio's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    paused: Option<(u64, tokio::time::Instant)>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `start` (Unix seconds) now and advances with tokio's time, so tests
    /// with paused time can move it with `tokio::time::advance`.
    pub fn following_tokio(start: u64) -> Self {
        Self {
            paused: Some((start, tokio::time::Instant::now())),
        }
    }

    /// Seconds since the Unix epoch (0 if the system clock is before it).
    pub fn now(&self) -> u64 {
        match self.paused {
            Some((start, since)) => start + since.elapsed().as_secs(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    /// Milliseconds since the Unix epoch (0 if the system clock is before it): the time of
    /// history entries.
    pub fn now_ms(&self) -> u64 {
        match self.paused {
            Some((start, since)) => start
                .saturating_mul(1000)
                .saturating_add(u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_test_clock_follows_tokio() {
        let clock = Clock::following_tokio(1000);
        assert_eq!(clock.now(), 1000);
        tokio::time::advance(std::time::Duration::from_secs(61)).await;
        assert_eq!(clock.now(), 1061);
        tokio::time::advance(std::time::Duration::from_millis(250)).await;
        assert_eq!(clock.now_ms(), 1_061_250);
    }
}
