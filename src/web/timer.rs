//! `setTimeout` / `setInterval` as RAII handles: dropping one clears its timer (what
//! gloo-timers' `callback` module did). Every callback is boxed, so wasm-bindgen's closure
//! glue exists once for all timeouts instead of once per call site, and the timers go
//! through the window's `setTimeout` / `clearTimeout` that the shell imports anyway (a
//! smaller bundle). Like gloo-timers, a delay above `i32::MAX` ms is the caller's to clamp.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A pending `setTimeout`; dropping it before it fires cancels it.
pub struct Timeout {
    id: Option<i32>,
    _closure: Closure<dyn FnMut()>,
}

impl Timeout {
    pub fn new(millis: u32, callback: impl FnOnce() + 'static) -> Timeout {
        Timeout::boxed(millis, Box::new(callback))
    }

    fn boxed(millis: u32, callback: Box<dyn FnOnce()>) -> Timeout {
        let mut callback = Some(callback);
        let closure = Closure::<dyn FnMut()>::wrap(Box::new(move || {
            if let Some(callback) = callback.take() {
                callback();
            }
        }));
        let id = web_sys::window().and_then(|window| {
            window
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    closure.as_ref().unchecked_ref(),
                    millis as i32,
                )
                .ok()
        });
        Timeout { id, _closure: closure }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let (Some(id), Some(window)) = (self.id, web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
    }
}

/// A running `setInterval`; dropping it stops it.
pub struct Interval {
    id: Option<i32>,
    _closure: Closure<dyn FnMut()>,
}

impl Interval {
    pub fn new(millis: u32, callback: impl FnMut() + 'static) -> Interval {
        let closure = Closure::<dyn FnMut()>::wrap(Box::new(callback));
        let id = web_sys::window().and_then(|window| {
            window
                .set_interval_with_callback_and_timeout_and_arguments_0(
                    closure.as_ref().unchecked_ref(),
                    millis as i32,
                )
                .ok()
        });
        Interval { id, _closure: closure }
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let (Some(id), Some(window)) = (self.id, web_sys::window()) {
            window.clear_interval_with_handle(id);
        }
    }
}

/// Resolves after `millis` ms (a `setTimeout`; at once without a window).
pub async fn pause(millis: u32) {
    let Some(window) = web_sys::window() else { return };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis as i32);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
