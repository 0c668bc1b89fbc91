//! Use cases shared by every edge: whether a document may be created now, admission under load,
//! and the retention sweep.

pub mod admission;
pub mod creation;
pub mod sweeper;
