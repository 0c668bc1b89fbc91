//! The sampling task: measures every [`SAMPLE_EVERY`], feeds the [`Controller`], logs each
//! transition once and publishes the state to cheap, cloneable [`AdmissionHandle`]s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::controller::{Cause, Controller, Transition};
use super::probe::{self, CpuMeter, LagMeter};
use super::signal::{Sample, Signal};
use crate::config::shedding::{Mode, SheddingConfig};

/// Interval between samples: with it, a signal above its high mark closes creation well within
/// a second.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// What only the server knows, read once per sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// Live (loaded) documents.
    pub rooms: usize,
    /// Live WebSocket connections.
    pub connections: usize,
    /// Room broadcast delay in ms (NaN if unknown).
    pub broadcast_delay_ms: f64,
}

/// What the admission task last decided, and on what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdmissionState {
    /// Whether new documents may be created.
    pub open: bool,
    /// Who decides.
    pub mode: Mode,
    /// The signal and value that closed creation automatically, while it stays closed.
    pub cause: Option<(Signal, f64)>,
    /// The latest sample (all NaN before the first one).
    pub last: Sample,
}

/// The admission task is gone (shutdown), so the command was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the admission task has stopped")]
pub struct AdmissionStopped;

/// A request to change the mode, answered once applied.
#[derive(Debug)]
struct Command {
    mode: Mode,
    done: oneshot::Sender<AdmissionState>,
}

/// Shared access to the admission task: read the decision, change the mode.
#[derive(Debug, Clone)]
pub struct AdmissionHandle {
    /// The decision alone, for the per-request check (no lock at all).
    open: Arc<AtomicBool>,
    state: watch::Receiver<AdmissionState>,
    commands: mpsc::Sender<Command>,
}

impl AdmissionHandle {
    /// Whether new documents may be created now. One atomic load: call it on every request.
    pub fn is_open(&self) -> bool {
        // Relaxed: the flag publishes no other data; a request racing a transition may see
        // either side of it, which is inherent anyway.
        self.open.load(Ordering::Relaxed)
    }

    /// A copy of the current state (the lock is held only while cloning).
    pub fn state(&self) -> AdmissionState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every published state (one per sample, and one per mode change).
    pub fn subscribe(&self) -> watch::Receiver<AdmissionState> {
        self.state.clone()
    }

    /// The operator's override. Returns once the task has applied it, with the resulting state,
    /// so a response built after it (or a test) never sees the old decision.
    pub async fn set_mode(&self, mode: Mode) -> Result<AdmissionState, AdmissionStopped> {
        let (done, applied) = oneshot::channel();
        self.commands
            .send(Command { mode, done })
            .await
            .map_err(|_| AdmissionStopped)?;
        applied.await.map_err(|_| AdmissionStopped)
    }
}

/// Starts the admission task (and its event-loop lag ticker) on the current tokio runtime; both
/// stop when `shutdown` is cancelled.
///
/// `inputs` is called on the runtime once per sample and must be cheap and non-blocking
/// (counters, atomics). `config` should have passed [`SheddingConfig::validate`]; inverted marks
/// do not panic, they only make creation hard to reopen.
pub fn spawn(
    config: SheddingConfig,
    inputs: Arc<dyn Fn() -> Inputs + Send + Sync>,
    shutdown: CancellationToken,
) -> AdmissionHandle {
    let controller = Controller::new(&config);
    let initial = AdmissionState {
        open: controller.is_open(),
        mode: controller.mode(),
        cause: None,
        last: Sample::UNKNOWN,
    };
    let open = Arc::new(AtomicBool::new(initial.open));
    let (state_tx, state_rx) = watch::channel(initial);
    // Commands come from operators: a few at a time at most; senders wait when it is full.
    let (command_tx, command_rx) = mpsc::channel(8);
    let lag = Arc::new(LagMeter::new(Instant::now()));
    tokio::spawn(lag.clone().run(shutdown.clone()));
    let sampler = Sampler {
        controller,
        inputs,
        cpu: CpuMeter::for_this_process(),
        lag,
        open: open.clone(),
        state: state_tx,
        last: Sample::UNKNOWN,
    };
    tokio::spawn(sampler.run(command_rx, shutdown));
    AdmissionHandle {
        open,
        state: state_rx,
        commands: command_tx,
    }
}

/// The task's own state.
struct Sampler {
    controller: Controller,
    inputs: Arc<dyn Fn() -> Inputs + Send + Sync>,
    cpu: CpuMeter,
    /// Worst lag of each window; like every signal, it closes creation only when sustained
    /// (the controller's rule), not for one slow task.
    lag: Arc<LagMeter>,
    open: Arc<AtomicBool>,
    state: watch::Sender<AdmissionState>,
    last: Sample,
}

impl Sampler {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        // After a stall, one sample is enough; a burst of catch-up samples would add nothing.
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                Some(command) = commands.recv() => {
                    let previous = self.controller.mode();
                    match self.controller.set_mode(command.mode, Instant::now()) {
                        Some(transition) => log(&transition),
                        None if previous != command.mode => {
                            tracing::info!(
                                mode = command.mode.as_str(),
                                open = self.controller.is_open(),
                                "admission mode set by the operator"
                            );
                        }
                        None => {}
                    }
                    // The operator may have gone away meanwhile; the change stands anyway.
                    let _ = command.done.send(self.publish());
                }
                _ = tick.tick() => {
                    self.last = self.measure();
                    if let Some(transition) = self.controller.observe(&self.last, Instant::now()) {
                        log(&transition);
                    }
                    self.publish();
                }
            }
        }
    }

    /// One sample. The `/proc` reads are a few small in-memory files: cheaper than handing them
    /// to a blocking thread.
    fn measure(&mut self) -> Sample {
        let inputs = (self.inputs)();
        Sample {
            rooms: inputs.rooms as f64,
            connections: inputs.connections as f64,
            memory_mib: probe::rss_mib(),
            loop_lag_ms: self.lag.take(Instant::now()),
            cpu_percent: self
                .cpu
                .sample(std::time::Instant::now(), probe::cpu_ticks()),
            broadcast_delay_ms: inputs.broadcast_delay_ms,
        }
    }

    fn publish(&self) -> AdmissionState {
        let state = AdmissionState {
            open: self.controller.is_open(),
            mode: self.controller.mode(),
            cause: self.controller.last_cause(),
            last: self.last,
        };
        self.open.store(state.open, Ordering::Relaxed);
        self.state.send_replace(state.clone());
        state
    }
}

/// Logs a transition, once, with its cause.
fn log(transition: &Transition) {
    match transition.cause {
        Cause::Overload {
            signal,
            value,
            high,
        } => tracing::warn!(
            signal = signal.name(),
            value,
            high,
            "creation of new documents closed: {signal} above its high mark"
        ),
        Cause::Calm { hold } => tracing::info!(
            hold_secs = hold.as_secs(),
            "creation of new documents reopened: every signal stayed at or below its low mark"
        ),
        Cause::Operator(mode) if transition.open => tracing::info!(
            mode = mode.as_str(),
            "creation of new documents forced open by the operator"
        ),
        Cause::Operator(mode) => tracing::warn!(
            mode = mode.as_str(),
            "creation of new documents forced closed by the operator"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize};
    use tokio::time::sleep;

    #[derive(Default)]
    struct Load {
        rooms: AtomicUsize,
        connections: AtomicUsize,
        broadcast_delay_ms: AtomicU64,
    }

    impl Load {
        fn set_rooms(&self, n: usize) {
            self.rooms.store(n, Ordering::Relaxed);
        }
    }

    /// Marks on the server's inputs only: the OS probes measure the test process, whatever it
    /// does, so their marks are out of reach.
    fn config() -> SheddingConfig {
        SheddingConfig {
            rooms_high: 10,
            rooms_low: 5,
            connections_high: 100,
            connections_low: 50,
            memory_high_mib: u64::MAX,
            memory_low_mib: u64::MAX,
            loop_lag_high_ms: u64::MAX,
            loop_lag_low_ms: u64::MAX,
            cpu_high_percent: u64::MAX,
            cpu_low_percent: u64::MAX,
            broadcast_delay_high_ms: 200,
            broadcast_delay_low_ms: 50,
            hold_secs: 60,
            mode: Mode::Auto,
        }
    }

    fn start(config: SheddingConfig) -> (Arc<Load>, AdmissionHandle, CancellationToken) {
        let load = Arc::new(Load::default());
        let read = load.clone();
        let inputs = Arc::new(move || Inputs {
            rooms: read.rooms.load(Ordering::Relaxed),
            connections: read.connections.load(Ordering::Relaxed),
            broadcast_delay_ms: read.broadcast_delay_ms.load(Ordering::Relaxed) as f64,
        });
        let shutdown = CancellationToken::new();
        let handle = spawn(config, inputs, shutdown.clone());
        (load, handle, shutdown)
    }

    #[tokio::test(start_paused = true)]
    async fn closes_within_a_second_and_reopens_after_the_hold() {
        let (load, handle, shutdown) = start(config());
        assert!(handle.is_open());
        assert!(handle.state().last.rooms.is_nan(), "nothing sampled yet");
        sleep(Duration::from_millis(10)).await;
        let state = handle.state();
        assert_eq!(state.last.rooms, 0.0, "first sample taken at once");
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(state.last.memory_mib > 0.0);
        }

        load.set_rooms(11);
        sleep(Duration::from_secs(1)).await;
        assert!(!handle.is_open());
        let state = handle.state();
        assert_eq!((state.open, state.mode), (false, Mode::Auto));
        assert_eq!(state.cause, Some((Signal::Rooms, 11.0)));

        load.set_rooms(5);
        sleep(Duration::from_secs(59)).await;
        assert!(!handle.is_open(), "within the hold");
        sleep(Duration::from_secs(2)).await;
        assert!(handle.is_open(), "after the hold");
        assert_eq!(handle.state().cause, None);
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn every_server_input_is_a_signal() {
        for signal in [Signal::Connections, Signal::BroadcastDelayMs] {
            let (load, handle, shutdown) = start(config());
            if signal == Signal::Connections {
                load.connections.store(101, Ordering::Relaxed);
            } else {
                load.broadcast_delay_ms.store(201, Ordering::Relaxed);
            }
            sleep(Duration::from_millis(800)).await;
            assert_eq!(handle.state().cause.map(|c| c.0), Some(signal));
            assert!(!handle.is_open());
            shutdown.cancel();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_blip_restarts_the_hold() {
        let (load, handle, shutdown) = start(config());
        load.set_rooms(11);
        sleep(Duration::from_millis(800)).await;
        load.set_rooms(0);
        sleep(Duration::from_secs(50)).await;
        load.set_rooms(6);
        sleep(Duration::from_millis(300)).await;
        load.set_rooms(0);
        sleep(Duration::from_secs(59)).await;
        assert!(!handle.is_open(), "hold restarted by the blip");
        sleep(Duration::from_secs(2)).await;
        assert!(handle.is_open());
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn operator_override_applies_before_set_mode_returns() {
        let (load, handle, shutdown) = start(config());
        let state = handle.set_mode(Mode::Closed).await.expect("task runs");
        assert_eq!(
            (state.open, state.mode, state.cause),
            (false, Mode::Closed, None)
        );
        assert!(!handle.is_open(), "no sample needed");

        let state = handle.set_mode(Mode::Open).await.expect("task runs");
        assert_eq!((state.open, state.mode), (true, Mode::Open));
        load.set_rooms(1000);
        sleep(Duration::from_secs(2)).await;
        assert!(handle.is_open(), "forced open ignores the load");

        let state = handle.set_mode(Mode::Auto).await.expect("task runs");
        assert_eq!((state.open, state.mode), (true, Mode::Auto), "bumpless");
        sleep(Duration::from_millis(800)).await;
        assert!(!handle.is_open(), "the next sample decides");
        assert_eq!(handle.state().cause, Some((Signal::Rooms, 1000.0)));
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn starts_in_the_configured_mode() {
        let (_load, handle, shutdown) = start(SheddingConfig {
            mode: Mode::Closed,
            ..config()
        });
        assert!(!handle.is_open());
        sleep(Duration::from_secs(120)).await;
        assert!(!handle.is_open(), "forced closed stays closed when idle");
        assert_eq!(handle.state().mode, Mode::Closed);
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn subscribers_see_the_transition() {
        let (load, handle, shutdown) = start(config());
        let mut states = handle.subscribe();
        load.set_rooms(50);
        let closed = tokio::time::timeout(Duration::from_secs(1), states.wait_for(|s| !s.open))
            .await
            .expect("within a second")
            .expect("task runs")
            .clone();
        assert_eq!(closed.cause, Some((Signal::Rooms, 50.0)));
        shutdown.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn set_mode_fails_once_stopped() {
        let (_load, handle, shutdown) = start(config());
        shutdown.cancel();
        sleep(Duration::from_millis(1)).await;
        assert_eq!(handle.set_mode(Mode::Closed).await, Err(AdmissionStopped));
        assert!(handle.is_open(), "the last decision stays readable");
    }
}
