//! Small browser helpers shared by the shell.

use std::future::Future;
use std::pin::Pin;

use wasm_bindgen::prelude::*;

/// Milliseconds since the epoch (`Date.now()`).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Uniform in `[0, 1)` (`Math.random()`), for retry jitter.
pub fn random01() -> f64 {
    js_sys::Math::random()
}

/// 16 bytes from `crypto.getRandomValues`, which works on plain-http pages too.
pub fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    let filled = crypto.map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok()).unwrap_or(false);
    if !filled {
        // No Web Crypto (very old browsers or a worker without it): fall back to Math.random.
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// A fresh v4 UUID.
pub fn new_uuid() -> String {
    crate::core::ids::uuid_v4(random_bytes())
}

/// A `TypeError` carrying `message`, thrown to JS.
pub fn type_error(message: impl AsRef<str>) -> JsValue {
    js_sys::TypeError::new(message.as_ref()).into()
}

/// One `console.warn` line, prefixed so users can find sightline's messages.
pub fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("[sightline] {message}")));
}

/// A number as JavaScript writes it (`String(n)`), without Rust's float formatting,
/// which would add kilobytes to the bundle.
pub fn js_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        let mut out = String::new();
        crate::core::json::push_i64(&mut out, value as i64);
        return out;
    }
    js_sys::Number::from(value).to_string_with_radix(10).map(String::from).unwrap_or_default()
}

/// `spawn_local` through one boxed future type: the executor's task code is compiled once
/// for the whole SDK instead of once per `async` block (a smaller bundle).
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    let future: Pin<Box<dyn Future<Output = ()>>> = Box::pin(future);
    wasm_bindgen_futures::spawn_local(future);
}

/// `future_to_promise` through one boxed future type, for the same reason as [`spawn`].
pub fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> js_sys::Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    wasm_bindgen_futures::future_to_promise(future)
}

/// A thrown value's message, for the console (an `Error`'s message, a thrown string, or
/// a placeholder for anything else).
pub fn error_message(error: &JsValue) -> String {
    use wasm_bindgen::JsCast;
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "a non-Error value".into())
}
