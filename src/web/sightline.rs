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
use crate::core::consent::Consent;
use crate::core::ids::Random;
use crate::core::outbox::Outbox;
use crate::core::replay::controls::ReplayState;
use crate::web::autocapture::{event_json, Autocapture};
use crate::web::consent::ConsentGate;
use crate::web::gate::GateShell;
use crate::web::listener::Listener;
use crate::web::options;
use crate::web::poison;
use crate::web::privacy::Privacy;
use crate::web::replay::ReplayDriver;
use crate::web::session::SessionSource;
use crate::web::signals::{ReplayLookup, SignalsShell};
use crate::web::transport::Endpoint;
use crate::web::uploader::Uploader;
use crate::web::util::{new_uuid, now_ms, promise, random_bytes, spawn, type_error};

#[cfg(feature = "test-hooks")]
mod resolved;

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
    /// Decides what happens to analytics events (send, keep, drop) and whether the
    /// recorder may run.
    consent: Rc<ConsentGate>,
    gate: Option<GateShell>,
    running: RefCell<Option<Running>>,
}

/// What `start()` attached and `stop()` detaches (all of it RAII).
struct Running {
    replay: Option<Rc<ReplayDriver>>,
    _autocapture: Option<Autocapture>,
    _signals: Option<SignalsShell>,
    _listeners: Vec<Listener>,
    _intervals: Vec<crate::web::timer::Interval>,
}

#[wasm_bindgen]
impl Sightline {
    /// Validates `options` (a `TypeError` names the offending field) and prepares the
    /// SDK; nothing is attached until `start()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SightlineOptions")] options: JsValue,
    ) -> Result<Sightline, JsValue> {
        poison::install();
        poison::check()?;
        let (config, callbacks) = options::parse(&options)?;
        let session = SessionSource::new(callbacks.get_analytics_session.clone());
        let endpoint = Endpoint {
            api_base_url: config.api_base_url.clone(),
            project_id: config.project_id.clone(),
            publishable_client_key: config.publishable_client_key.clone(),
        };
        let backoff =
            Backoff::for_uploads(config.upload.retry_initial_delay_ms, config.upload.retry_max_delay_ms);
        let random = Random::from_seed(random_bytes());
        let outbox = Outbox::new(new_uuid(), config.analytics.max_events_per_batch, backoff, random);
        let uploader = Uploader::new(outbox, endpoint, session.clone());
        uploader.set_max_queued_bytes(Stream::Analytics, config.analytics.max_queued_bytes);
        uploader.set_max_queued_bytes(Stream::Replay, config.replays.max_queued_bytes);
        let gate = config.gate.clone().map(|gate| {
            GateShell::new(
                gate,
                config.project_id.clone(),
                session.clone(),
                callbacks.on_change,
                callbacks.on_signed_out,
            )
        });
        let consent = Rc::new(ConsentGate::new(
            &config.project_id,
            config.consent,
            config.respect_global_privacy_control,
            uploader.clone(),
        ));
        Ok(Sightline {
            inner: Rc::new(Inner { config, session, uploader, consent, gate, running: RefCell::new(None) }),
        })
    }

    /// Attaches autocapture, timers and the unload listeners, sends what earlier pages
    /// persisted. Idempotent.
    pub fn start(&self) -> Result<(), JsValue> {
        poison::check()?;
        let inner = &self.inner;
        if inner.running.borrow().is_some() {
            return Ok(());
        }
        let Some(window) = web_sys::window() else { return Ok(()) };
        let uploader = inner.uploader.clone();
        // Warm the session cache so the unload path can send synchronously; capture
        // never waits for it.
        let session = inner.session.clone();
        spawn(async move {
            let _ = session.resolve().await;
        });

        let analytics = &inner.config.analytics;
        let autocapture = (analytics.enabled && analytics.autocapture).then(|| {
            let consent = inner.consent.clone();
            let privacy = Privacy::new(&inner.config.replays);
            Autocapture::start(Rc::new(move |event| consent.capture(event)), privacy)
        });

        let mut intervals = Vec::new();
        if analytics.enabled {
            let uploader = uploader.clone();
            intervals.push(crate::web::timer::Interval::new(analytics.flush_interval_ms as u32, move || {
                uploader.flush_stream(Stream::Analytics)
            }));
        }

        let replay = inner.start_replay();

        let autocapture = autocapture.flatten();
        let signals = {
            let consent = inner.consent.clone();
            let sink = Rc::new(move |event| consent.capture(event));
            let weak = Rc::downgrade(inner);
            let lookup: ReplayLookup = Rc::new(move || weak.upgrade().and_then(|inner| inner.replay()));
            SignalsShell::start(&inner.config, sink, lookup, autocapture.as_ref())
        };

        let mut listeners = Vec::new();
        let unload = {
            let weak = Rc::downgrade(inner);
            Rc::new(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.unload();
                }
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
                // `hidden` is true exactly when `visibilityState` is "hidden" (HTML spec),
                // without web-sys's string-to-enum conversion and its panic path.
                if doc.hidden() {
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
        match inner.consent.state() {
            Consent::Granted => {
                uploader.adopt_persisted();
                uploader.send_soon();
            }
            // Earlier pages' batches wait for a decision.
            Consent::Pending => {}
            // Nothing of this visitor is kept: earlier pages' batches included.
            Consent::Denied => inner.consent.drop_everything(),
        }
        if let Some(gate) = inner.gate.clone() {
            gate.start();
            spawn(async move {
                gate.check().await;
            });
        }
        Ok(())
    }

    /// Sends what is buffered with keepalive (within the budget), persists the rest,
    /// detaches every listener and timer and restores `history`. Idempotent.
    pub fn stop(&self) -> Result<(), JsValue> {
        poison::check()?;
        let running = self.inner.running.borrow_mut().take();
        let Some(running) = running else { return Ok(()) };
        if let Some(replay) = &running.replay {
            replay.unload();
        }
        self.inner.uploader.unload();
        self.inner.uploader.pause();
        if let Some(gate) = &self.inner.gate {
            gate.stop();
        }
        drop(running);
        Ok(())
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
        poison::check()?;
        let event_type = validate_event_type(&event_type)?;
        let data_json = serialize_track_data(&event_type, &data)?;
        if self.inner.config.analytics.enabled {
            self.inner.consent.capture(event_json(&event_type, now_ms(), &data_json));
        }
        Ok(())
    }

    /// Sends everything buffered and queued now (after a replay snapshot still being walked
    /// in slices), resolves with `{sent, pending}`.
    /// Never rejects because of the network.
    #[wasm_bindgen(unchecked_return_type = "Promise<FlushResult>")]
    pub fn flush(&self) -> Result<js_sys::Promise, JsValue> {
        poison::check()?;
        let replay = self.replay();
        if let Some(replay) = &replay {
            replay.flush_pending();
        }
        let uploader = self.inner.uploader.clone();
        let consent = self.inner.consent.clone();
        Ok(promise(async move {
            // A full snapshot still being walked, or a burst still being added, goes on
            // in slices (finishing it here would freeze the page); it is waited for, up
            // to 10 s, and sent too.
            if let Some(replay) = replay.filter(|r| r.in_slices()) {
                let give_up_at = now_ms() + 10_000;
                while replay.in_slices() && now_ms() < give_up_at {
                    crate::web::timer::pause(4).await;
                }
                replay.flush_pending();
            }
            let (sent, pending) = uploader.flush_now().await;
            // Events kept while consent is pending are still to be sent.
            let pending = pending + consent.counts().0;
            let result = Object::new();
            Reflect::set(&result, &"sent".into(), &JsValue::from_f64(sent as f64))?;
            Reflect::set(&result, &"pending".into(), &JsValue::from_f64(pending as f64))?;
            Ok(result.into())
        }))
    }

    /// Drops every event not yet acknowledged (buffers and persisted queue, counted) and
    /// starts a new epoch: nothing captured before is sent after, nothing captured after
    /// is sent with a session resolved before, and the replay starts a new browser
    /// session (fresh Meta + FullSnapshot). For sign-out.
    #[wasm_bindgen(js_name = clearBuffer)]
    pub fn clear_buffer(&self) -> Result<(), JsValue> {
        poison::check()?;
        let replay = self.replay();
        if let Some(replay) = &replay {
            replay.before_clear();
        }
        self.inner.uploader.clear();
        if let Some(replay) = &replay {
            replay.after_clear();
        }
        Ok(())
    }

    /// The running replay driver, with no borrow kept.
    fn replay(&self) -> Option<Rc<ReplayDriver>> {
        self.inner.replay()
    }

    /// Consent granted, and remembered for this `projectId`: what was kept while
    /// pending is sent, earlier pages' batches too, and the recorder starts (when
    /// `replays.enabled`).
    #[wasm_bindgen(js_name = optIn)]
    pub fn opt_in(&self) -> Result<(), JsValue> {
        poison::check()?;
        let inner = &self.inner;
        let was = inner.consent.state();
        inner.consent.grant();
        let running = inner.running.borrow().is_some();
        if running && was != Consent::Granted {
            let replay = inner.start_replay();
            if let Some(r) = inner.running.borrow_mut().as_mut() {
                r.replay = replay;
            }
            inner.uploader.adopt_persisted();
            inner.uploader.send_soon();
        }
        Ok(())
    }

    /// Consent denied, and remembered for this `projectId`: every buffer and the
    /// persisted queue are dropped (counted), the recorder stops, retries are cancelled,
    /// and nothing is sent afterwards.
    #[wasm_bindgen(js_name = optOut)]
    pub fn opt_out(&self) -> Result<(), JsValue> {
        poison::check()?;
        let replay = self.inner.running.borrow_mut().as_mut().and_then(|r| r.replay.take());
        drop(replay); // stops the recorder
        self.inner.consent.deny();
        Ok(())
    }

    /// `"granted" | "pending" | "denied"`.
    #[wasm_bindgen(getter = consentState, unchecked_return_type = "ConsentState")]
    pub fn consent_state(&self) -> Result<String, JsValue> {
        poison::check()?;
        Ok(self.inner.consent.state().as_str().to_string())
    }

    /// What the recorder is doing: `"off" | "pending-consent" | "sampled-out" |
    /// "buffering" | "recording" | "stopped"`.
    #[wasm_bindgen(getter = replayState, unchecked_return_type = "ReplayState")]
    pub fn replay_state(&self) -> Result<String, JsValue> {
        poison::check()?;
        let inner = &self.inner;
        let state = if !inner.config.replays.enabled {
            ReplayState::Off
        } else {
            match inner.consent.state() {
                Consent::Pending => ReplayState::PendingConsent,
                Consent::Denied => ReplayState::Off,
                Consent::Granted => inner.replay().map_or(ReplayState::Off, |r| r.state()),
            }
        };
        Ok(state.as_str().to_string())
    }

    /// In `replays.mode: "on-error"`: sends the buffered window now and records as
    /// `"always"` for the rest of the browser session (a Custom event
    /// `sightline/replay-trigger` marks the moment). In `"always"` mode it only adds
    /// that marker.
    #[wasm_bindgen(js_name = captureReplay)]
    pub fn capture_replay(&self, reason: Option<String>) -> Result<(), JsValue> {
        poison::check()?;
        if let Some(replay) = self.replay() {
            replay.capture_replay(reason.as_deref().unwrap_or("manual"));
        }
        Ok(())
    }

    /// Runs a fresh access check for the current session, superseding older ones;
    /// resolves with the state after the first attempt (retries go on in the background).
    /// Without `accessGate` it resolves with `"unknown"`.
    #[wasm_bindgen(js_name = checkAccess, unchecked_return_type = "Promise<AccessState>")]
    pub fn check_access(&self) -> Result<js_sys::Promise, JsValue> {
        poison::check()?;
        let gate = self.inner.gate.clone();
        Ok(promise(async move {
            let state = match gate {
                Some(gate) => gate.check().await,
                None => "unknown",
            };
            Ok(JsValue::from_str(state))
        }))
    }

    /// `"unknown" | "granted" | "denied"`.
    #[wasm_bindgen(getter = accessState, unchecked_return_type = "AccessState")]
    pub fn access_state(&self) -> Result<String, JsValue> {
        poison::check()?;
        Ok(self.inner.gate.as_ref().map(|gate| gate.state()).unwrap_or("unknown").to_string())
    }

    /// `{queuedEvents, deliveredEvents, droppedEvents, droppedReplayEvents}` for this page.
    #[wasm_bindgen(unchecked_return_type = "SightlineStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        poison::check()?;
        let stats = self.inner.uploader.stats();
        let (kept_pending, dropped_by_consent) = self.inner.consent.counts();
        let result = Object::new();
        let set = |key: &str, value: f64| {
            let _ = Reflect::set(&result, &key.into(), &JsValue::from_f64(value));
        };
        set("queuedEvents", (stats.queued_events + kept_pending) as f64);
        set("deliveredEvents", stats.delivered_events as f64);
        set("droppedEvents", (stats.dropped_events + dropped_by_consent) as f64);
        set("droppedReplayEvents", stats.dropped_replay_events as f64);
        Ok(result.into())
    }
}

impl Inner {
    fn replay(&self) -> Option<Rc<ReplayDriver>> {
        // `try_borrow`: a signal may be marked while `start()` / `optIn()` hold it.
        self.running.try_borrow().ok()?.as_ref().and_then(|r| r.replay.clone())
    }

    /// The replay driver, when `replays.enabled` and consent is granted.
    fn start_replay(&self) -> Option<Rc<ReplayDriver>> {
        let replays = &self.config.replays;
        if !replays.enabled || self.consent.state() != Consent::Granted {
            return None;
        }
        ReplayDriver::start(replays, &self.config.project_id, self.uploader.clone()).map(Rc::new)
    }

    /// `pagehide`, hidden: keepalive within the budget, persist the rest.
    fn unload(&self) {
        if let Some(replay) = self.replay() {
            replay.unload();
        }
        self.uploader.unload();
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
    // A lone surrogate (JSON.stringify escapes it as \udXXX, which strict parsers reject,
    // losing the whole batch) becomes U+FFFD.
    return JSON.stringify(data, (key, value) => {
      const t = typeof value;
      if (t === "function" || t === "symbol") throw new TypeError(`the value at key "${key}" is ${article(t)}`);
      return value;
    }).replace(/(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g, "$1\\ufffd");
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
