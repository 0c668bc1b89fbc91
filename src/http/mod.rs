//! The HTTP edge, the only layer that imports axum: the route table (`routes`), the shared
//! state, the error type and its faces, extractors, middleware, and one file of handlers per
//! area (site, pad, calc, calc files, EtherCalc, the JSON API, admin, WebSocket joins).

pub mod accept;
pub mod admin;
pub mod api;
pub mod assets;
pub mod base_path;
mod calc;
mod calc_export;
mod calc_import;
pub mod delete;
mod editor;
mod error;
mod ethercalc;
mod etherpad_api;
pub(crate) mod extract;
pub mod gate;
mod history;
mod home_import;
mod join;
pub mod metrics;
pub mod middleware;
mod pad;
mod pad_import;
pub mod pages;
mod probes;
mod proxy;
pub mod qr;
pub mod ratelimit;
pub(crate) mod respond;
mod routes;
mod site;
mod state;
mod upgrade;
mod upload;
pub mod ws;

pub use error::AppError;
pub(crate) use extract::RequestLang;
pub use routes::router;
pub use state::AppState;
