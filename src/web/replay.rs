//! Connects the recorder to the uploader: the browser session id in localStorage (shared
//! by the tabs of an origin, rotated when idle), checkouts, and the periodic flush.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::core::batch::{ReplaySession, Stream};
use crate::core::browser_session::BrowserSession;
use crate::core::config::ReplayConfig;
use crate::web::recorder::{RecordedEvent, Recorder};
use crate::web::storage;
use crate::web::uploader::Uploader;
use crate::web::util::{new_uuid, now_ms, warn};

/// How often idleness and the other tabs' activity are looked at.
const SESSION_CHECK_MS: u32 = 5_000;

pub struct ReplayDriver {
    recorder: Rc<Recorder>,
    _intervals: Vec<Interval>,
}

fn read_session(key: &str) -> Option<BrowserSession> {
    let value = js_sys::JSON::parse(&storage::get(key)?).ok()?;
    let field = |name: &str| Reflect::get(&value, &JsValue::from_str(name)).ok();
    Some(BrowserSession {
        session_id: field("session_id")?.as_string()?,
        created_at_ms: field("created_at_ms")?.as_f64()? as u64,
        last_activity_ms: field("last_activity_ms")?.as_f64()? as u64,
    })
}

fn replay_session(session: &BrowserSession) -> ReplaySession {
    ReplaySession { browser_session_id: session.session_id.clone(), started_at_ms: session.created_at_ms }
}

/// Resumes the stored browser session or starts one, given this tab's last activity;
/// returns it and whether it is new.
fn current_session(key: &str, idle_timeout_ms: u64, activity_ms: u64) -> (BrowserSession, bool) {
    let stored = read_session(key);
    let (session, rotated) =
        BrowserSession::resume_or_start(stored, now_ms(), activity_ms, idle_timeout_ms, new_uuid);
    storage::set(key, &session.to_json());
    (session, rotated)
}

impl ReplayDriver {
    pub fn start(config: &ReplayConfig, project_id: &str, uploader: Uploader) -> Option<ReplayDriver> {
        let key = format!("sightline:{project_id}:browser-session");
        let (session, _) = current_session(&key, config.idle_timeout_ms, now_ms());
        uploader.set_replay_session(replay_session(&session));
        let sink_uploader = uploader.clone();
        let sink: Rc<dyn Fn(RecordedEvent)> = Rc::new(move |event: RecordedEvent| {
            sink_uploader.capture(Stream::Replay, event.json);
        });
        let recorder = match Recorder::start(config, sink) {
            Ok(recorder) => Rc::new(recorder),
            Err(_) => {
                warn("the session recorder could not start on this page");
                return None;
            }
        };

        let mut intervals = Vec::new();
        let flush_recorder = recorder.clone();
        let flush_uploader = uploader.clone();
        intervals.push(Interval::new(config.flush_interval_ms as u32, move || {
            flush_recorder.flush_pending();
            flush_uploader.flush_stream(Stream::Replay);
        }));
        let checkout_recorder = recorder.clone();
        intervals.push(Interval::new(config.checkout_every_nms.min(i32::MAX as u64) as u32, move || {
            checkout_recorder.checkout()
        }));
        let session_recorder = recorder.clone();
        let idle_timeout_ms = config.idle_timeout_ms;
        let mut current_id = session.session_id;
        // Short idle timeouts (tests, kiosks) are checked often enough to honour them.
        let check_every_ms = SESSION_CHECK_MS.min((idle_timeout_ms / 4).max(10) as u32);
        intervals.push(Interval::new(check_every_ms, move || {
            let (session, rotated) =
                current_session(&key, idle_timeout_ms, session_recorder.last_activity_ms());
            if rotated || session.session_id != current_id {
                // A new session (ours after idling, or one another tab began) must be
                // playable on its own: it starts with Meta + FullSnapshot.
                session_recorder.flush_pending();
                uploader.set_replay_session(replay_session(&session));
                session_recorder.checkout();
                current_id = session.session_id;
            }
        }));
        Some(ReplayDriver { recorder, _intervals: intervals })
    }

    /// Marks `tag` (a signal's event type) with `payload` in the recording at `at_ms`.
    pub fn mark(&self, tag: &str, payload_json: &str, at_ms: u64) {
        self.recorder.custom(tag, payload_json, at_ms);
    }

    /// Hands sampled events still held by the recorder to the uploader.
    pub fn flush_pending(&self) {
        self.recorder.flush_pending();
    }
}

impl Drop for ReplayDriver {
    fn drop(&mut self) {
        self.recorder.stop();
    }
}
