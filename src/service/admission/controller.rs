//! The admission state machine: pure, fed with samples and the caller's clock.
//!
//! In [`Mode::Auto`], creation closes once one signal has been strictly above its high mark in
//! [`SUSTAINED`] samples in a row (one slow save or one slow task is not load), and reopens only
//! once every signal has stayed at or below its low mark, sample after sample, for the hold
//! time. Between the marks nothing changes, which is what prevents flapping.
//!
//! Mode changes are bumpless: the effective state never jumps when the operator returns to auto;
//! the next sample decides from wherever the override left it (closed → hold from the next calm
//! sample; open → close if a signal is above its high mark).

use std::time::Duration;

use tokio::time::Instant;

use super::signal::{Sample, Signal};
use crate::config::shedding::{Mode, SheddingConfig};

/// How many samples in a row a signal must be above its high mark to close creation: with a
/// sample every 250 ms, overload lasting about 750 ms. An unknown value (or, for the broadcast
/// delay, a window without broadcasts, which reads 0) breaks the run.
pub const SUSTAINED: u32 = 3;

/// Why creation opened or closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cause {
    /// A signal rose strictly above its high mark.
    Overload {
        /// The signal.
        signal: Signal,
        /// Its value in the sample that closed creation (the last of its sustained run).
        value: f64,
        /// Its high mark.
        high: f64,
    },
    /// Every signal stayed at or below its low mark for the hold time.
    Calm {
        /// The hold time that elapsed.
        hold: Duration,
    },
    /// The operator forced this mode.
    Operator(Mode),
}

/// A change of the effective state, returned exactly once so the caller logs it once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// Whether creation is now open.
    pub open: bool,
    /// Why.
    pub cause: Cause,
    /// When (the `now` given to the call that caused it).
    pub at: Instant,
}

/// The hysteresis state machine behind admission. See the module documentation.
#[derive(Debug, Clone)]
pub struct Controller {
    high: [f64; Signal::ALL.len()],
    low: [f64; Signal::ALL.len()],
    hold: Duration,
    mode: Mode,
    /// The effective state, and the starting point of auto after an override.
    open: bool,
    /// The overload that keeps creation closed, while it is closed.
    cause: Option<(Signal, f64)>,
    /// Start of the current run of calm samples while closed in auto.
    calm_since: Option<Instant>,
    /// Per signal, how many samples in a row have been above its high mark (while open).
    above: [u32; Signal::ALL.len()],
}

impl Controller {
    /// A controller with `config`'s marks, hold time and initial mode; open unless the mode is
    /// [`Mode::Closed`].
    pub fn new(config: &SheddingConfig) -> Self {
        // u64 → f64 rounds marks above 2^53, far beyond any meaningful threshold.
        Self {
            high: Signal::ALL.map(|s| config.high(s) as f64),
            low: Signal::ALL.map(|s| config.low(s) as f64),
            hold: Duration::from_secs(config.hold_secs),
            mode: config.mode,
            open: config.mode != Mode::Closed,
            cause: None,
            calm_since: None,
            above: [0; Signal::ALL.len()],
        }
    }

    /// Whether new documents may be created now.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Who decides now.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The signal and value that closed creation automatically, while creation stays closed;
    /// `None` when open or when only the operator closed it.
    pub fn last_cause(&self) -> Option<(Signal, f64)> {
        self.cause
    }

    /// Feeds one sample taken at `now`. Only [`Mode::Auto`] reacts; forced modes ignore samples.
    pub fn observe(&mut self, sample: &Sample, now: Instant) -> Option<Transition> {
        if self.mode != Mode::Auto {
            return None;
        }
        let over_high = self.first_above(sample, &self.high);
        if self.open {
            let (signal, value) = self.sustained_above(sample)?;
            self.open = false;
            self.cause = Some((signal, value));
            self.calm_since = None;
            self.above = [0; Signal::ALL.len()];
            return Some(Transition {
                open: false,
                cause: Cause::Overload {
                    signal,
                    value,
                    high: self.high[index(signal)],
                },
                at: now,
            });
        }
        // Closed by the operator before auto took over: explain it by the overload, if any.
        if self.cause.is_none() {
            self.cause = over_high;
        }
        if self.first_above(sample, &self.low).is_some() {
            self.calm_since = None;
            return None;
        }
        let since = *self.calm_since.get_or_insert(now);
        if now.saturating_duration_since(since) < self.hold {
            return None;
        }
        self.open = true;
        self.cause = None;
        self.calm_since = None;
        Some(Transition {
            open: true,
            cause: Cause::Calm { hold: self.hold },
            at: now,
        })
    }

    /// The operator's override, applied at `now`. Forcing open or closed takes effect at once;
    /// returning to auto keeps the current state and lets the next sample decide (a closed
    /// controller then holds for the full hold time from its next calm sample).
    pub fn set_mode(&mut self, mode: Mode, now: Instant) -> Option<Transition> {
        self.mode = mode;
        // A calm run that started before the override does not count: nobody watched it; nor
        // does an overload run.
        self.calm_since = None;
        self.above = [0; Signal::ALL.len()];
        let open = match mode {
            Mode::Auto => return None,
            Mode::Open => {
                self.cause = None;
                true
            }
            Mode::Closed => false,
        };
        if self.open == open {
            return None;
        }
        self.open = open;
        Some(Transition {
            open,
            cause: Cause::Operator(mode),
            at: now,
        })
    }

    /// Counts each signal's run above its high mark, and returns the first signal (in
    /// [`Signal::ALL`] order) whose run reached [`SUSTAINED`], with its value now.
    fn sustained_above(&mut self, sample: &Sample) -> Option<(Signal, f64)> {
        let mut found = None;
        for signal in Signal::ALL {
            let value = sample.get(signal);
            let run = &mut self.above[index(signal)];
            if value.is_finite() && value > self.high[index(signal)] {
                *run = run.saturating_add(1);
                if *run >= SUSTAINED && found.is_none() {
                    found = Some((signal, value));
                }
            } else {
                *run = 0;
            }
        }
        found
    }

    /// The first signal strictly above its mark in `marks`. Non-finite values are unknown and
    /// never count as above anything.
    fn first_above(
        &self,
        sample: &Sample,
        marks: &[f64; Signal::ALL.len()],
    ) -> Option<(Signal, f64)> {
        Signal::ALL
            .into_iter()
            .map(|s| (s, sample.get(s)))
            .find(|&(s, v)| v.is_finite() && v > marks[index(s)])
    }
}

/// Position of `signal` in [`Signal::ALL`] (and so in the mark arrays).
fn index(signal: Signal) -> usize {
    signal as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    fn config() -> SheddingConfig {
        SheddingConfig {
            rooms_high: 100,
            rooms_low: 50,
            connections_high: 1000,
            connections_low: 500,
            memory_high_mib: 1024,
            memory_low_mib: 768,
            loop_lag_high_ms: 100,
            loop_lag_low_ms: 20,
            cpu_high_percent: 90,
            cpu_low_percent: 60,
            broadcast_delay_high_ms: 200,
            broadcast_delay_low_ms: 50,
            hold_secs: 60,
            mode: Mode::Auto,
        }
    }

    fn calm() -> Sample {
        Sample::ZERO
    }

    /// A sample with `signal` just above its high mark.
    fn overload(c: &SheddingConfig, signal: Signal) -> Sample {
        calm().with(signal, c.high(signal) as f64 + 0.5)
    }

    /// Feeds `sample` one sample short of a sustained run: nothing may happen yet.
    fn almost_sustain(ctl: &mut Controller, sample: &Sample) {
        for _ in 1..SUSTAINED {
            assert_eq!(
                ctl.observe(sample, Instant::now()),
                None,
                "not sustained yet"
            );
        }
    }

    /// Closes `ctl` with a sustained overload of rooms.
    fn close(ctl: &mut Controller) {
        let sample = overload(&config(), Signal::Rooms);
        almost_sustain(ctl, &sample);
        let t = ctl.observe(&sample, Instant::now());
        assert!(matches!(t, Some(Transition { open: false, .. })));
    }

    #[test]
    fn index_matches_all() {
        for (i, s) in Signal::ALL.into_iter().enumerate() {
            assert_eq!(index(s), i);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn closes_on_each_signal_with_its_value() {
        let c = config();
        for signal in Signal::ALL {
            let mut ctl = Controller::new(&c);
            assert!(ctl.is_open());
            let at_mark = calm().with(signal, c.high(signal) as f64);
            assert_eq!(
                ctl.observe(&at_mark, Instant::now()),
                None,
                "{signal}: at the mark is not above it"
            );
            let sample = overload(&c, signal);
            almost_sustain(&mut ctl, &sample);
            let now = Instant::now();
            let t = ctl.observe(&sample, now).expect("closes");
            assert_eq!(
                t,
                Transition {
                    open: false,
                    cause: Cause::Overload {
                        signal,
                        value: c.high(signal) as f64 + 0.5,
                        high: c.high(signal) as f64
                    },
                    at: now,
                }
            );
            assert!(!ctl.is_open());
            assert_eq!(
                ctl.last_cause(),
                Some((signal, c.high(signal) as f64 + 0.5))
            );
            assert_eq!(
                ctl.observe(&sample, Instant::now()),
                None,
                "{signal}: reported once"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_high_sample_never_closes_whatever_the_signal() {
        let c = config();
        for signal in Signal::ALL {
            let mut ctl = Controller::new(&c);
            // A spike far above the mark (a save stalled by a slow disk), every other sample,
            // then runs one short of sustained broken by a calm sample or an unknown one.
            let spike = calm().with(signal, c.high(signal) as f64 * 10.0);
            for i in 0..200 {
                advance(Duration::from_millis(250)).await;
                let s = if i % 2 == 0 { spike } else { calm() };
                assert_eq!(ctl.observe(&s, Instant::now()), None, "{signal}: spike {i}");
            }
            for breaker in [
                calm(),
                Sample::UNKNOWN,
                calm().with(signal, c.high(signal) as f64),
            ] {
                almost_sustain(&mut ctl, &spike);
                assert_eq!(ctl.observe(&breaker, Instant::now()), None, "{signal}");
            }
            assert!(ctl.is_open(), "{signal}");
            // Each signal counts its own run: two signals taking turns are not one overload.
            let other = Signal::ALL[(index(signal) + 1) % Signal::ALL.len()];
            let other_spike = calm().with(other, c.high(other) as f64 * 10.0);
            for i in 0..20 {
                let s = if i % 2 == 0 { spike } else { other_spike };
                assert_eq!(ctl.observe(&s, Instant::now()), None, "{signal}/{other}");
            }
            almost_sustain(&mut ctl, &spike);
            let t = ctl
                .observe(&spike, Instant::now())
                .expect("the sustained run closes");
            assert!(!t.open);
            assert_eq!(
                ctl.last_cause(),
                Some((signal, c.high(signal) as f64 * 10.0))
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_run_is_needed_after_reopening() {
        let c = config();
        let mut ctl = Controller::new(&SheddingConfig {
            hold_secs: 0,
            ..c.clone()
        });
        let spike = overload(&c, Signal::BroadcastDelayMs);
        almost_sustain(&mut ctl, &spike);
        assert!(ctl.observe(&spike, Instant::now()).is_some_and(|t| !t.open));
        assert!(ctl.observe(&calm(), Instant::now()).is_some_and(|t| t.open));
        almost_sustain(&mut ctl, &spike);
        assert!(ctl.observe(&spike, Instant::now()).is_some_and(|t| !t.open));
    }

    #[tokio::test(start_paused = true)]
    async fn stays_closed_within_hold_and_reopens_after_it() {
        let mut ctl = Controller::new(&config());
        close(&mut ctl);
        advance(Duration::from_millis(250)).await;
        assert_eq!(
            ctl.observe(&calm(), Instant::now()),
            None,
            "hold starts here"
        );
        for _ in 0..59 {
            advance(Duration::from_secs(1)).await;
            assert_eq!(ctl.observe(&calm(), Instant::now()), None);
            assert!(!ctl.is_open());
        }
        advance(Duration::from_millis(999)).await;
        assert_eq!(
            ctl.observe(&calm(), Instant::now()),
            None,
            "1 ms short of the hold"
        );
        advance(Duration::from_millis(1)).await;
        let now = Instant::now();
        assert_eq!(
            ctl.observe(&calm(), now),
            Some(Transition {
                open: true,
                cause: Cause::Calm {
                    hold: Duration::from_secs(60)
                },
                at: now,
            })
        );
        assert!(ctl.is_open());
        assert_eq!(ctl.last_cause(), None);
        assert_eq!(ctl.observe(&calm(), Instant::now()), None, "reported once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_blip_above_a_low_mark_restarts_the_hold() {
        let c = config();
        for signal in Signal::ALL {
            let mut ctl = Controller::new(&c);
            close(&mut ctl);
            assert_eq!(ctl.observe(&calm(), Instant::now()), None);
            advance(Duration::from_secs(50)).await;
            // Between the marks: not enough to close (already closed) but enough to stop the hold.
            let blip = calm().with(signal, c.low(signal) as f64 + 1.0);
            assert_eq!(ctl.observe(&blip, Instant::now()), None);
            advance(Duration::from_secs(1)).await;
            assert_eq!(
                ctl.observe(&calm(), Instant::now()),
                None,
                "{signal}: new hold starts"
            );
            advance(Duration::from_secs(59)).await;
            assert_eq!(
                ctl.observe(&calm(), Instant::now()),
                None,
                "{signal}: 59 s of the new hold"
            );
            advance(Duration::from_secs(1)).await;
            assert!(ctl.observe(&calm(), Instant::now()).is_some_and(|t| t.open));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn exactly_at_the_low_mark_counts_as_calm() {
        let c = config();
        let at_low = Signal::ALL
            .into_iter()
            .fold(calm(), |s, sig| s.with(sig, c.low(sig) as f64));
        let mut ctl = Controller::new(&c);
        close(&mut ctl);
        assert_eq!(ctl.observe(&at_low, Instant::now()), None);
        advance(Duration::from_secs(60)).await;
        assert!(ctl.observe(&at_low, Instant::now()).is_some_and(|t| t.open));
    }

    #[tokio::test(start_paused = true)]
    async fn no_flapping_between_the_marks() {
        let c = config();
        let between = calm()
            .with(Signal::Rooms, 75.0)
            .with(Signal::CpuPercent, 80.0);
        let mut ctl = Controller::new(&c);
        // Open: values between the marks never close.
        for _ in 0..1000 {
            advance(Duration::from_millis(250)).await;
            assert_eq!(ctl.observe(&between, Instant::now()), None);
        }
        assert!(ctl.is_open());
        // Closed: the same values, alternating with spikes and calm blips, never reopen.
        close(&mut ctl);
        let mut transitions = 0;
        for i in 0..2000 {
            advance(Duration::from_millis(250)).await;
            let s = match i % 200 {
                0 => overload(&c, Signal::Connections),
                1..=100 => calm(),
                _ => between,
            };
            transitions += usize::from(ctl.observe(&s, Instant::now()).is_some());
        }
        assert_eq!(transitions, 0, "25 s calm runs are shorter than the hold");
        assert!(!ctl.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_values_neither_close_nor_block_reopening() {
        let mut ctl = Controller::new(&config());
        assert_eq!(ctl.observe(&Sample::UNKNOWN, Instant::now()), None);
        let inf = calm().with(Signal::MemoryMib, f64::INFINITY);
        assert_eq!(ctl.observe(&inf, Instant::now()), None);
        assert!(ctl.is_open());
        close(&mut ctl);
        assert_eq!(ctl.observe(&Sample::UNKNOWN, Instant::now()), None);
        advance(Duration::from_secs(60)).await;
        assert!(ctl
            .observe(&Sample::UNKNOWN, Instant::now())
            .is_some_and(|t| t.open));
    }

    #[tokio::test(start_paused = true)]
    async fn force_open_holds_under_load_and_auto_then_closes() {
        let c = config();
        let mut ctl = Controller::new(&c);
        close(&mut ctl);
        let now = Instant::now();
        assert_eq!(
            ctl.set_mode(Mode::Open, now),
            Some(Transition {
                open: true,
                cause: Cause::Operator(Mode::Open),
                at: now
            })
        );
        assert_eq!(
            (ctl.is_open(), ctl.mode(), ctl.last_cause()),
            (true, Mode::Open, None)
        );
        assert_eq!(ctl.set_mode(Mode::Open, now), None, "already open");
        for signal in Signal::ALL {
            assert_eq!(ctl.observe(&overload(&c, signal), Instant::now()), None);
        }
        assert!(ctl.is_open());
        assert_eq!(ctl.set_mode(Mode::Auto, Instant::now()), None, "bumpless");
        assert!(ctl.is_open());
        almost_sustain(&mut ctl, &overload(&c, Signal::LoopLagMs));
        let t = ctl.observe(&overload(&c, Signal::LoopLagMs), Instant::now());
        assert!(t.is_some_and(|t| !t.open
            && matches!(
                t.cause,
                Cause::Overload {
                    signal: Signal::LoopLagMs,
                    ..
                }
            )));
    }

    #[tokio::test(start_paused = true)]
    async fn force_closed_holds_when_calm_and_auto_then_waits_a_full_hold() {
        let mut ctl = Controller::new(&config());
        let now = Instant::now();
        assert_eq!(
            ctl.set_mode(Mode::Closed, now),
            Some(Transition {
                open: false,
                cause: Cause::Operator(Mode::Closed),
                at: now
            })
        );
        assert_eq!(ctl.set_mode(Mode::Closed, now), None, "already closed");
        for _ in 0..10 {
            advance(Duration::from_secs(60)).await;
            assert_eq!(ctl.observe(&calm(), Instant::now()), None);
        }
        assert_eq!((ctl.is_open(), ctl.last_cause()), (false, None));
        assert_eq!(ctl.set_mode(Mode::Auto, Instant::now()), None, "bumpless");
        assert!(!ctl.is_open());
        assert_eq!(
            ctl.observe(&calm(), Instant::now()),
            None,
            "hold starts at the next sample"
        );
        advance(Duration::from_secs(59)).await;
        assert_eq!(ctl.observe(&calm(), Instant::now()), None);
        advance(Duration::from_secs(1)).await;
        assert!(ctl.observe(&calm(), Instant::now()).is_some_and(|t| t.open));
    }

    #[tokio::test(start_paused = true)]
    async fn a_calm_run_during_an_override_does_not_count() {
        let mut ctl = Controller::new(&config());
        close(&mut ctl);
        assert_eq!(ctl.observe(&calm(), Instant::now()), None);
        advance(Duration::from_secs(30)).await;
        assert_eq!(ctl.set_mode(Mode::Closed, Instant::now()), None);
        assert_eq!(
            ctl.last_cause().map(|c| c.0),
            Some(Signal::Rooms),
            "still closed by the overload"
        );
        advance(Duration::from_secs(30)).await;
        assert_eq!(ctl.set_mode(Mode::Auto, Instant::now()), None);
        assert_eq!(
            ctl.observe(&calm(), Instant::now()),
            None,
            "60 s since the first calm sample, but the hold restarted"
        );
        advance(Duration::from_secs(60)).await;
        assert!(ctl.observe(&calm(), Instant::now()).is_some_and(|t| t.open));
    }

    #[tokio::test(start_paused = true)]
    async fn auto_after_force_closed_under_load_explains_the_closing() {
        let c = config();
        let mut ctl = Controller::new(&SheddingConfig {
            mode: Mode::Closed,
            ..c.clone()
        });
        assert!(!ctl.is_open(), "starts closed from the config");
        assert_eq!(ctl.set_mode(Mode::Auto, Instant::now()), None);
        assert_eq!(
            ctl.observe(&overload(&c, Signal::Connections), Instant::now()),
            None
        );
        assert_eq!(ctl.last_cause(), Some((Signal::Connections, 1000.5)));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_hold_reopens_on_the_first_calm_sample() {
        let mut ctl = Controller::new(&SheddingConfig {
            hold_secs: 0,
            ..config()
        });
        close(&mut ctl);
        assert!(ctl.observe(&calm(), Instant::now()).is_some_and(|t| t.open));
    }
}
