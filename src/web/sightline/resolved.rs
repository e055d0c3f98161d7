//! `__resolvedOptions()`: the options as `new Sightline()` resolved them, defaults filled
//! in, keyed by their dotted names (`"analytics.flushIntervalMs"`). Only in builds with the
//! `test-hooks` feature, never in the package, and left out of the `.d.ts`: the
//! documentation's drift test (tests/e2e/docs.test.mjs) builds with it and checks every
//! default written in docs/api.md against it. A new option belongs here too.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use super::Sightline;
use crate::core::replay::controls::ReplayMode;

#[wasm_bindgen]
impl Sightline {
    /// Internal, for tests: the resolved options by dotted name (callbacks left out).
    #[wasm_bindgen(js_name = __resolvedOptions, skip_typescript)]
    pub fn resolved_options(&self) -> JsValue {
        let config = &self.inner.config;
        let result = Object::new();
        let set = |key: &str, value: JsValue| {
            let _ = Reflect::set(&result, &JsValue::from_str(key), &value);
        };
        let num = |n: f64| JsValue::from_f64(n);
        let text = |s: &str| JsValue::from_str(s);
        let maybe = |s: &Option<String>| s.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL);

        set("projectId", text(&config.project_id));
        set("apiBaseUrl", text(&config.api_base_url));
        set("publishableClientKey", maybe(&config.publishable_client_key));
        set("consent", text(config.consent.as_str()));
        set("respectGlobalPrivacyControl", JsValue::from_bool(config.respect_global_privacy_control));

        let a = &config.analytics;
        set("analytics.enabled", JsValue::from_bool(a.enabled));
        set("analytics.autocapture", JsValue::from_bool(a.autocapture));
        set("analytics.flushIntervalMs", num(a.flush_interval_ms as f64));
        set("analytics.maxEventsPerBatch", num(a.max_events_per_batch as f64));
        set("analytics.maxQueuedBytes", num(a.max_queued_bytes as f64));
        set("analytics.rageClicks", JsValue::from_bool(a.signals.rage_clicks));
        set("analytics.deadClicks", JsValue::from_bool(a.signals.dead_clicks));
        set("analytics.pageLeave", JsValue::from_bool(a.signals.page_leave));
        set("analytics.webVitals", JsValue::from_bool(a.signals.web_vitals));
        set("analytics.captureExceptions", JsValue::from_bool(a.signals.capture_exceptions));

        let r = &config.replays;
        set("replays.enabled", JsValue::from_bool(r.enabled));
        set("replays.maskAllInputs", JsValue::from_bool(r.mask_all_inputs));
        set("replays.blockClass", text(&r.block_class));
        set("replays.blockSelector", maybe(&r.block_selector));
        set("replays.maskTextClass", text(&r.mask_text_class));
        set("replays.maskTextSelector", maybe(&r.mask_text_selector));
        set("replays.ignoreClass", text(&r.ignore_class));
        set("replays.flushIntervalMs", num(r.flush_interval_ms as f64));
        set("replays.checkoutEveryNms", num(r.checkout_every_nms as f64));
        set("replays.idleTimeoutMs", num(r.idle_timeout_ms as f64));
        set("replays.maskAllText", JsValue::from_bool(r.mask_all_text));
        set("replays.maxQueuedBytes", num(r.max_queued_bytes as f64));
        set("replays.sampleRate", num(r.sample_rate));
        set("replays.minimumDurationMs", num(r.minimum_duration_ms as f64));
        set("replays.maxSessionDurationMs", num(r.max_session_duration_ms as f64));
        set("replays.mode", text(if r.mode == ReplayMode::OnError { "on-error" } else { "always" }));
        set("replays.errorBufferMs", num(r.error_buffer_ms as f64));
        set("replays.mutationLimit", num(r.mutation_limit as f64));

        let u = &config.upload;
        set("upload.retryInitialDelayMs", num(u.retry_initial_delay_ms as f64));
        set("upload.retryMaxDelayMs", num(u.retry_max_delay_ms as f64));

        match &config.gate {
            None => set("accessGate", JsValue::NULL),
            Some(g) => {
                set("accessGate.url", text(&g.url));
                set("accessGate.attemptTimeoutMs", num(g.attempt_timeout_ms as f64));
                set("accessGate.retry.initialDelayMs", num(g.retry.initial_delay_ms as f64));
                set("accessGate.retry.maxDelayMs", num(g.retry.max_delay_ms as f64));
                set("accessGate.retry.multiplier", num(g.retry.multiplier));
                set("accessGate.retry.maxRetries", num(g.retry.max_retries as f64));
                set("accessGate.retry.jitter", num(g.retry.jitter));
            }
        }
        result.into()
    }
}
