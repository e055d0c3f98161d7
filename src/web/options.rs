//! Parsing and validating the options object of `new Sightline(options)` (api.md).
//! Every error is a `TypeError` whose message names the offending field.

use std::cell::RefCell;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::config::{AnalyticsConfig, Config, GateConfig, GateRetryConfig, ReplayConfig, UploadConfig};
use crate::core::consent::Consent;
use crate::core::replay::controls::ReplayMode;
use crate::core::signals::SignalOptions;
use crate::web::util::{js_number, type_error};

/// The JS callbacks, which stay in the shell.
pub struct Callbacks {
    pub get_analytics_session: Function,
    pub on_change: Option<Function>,
    pub on_signed_out: Option<Function>,
}

fn describe(value: &JsValue) -> String {
    if value.is_undefined() {
        "undefined".into()
    } else if value.is_null() {
        "null".into()
    } else if let Some(s) = value.as_string() {
        format!("the string \"{s}\"")
    } else if let Some(n) = value.as_f64() {
        format!("the number {}", js_number(n))
    } else if value.is_function() {
        "a function".into()
    } else if js_sys::Array::is_array(value) {
        "an array".into()
    } else {
        format!("a value of type {}", value.js_typeof().as_string().unwrap_or_default())
    }
}

/// The first error of a parse. Readers never return early: after a failure they return the
/// default and the parse goes on to the end, where the first error is thrown. One exit
/// instead of one per field keeps the bundle smaller (each early return had its own copy of
/// the clean-up of everything parsed before it). Once an error is recorded no option is
/// read any more (`Fields::get` answers `undefined`), so a getter on the options object runs
/// exactly as often as with early returns.
type FirstError = RefCell<Option<JsValue>>;

/// An options object, read field by field with its dotted path for error messages.
struct Fields<'a> {
    object: &'a JsValue,
    path: &'a str,
    error: &'a FirstError,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> JsValue {
        if self.error.borrow().is_some() {
            return JsValue::UNDEFINED;
        }
        Reflect::get(self.object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    }

    fn name(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// Records the error (the first one wins).
    fn fail(&self, name: &str, expected: &str, got: &JsValue) {
        let mut error = self.error.borrow_mut();
        if error.is_none() {
            *error = Some(type_error(format!(
                "sightline: {} must be {expected}, got {}",
                self.name(name),
                describe(got)
            )));
        }
    }

    fn required_string(&self, name: &str) -> String {
        let value = self.get(name);
        match value.as_string() {
            Some(s) if !s.is_empty() => s,
            _ => {
                self.fail(name, "a non-empty string", &value);
                String::new()
            }
        }
    }

    fn optional_string(&self, name: &str) -> Option<String> {
        let value = self.get(name);
        if value.is_undefined() || value.is_null() {
            return None;
        }
        let s = value.as_string();
        if s.is_none() {
            self.fail(name, "a string", &value);
        }
        s
    }

    fn string_or(&self, name: &str, default: &str) -> String {
        self.optional_string(name).unwrap_or_else(|| default.to_string())
    }

    fn bool_or(&self, name: &str, default: bool) -> bool {
        let value = self.get(name);
        if value.is_undefined() {
            return default;
        }
        value.as_bool().unwrap_or_else(|| {
            self.fail(name, "a boolean", &value);
            default
        })
    }

    /// A finite number in `[min, max]`, or the default when absent.
    fn number_or(&self, name: &str, default: f64, min: f64, max: f64) -> f64 {
        let value = self.get(name);
        if value.is_undefined() {
            return default;
        }
        match value.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => n,
            _ => {
                self.fail(name, &format!("a number from {} to {}", js_number(min), js_number(max)), &value);
                default
            }
        }
    }

    fn millis_or(&self, name: &str, default: u64) -> u64 {
        self.number_or(name, default as f64, 1.0, 2_147_483_647.0).round() as u64
    }

    /// A byte cap: at least 64 KiB (one analytics batch), at most 1 GiB.
    fn bytes_or(&self, name: &str, default: usize) -> usize {
        self.number_or(name, default as f64, 65_536.0, 1_073_741_824.0).round() as usize
    }

    fn optional_function(&self, name: &str) -> Option<Function> {
        let value = self.get(name);
        if value.is_undefined() || value.is_null() {
            return None;
        }
        value.dyn_into::<Function>().map_err(|v| self.fail(name, "a function", &v)).ok()
    }

    /// One of `allowed` (absent → `None`).
    fn one_of(&self, name: &str, allowed: &[&str]) -> Option<String> {
        let value = self.get(name);
        if value.is_undefined() {
            return None;
        }
        match value.as_string() {
            Some(s) if allowed.contains(&s.as_str()) => Some(s),
            _ => {
                let mut expected = String::from("one of");
                for (i, a) in allowed.iter().enumerate() {
                    expected.push_str(if i == 0 { " \"" } else { ", \"" });
                    expected.push_str(a);
                    expected.push('"');
                }
                self.fail(name, &expected, &value);
                None
            }
        }
    }

    /// A nested options object (absent → `None`).
    fn object(&self, name: &str) -> Option<JsValue> {
        let value = self.get(name);
        if value.is_undefined() {
            return None;
        }
        if value.is_object() && !value.is_function() && !js_sys::Array::is_array(&value) {
            Some(value)
        } else {
            self.fail(name, "an object", &value);
            None
        }
    }
}

/// Whether `url` is an absolute http(s) URL.
fn is_absolute_http_url(url: &str) -> bool {
    web_sys::Url::new(url).map(|u| matches!(u.protocol().as_str(), "http:" | "https:")).unwrap_or(false)
}

pub fn parse(options: &JsValue) -> Result<(Config, Callbacks), JsValue> {
    if !options.is_object() || options.is_function() || js_sys::Array::is_array(options) {
        return Err(type_error(format!("sightline: options must be an object, got {}", describe(options))));
    }
    let error = FirstError::default();
    let root = Fields { object: options, path: "options", error: &error };
    let project_id = root.required_string("projectId");
    let api_base_url = root.required_string("apiBaseUrl");
    if !is_absolute_http_url(&api_base_url) {
        root.fail("apiBaseUrl", "an absolute http(s) URL", &JsValue::from_str(&api_base_url));
    }
    let api_base_url = crate::core::json::trim_end_byte(&api_base_url, b'/').to_string();
    let publishable_client_key = root.optional_string("publishableClientKey");
    let get_analytics_session = root.optional_function("getAnalyticsSession");
    if get_analytics_session.is_none() {
        root.fail("getAnalyticsSession", "a function", &root.get("getAnalyticsSession"));
    }

    let analytics = match root.object("analytics") {
        None => AnalyticsConfig::default(),
        Some(object) => {
            let f = Fields { object: &object, path: "options.analytics", error: &error };
            let d = AnalyticsConfig::default();
            AnalyticsConfig {
                enabled: f.bool_or("enabled", d.enabled),
                autocapture: f.bool_or("autocapture", d.autocapture),
                flush_interval_ms: f.millis_or("flushIntervalMs", d.flush_interval_ms),
                max_events_per_batch: f.number_or(
                    "maxEventsPerBatch",
                    d.max_events_per_batch as f64,
                    1.0,
                    500.0,
                ) as usize,
                max_queued_bytes: f.bytes_or("maxQueuedBytes", d.max_queued_bytes),
                signals: SignalOptions {
                    rage_clicks: f.bool_or("rageClicks", d.signals.rage_clicks),
                    dead_clicks: f.bool_or("deadClicks", d.signals.dead_clicks),
                    page_leave: f.bool_or("pageLeave", d.signals.page_leave),
                    web_vitals: f.bool_or("webVitals", d.signals.web_vitals),
                    capture_exceptions: f.bool_or("captureExceptions", d.signals.capture_exceptions),
                },
            }
        }
    };

    let replays = match root.object("replays") {
        None => ReplayConfig::default(),
        Some(object) => {
            let f = Fields { object: &object, path: "options.replays", error: &error };
            let d = ReplayConfig::default();
            ReplayConfig {
                enabled: f.bool_or("enabled", d.enabled),
                mask_all_inputs: f.bool_or("maskAllInputs", d.mask_all_inputs),
                block_class: f.string_or("blockClass", &d.block_class),
                block_selector: f.optional_string("blockSelector"),
                mask_text_class: f.string_or("maskTextClass", &d.mask_text_class),
                mask_text_selector: f.optional_string("maskTextSelector"),
                ignore_class: f.string_or("ignoreClass", &d.ignore_class),
                mask_all_text: f.bool_or("maskAllText", d.mask_all_text),
                flush_interval_ms: f.millis_or("flushIntervalMs", d.flush_interval_ms),
                checkout_every_nms: f.millis_or("checkoutEveryNms", d.checkout_every_nms),
                idle_timeout_ms: f.millis_or("idleTimeoutMs", d.idle_timeout_ms),
                sample_rate: f.number_or("sampleRate", d.sample_rate, 0.0, 1.0),
                minimum_duration_ms: f.number_or("minimumDurationMs", 0.0, 0.0, 2_147_483_647.0).round()
                    as u64,
                max_session_duration_ms: f.millis_or("maxSessionDurationMs", d.max_session_duration_ms),
                mode: f
                    .one_of("mode", &["always", "on-error"])
                    .and_then(|m| ReplayMode::parse(&m))
                    .unwrap_or(d.mode),
                error_buffer_ms: f.millis_or("errorBufferMs", d.error_buffer_ms),
                mutation_limit: f.number_or("mutationLimit", d.mutation_limit as f64, 1.0, 1e9) as usize,
                max_queued_bytes: f.bytes_or("maxQueuedBytes", d.max_queued_bytes),
            }
        }
    };
    validate_selector("options.replays.blockSelector", &replays.block_selector, &error);
    validate_selector("options.replays.maskTextSelector", &replays.mask_text_selector, &error);

    let upload = match root.object("upload") {
        None => UploadConfig::default(),
        Some(object) => {
            let f = Fields { object: &object, path: "options.upload", error: &error };
            let d = UploadConfig::default();
            UploadConfig {
                retry_initial_delay_ms: f.millis_or("retryInitialDelayMs", d.retry_initial_delay_ms),
                retry_max_delay_ms: f.millis_or("retryMaxDelayMs", d.retry_max_delay_ms),
            }
        }
    };

    let mut on_change = None;
    let mut on_signed_out = None;
    let gate = match root.object("accessGate") {
        None => None,
        Some(object) => {
            let f = Fields { object: &object, path: "options.accessGate", error: &error };
            let url = f.required_string("url");
            let url = resolve_gate_url(&url, &api_base_url).unwrap_or_else(|| {
                f.fail("url", "an absolute URL or a path", &JsValue::from_str(&url));
                String::new()
            });
            on_change = f.optional_function("onChange");
            on_signed_out = f.optional_function("onSignedOut");
            let d = GateRetryConfig::default();
            let retry = match f.object("retry") {
                None => d,
                Some(object) => {
                    let r = Fields { object: &object, path: "options.accessGate.retry", error: &error };
                    GateRetryConfig {
                        initial_delay_ms: r.millis_or("initialDelayMs", d.initial_delay_ms),
                        max_delay_ms: r.millis_or("maxDelayMs", d.max_delay_ms),
                        multiplier: r.number_or("multiplier", d.multiplier, 1.0, 1000.0),
                        max_retries: r.number_or("maxRetries", d.max_retries as f64, 0.0, 1000.0) as u32,
                        jitter: r.number_or("jitter", d.jitter, 0.0, 1.0),
                    }
                }
            };
            Some(GateConfig { url, attempt_timeout_ms: f.millis_or("attemptTimeoutMs", 10_000), retry })
        }
    };

    let consent = root
        .one_of("consent", &["granted", "pending", "denied"])
        .and_then(|c| Consent::parse(&c))
        .unwrap_or(Consent::Granted);
    let respect_global_privacy_control = root.bool_or("respectGlobalPrivacyControl", true);

    if let Some(error) = error.take() {
        return Err(error);
    }
    // Missing, it has recorded an error above: this never throws.
    let get_analytics_session = get_analytics_session
        .ok_or_else(|| type_error("sightline: options.getAnalyticsSession must be a function"))?;
    let config = Config {
        project_id,
        api_base_url,
        publishable_client_key,
        analytics,
        replays,
        upload,
        gate,
        consent,
        respect_global_privacy_control,
    };
    Ok((config, Callbacks { get_analytics_session, on_change, on_signed_out }))
}

/// An absolute URL as is; a path resolved against `apiBaseUrl`.
fn resolve_gate_url(url: &str, api_base_url: &str) -> Option<String> {
    let resolved = web_sys::Url::new_with_base(url, api_base_url).ok()?.href();
    is_absolute_http_url(&resolved).then_some(resolved)
}

/// Records an error (unless one is already recorded) when `selector` is not valid CSS.
fn validate_selector(name: &str, selector: &Option<String>, error: &FirstError) {
    if error.borrow().is_some() {
        return;
    }
    let (Some(selector), Some(document)) = (selector, web_sys::window().and_then(|w| w.document())) else {
        return;
    };
    if document.query_selector(selector).is_err() {
        *error.borrow_mut() =
            Some(type_error(format!("sightline: {name} must be a valid CSS selector, got \"{selector}\"")));
    }
}
