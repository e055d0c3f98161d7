//! Connects the recorder to the uploader: the browser session id in localStorage (shared
//! by the tabs of an origin, rotated when idle), sampling, the minimum and maximum
//! durations, the `"on-error"` window (`core::replay::controls` decides all of them),
//! checkouts, and the periodic flush.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::web::timer::{Interval, Timeout};
use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::core::batch::{ReplaySession, Stream};
use crate::core::browser_session::BrowserSession;
use crate::core::config::ReplayConfig;
use crate::core::replay::controls::{sampled_in, ControlAction, ReplayControls, ReplayMode, ReplayState};
use crate::core::replay::event::{self, envelope};
use crate::web::listener::Listener;
use crate::web::recorder::{RecordedEvent, Recorder};
use crate::web::storage;
use crate::web::uploader::Uploader;
use crate::web::util::{new_uuid, now_ms, warn};

/// How often idleness and the other tabs' activity are looked at.
const SESSION_CHECK_MS: u32 = 5_000;

pub struct ReplayDriver {
    shared: Rc<Shared>,
    _intervals: Vec<Interval>,
    _listeners: Vec<Listener>,
}

struct Shared {
    config: ReplayConfig,
    uploader: Uploader,
    key: String,
    /// The browser session the recorder writes to.
    session: RefCell<BrowserSession>,
    controls: RefCell<ReplayControls>,
    /// `None` while the session is sampled out (or the recorder could not start).
    recorder: RefCell<Option<Rc<Recorder>>>,
    sampled_out: Cell<bool>,
    /// The one timer of `controls.poll_timeout()`, and its deadline.
    timer: RefCell<Option<(u64, Timeout)>>,
    /// When this page loaded (its activity, while no recorder runs).
    loaded_ms: u64,
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

/// A Custom event `{tag, payload: {reason}}`, as the recorder writes them.
fn reason_event(tag: &str, reason: &str) -> String {
    envelope(event::CUSTOM, &event::custom_data(tag, &event::reason_payload(reason)), now_ms())
}

impl ReplayDriver {
    pub fn start(config: &ReplayConfig, project_id: &str, uploader: Uploader) -> Option<ReplayDriver> {
        let key = format!("sightline:{project_id}:browser-session");
        let now = now_ms();
        let (session, _) = current_session(&key, config.idle_timeout_ms, now);
        let shared = Rc::new(Shared {
            config: config.clone(),
            uploader,
            key,
            controls: RefCell::new(ReplayControls::new(config.controls(), session.created_at_ms, now)),
            session: RefCell::new(session.clone()),
            recorder: RefCell::new(None),
            sampled_out: Cell::new(false),
            timer: RefCell::new(None),
            loaded_ms: now,
        });
        shared.enter_session(session, false);

        let mut intervals = Vec::new();
        let weak = Rc::downgrade(&shared);
        intervals.push(Interval::new(config.flush_interval_ms as u32, move || {
            if let Some(shared) = weak.upgrade() {
                shared.flush_pending();
                shared.uploader.flush_stream(Stream::Replay);
            }
        }));
        let weak = Rc::downgrade(&shared);
        intervals.push(Interval::new(config.checkout_every_nms.min(i32::MAX as u64) as u32, move || {
            if let Some(recorder) = weak.upgrade().and_then(|s| s.recorder()) {
                recorder.checkout();
            }
        }));
        let weak = Rc::downgrade(&shared);
        // Short idle timeouts (tests, kiosks) are checked often enough to honour them.
        let check_every_ms = SESSION_CHECK_MS.min((config.idle_timeout_ms / 4).max(10) as u32);
        intervals.push(Interval::new(check_every_ms, move || {
            if let Some(shared) = weak.upgrade() {
                shared.check_session();
            }
        }));

        // "on-error": an uncaught error or an unhandled rejection sends the window.
        let mut listeners = Vec::new();
        if config.mode == ReplayMode::OnError {
            if let Some(window) = web_sys::window() {
                for kind in ["error", "unhandledrejection"] {
                    let weak = Rc::downgrade(&shared);
                    listeners.push(Listener::new(&window, kind, false, move |_| {
                        if let Some(shared) = weak.upgrade() {
                            shared.trigger(kind);
                        }
                    }));
                }
            }
        }
        Some(ReplayDriver { shared, _intervals: intervals, _listeners: listeners })
    }

    /// `clearBuffer()`: what the recorder holds is handed over (to be dropped with the
    /// rest), then a new browser session starts, playable on its own: a fresh id, then
    /// Meta and FullSnapshot. Call `before_clear` before the uploader's `clear()` and
    /// `after_clear` after it.
    pub fn before_clear(&self) {
        self.shared.flush_pending();
    }

    pub fn after_clear(&self) {
        let now = now_ms();
        let (session, _) = BrowserSession::resume_or_start(None, now, now, u64::MAX, new_uuid);
        storage::set(&self.shared.key, &session.to_json());
        self.shared.enter_session(session, true);
    }

    /// Marks `tag` (a signal's event type) with `payload` in the recording at `at_ms`.
    pub fn mark(&self, tag: &str, payload_json: &str, at_ms: u64) {
        if let Some(recorder) = self.shared.recorder() {
            recorder.custom(tag, payload_json, at_ms);
        }
    }

    /// Hands sampled events still held by the recorder to the uploader.
    pub fn flush_pending(&self) {
        self.shared.flush_pending();
    }

    /// Whether the recorder is still recording something in slices (a full snapshot, a
    /// burst of added nodes).
    pub fn in_slices(&self) -> bool {
        self.shared.recorder().is_some_and(|r| r.in_slices())
    }

    /// Everything now (leaving the page): what the recorder still records in slices (a
    /// full snapshot, a burst) is completed in this task, then handed over with the rest.
    fn flush_all(&self) {
        if let Some(recorder) = self.shared.recorder() {
            recorder.finish_slices();
        }
        self.shared.flush_pending();
    }

    /// The page is being left: a replay still shorter than `minimumDurationMs` is not sent.
    pub fn unload(&self) {
        self.flush_all();
        let _ = self.shared.controls.borrow_mut().handle_unload(now_ms());
    }

    /// `captureReplay(reason)`: in `"on-error"` mode, sends the window and records as
    /// `"always"` from here on.
    pub fn capture_replay(&self, reason: &str) {
        self.shared.trigger(reason);
    }

    pub fn state(&self) -> ReplayState {
        self.shared.state()
    }
}

impl Drop for ReplayDriver {
    fn drop(&mut self) {
        let recorder = self.shared.recorder.borrow_mut().take();
        if let Some(recorder) = recorder {
            recorder.stop();
        }
        self.shared.timer.borrow_mut().take();
    }
}

impl Shared {
    fn recorder(&self) -> Option<Rc<Recorder>> {
        self.recorder.borrow().clone()
    }

    fn state(&self) -> ReplayState {
        if self.sampled_out.get() {
            return ReplayState::SampledOut;
        }
        let stopped_itself = self.recorder().is_some_and(|r| r.stop_reason().is_some());
        if stopped_itself {
            return ReplayState::Stopped;
        }
        self.controls.borrow().state()
    }

    fn flush_pending(&self) {
        if let Some(recorder) = self.recorder() {
            recorder.flush_pending();
        }
    }

    /// Starts writing to `session` (at start, after a rotation, after `clearBuffer()`):
    /// sampling is decided for it, the controls start over, and a recorder that runs
    /// takes a fresh Meta + FullSnapshot so the session plays on its own.
    fn enter_session(self: &Rc<Self>, session: BrowserSession, fresh_snapshot: bool) {
        let now = now_ms();
        self.flush_pending();
        self.uploader.set_replay_session(replay_session(&session));
        self.controls.borrow_mut().handle_new_session(session.created_at_ms, now);
        let sampled = sampled_in(&session.session_id, self.config.sample_rate);
        *self.session.borrow_mut() = session;
        self.sampled_out.set(!sampled);
        let running = self.recorder().filter(|r| r.stop_reason().is_none());
        match (sampled, running) {
            (false, _) => {
                let recorder = self.recorder.borrow_mut().take();
                if let Some(recorder) = recorder {
                    recorder.stop();
                }
            }
            (true, Some(recorder)) => {
                if fresh_snapshot {
                    recorder.start_over();
                }
            }
            (true, None) => self.start_recorder(),
        }
        self.arm_timer();
    }

    fn start_recorder(self: &Rc<Self>) {
        let old = self.recorder.borrow_mut().take();
        if let Some(old) = old {
            old.stop();
        }
        let weak: Weak<Shared> = Rc::downgrade(self);
        let sink: Rc<dyn Fn(RecordedEvent)> = Rc::new(move |event: RecordedEvent| {
            if let Some(shared) = weak.upgrade() {
                shared.on_event(event);
            }
        });
        match Recorder::start(&self.config, sink) {
            Ok(recorder) => *self.recorder.borrow_mut() = Some(Rc::new(recorder)),
            Err(_) => warn("the session recorder could not start on this page"),
        }
    }

    /// One event from the recorder, through the controls to the uploader.
    fn on_event(self: &Rc<Self>, event: RecordedEvent) {
        let ready =
            self.controls.borrow_mut().handle_event(now_ms(), event.json, event.event_type == event::META);
        for json in ready {
            self.uploader.capture(Stream::Replay, json);
        }
        self.arm_timer();
    }

    /// An uncaught error, an unhandled rejection or `captureReplay()`.
    fn trigger(self: &Rc<Self>, reason: &str) {
        if self.recorder().is_none() {
            return;
        }
        self.flush_pending();
        let marker = reason_event("sightline/replay-trigger", reason);
        let ready = self.controls.borrow_mut().handle_trigger(now_ms(), marker);
        for json in ready {
            self.uploader.capture(Stream::Replay, json);
        }
        self.uploader.flush_stream(Stream::Replay);
        self.arm_timer();
    }

    /// Arms one timer for the controls' next deadline (if it is earlier than the armed one).
    fn arm_timer(self: &Rc<Self>) {
        let Some(deadline) = self.controls.borrow().poll_timeout() else {
            self.timer.borrow_mut().take();
            return;
        };
        if self.timer.borrow().as_ref().is_some_and(|(armed, _)| *armed <= deadline) {
            return;
        }
        let delay = deadline.saturating_sub(now_ms()).min(i32::MAX as u64) as u32;
        let weak = Rc::downgrade(self);
        let timeout = Timeout::new(delay, move || {
            if let Some(shared) = weak.upgrade() {
                shared.timer.borrow_mut().take();
                shared.on_timer();
            }
        });
        *self.timer.borrow_mut() = Some((deadline, timeout));
    }

    fn on_timer(self: &Rc<Self>) {
        loop {
            let action = self.controls.borrow_mut().poll(now_ms());
            match action {
                None => break,
                Some(ControlAction::Release(events)) => {
                    for json in events {
                        self.uploader.capture(Stream::Replay, json);
                    }
                }
                Some(ControlAction::Checkout) => {
                    if let Some(recorder) = self.recorder() {
                        recorder.checkout();
                    }
                }
                Some(ControlAction::Stop(reason)) => {
                    self.flush_pending();
                    self.uploader.capture(
                        Stream::Replay,
                        reason_event("sightline/recording-stopped", reason.as_str()),
                    );
                    if let Some(recorder) = self.recorder() {
                        recorder.stop();
                    }
                }
            }
        }
        self.arm_timer();
    }

    /// Idle rotation, or a session another tab began.
    fn check_session(self: &Rc<Self>) {
        let activity = self.recorder().map_or(self.loaded_ms, |r| r.last_activity_ms());
        let (session, rotated) = current_session(&self.key, self.config.idle_timeout_ms, activity);
        if rotated || session.session_id != self.session.borrow().session_id {
            // A new session (ours after idling, or one another tab began) must be
            // playable on its own: it starts with Meta + FullSnapshot.
            self.enter_session(session, true);
        }
    }
}
