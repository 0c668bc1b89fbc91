//! Admission control for new documents (DESIGN.md §5, issue 7): when the server is overloaded,
//! creating documents is refused while every existing document stays reachable.
//!
//! No HTTP in here. The pieces, from pure to effectful:
//! - [`config`]: the `[shedding]` table (`SheddingConfig`, `Mode`) and `[[trusted_hosts]]`
//!   (`TrustedHost`, `pick_weighted`), with validation;
//! - [`signal`]: what is measured (`Signal`) and one measurement of everything (`Sample`);
//! - [`controller`]: the hysteresis state machine (`Controller`), pure and driven by the caller's
//!   clock so it is tested with paused time;
//! - [`probe`]: what the process can measure about itself (RSS, CPU, event-loop lag);
//! - [`task`]: the sampling task and its cheap, cloneable [`AdmissionHandle`].

pub mod controller;
pub mod probe;
pub mod signal;
pub mod task;

pub use crate::config::shedding::{
    pick_weighted, Mode, SheddingConfig, SheddingError, TrustedHost, TrustedHostError,
};
pub use controller::{Cause, Controller, Transition};
pub use signal::{Sample, Signal};
pub use task::{spawn, AdmissionHandle, AdmissionState, AdmissionStopped, Inputs};
