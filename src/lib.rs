//! sightline: a browser SDK for analytics events, rrweb-compatible session replay and an
//! access gate. `core` decides (plain Rust, tested natively); `web` is the browser shell.

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(target_arch = "wasm32")]
pub use web::sightline::Sightline;

// talc instead of std's dlmalloc: same behaviour for a single-threaded wasm heap, and
// about 2.7 KB gzip smaller in the shipped bundle.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
