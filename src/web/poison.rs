//! After a Rust panic the module's state cannot be trusted (a `RefCell` may be left
//! borrowed, a half-applied update). The panic hook says so once on the console and
//! marks the SDK as failed; every later call then throws a clear `Error` instead of
//! trapping with `unreachable`, and the SDK's own listeners and timers do nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::prelude::*;

static FAILED: AtomicBool = AtomicBool::new(false);

/// Installs the hook (idempotent).
pub fn install() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::Relaxed) {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        FAILED.store(true, Ordering::Relaxed);
        // The message is read, never formatted: formatting it would keep every `Debug`
        // implementation an `unwrap` can reach in the bundle (measured: several KB gzip).
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        let mut text = String::from(
            "[sightline] internal error, the SDK is disabled for this page (please report it): ",
        );
        text.push_str(message);
        if let Some(location) = info.location() {
            text.push_str(" at ");
            text.push_str(location.file());
            text.push(':');
            crate::core::json::push_u64(&mut text, location.line().into());
        }
        web_sys::console::error_1(&JsValue::from_str(&text));
    }));
}

/// Whether a panic happened.
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}

/// `Err(Error)` for every public method after a panic.
pub fn check() -> Result<(), JsValue> {
    if failed() {
        return Err(js_sys::Error::new(
            "sightline: the SDK stopped after an internal error (see the console.error before); reload the page",
        )
        .into());
    }
    Ok(())
}
