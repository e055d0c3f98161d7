//! Browser tests of the access gate's shell (`GateShell`) in headless Chromium
//! (`wasm-pack test --headless --chrome -- --test web_gate`), against the scripted
//! endpoint of tests/support/scripted-server.mjs on 127.0.0.1:8790
//! (`PORT=8790 node tests/support/scripted-server.mjs &`).
//!
//! What only a browser can show: real `fetch` failures, the AbortController timeout,
//! the `online` event, CORS headers. The schedule and the supersession rules are tested
//! natively in `core::access_gate`. Retry delays here are tens of milliseconds.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Reflect};
use sightline::core::config::{GateConfig, GateRetryConfig};
use sightline::web::gate::GateShell;
use sightline::web::session::SessionSource;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{RequestInit, Response};

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: &str = "http://127.0.0.1:8790";
const PROJECT_ID: &str = "p_gate";

/// A key of its own for every test, so runs and tests never share a script.
fn unique_key(name: &str) -> String {
    format!("gate-{name}-{}", (js_sys::Math::random() * 1e12) as u64)
}

async fn fetch_json(url: &str, init: &RequestInit) -> JsValue {
    let window = web_sys::window().unwrap();
    let response: Response =
        JsFuture::from(window.fetch_with_str_and_init(url, init)).await.expect("fetch").unchecked_into();
    JsFuture::from(response.json().unwrap()).await.expect("json")
}

/// Sets what `/s/<key>/…` answers: `{responses: [...], fallback?}` (see the server).
async fn script(key: &str, spec: &str) {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(spec));
    fetch_json(&format!("{SERVER}/__script/{key}"), &init).await;
}

/// Every request `/s/<key>/…` received, in order.
async fn requests(key: &str) -> Array {
    fetch_json(&format!("{SERVER}/__requests/{key}"), &RequestInit::new()).await.unchecked_into()
}

fn header(request: &JsValue, name: &str) -> Option<String> {
    let headers = Reflect::get(request, &"headers".into()).ok()?;
    Reflect::get(&headers, &name.into()).ok()?.as_string()
}

async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Polls until `done()` or `timeout_ms`; returns whether it happened.
async fn eventually(timeout_ms: u32, mut done: impl FnMut() -> bool) -> bool {
    let mut waited = 0;
    while !done() {
        if waited >= timeout_ms {
            return false;
        }
        sleep_ms(10).await;
        waited += 10;
    }
    true
}

fn config(key: &str, retry: GateRetryConfig) -> GateConfig {
    GateConfig {
        url: format!("{SERVER}/s/{key}/api/code/invites/check-access/"),
        attempt_timeout_ms: 2_000,
        retry,
    }
}

/// Short delays without jitter, so tests are quick and exact.
fn fast_retries(max_retries: u32) -> GateRetryConfig {
    GateRetryConfig { initial_delay_ms: 20, max_delay_ms: 100, multiplier: 2.0, max_retries, jitter: 0.0 }
}

/// A session callback whose access token the test can change (`None`: signed out).
fn session_with(token: Rc<RefCell<Option<String>>>) -> SessionSource {
    let callback = Closure::<dyn FnMut() -> JsValue>::new(move || match token.borrow().as_ref() {
        Some(token) => {
            let session = js_sys::Object::new();
            Reflect::set(&session, &"accessToken".into(), &token.into()).unwrap();
            Reflect::set(&session, &"refreshToken".into(), &"refresh".into()).unwrap();
            session.into()
        }
        None => JsValue::NULL,
    });
    SessionSource::new(callback.into_js_value().unchecked_into())
}

fn session_a() -> SessionSource {
    session_with(Rc::new(RefCell::new(Some("token-a".into()))))
}

/// Every `onChange(state, reason)` call, as `"state/reason"`.
type Changes = Rc<RefCell<Vec<String>>>;

fn change_recorder() -> (Function, Changes) {
    let changes = Changes::default();
    let sink = changes.clone();
    let callback = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |state: JsValue, reason: JsValue| {
        sink.borrow_mut().push(format!("{}/{}", state.as_string().unwrap(), reason.as_string().unwrap()));
    });
    (callback.into_js_value().unchecked_into(), changes)
}

fn counter() -> (Function, Rc<Cell<u32>>) {
    let count = Rc::new(Cell::new(0));
    let sink = count.clone();
    let callback = Closure::<dyn FnMut()>::new(move || sink.set(sink.get() + 1));
    (callback.into_js_value().unchecked_into(), count)
}

fn changes_of(changes: &Changes) -> Vec<String> {
    changes.borrow().clone()
}

const GRANTED: &str = r#"{"status": 200, "body": {"has_access": true}}"#;
const DENIED: &str = r#"{"status": 200, "body": {"has_access": false}}"#;

#[wasm_bindgen_test]
async fn forbidden_twice_then_granted_is_granted_after_three_requests_never_denied() {
    let key = unique_key("403-403-200");
    script(&key, &format!(r#"{{"responses": [{{"status": 403}}, {{"status": 403}}, {GRANTED}]}}"#)).await;
    let (on_change, changes) = change_recorder();
    let gate =
        GateShell::new(config(&key, fast_retries(9)), PROJECT_ID.into(), session_a(), Some(on_change), None);

    assert_eq!(gate.check().await, "unknown", "the first 403 is transient");
    assert!(eventually(3_000, || gate.state() == "granted").await);
    assert_eq!(requests(&key).await.length(), 3);
    assert_eq!(changes_of(&changes), ["granted/granted"], "never denied on the way");
}

#[wasm_bindgen_test]
async fn always_503_fails_closed_after_one_plus_max_retries_requests() {
    let key = unique_key("always-503");
    script(&key, r#"{"responses": [], "fallback": {"status": 503}}"#).await;
    let (on_change, changes) = change_recorder();
    let gate =
        GateShell::new(config(&key, fast_retries(3)), PROJECT_ID.into(), session_a(), Some(on_change), None);

    assert_eq!(gate.check().await, "unknown");
    assert!(eventually(3_000, || gate.state() == "denied").await);
    sleep_ms(300).await; // nothing more is sent after failing closed
    assert_eq!(requests(&key).await.length(), 4);
    assert_eq!(changes_of(&changes), ["denied/fail-closed"]);
}

#[wasm_bindgen_test]
async fn ok_false_is_denied_after_exactly_one_request() {
    let key = unique_key("200-false");
    script(&key, &format!(r#"{{"responses": [{DENIED}], "fallback": {GRANTED}}}"#)).await;
    let (on_change, changes) = change_recorder();
    let gate =
        GateShell::new(config(&key, fast_retries(3)), PROJECT_ID.into(), session_a(), Some(on_change), None);

    assert_eq!(gate.check().await, "denied", "the first attempt is awaited");
    sleep_ms(200).await;
    assert_eq!(requests(&key).await.length(), 1);
    assert_eq!(changes_of(&changes), ["denied/denied"]);
}

#[wasm_bindgen_test]
async fn a_dropped_connection_is_transient() {
    let key = unique_key("drop");
    // Twelve drops: browsers retry a reset GET themselves before `fetch` sees an error
    // (Chrome once, on a reused keep-alive socket; Firefox up to
    // `network.http.request.max-attempts`, 10), so fewer drops may never reach the SDK.
    const DROPS: u32 = 12;
    let drops = vec![r#"{"drop": true}"#; DROPS as usize].join(", ");
    script(&key, &format!(r#"{{"responses": [{drops}, {GRANTED}]}}"#)).await;
    let gate = GateShell::new(config(&key, fast_retries(DROPS)), PROJECT_ID.into(), session_a(), None, None);

    assert_eq!(gate.check().await, "unknown", "a network error is not an answer");
    assert!(eventually(5_000, || gate.state() == "granted").await);
    assert_eq!(requests(&key).await.length(), DROPS + 1);
}

#[wasm_bindgen_test]
async fn a_malformed_200_body_is_transient() {
    let key = unique_key("malformed");
    script(&key, &format!(r#"{{"responses": [{{"status": 200, "body": "<html>"}}, {GRANTED}]}}"#)).await;
    let gate = GateShell::new(config(&key, fast_retries(3)), PROJECT_ID.into(), session_a(), None, None);

    assert_eq!(gate.check().await, "unknown");
    assert!(eventually(3_000, || gate.state() == "granted").await);
    assert_eq!(requests(&key).await.length(), 2);
}

#[wasm_bindgen_test]
async fn an_attempt_slower_than_its_timeout_is_aborted_and_retried() {
    let key = unique_key("timeout");
    let slow = r#"{"status": 200, "body": {"has_access": false}, "delay_ms": 3000}"#;
    script(&key, &format!(r#"{{"responses": [{slow}, {GRANTED}]}}"#)).await;
    let mut config = config(&key, fast_retries(3));
    config.attempt_timeout_ms = 200;
    let gate = GateShell::new(config, PROJECT_ID.into(), session_a(), None, None);

    let started = js_sys::Date::now();
    assert_eq!(gate.check().await, "unknown", "the slow 200 false never counts");
    let elapsed = js_sys::Date::now() - started;
    assert!((150.0..1_500.0).contains(&elapsed), "check() resolved after {elapsed} ms");
    assert!(eventually(3_000, || gate.state() == "granted").await);
    assert_eq!(requests(&key).await.length(), 2);
}

#[wasm_bindgen_test]
async fn a_retry_after_header_lengthens_the_wait_up_to_the_steps_longest_delay() {
    let key = unique_key("retry-after");
    let slow_down = r#"{"status": 429, "headers": {"retry-after": "1"}}"#;
    script(&key, &format!(r#"{{"responses": [{slow_down}, {GRANTED}]}}"#)).await;
    // The first retry waits 400 ms ± 25 %: at most 500 ms, whatever Retry-After asks
    // (failing closed must come within the documented budget).
    let retry =
        GateRetryConfig { initial_delay_ms: 400, max_delay_ms: 2_000, jitter: 0.25, ..fast_retries(3) };
    let gate = GateShell::new(config(&key, retry), PROJECT_ID.into(), session_a(), None, None);

    let started = js_sys::Date::now();
    assert_eq!(gate.check().await, "unknown");
    sleep_ms(250).await;
    assert_eq!(requests(&key).await.length(), 1, "still waiting");
    assert!(eventually(3_000, || gate.state() == "granted").await);
    let elapsed = js_sys::Date::now() - started;
    assert!(
        elapsed >= 480.0,
        "Retry-After lengthened the wait to the step's cap: retried after {elapsed} ms"
    );
    assert!(elapsed < 950.0, "Retry-After: 1 is capped at 500 ms: retried after {elapsed} ms");
}

#[wasm_bindgen_test]
async fn the_online_event_wakes_a_sleeping_retry_at_once() {
    let key = unique_key("online");
    script(&key, &format!(r#"{{"responses": [{{"status": 503}}, {GRANTED}]}}"#)).await;
    let retry = GateRetryConfig { initial_delay_ms: 60_000, max_delay_ms: 60_000, ..fast_retries(3) };
    let gate = GateShell::new(config(&key, retry), PROJECT_ID.into(), session_a(), None, None);
    gate.start();

    assert_eq!(gate.check().await, "unknown");
    sleep_ms(100).await;
    assert_eq!(requests(&key).await.length(), 1, "the retry sleeps for a minute");

    let window = web_sys::window().unwrap();
    window.dispatch_event(&web_sys::Event::new("online").unwrap()).unwrap();
    assert!(eventually(1_000, || gate.state() == "granted").await, "online should retry at once");
    assert_eq!(requests(&key).await.length(), 2);
    gate.stop();
}

#[wasm_bindgen_test]
async fn unauthorized_calls_on_signed_out_once_after_exactly_one_request() {
    let key = unique_key("401");
    script(&key, &format!(r#"{{"responses": [{GRANTED}, {{"status": 401}}], "fallback": {GRANTED}}}"#)).await;
    let (on_change, changes) = change_recorder();
    let (on_signed_out, signed_out_calls) = counter();
    let gate = GateShell::new(
        config(&key, fast_retries(3)),
        PROJECT_ID.into(),
        session_a(),
        Some(on_change),
        Some(on_signed_out),
    );

    assert_eq!(gate.check().await, "granted");
    assert_eq!(gate.check().await, "unknown");
    sleep_ms(200).await; // a 401 is not retried
    assert_eq!(requests(&key).await.length(), 2, "one request for the 401 check");
    assert_eq!(signed_out_calls.get(), 1);
    assert_eq!(changes_of(&changes), ["granted/granted", "unknown/signed-out"]);
}

#[wasm_bindgen_test]
async fn a_signed_out_session_sends_nothing() {
    let key = unique_key("no-session");
    script(&key, &format!(r#"{{"responses": [], "fallback": {GRANTED}}}"#)).await;
    let session = session_with(Rc::new(RefCell::new(None)));
    let (on_signed_out, signed_out_calls) = counter();
    let gate =
        GateShell::new(config(&key, fast_retries(3)), PROJECT_ID.into(), session, None, Some(on_signed_out));

    assert_eq!(gate.check().await, "unknown");
    sleep_ms(100).await;
    assert_eq!(requests(&key).await.length(), 0);
    assert_eq!(signed_out_calls.get(), 0, "onSignedOut is for a 401 only");
}

#[wasm_bindgen_test]
async fn a_stale_loop_for_session_a_never_overwrites_session_b_grant() {
    let key = unique_key("stale-loop");
    // A's first attempt fails; B's check is granted; anything later would fail.
    script(
        &key,
        &format!(r#"{{"responses": [{{"status": 503}}, {GRANTED}], "fallback": {{"status": 503}}}}"#),
    )
    .await;
    let token = Rc::new(RefCell::new(Some("token-a".to_string())));
    let (on_change, changes) = change_recorder();
    let retry = GateRetryConfig { initial_delay_ms: 300, max_delay_ms: 300, ..fast_retries(1) };
    let gate = GateShell::new(
        config(&key, retry),
        PROJECT_ID.into(),
        session_with(token.clone()),
        Some(on_change),
        None,
    );

    assert_eq!(gate.check().await, "unknown", "A's loop is now sleeping");
    *token.borrow_mut() = Some("token-b".into());
    assert_eq!(gate.check().await, "granted");

    sleep_ms(800).await; // well past A's wake-up and its would-be fail-closed
    assert_eq!(gate.state(), "granted");
    assert_eq!(changes_of(&changes), ["granted/granted"]);
    let sent = requests(&key).await;
    assert_eq!(sent.length(), 2, "A's loop sent nothing after B's check");
    assert_eq!(header(&sent.get(0), "authorization").as_deref(), Some("Bearer token-a"));
    assert_eq!(header(&sent.get(1), "authorization").as_deref(), Some("Bearer token-b"));
}

#[wasm_bindgen_test]
async fn the_request_is_a_get_with_the_bearer_token_and_project_id() {
    let key = unique_key("headers");
    script(&key, &format!(r#"{{"responses": [{GRANTED}]}}"#)).await;
    let gate = GateShell::new(config(&key, fast_retries(3)), PROJECT_ID.into(), session_a(), None, None);

    assert_eq!(gate.check().await, "granted", "a healthy server settles the first check");
    let sent = requests(&key).await;
    assert_eq!(sent.length(), 1);
    let request = sent.get(0);
    assert_eq!(Reflect::get(&request, &"method".into()).unwrap().as_string().as_deref(), Some("GET"));
    assert_eq!(header(&request, "authorization").as_deref(), Some("Bearer token-a"));
    assert_eq!(header(&request, "x-stack-project-id").as_deref(), Some(PROJECT_ID));
    assert_eq!(header(&request, "cookie"), None, "credentials are omitted");
}

#[wasm_bindgen_test]
async fn throwing_callbacks_do_not_break_the_gate() {
    let key = unique_key("throwing");
    script(&key, &format!(r#"{{"responses": [{GRANTED}, {DENIED}, {{"status": 401}}]}}"#)).await;
    let throws = Function::new_no_args("throw new Error('callback bug')");
    let gate = GateShell::new(
        config(&key, fast_retries(3)),
        PROJECT_ID.into(),
        session_a(),
        Some(throws.clone()),
        Some(throws),
    );

    assert_eq!(gate.check().await, "granted");
    assert_eq!(gate.check().await, "denied");
    assert_eq!(gate.check().await, "unknown");
}

#[wasm_bindgen_test]
async fn stop_ends_the_retry_loop() {
    let key = unique_key("stop");
    script(&key, r#"{"responses": [], "fallback": {"status": 503}}"#).await;
    let retry = GateRetryConfig { initial_delay_ms: 100, max_delay_ms: 100, ..fast_retries(3) };
    let gate = GateShell::new(config(&key, retry), PROJECT_ID.into(), session_a(), None, None);
    gate.start();

    assert_eq!(gate.check().await, "unknown");
    gate.stop();
    sleep_ms(500).await;
    assert_eq!(requests(&key).await.length(), 1);
    assert_eq!(gate.state(), "unknown", "stop keeps the state, never fails closed");
}
