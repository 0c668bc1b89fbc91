//! The integration suite: the real server binary, real WebSocket clients.

mod client;
mod node_suite;
mod server;

mod abuse;
mod awareness;
mod browser;
mod calc;
mod calc_files;
mod calc_readers;
mod durability;
mod export;
mod export_readers;
mod http;
mod node_clients;
mod pages;
mod shedding;
mod sync;
