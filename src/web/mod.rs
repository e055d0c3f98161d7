//! The browser shell: carries inputs from the browser into `core` and its answers out.
//! Everything here is wasm32-only glue (web-sys, js-sys, gloo-timers, fetch).

pub mod session;
pub mod sightline;
pub mod util;
