//! File work off the async workers: a pad export, and the bounds every file job (pad and calc
//! exports, calc imports and API views) runs within, so downloads cannot starve the editors.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::convert::pad::{export_pad, ExportOptions, PadFormat};
use crate::doc::name::DocName;
use crate::service::ServiceError;
use crate::sync::hub::Hub;

/// Longest an export may take before the client is told to try again.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Renders document `name` in `format` on the blocking pool, at most `EXPORTS_AT_ONCE`
/// (`lib.rs`) at a time (`slots`, the `exports` semaphore) and bounded in time: the one export
/// path of pages and the API.
pub async fn render_pad(
    hub: &Hub,
    slots: &Arc<Semaphore>,
    name: &DocName,
    format: PadFormat,
    options: ExportOptions,
) -> Result<Vec<u8>, ServiceError> {
    let snapshot = hub.snapshot(name).await?.ok_or(ServiceError::NotFound)?;
    bounded(slots, name, "export", move || {
        export_pad(&snapshot, format, &options)
    })
    .await?
    .map_err(|e| {
        tracing::error!(doc = %name, %format, error = %e, "export failed");
        ServiceError::FileJobFailed
    })
}

/// Runs `job` on the blocking pool within the export bounds — at most as many at once as
/// `slots` (the `exports` semaphore) allows, answered within `EXPORT_TIMEOUT` (waiting for a
/// slot included) — so file work cannot starve the editors. Pad exports and calc exports and
/// imports share it.
pub async fn bounded<T, E>(
    slots: &Arc<Semaphore>,
    doc: &DocName,
    what: &'static str,
    job: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<Result<T, E>, ServiceError>
where
    T: Send + 'static,
    E: Send + 'static,
{
    match run_bounded(slots.clone(), EXPORT_TIMEOUT, job).await {
        Ok(result) => Ok(result),
        Err(Bounded::Closed) => Err(ServiceError::ShuttingDown),
        Err(Bounded::Panicked) => {
            tracing::error!(doc = %doc, what, "file job panicked");
            Err(ServiceError::FileJobFailed)
        }
        Err(Bounded::Busy) => {
            tracing::warn!(doc = %doc, what, "file job found no free slot in time");
            Err(ServiceError::FileJobFailed)
        }
        Err(Bounded::TimedOut) => {
            tracing::warn!(doc = %doc, what, "file job timed out");
            Err(ServiceError::FileJobFailed)
        }
    }
}

/// Why [`run_bounded`] gave no result.
#[derive(Debug, PartialEq, Eq)]
enum Bounded {
    /// The semaphore is closed (shutting down).
    Closed,
    /// No slot freed up before the deadline.
    Busy,
    /// The job ran past the deadline; it keeps its slot until it returns.
    TimedOut,
    /// The job panicked.
    Panicked,
}

/// Runs `job` on the blocking pool holding one permit of `slots`, waiting at most `timeout` in
/// all. The permit moves into the job and is released only when the job returns, not when the
/// caller gives up: a blocking thread cannot be stopped, so a timed-out job still counts against
/// the slots, and timed-out work can never pile up beyond them (each export's memory and CPU
/// stay bounded by the slots, and its own work by `convert::calc::budget`).
async fn run_bounded<T, E>(
    slots: Arc<Semaphore>,
    timeout: Duration,
    job: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<Result<T, E>, Bounded>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let permit = match tokio::time::timeout_at(deadline, slots.acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => return Err(Bounded::Closed),
        Err(_) => return Err(Bounded::Busy),
    };
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(Bounded::Panicked),
        Err(_) => Err(Bounded::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timed_out_job_keeps_its_slot_until_it_returns() {
        let slots = Arc::new(Semaphore::new(1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        // The deadline is short so the test is quick; the job waits on a channel, not a clock.
        let stuck = run_bounded(slots.clone(), Duration::from_millis(50), move || {
            let _ = started_tx.send(());
            wait.recv().map_err(|_| ())
        })
        .await;
        assert_eq!(stuck.err(), Some(Bounded::TimedOut));
        started.await.expect("the job ran");
        assert_eq!(
            slots.available_permits(),
            0,
            "the stuck job still holds its slot"
        );
        let next = run_bounded(slots.clone(), Duration::from_millis(50), || Ok::<_, ()>(1)).await;
        assert_eq!(next.err(), Some(Bounded::Busy));
        release.send(()).expect("the job still waits");
        let _free = slots
            .acquire()
            .await
            .expect("the slot comes back once the job returns");
        drop(_free);
        let done = run_bounded(slots.clone(), Duration::from_secs(30), || Ok::<_, ()>(2)).await;
        assert_eq!(done, Ok(Ok(2)));
    }
}
