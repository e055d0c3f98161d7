//! sightline's demo collector: Stack Auth-compatible ingestion into SQLite, the access
//! check of the demo, a dashboard with a replay viewer, and the demo page's files.
//!
//! `main.rs` only parses the command line and runs [`server::serve`] on [`routes::router`];
//! the tests drive the same router in process.

pub mod body;
pub mod cli;
pub mod faults;
pub mod limits;
pub mod retention;
pub mod routes;
pub mod security;
pub mod server;
pub mod static_files;
pub mod storage;
pub mod validation;

pub use routes::{router, AppState};

/// The router for `config`, with its database opened (and created if needed).
pub fn app(config: cli::Config) -> Result<axum::Router, rusqlite::Error> {
    Ok(build(config)?.0)
}

/// The router and the state behind it.
pub fn build(config: cli::Config) -> Result<(axum::Router, AppState), rusqlite::Error> {
    let store = storage::Store::open(&config.db)?;
    let state = AppState::new(config, store);
    Ok((router(state.clone()), state))
}
