//! Live documents: the y-websocket protocol, what a connection may send, presence, per-connection
//! queues, the rooms that own documents and the hub that finds them. Tokio, no HTTP.

pub mod awareness;
pub mod clock;
pub mod history;
pub mod hub;
pub mod inbound;
pub mod node;
pub mod outbox;
pub mod periodic;
pub mod room;
pub mod roomstats;
pub mod wire;

/// The y-websocket wire format (the `ardoise-protocol` crate, shared with the load generator).
pub use ardoise_protocol as protocol;
