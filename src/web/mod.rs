//! The browser shell: carries inputs from the browser into `core` and its answers out.
//! Everything here is wasm32-only glue (web-sys, js-sys, fetch).

pub mod autocapture;
pub mod consent;
pub mod gate;
pub mod listener;
pub mod options;
pub mod poison;
pub mod privacy;
pub mod recorder;
pub mod replay;
pub mod session;
pub mod sightline;
pub mod signals;
pub mod storage;
pub mod timer;
pub mod transport;
pub mod types;
pub mod uploader;
pub mod util;
