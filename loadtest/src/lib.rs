//! The load generator as a library: the `loadtest` binary's modes, and the end-to-end test of
//! the server's suite, call [`run::execute`] and [`ramp::execute`].

pub mod client;
pub mod floor;
pub mod proc;
pub mod ramp;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod target;
pub mod track;
