//! After a Rust panic, every method throws a clear `Error` (instead of trapping with
//! `unreachable`), and one `console.error` names the panic. Its own test binary: the
//! panic disables the SDK for the rest of the wasm instance.
#![cfg(target_arch = "wasm32")]

use sightline::Sightline;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function callCatching(f) { try { f(); return "no error"; } catch (e) { return String(e); } }
export function recordConsoleErrors() {
  const seen = [];
  const original = console.error;
  console.error = (...args) => { seen.push(args.map(String).join(" ")); original.apply(console, args); };
  return () => { console.error = original; return seen; };
}
export function options() {
  return { projectId: "p_panic", apiBaseUrl: "http://127.0.0.1:9", getAnalyticsSession: () => null };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = callCatching)]
    fn call_catching(f: &JsValue) -> String;
    #[wasm_bindgen(js_name = recordConsoleErrors)]
    fn record_console_errors() -> js_sys::Function;
    fn options() -> JsValue;
}

fn error_message(error: JsValue) -> String {
    error.dyn_into::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default()
}

#[wasm_bindgen_test]
fn after_a_panic_every_method_throws_a_clear_error() {
    let sl = Sightline::new(options()).unwrap();
    sl.track(JsValue::from_str("before"), JsValue::UNDEFINED).unwrap();
    let stop_recording = record_console_errors();
    let boom = Closure::<dyn Fn()>::new(|| panic!("a bug in the SDK"));
    let thrown = call_catching(boom.as_ref());
    let errors: js_sys::Array = stop_recording.call0(&JsValue::NULL).unwrap().unchecked_into();
    assert!(thrown.contains("unreachable") || thrown.contains("RuntimeError"), "{thrown}");
    let errors: Vec<String> = errors.iter().filter_map(|e| e.as_string()).collect();
    let named: Vec<&String> = errors.iter().filter(|e| e.contains("[sightline] internal error")).collect();
    assert_eq!(named.len(), 1, "{errors:?}");
    assert!(named[0].contains("a bug in the SDK"), "{errors:?}");

    let clear = |result: Result<(), JsValue>| {
        let message = error_message(result.expect_err("throws after a panic"));
        assert!(message.contains("stopped after an internal error"), "{message}");
    };
    clear(sl.track(JsValue::from_str("after"), JsValue::UNDEFINED));
    clear(sl.start());
    clear(sl.stop());
    clear(sl.clear_buffer());
    clear(sl.stats().map(drop));
    clear(sl.flush().map(drop));
    clear(sl.check_access().map(drop));
    clear(sl.access_state().map(drop));
    clear(Sightline::new(options()).map(drop));
}
