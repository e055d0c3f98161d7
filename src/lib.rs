//! sightline: a browser SDK for analytics events, rrweb-compatible session replay and an
//! access gate. `core` decides (plain Rust, tested natively); `web` is the browser shell.

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(target_arch = "wasm32")]
pub use web::sightline::Sightline;
