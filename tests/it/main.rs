//! The integration suite: the real server binary, real WebSocket clients.

mod client;
mod node_suite;
mod server;

mod abuse;
mod admin;
mod api;
mod awareness;
mod base_path;
mod browser;
mod calc;
mod calc_files;
mod calc_readers;
mod creation;
mod durability;
mod export;
mod export_look;
mod export_readers;
mod hostile_files;
mod hostile_formula;
mod hostile_http;
mod hostile_storage;
mod hostile_sync;
mod http;
mod idle_shedding;
mod language;
mod loadtest;
mod node_clients;
mod opening;
mod pages;
mod retention;
mod shedding;
mod sync;
