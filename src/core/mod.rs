//! The sans-IO core: everything that decides, in plain Rust.
//!
//! Nothing here touches the browser or reads a clock: time (`now_ms`), randomness and
//! what happened on the network are passed in, and the answers say what to do. The
//! whole module builds and tests on the native target (`cargo test`).

pub mod access_gate;
pub mod backoff;
pub mod batch;
pub mod browser_session;
pub mod config;
pub mod consent;
pub mod ids;
pub mod json;
pub mod outbox;
pub mod replay;
pub mod signals;
