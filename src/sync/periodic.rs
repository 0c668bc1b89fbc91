//! Work a task repeats until shutdown (a node's report, its lease renewal), with its failures
//! logged once per run of them: an outage fails every round alike, so one line says when it
//! started and one when it ended.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How often a node repeats what must not lapse within a `lease` (its report, its lease
/// renewal): every third of it, so two rounds may fail (a slow database) before it does; at
/// most ten times a second, however short the lease.
pub fn within_lease(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(100))
}

/// Runs `work` at `first`, then every `period`, until `shutdown`. A round that comes late
/// (a stalled process) is just late, never followed by a burst of catch-up rounds. A failure
/// is logged as `failed` when the round before succeeded, a success after failures as
/// `recovered`; failures are never fatal: the next round tries again.
pub async fn every<F, Fut, E>(
    first: Instant,
    period: Duration,
    shutdown: &CancellationToken,
    (failed, recovered): (&str, &str),
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match work().await {
            Ok(()) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("{recovered}");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "{failed}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn runs_at_first_then_every_period_through_failures_until_shutdown() {
        let shutdown = CancellationToken::new();
        let runs = Cell::new(0u32);
        let period = Duration::from_secs(2);
        let start = Instant::now();
        let work = || {
            runs.set(runs.get() + 1);
            let n = runs.get();
            if n == 4 {
                shutdown.cancel();
            }
            // The second and third rounds fail: the rounds go on.
            async move {
                if n == 2 || n == 3 {
                    Err("down")
                } else {
                    Ok(())
                }
            }
        };
        every(
            start + period,
            period,
            &shutdown,
            ("failed", "recovered"),
            work,
        )
        .await;
        assert_eq!(runs.get(), 4);
        assert_eq!(Instant::now() - start, period * 4);
    }
}
