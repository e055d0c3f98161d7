//! The session-replay recorder (rrweb-compatible events, replay-format.md): the browser
//! glue around `core::replay`. It reads the DOM, the clock and the user's input and
//! hands the resulting events to a sink; batching and upload belong to the caller.

mod listeners;
mod observer;
mod serialize;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::WeakMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, MutationObserver, MutationObserverInit, Node};

use crate::core::config::ReplayConfig;
use crate::core::replay::controls::{StopReason, StormGuard, StormVerdict};
use crate::core::replay::event::{self, envelope};
use crate::core::replay::mirror::Mirror;
use crate::core::replay::mutation::{attach_iframe_data, diff};
use crate::core::replay::sampling::{
    InputDedup, KeyedThrottle, MoveSampler, ViewportTracker, SCROLL_INTERVAL_MS,
};
use crate::core::replay::split::split_snapshot;
use crate::web::listener::Listener;
use crate::web::privacy::Privacy;
use crate::web::util::now_ms;
use observer::BatchDom;
use serialize::Serializer;

/// Largest FullSnapshot event, in bytes of JSON; a larger snapshot is cut (see
/// `core::replay::split`). About 1 MB of JSON stays under the 1 MB a batch may weigh
/// gzipped whatever it holds, so no snapshot is ever one event too large to send.
const SNAPSHOT_EVENT_MAX_BYTES: usize = 900_000;

/// One rrweb event: `json` is the whole `{"type":…,"data":…,"timestamp":…}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub timestamp_ms: u64,
    /// rrweb's event type (4 = Meta, which starts every snapshot).
    pub event_type: u8,
    pub json: String,
}

/// Records the current document until `stop()` (or drop).
pub struct Recorder {
    shared: Rc<Shared>,
}

struct Shared {
    config: ReplayConfig,
    privacy: Privacy,
    sink: Rc<dyn Fn(RecordedEvent)>,
    state: RefCell<State>,
}

struct State {
    ids: WeakMap,
    mirror: Mirror,
    mouse: MoveSampler,
    touch: MoveSampler,
    scroll: KeyedThrottle,
    viewport: ViewportTracker,
    inputs: InputDedup,
    selection: String,
    observer: Option<MutationObserver>,
    observer_callback: Option<Closure<dyn FnMut(js_sys::Array, MutationObserver)>>,
    listeners: Vec<Listener>,
    timer_callback: Option<Closure<dyn FnMut()>>,
    /// `(deadline, setTimeout handle)` of the pending trailing-edge timer.
    timer: Option<(u64, i32)>,
    last_activity_ms: u64,
    /// The first snapshot was taken (events refer to its ids).
    recording: bool,
    stopped: bool,
    storm: StormGuard,
    /// Why the recorder stopped itself (a mutation storm), if it did.
    stop_reason: Option<StopReason>,
    /// Events produced while the state is borrowed; handed to the sink afterwards so
    /// that a sink may call back into the recorder.
    out: Vec<RecordedEvent>,
}

fn window() -> Result<web_sys::Window, JsValue> {
    web_sys::window().ok_or_else(|| JsValue::from_str("sightline: no window"))
}

fn document() -> Option<Document> {
    web_sys::window()?.document()
}

impl Recorder {
    /// Starts recording the current document; events go to `sink` as they are produced.
    pub fn start(config: &ReplayConfig, sink: Rc<dyn Fn(RecordedEvent)>) -> Result<Recorder, JsValue> {
        let window = window()?;
        let document = window.document().ok_or_else(|| JsValue::from_str("sightline: no document"))?;
        let now = now_ms();
        let shared = Rc::new(Shared {
            config: config.clone(),
            privacy: Privacy::new(config),
            sink,
            state: RefCell::new(State {
                ids: WeakMap::new(),
                mirror: Mirror::new(),
                mouse: MoveSampler::new(event::source::MOUSE_MOVE),
                touch: MoveSampler::new(event::source::TOUCH_MOVE),
                scroll: KeyedThrottle::new(SCROLL_INTERVAL_MS),
                viewport: ViewportTracker::new(0.0, 0.0),
                inputs: InputDedup::default(),
                selection: String::new(),
                observer: None,
                observer_callback: None,
                listeners: Vec::new(),
                timer_callback: None,
                timer: None,
                last_activity_ms: now,
                recording: false,
                stopped: false,
                storm: StormGuard::new(config.mutation_limit),
                stop_reason: None,
                out: Vec::new(),
            }),
        });
        if document.ready_state() == "loading" {
            // rrweb's order: DomContentLoaded and Load as they happen, the snapshot on load.
            listeners::install_load_listeners(&shared, &window, &document);
        } else {
            shared.with_state(|shared, state| shared.begin(state));
        }
        Ok(Recorder { shared })
    }

    /// Emits Meta + FullSnapshot again, reusing ids (checkout, browser-session rotation).
    pub fn checkout(&self) {
        self.shared.with_state(|shared, state| {
            if state.recording && !state.stopped {
                shared.flush_state(state);
                shared.full_snapshot(state);
            }
        });
    }

    /// Flushes pending sampled mouse moves etc. into the sink (before an upload / unload).
    pub fn flush_pending(&self) {
        self.shared.with_state(|shared, state| {
            if state.recording && !state.stopped {
                shared.flush_state(state);
            }
        });
    }

    /// Detaches every observer and listener (also on Drop).
    pub fn stop(&self) {
        self.shared.with_state(|shared, state| {
            if state.stopped {
                return;
            }
            if state.recording {
                shared.flush_state(state);
            }
            Shared::halt(state);
        });
    }

    /// Writes a Custom event `{tag, payload}` (`payload_json` is JSON) into the
    /// recording, now.
    pub fn custom_event(&self, tag: &str, payload_json: &str) {
        self.shared.with_state(|_, state| {
            if state.recording && !state.stopped {
                Shared::emit(state, event::CUSTOM, &event::custom_data(tag, payload_json));
            }
        });
    }

    /// Why the recorder stopped itself, if it did (a mutation storm that went on).
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.shared.state.try_borrow().ok().and_then(|state| state.stop_reason)
    }

    /// The time of the last user interaction (ms since epoch), for idle rotation.
    pub fn last_activity_ms(&self) -> u64 {
        self.shared.state.borrow().last_activity_ms
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
        // Break the cycles closure → Weak is fine, but drop the closures now.
        if let Ok(mut state) = self.shared.state.try_borrow_mut() {
            state.observer_callback = None;
            state.timer_callback = None;
        }
    }
}

impl Shared {
    /// Runs `f` with the state borrowed, then hands the events it produced to the sink.
    fn with_state(self: &Rc<Self>, f: impl FnOnce(&Rc<Self>, &mut State)) {
        {
            let Ok(mut state) = self.state.try_borrow_mut() else { return };
            f(self, &mut state);
        }
        loop {
            let events = match self.state.try_borrow_mut() {
                Ok(mut state) => std::mem::take(&mut state.out),
                Err(_) => return,
            };
            if events.is_empty() {
                return;
            }
            for e in events {
                (self.sink)(e);
            }
        }
    }

    /// Detaches the observer, the listeners and the timer.
    fn halt(state: &mut State) {
        state.stopped = true;
        state.recording = false;
        if let Some(observer) = state.observer.take() {
            observer.disconnect();
        }
        state.listeners.clear();
        if let (Some((_, handle)), Some(w)) = (state.timer.take(), web_sys::window()) {
            w.clear_timeout_with_handle(handle);
        }
    }

    fn emit(state: &mut State, event_type: u8, data: &str) {
        let now = now_ms();
        state.out.push(RecordedEvent {
            timestamp_ms: now,
            event_type,
            json: envelope(event_type, data, now),
        });
    }

    fn emit_incremental(state: &mut State, data: &str) {
        Self::emit(state, event::INCREMENTAL_SNAPSHOT, data);
    }

    fn serializer<'a>(&'a self, ids: &'a WeakMap, mirror: &'a mut Mirror) -> Serializer<'a> {
        Serializer {
            all: js_sys::Array::new(),
            ids,
            mirror,
            config: &self.config,
            privacy: &self.privacy,
            iframes: Vec::new(),
            shadow_roots: Vec::new(),
            for_mutation: false,
            last_child_context: None,
        }
    }

    /// First snapshot, then the observers and listeners.
    fn begin(self: &Rc<Self>, state: &mut State) {
        if state.recording || state.stopped {
            return;
        }
        let Some(document) = document() else { return };
        let weak = Rc::downgrade(self);
        let callback = Closure::<dyn FnMut(js_sys::Array, MutationObserver)>::new(move |records, _| {
            if let Some(shared) = weak.upgrade() {
                shared.with_state(|shared, state| shared.process_records(state, &records));
            }
        });
        let weak = Rc::downgrade(self);
        state.timer_callback = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.with_state(|shared, state| shared.on_timer(state));
            }
        }));
        state.observer = MutationObserver::new(callback.as_ref().unchecked_ref()).ok();
        state.observer_callback = Some(callback);
        state.recording = true;
        self.full_snapshot(state);
        listeners::install(self, state, &document);
    }

    fn observe(state: &State, root: &Node) {
        if let Some(observer) = &state.observer {
            let options = MutationObserverInit::new();
            options.set_child_list(true);
            options.set_attributes(true);
            options.set_character_data(true);
            options.set_subtree(true);
            let _ = observer.observe_with_options(root, &options);
        }
    }

    /// Meta + FullSnapshot (+ the attach events of same-origin iframes).
    fn full_snapshot(self: &Rc<Self>, state: &mut State) {
        let (Ok(window), Some(document)) = (window(), document()) else { return };
        if let Some(observer) = &state.observer {
            // Records from before the snapshot describe changes it already contains.
            let _ = observer.take_records();
        }
        let href = window.location().href().unwrap_or_default();
        let width = window.inner_width().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        let height = window.inner_height().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        state.viewport.reset(width, height);
        let mut json = String::with_capacity(64 * 1024);
        let (iframes, shadow_roots) = {
            let mut serializer = self.serializer(&state.ids, &mut state.mirror);
            serializer.serialize_document(&document, false, false, &mut json);
            (serializer.iframes, serializer.shadow_roots)
        };
        let top = window.scroll_y().unwrap_or(0.0);
        let left = window.scroll_x().unwrap_or(0.0);
        Self::emit(state, event::META, &event::meta_data(&href, width, height));
        // A snapshot too large for one event (a page of 100k elements is tens of MB of
        // JSON) is sent as the top of the tree, then Mutation events adding the body.
        match split_snapshot(&json, SNAPSHOT_EVENT_MAX_BYTES) {
            None => Self::emit(state, event::FULL_SNAPSHOT, &event::full_snapshot_data(&json, top, left)),
            Some((top_json, adds)) => {
                Self::emit(state, event::FULL_SNAPSHOT, &event::full_snapshot_data(&top_json, top, left));
                for data in adds {
                    Self::emit_incremental(state, &data);
                }
            }
        }
        Self::observe(state, &document);
        for root in &shadow_roots {
            Self::observe(state, root);
        }
        self.attach_iframes(state, iframes);
    }

    /// Sends each readable iframe's document as an `isAttachIframe` mutation, unless the
    /// iframe is blocked (by itself or an ancestor, in any tree): then nothing of it is
    /// attached, observed or recorded, whichever path found it (the snapshot, an add, a
    /// `load` after `src` changed or a lazy load).
    fn attach_iframes(&self, state: &mut State, mut queue: Vec<(u32, Document)>) {
        while let Some((iframe_id, document)) = queue.pop() {
            let verdict = self.privacy.classify(&document);
            if verdict.blocked {
                continue;
            }
            let mut json = String::new();
            let (iframes, shadow_roots) = {
                let mut serializer = self.serializer(&state.ids, &mut state.mirror);
                serializer.serialize_document(&document, true, verdict.mask_text, &mut json);
                (serializer.iframes, serializer.shadow_roots)
            };
            Self::emit_incremental(state, &attach_iframe_data(iframe_id, &json));
            Self::observe(state, &document);
            for root in &shadow_roots {
                Self::observe(state, root);
            }
            queue.extend(iframes);
        }
    }

    /// One Mutation event (at most) for one observer callback; a storm of more records
    /// than `replays.mutationLimit` is replaced by a fresh full snapshot (at most once
    /// per 10 s), and one that goes on stops the recorder.
    fn process_records(self: &Rc<Self>, state: &mut State, records: &js_sys::Array) {
        if !state.recording || records.length() == 0 {
            return;
        }
        match state.storm.handle_batch(now_ms(), records.length() as usize) {
            StormVerdict::Diff => {}
            StormVerdict::Snapshot => {
                self.full_snapshot(state);
                return;
            }
            StormVerdict::Stop => {
                let reason = StopReason::MutationLimit;
                Self::emit(
                    state,
                    event::CUSTOM,
                    &event::custom_data(
                        "sightline/recording-stopped",
                        &event::reason_payload(reason.as_str()),
                    ),
                );
                state.stop_reason = Some(reason);
                Self::halt(state);
                return;
            }
        }
        let Some(document) = document() else { return };
        let (data, iframes, shadow_roots) = {
            let mut serializer = self.serializer(&state.ids, &mut state.mirror);
            serializer.for_mutation = true;
            let mut dom = BatchDom::new(&mut serializer, &document);
            let records = dom.records(records);
            let data = diff(&records, &mut dom);
            (data, serializer.iframes, serializer.shadow_roots)
        };
        if let Some(data) = data {
            Self::emit_incremental(state, &data);
        }
        for root in &shadow_roots {
            Self::observe(state, root);
        }
        self.attach_iframes(state, iframes);
    }

    /// Sends everything waiting: observer records, sampled moves, trailing scrolls.
    fn flush_state(self: &Rc<Self>, state: &mut State) {
        if let Some(observer) = &state.observer {
            let records = observer.take_records();
            self.process_records(state, &records);
        }
        let now = now_ms();
        let mut pending: Vec<String> = Vec::new();
        pending.extend(state.mouse.flush(now));
        pending.extend(state.touch.flush(now));
        pending.extend(state.scroll.flush(now));
        if state.viewport.deadline().is_some() {
            pending.extend(state.viewport.poll(u64::MAX));
        }
        for data in pending {
            Self::emit_incremental(state, &data);
        }
    }

    fn on_timer(&self, state: &mut State) {
        state.timer = None;
        if !state.recording {
            return;
        }
        let now = now_ms();
        let mut due: Vec<String> = Vec::new();
        due.extend(state.mouse.poll(now));
        due.extend(state.touch.poll(now));
        due.extend(state.scroll.poll(now));
        due.extend(state.viewport.poll(now));
        for data in due {
            Self::emit_incremental(state, &data);
        }
        Self::schedule_timer(state);
    }

    /// Arms one `setTimeout` for the earliest trailing-edge deadline.
    fn schedule_timer(state: &mut State) {
        let deadline = [
            state.mouse.deadline(),
            state.touch.deadline(),
            state.scroll.deadline(),
            state.viewport.deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(deadline) = deadline else { return };
        if state.timer.is_some_and(|(at, _)| at <= deadline) {
            return;
        }
        let (Some(window), Some(callback)) = (web_sys::window(), state.timer_callback.as_ref()) else {
            return;
        };
        if let Some((_, handle)) = state.timer.take() {
            window.clear_timeout_with_handle(handle);
        }
        let delay = deadline.saturating_sub(now_ms()).min(i32::MAX as u64) as i32;
        if let Ok(handle) = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), delay)
        {
            state.timer = Some((deadline, handle));
        }
    }
}
