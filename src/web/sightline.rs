//! The JS-facing class `Sightline` (api.md): options in, calls out. It owns the shell's
//! pieces and wires them to each other; the deciding happens in `core`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::backoff::Backoff;
use crate::core::batch::Stream;
use crate::core::config::Config;
use crate::core::outbox::Outbox;
use crate::web::autocapture::{event_json, Autocapture};
use crate::web::gate::GateShell;
use crate::web::listener::Listener;
use crate::web::options;
use crate::web::privacy::Privacy;
use crate::web::replay::ReplayDriver;
use crate::web::session::SessionSource;
use crate::web::signals::SignalsShell;
use crate::web::transport::Endpoint;
use crate::web::uploader::Uploader;
use crate::web::util::{new_uuid, now_ms, promise, random_bytes, spawn, type_error};

/// Largest `data` of one `track()` call, serialized (api.md).
const MAX_TRACK_DATA_BYTES: usize = 32 * 1024;
/// Longest `eventType` of one `track()` call, in characters.
const MAX_EVENT_TYPE_CHARS: u32 = 200;

/// The sightline SDK: analytics events, session replay and the access gate.
#[wasm_bindgen]
pub struct Sightline {
    inner: Rc<Inner>,
}

struct Inner {
    config: Config,
    session: SessionSource,
    uploader: Uploader,
    gate: Option<GateShell>,
    running: RefCell<Option<Running>>,
}

/// What `start()` attached and `stop()` detaches (all of it RAII).
struct Running {
    replay: Option<Rc<ReplayDriver>>,
    _autocapture: Option<Autocapture>,
    _signals: Option<SignalsShell>,
    _listeners: Vec<Listener>,
    _intervals: Vec<gloo_timers::callback::Interval>,
}

#[wasm_bindgen]
impl Sightline {
    /// Validates `options` (a `TypeError` names the offending field) and prepares the
    /// SDK; nothing is attached until `start()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SightlineOptions")] options: JsValue,
    ) -> Result<Sightline, JsValue> {
        let (config, callbacks) = options::parse(&options)?;
        let session = SessionSource::new(callbacks.get_analytics_session.clone());
        let endpoint = Endpoint {
            api_base_url: config.api_base_url.clone(),
            project_id: config.project_id.clone(),
            publishable_client_key: config.publishable_client_key.clone(),
        };
        let backoff =
            Backoff::for_uploads(config.upload.retry_initial_delay_ms, config.upload.retry_max_delay_ms);
        let outbox =
            Outbox::new(new_uuid(), config.analytics.max_events_per_batch, backoff, Box::new(random_bytes));
        let uploader = Uploader::new(outbox, endpoint, session.clone());
        let gate = config.gate.clone().map(|gate| {
            GateShell::new(
                gate,
                config.project_id.clone(),
                session.clone(),
                callbacks.on_change,
                callbacks.on_signed_out,
            )
        });
        Ok(Sightline {
            inner: Rc::new(Inner { config, session, uploader, gate, running: RefCell::new(None) }),
        })
    }

    /// Attaches autocapture, timers and the unload listeners, sends what earlier pages
    /// persisted. Idempotent.
    pub fn start(&self) {
        let inner = &self.inner;
        if inner.running.borrow().is_some() {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        let uploader = inner.uploader.clone();
        // Warm the session cache so the unload path can send synchronously; capture
        // never waits for it.
        let session = inner.session.clone();
        spawn(async move {
            let _ = session.resolve().await;
        });

        let analytics = &inner.config.analytics;
        let autocapture = (analytics.enabled && analytics.autocapture).then(|| {
            let uploader = uploader.clone();
            let privacy = Privacy::new(&inner.config.replays);
            Autocapture::start(Rc::new(move |event| uploader.capture(Stream::Analytics, event)), privacy)
        });

        let mut intervals = Vec::new();
        if analytics.enabled {
            let uploader = uploader.clone();
            intervals
                .push(gloo_timers::callback::Interval::new(analytics.flush_interval_ms as u32, move || {
                    uploader.flush_stream(Stream::Analytics)
                }));
        }

        let replays = &inner.config.replays;
        let replay = replays
            .enabled
            .then(|| ReplayDriver::start(replays, &inner.config.project_id, uploader.clone()))
            .flatten()
            .map(Rc::new);

        let autocapture = autocapture.flatten();
        let signals = {
            let uploader = uploader.clone();
            let sink = Rc::new(move |event| uploader.capture(Stream::Analytics, event));
            SignalsShell::start(&inner.config, sink, replay.clone(), autocapture.as_ref())
        };

        let mut listeners = Vec::new();
        let unload = {
            let (uploader, replay) = (uploader.clone(), replay.clone());
            Rc::new(move || {
                if let Some(replay) = &replay {
                    replay.flush_pending();
                }
                uploader.unload();
            })
        };
        let on_pagehide = unload.clone();
        let leaving = signals.clone();
        listeners.push(Listener::new(&window, "pagehide", false, move |_| {
            // The page view's last signals ride the unload path with everything else.
            if let Some(signals) = &leaving {
                signals.page_hide();
            }
            on_pagehide()
        }));
        if let Some(document) = window.document() {
            let on_resume = uploader.clone();
            let doc = document.clone();
            listeners.push(Listener::new(&document, "visibilitychange", false, move |_| {
                if doc.visibility_state() == web_sys::VisibilityState::Hidden {
                    unload();
                } else {
                    on_resume.resumed();
                }
            }));
        }

        *inner.running.borrow_mut() = Some(Running {
            replay,
            _autocapture: autocapture,
            _signals: signals,
            _listeners: listeners,
            _intervals: intervals,
        });
        uploader.resume_sending();
        uploader.adopt_persisted();
        uploader.send_soon();
        if let Some(gate) = inner.gate.clone() {
            gate.start();
            spawn(async move {
                gate.check().await;
            });
        }
    }

    /// Sends what is buffered with keepalive (within the budget), persists the rest,
    /// detaches every listener and timer and restores `history`. Idempotent.
    pub fn stop(&self) {
        let Some(running) = self.inner.running.borrow_mut().take() else { return };
        if let Some(replay) = &running.replay {
            replay.flush_pending();
        }
        self.inner.uploader.unload();
        self.inner.uploader.pause();
        if let Some(gate) = &self.inner.gate {
            gate.stop();
        }
        drop(running);
    }

    /// Queues a custom event. Throws a `TypeError` saying what is wrong with the
    /// arguments; the SDK keeps working either way.
    ///
    /// `eventType`: a non-empty string of at most 200 characters. `data`: a JSON-serializable
    /// plain object of at most 32 KiB serialized. Allowed before `start()`.
    pub fn track(
        &self,
        #[wasm_bindgen(js_name = eventType, unchecked_param_type = "string")] event_type: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] data: JsValue,
    ) -> Result<(), JsValue> {
        let event_type = validate_event_type(&event_type)?;
        let data_json = serialize_track_data(&event_type, &data)?;
        if self.inner.config.analytics.enabled {
            self.inner.uploader.capture(Stream::Analytics, event_json(&event_type, now_ms(), &data_json));
        }
        Ok(())
    }

    /// Sends everything buffered and queued now; resolves with `{sent, pending}`.
    /// Never rejects because of the network.
    #[wasm_bindgen(unchecked_return_type = "Promise<FlushResult>")]
    pub fn flush(&self) -> js_sys::Promise {
        if let Some(replay) = self.inner.running.borrow().as_ref().and_then(|r| r.replay.as_ref()) {
            replay.flush_pending();
        }
        let uploader = self.inner.uploader.clone();
        promise(async move {
            let (sent, pending) = uploader.flush_now().await;
            let result = Object::new();
            Reflect::set(&result, &"sent".into(), &JsValue::from_f64(sent as f64))?;
            Reflect::set(&result, &"pending".into(), &JsValue::from_f64(pending as f64))?;
            Ok(result.into())
        })
    }

    /// Drops every event not yet acknowledged (buffers and persisted queue).
    #[wasm_bindgen(js_name = clearBuffer)]
    pub fn clear_buffer(&self) {
        self.inner.uploader.clear();
    }

    /// Runs a fresh access check for the current session, superseding older ones;
    /// resolves with the state after the first attempt (retries go on in the background).
    /// Without `accessGate` it resolves with `"unknown"`.
    #[wasm_bindgen(js_name = checkAccess, unchecked_return_type = "Promise<AccessState>")]
    pub fn check_access(&self) -> js_sys::Promise {
        let gate = self.inner.gate.clone();
        promise(async move {
            let state = match gate {
                Some(gate) => gate.check().await,
                None => "unknown",
            };
            Ok(JsValue::from_str(state))
        })
    }

    /// `"unknown" | "granted" | "denied"`.
    #[wasm_bindgen(getter = accessState, unchecked_return_type = "AccessState")]
    pub fn access_state(&self) -> String {
        self.inner.gate.as_ref().map(|gate| gate.state()).unwrap_or("unknown").to_string()
    }

    /// `{queuedEvents, deliveredEvents, droppedEvents}` for this page (analytics).
    #[wasm_bindgen(unchecked_return_type = "SightlineStats")]
    pub fn stats(&self) -> JsValue {
        let stats = self.inner.uploader.stats();
        let result = Object::new();
        let set = |key: &str, value: f64| {
            let _ = Reflect::set(&result, &key.into(), &JsValue::from_f64(value));
        };
        set("queuedEvents", stats.queued_events as f64);
        set("deliveredEvents", stats.delivered_events as f64);
        set("droppedEvents", stats.dropped_events as f64);
        result.into()
    }
}

fn validate_event_type(event_type: &JsValue) -> Result<String, JsValue> {
    let Some(js) = event_type.dyn_ref::<js_sys::JsString>() else {
        return Err(type_error("sightline: track(eventType): eventType must be a string"));
    };
    let length = js.length();
    if length == 0 || length > MAX_EVENT_TYPE_CHARS {
        return Err(type_error(format!(
            "sightline: track(eventType): eventType must be 1 to {MAX_EVENT_TYPE_CHARS} characters, got {length}"
        )));
    }
    Ok(String::from(js))
}

// Checking and serializing `track()` data is one call into JS: a replacer written in
// Rust would cross the wasm boundary once per key, which made `track()` several times
// slower than the JavaScript SDKs it replaces.
#[wasm_bindgen(inline_js = r#"
const article = (t) => (t === "object" || t === "undefined" ? "an " : "a ") + t;
export function serializeTrackData(data, context) {
  if (data === undefined || data === null) return "{}";
  if (typeof data !== "object" || Array.isArray(data)) {
    const kind = Array.isArray(data) ? "an array" : article(typeof data);
    throw new TypeError(`${context}: data must be a plain object, got ${kind}`);
  }
  const proto = Object.getPrototypeOf(data);
  // Any realm's Object.prototype (an iframe's too) has a null prototype itself.
  if (proto !== null && Object.getPrototypeOf(proto) !== null) {
    throw new TypeError(`${context}: data must be a plain object, not a class instance`);
  }
  try {
    return JSON.stringify(data, (key, value) => {
      const t = typeof value;
      if (t === "function" || t === "symbol") throw new TypeError(`the value at key "${key}" is ${article(t)}`);
      return value;
    });
  } catch (e) {
    throw new TypeError(`${context}: data is not JSON-serializable: ${e && e.message}`);
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = serializeTrackData)]
    fn serialize_track_data_js(data: &JsValue, context: &str) -> Result<String, JsValue>;
}

/// `data` as JSON: a plain object (or nothing), free of cycles, BigInts, functions and
/// symbols, at most 32 KiB serialized.
fn serialize_track_data(event_type: &str, data: &JsValue) -> Result<String, JsValue> {
    let context = format!("sightline: track(\"{event_type}\", data)");
    let json = serialize_track_data_js(data, &context)?;
    if json.len() > MAX_TRACK_DATA_BYTES {
        return Err(type_error(format!(
            "{context}: data is {} bytes serialized; the limit is {MAX_TRACK_DATA_BYTES}",
            json.len()
        )));
    }
    Ok(json)
}
