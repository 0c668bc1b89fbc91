//! The integration suite: the real server binary, real WebSocket clients.

mod client;
mod node_suite;
mod server;

mod abuse;
mod admin;
mod awareness;
mod browser;
mod durability;
mod export;
mod export_readers;
mod http;
mod node_clients;
mod pages;
mod shedding;
mod sync;
