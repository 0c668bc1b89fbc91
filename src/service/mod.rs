//! Use cases shared by every edge: whether a document may be created now, admission under load,
//! file work within its bounds (exports), backups, the retention sweep, and this node's report
//! for the admin page's list of nodes. No axum here: each
//! edge maps `ServiceError` to its own answers.

pub mod admission;
pub mod backup;
pub mod creation;
mod error;
pub mod export;
pub mod history;
pub mod import;
pub mod nodes;
pub mod sweeper;

pub use error::ServiceError;
