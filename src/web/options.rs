//! Parsing and validating the options object of `new Sightline(options)` (api.md).
//! Every error is a `TypeError` whose message names the offending field.

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

/// An options object, read field by field with its dotted path for error messages.
struct Fields<'a> {
    object: &'a JsValue,
    path: &'a str,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> JsValue {
        Reflect::get(self.object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    }

    fn name(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    fn fail(&self, name: &str, expected: &str, got: &JsValue) -> JsValue {
        type_error(format!("sightline: {} must be {expected}, got {}", self.name(name), describe(got)))
    }

    fn required_string(&self, name: &str) -> Result<String, JsValue> {
        let value = self.get(name);
        match value.as_string() {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.fail(name, "a non-empty string", &value)),
        }
    }

    fn optional_string(&self, name: &str) -> Result<Option<String>, JsValue> {
        let value = self.get(name);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value.as_string().map(Some).ok_or_else(|| self.fail(name, "a string", &value))
    }

    fn string_or(&self, name: &str, default: &str) -> Result<String, JsValue> {
        Ok(self.optional_string(name)?.unwrap_or_else(|| default.to_string()))
    }

    fn bool_or(&self, name: &str, default: bool) -> Result<bool, JsValue> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(default);
        }
        value.as_bool().ok_or_else(|| self.fail(name, "a boolean", &value))
    }

    /// A finite number in `[min, max]`, or the default when absent.
    fn number_or(&self, name: &str, default: f64, min: f64, max: f64) -> Result<f64, JsValue> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(default);
        }
        match value.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => Ok(n),
            _ => Err(self.fail(
                name,
                &format!("a number from {} to {}", js_number(min), js_number(max)),
                &value,
            )),
        }
    }

    fn millis_or(&self, name: &str, default: u64) -> Result<u64, JsValue> {
        Ok(self.number_or(name, default as f64, 1.0, 2_147_483_647.0)?.round() as u64)
    }

    /// A byte cap: at least 64 KiB (one analytics batch), at most 1 GiB.
    fn bytes_or(&self, name: &str, default: usize) -> Result<usize, JsValue> {
        Ok(self.number_or(name, default as f64, 65_536.0, 1_073_741_824.0)?.round() as usize)
    }

    fn optional_function(&self, name: &str) -> Result<Option<Function>, JsValue> {
        let value = self.get(name);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value.dyn_into::<Function>().map(Some).map_err(|v| self.fail(name, "a function", &v))
    }

    /// One of `allowed` (absent → `None`).
    fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, JsValue> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(None);
        }
        match value.as_string() {
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            _ => {
                let mut expected = String::from("one of");
                for (i, a) in allowed.iter().enumerate() {
                    expected.push_str(if i == 0 { " \"" } else { ", \"" });
                    expected.push_str(a);
                    expected.push('"');
                }
                Err(self.fail(name, &expected, &value))
            }
        }
    }

    /// A nested options object (absent → `None`).
    fn object(&self, name: &str) -> Result<Option<JsValue>, JsValue> {
        let value = self.get(name);
        if value.is_undefined() {
            return Ok(None);
        }
        if value.is_object() && !value.is_function() && !js_sys::Array::is_array(&value) {
            Ok(Some(value))
        } else {
            Err(self.fail(name, "an object", &value))
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
    let root = Fields { object: options, path: "options" };
    let project_id = root.required_string("projectId")?;
    let api_base_url = root.required_string("apiBaseUrl")?;
    if !is_absolute_http_url(&api_base_url) {
        return Err(root.fail("apiBaseUrl", "an absolute http(s) URL", &JsValue::from_str(&api_base_url)));
    }
    let api_base_url = api_base_url.trim_end_matches('/').to_string();
    let publishable_client_key = root.optional_string("publishableClientKey")?;
    let get_analytics_session = root
        .optional_function("getAnalyticsSession")?
        .ok_or_else(|| root.fail("getAnalyticsSession", "a function", &root.get("getAnalyticsSession")))?;

    let analytics = match root.object("analytics")? {
        None => AnalyticsConfig::default(),
        Some(object) => {
            let f = Fields { object: &object, path: "options.analytics" };
            let d = AnalyticsConfig::default();
            AnalyticsConfig {
                enabled: f.bool_or("enabled", d.enabled)?,
                autocapture: f.bool_or("autocapture", d.autocapture)?,
                flush_interval_ms: f.millis_or("flushIntervalMs", d.flush_interval_ms)?,
                max_events_per_batch: f.number_or(
                    "maxEventsPerBatch",
                    d.max_events_per_batch as f64,
                    1.0,
                    500.0,
                )? as usize,
                max_queued_bytes: f.bytes_or("maxQueuedBytes", d.max_queued_bytes)?,
                signals: SignalOptions {
                    rage_clicks: f.bool_or("rageClicks", d.signals.rage_clicks)?,
                    dead_clicks: f.bool_or("deadClicks", d.signals.dead_clicks)?,
                    page_leave: f.bool_or("pageLeave", d.signals.page_leave)?,
                    web_vitals: f.bool_or("webVitals", d.signals.web_vitals)?,
                    capture_exceptions: f.bool_or("captureExceptions", d.signals.capture_exceptions)?,
                },
            }
        }
    };

    let replays = match root.object("replays")? {
        None => ReplayConfig::default(),
        Some(object) => {
            let f = Fields { object: &object, path: "options.replays" };
            let d = ReplayConfig::default();
            ReplayConfig {
                enabled: f.bool_or("enabled", d.enabled)?,
                mask_all_inputs: f.bool_or("maskAllInputs", d.mask_all_inputs)?,
                block_class: f.string_or("blockClass", &d.block_class)?,
                block_selector: f.optional_string("blockSelector")?,
                mask_text_class: f.string_or("maskTextClass", &d.mask_text_class)?,
                mask_text_selector: f.optional_string("maskTextSelector")?,
                ignore_class: f.string_or("ignoreClass", &d.ignore_class)?,
                mask_all_text: f.bool_or("maskAllText", d.mask_all_text)?,
                flush_interval_ms: f.millis_or("flushIntervalMs", d.flush_interval_ms)?,
                checkout_every_nms: f.millis_or("checkoutEveryNms", d.checkout_every_nms)?,
                idle_timeout_ms: f.millis_or("idleTimeoutMs", d.idle_timeout_ms)?,
                sample_rate: f.number_or("sampleRate", d.sample_rate, 0.0, 1.0)?,
                minimum_duration_ms: f.number_or("minimumDurationMs", 0.0, 0.0, 2_147_483_647.0)?.round()
                    as u64,
                max_session_duration_ms: f.millis_or("maxSessionDurationMs", d.max_session_duration_ms)?,
                mode: f
                    .one_of("mode", &["always", "on-error"])?
                    .and_then(|m| ReplayMode::parse(&m))
                    .unwrap_or(d.mode),
                error_buffer_ms: f.millis_or("errorBufferMs", d.error_buffer_ms)?,
                mutation_limit: f.number_or("mutationLimit", d.mutation_limit as f64, 1.0, 1e9)? as usize,
                max_queued_bytes: f.bytes_or("maxQueuedBytes", d.max_queued_bytes)?,
            }
        }
    };
    validate_selector("options.replays.blockSelector", &replays.block_selector)?;
    validate_selector("options.replays.maskTextSelector", &replays.mask_text_selector)?;

    let upload = match root.object("upload")? {
        None => UploadConfig::default(),
        Some(object) => {
            let f = Fields { object: &object, path: "options.upload" };
            let d = UploadConfig::default();
            UploadConfig {
                retry_initial_delay_ms: f.millis_or("retryInitialDelayMs", d.retry_initial_delay_ms)?,
                retry_max_delay_ms: f.millis_or("retryMaxDelayMs", d.retry_max_delay_ms)?,
            }
        }
    };

    let mut on_change = None;
    let mut on_signed_out = None;
    let gate = match root.object("accessGate")? {
        None => None,
        Some(object) => {
            let f = Fields { object: &object, path: "options.accessGate" };
            let url = f.required_string("url")?;
            let url = resolve_gate_url(&url, &api_base_url)
                .ok_or_else(|| f.fail("url", "an absolute URL or a path", &JsValue::from_str(&url)))?;
            on_change = f.optional_function("onChange")?;
            on_signed_out = f.optional_function("onSignedOut")?;
            let d = GateRetryConfig::default();
            let retry = match f.object("retry")? {
                None => d,
                Some(object) => {
                    let r = Fields { object: &object, path: "options.accessGate.retry" };
                    GateRetryConfig {
                        initial_delay_ms: r.millis_or("initialDelayMs", d.initial_delay_ms)?,
                        max_delay_ms: r.millis_or("maxDelayMs", d.max_delay_ms)?,
                        multiplier: r.number_or("multiplier", d.multiplier, 1.0, 1000.0)?,
                        max_retries: r.number_or("maxRetries", d.max_retries as f64, 0.0, 1000.0)? as u32,
                        jitter: r.number_or("jitter", d.jitter, 0.0, 1.0)?,
                    }
                }
            };
            Some(GateConfig { url, attempt_timeout_ms: f.millis_or("attemptTimeoutMs", 10_000)?, retry })
        }
    };

    let consent = root
        .one_of("consent", &["granted", "pending", "denied"])?
        .and_then(|c| Consent::parse(&c))
        .unwrap_or(Consent::Granted);
    let respect_global_privacy_control = root.bool_or("respectGlobalPrivacyControl", true)?;

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

fn validate_selector(name: &str, selector: &Option<String>) -> Result<(), JsValue> {
    let (Some(selector), Some(document)) = (selector, web_sys::window().and_then(|w| w.document())) else {
        return Ok(());
    };
    document.query_selector(selector).map(|_| ()).map_err(|_| {
        type_error(format!("sightline: {name} must be a valid CSS selector, got \"{selector}\""))
    })
}
