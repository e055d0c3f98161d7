//! Browser tests of the tracker's shell, in headless Chromium (`wasm-pack test
//! --headless --chrome`), against the scripted endpoint of
//! tests/support/scripted-server.mjs on 127.0.0.1:8790 (started by scripts/test.sh).
//!
//! Each case is written in JavaScript (tests/browser/tracker_cases.js) against the
//! public `Sightline` class, exactly as a page uses it; Rust hands it a factory.
#![cfg(target_arch = "wasm32")]

use sightline::Sightline;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/browser/tracker_cases.js")]
extern "C" {
    #[wasm_bindgen(js_name = runCase)]
    fn run_case(name: &str, make: &js_sys::Function) -> js_sys::Promise;
}

async fn case(name: &str) -> Result<(), JsValue> {
    let make = Closure::<dyn FnMut(JsValue) -> Result<JsValue, JsValue>>::new(|options: JsValue| {
        Sightline::new(options).map(JsValue::from)
    });
    // `make.memoryBytes()`: the size of the wasm memory (to show the byte caps hold).
    let memory_bytes = Closure::<dyn Fn() -> f64>::new(|| {
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
        buffer.byte_length() as f64
    });
    let _ = js_sys::Reflect::set(make.as_ref(), &"memoryBytes".into(), memory_bytes.as_ref());
    let result = JsFuture::from(run_case(name, make.as_ref().unchecked_ref())).await;
    if let Err(error) = result {
        let message = js_sys::Reflect::get(&error, &"stack".into())
            .ok()
            .and_then(|s| s.as_string())
            .or_else(|| error.as_string())
            .unwrap_or_else(|| format!("{error:?}"));
        // An error, not a panic: a panic would disable the SDK for the later tests of
        // this wasm instance (src/web/poison.rs).
        return Err(JsValue::from_str(&format!("case {name} failed: {message}")));
    }
    Ok(())
}

#[wasm_bindgen_test]
async fn constructor_errors_name_the_field() -> Result<(), JsValue> {
    case("constructorErrorsNameTheField").await
}

#[wasm_bindgen_test]
async fn track_rejects_bad_input_and_keeps_working() -> Result<(), JsValue> {
    case("trackRejectsBadInputAndKeepsWorking").await
}

#[wasm_bindgen_test]
async fn requests_carry_stack_auth_headers_and_gzip() -> Result<(), JsValue> {
    case("requestsCarryStackAuthHeadersAndGzip").await
}

#[wasm_bindgen_test]
async fn events_captured_while_the_session_is_slow_or_failing_are_delivered() -> Result<(), JsValue> {
    case("slowOrFailingSessionLosesNothing").await
}

#[wasm_bindgen_test]
async fn a_503_is_retried_with_the_same_batch_id() -> Result<(), JsValue> {
    case("retriesKeepTheBatchId").await
}

#[wasm_bindgen_test]
async fn history_patching_is_exactly_restored_on_stop() -> Result<(), JsValue> {
    case("historyPatchingIsRestored").await
}

#[wasm_bindgen_test]
async fn page_views_follow_spa_navigation() -> Result<(), JsValue> {
    case("pageViewsFollowNavigation").await
}

#[wasm_bindgen_test]
async fn clicks_are_autocaptured_with_a_selector() -> Result<(), JsValue> {
    case("clicksAreAutocaptured").await
}

#[wasm_bindgen_test]
async fn click_text_follows_the_privacy_rule() -> Result<(), JsValue> {
    case("clickTextFollowsThePrivacyRule").await
}

#[wasm_bindgen_test]
async fn stop_sends_keepalive_within_budget_and_persists_the_rest_for_the_next_page() -> Result<(), JsValue> {
    case("unloadKeepsTheBudgetAndPersistsTheRest").await
}

#[wasm_bindgen_test]
async fn without_any_resolved_session_unload_persists_everything() -> Result<(), JsValue> {
    case("unloadWithoutSessionPersistsEverything").await
}

#[wasm_bindgen_test]
async fn clear_buffer_drops_and_counts() -> Result<(), JsValue> {
    case("clearBufferDropsAndCounts").await
}

#[wasm_bindgen_test]
async fn a_400_is_dropped_and_counted() -> Result<(), JsValue> {
    case("badRequestIsDroppedAndCounted").await
}

#[wasm_bindgen_test]
async fn the_access_gate_is_wired_into_the_class() -> Result<(), JsValue> {
    case("accessGateThroughTheClass").await
}

#[wasm_bindgen_test]
async fn the_replay_browser_session_rotates_when_idle() -> Result<(), JsValue> {
    case("replayBrowserSessionRotatesWhenIdle").await
}

#[wasm_bindgen_test]
async fn sign_out_mid_flight_never_sends_one_users_events_with_the_others_session() -> Result<(), JsValue> {
    case("signOutMidFlightNeverSendsOneUsersEventsWithTheOthersSession").await
}

#[wasm_bindgen_test]
async fn clear_buffer_starts_a_new_replay_session() -> Result<(), JsValue> {
    case("clearBufferStartsANewReplaySession").await
}

#[wasm_bindgen_test]
async fn failed_storage_writes_lose_nothing() -> Result<(), JsValue> {
    case("failedStorageWritesLoseNothing").await
}

#[wasm_bindgen_test]
async fn the_byte_cap_bounds_memory_and_counts_drops() -> Result<(), JsValue> {
    case("byteCapBoundsMemoryAndCountsDrops").await
}

#[wasm_bindgen_test]
async fn a_401_waits_for_another_session() -> Result<(), JsValue> {
    case("unauthorizedWaitsForAnotherSession").await
}

#[wasm_bindgen_test]
async fn bodies_are_compressed_once_per_batch() -> Result<(), JsValue> {
    case("bodiesAreCompressedOncePerBatch").await
}

#[wasm_bindgen_test]
async fn reentrant_callbacks_never_trap() -> Result<(), JsValue> {
    case("reentrantCallbacksNeverTrap").await
}

#[wasm_bindgen_test]
async fn click_text_is_cut_on_code_points_and_lone_surrogates_are_replaced() -> Result<(), JsValue> {
    case("clickTextIsCutOnCodePointsAndLoneSurrogatesAreReplaced").await
}
