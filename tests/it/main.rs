//! The integration suite: the real server binary, real WebSocket clients.

mod client;
mod node_suite;
mod server;

mod abuse;
mod awareness;
mod browser;
mod durability;
mod export;
mod export_readers;
mod http;
mod loadtest;
mod node_clients;
mod pages;
mod shedding;
mod sync;
