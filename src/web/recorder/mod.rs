//! The session-replay recorder (rrweb-compatible events, replay-format.md): the browser
//! glue around `core::replay`. It reads the DOM, the clock and the user's input and
//! hands the resulting events to a sink; batching and upload belong to the caller.

mod listeners;
mod observer;
mod serialize;
mod snapshot;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, MutationObserver, MutationObserverInit, Node};

use crate::core::config::ReplayConfig;
use crate::core::replay::controls::{StopReason, StormGuard, StormVerdict};
use crate::core::replay::event::{self, envelope};
use crate::core::replay::id_counter::IdCounter;
use crate::core::replay::mutation::{attach_iframe_data, diff_in_slices, Deferred, Handle, Record, Slices};
use crate::core::replay::sampling::{InputDedup, Sampling};
use crate::core::replay::walk::SnapshotWalk;
use crate::web::listener::Listener;
use crate::web::privacy::Privacy;
use crate::web::util::now_ms;
use observer::{host_or_self, BatchDom};
use serialize::{id_in, sl_later, NodeIds, Serializer};
use snapshot::{Inherited, Reader};

/// Largest FullSnapshot event, in bytes of JSON: past it the walk writes the rest of the
/// page as Mutation adds of at most this size each (`core::replay::walk`). A page's
/// snapshot JSON gzips 10–20×, so 4 MB stays well under the 1 MB a batch may weigh as
/// sent, and pages of up to ~20,000 elements keep one FullSnapshot (adds cost bytes).
const SNAPSHOT_EVENT_MAX_BYTES: usize = 4_000_000;

/// Longest a slice of the full snapshot's walk runs before the page gets the main
/// thread back (a frame at 60 Hz is 16 ms; the page's own work needs the rest).
const SLICE_BUDGET_MS: f64 = 8.0;

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
    ids: NodeIds,
    id_counter: IdCounter,
    /// Mouse and touch moves, scrolls and the viewport size, rate-limited.
    sampling: Sampling,
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
    /// The full snapshot being walked, slice by slice.
    snapshot: Option<SnapshotInProgress>,
    /// Events produced while a snapshot is walked: they refer to it, so they follow it.
    deferred: Vec<RecordedEvent>,
    slice_callback: Option<Closure<dyn FnMut()>>,
    /// Containers of a burst added without their children yet, which later slices add
    /// (`core::replay::mutation::diff_in_slices`), and their nodes by id.
    owed: Deferred,
    held: js_sys::Map,
    /// A slice adding owed children is scheduled.
    adds_scheduled: bool,
    adds_callback: Option<Closure<dyn FnMut()>>,
}

/// A full snapshot in progress (`core::replay::walk`).
struct SnapshotInProgress {
    walk: SnapshotWalk<Inherited>,
    /// The reader's nodes, by handle.
    all: js_sys::Array,
    /// Observer records about parts already read, for the catch-up.
    kept: js_sys::Array,
    /// The snapshot's events are stamped with the time it began: what happened during
    /// the walk (deferred events, the catch-up) comes after it.
    started_ms: u64,
    meta: String,
    scroll: (f64, f64),
    iframes: Vec<(u32, Document)>,
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
                ids: NodeIds::create(),
                id_counter: IdCounter::new(),
                sampling: Sampling::default(),
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
                snapshot: None,
                deferred: Vec::new(),
                slice_callback: None,
                owed: Deferred::default(),
                held: js_sys::Map::new(),
                adds_scheduled: false,
                adds_callback: None,
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

    /// Emits Meta + FullSnapshot again, reusing ids (the periodic checkout).
    /// Nothing while a snapshot is being walked: it is one.
    pub fn checkout(&self) {
        self.shared.with_state(|shared, state| {
            if state.recording && !state.stopped && state.snapshot.is_none() {
                shared.flush_state(state);
                shared.full_snapshot(state);
            }
        });
    }

    /// A checkout for a new browser session (a rotation, `clearBuffer()`): a snapshot
    /// being walked is started over, since part of it was read before, and its events
    /// would land in the new session.
    pub fn start_over(&self) {
        self.shared.with_state(|shared, state| {
            if !state.recording || state.stopped {
                return;
            }
            if state.snapshot.take().is_some() {
                // Nothing of the abandoned walk is sent: not its snapshot, not what
                // referred to it, not the observer's records (the new walk reads anew).
                state.deferred.clear();
                if let Some(observer) = &state.observer {
                    let _ = observer.take_records();
                }
            } else {
                shared.flush_state(state);
            }
            shared.full_snapshot(state);
        });
    }

    /// Completes a full snapshot still being walked and a burst's owed children, in this
    /// task (the page is being left).
    pub fn finish_slices(&self) {
        self.shared.with_state(|shared, state| {
            if state.snapshot.is_some() {
                shared.continue_snapshot(state, f64::INFINITY);
            }
            if !state.owed.is_empty() {
                shared.continue_adds(state, f64::INFINITY);
            }
        });
    }

    /// Whether a full snapshot is being walked, or a burst's owed children are still to
    /// be added, in slices.
    pub fn in_slices(&self) -> bool {
        self.shared.state.try_borrow().is_ok_and(|state| state.snapshot.is_some() || !state.owed.is_empty())
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

    /// Writes a Custom event `{tag, payload}` stamped `at_ms` (when what it marks
    /// happened, which may be a little before now: a dead click is known 2.5 s later;
    /// players order events by timestamp). Nothing while not recording.
    pub fn custom(&self, tag: &str, payload_json: &str, at_ms: u64) {
        self.shared.with_state(|shared, state| {
            if state.recording && !state.stopped {
                shared.flush_state(state);
                let data = event::custom_data(tag, payload_json);
                Shared::push(
                    state,
                    RecordedEvent {
                        timestamp_ms: at_ms,
                        event_type: event::CUSTOM,
                        json: envelope(event::CUSTOM, &data, at_ms),
                    },
                );
            }
        });
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
            state.slice_callback = None;
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
        // A snapshot not finished is not sent, nor what refers to it.
        state.snapshot = None;
        state.deferred.clear();
        Self::forget_owed(state);
        if let Some(observer) = state.observer.take() {
            observer.disconnect();
        }
        state.listeners.clear();
        if let (Some((_, handle)), Some(w)) = (state.timer.take(), web_sys::window()) {
            w.clear_timeout_with_handle(handle);
        }
    }

    /// Queues an event for the sink (after the snapshot being walked, if any).
    fn push(state: &mut State, event: RecordedEvent) {
        if state.snapshot.is_some() {
            state.deferred.push(event);
        } else {
            state.out.push(event);
        }
    }

    fn emit(state: &mut State, event_type: u8, data: &str) {
        let now = now_ms();
        Self::push(
            state,
            RecordedEvent { timestamp_ms: now, event_type, json: envelope(event_type, data, now) },
        );
    }

    fn emit_at(state: &mut State, event_type: u8, data: &str, at_ms: u64) {
        state.out.push(RecordedEvent {
            timestamp_ms: at_ms,
            event_type,
            json: envelope(event_type, data, at_ms),
        });
    }

    fn emit_incremental(state: &mut State, data: &str) {
        Self::emit(state, event::INCREMENTAL_SNAPSHOT, data);
    }

    fn serializer<'a>(&'a self, ids: &'a NodeIds, id_counter: &'a mut IdCounter) -> Serializer<'a> {
        Serializer {
            all: js_sys::Array::new(),
            ids,
            id_counter,
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
        let weak = Rc::downgrade(self);
        state.slice_callback = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.with_state(|shared, state| {
                    if state.snapshot.is_some() {
                        shared.continue_snapshot(state, SLICE_BUDGET_MS);
                    }
                });
            }
        }));
        let weak = Rc::downgrade(self);
        state.adds_callback = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.with_state(|shared, state| {
                    state.adds_scheduled = false;
                    shared.continue_adds(state, SLICE_BUDGET_MS);
                });
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

    /// Starts a full snapshot (Meta + FullSnapshot, then the attach events of
    /// same-origin iframes), walked in slices of at most `SLICE_BUDGET_MS`; nothing when
    /// one is being walked already.
    fn full_snapshot(self: &Rc<Self>, state: &mut State) {
        if state.snapshot.is_some() {
            return;
        }
        let (Ok(window), Some(document)) = (window(), document()) else { return };
        if let Some(observer) = &state.observer {
            // Records from before the snapshot describe changes it will contain.
            let _ = observer.take_records();
        }
        // The walk reads what a burst still owed.
        Self::forget_owed(state);
        // From here on, a change to a part the walk has read is kept for the catch-up.
        Self::observe(state, &document);
        let href = window.location().href().unwrap_or_default();
        let width = window.inner_width().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        let height = window.inner_height().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        state.sampling.reset_viewport(width, height);
        let scroll = (window.scroll_y().unwrap_or(0.0), window.scroll_x().unwrap_or(0.0));
        let all = js_sys::Array::new();
        let (walk, iframes, shadow_roots) = {
            let mut serializer = self.serializer(&state.ids, &mut state.id_counter);
            serializer.all = all.clone();
            let walk = Reader { serializer: &mut serializer }.start(
                &document,
                false,
                false,
                SNAPSHOT_EVENT_MAX_BYTES,
            );
            (walk, serializer.iframes, serializer.shadow_roots)
        };
        let Some(walk) = walk else { return };
        for root in &shadow_roots {
            Self::observe(state, root);
        }
        state.snapshot = Some(SnapshotInProgress {
            walk,
            all,
            kept: js_sys::Array::new(),
            started_ms: now_ms(),
            meta: event::meta_data(&href, width, height),
            scroll,
            iframes,
        });
        self.continue_snapshot(state, SLICE_BUDGET_MS);
    }

    /// Walks the snapshot on for at most `budget_ms`, then schedules the next slice, or
    /// sends the snapshot when the walk is done.
    fn continue_snapshot(self: &Rc<Self>, state: &mut State, budget_ms: f64) {
        let deadline = js_sys::Date::now() + budget_ms;
        let Some(progress) = state.snapshot.as_mut() else { return };
        let (done, iframes, shadow_roots) = {
            let mut serializer = self.serializer(&state.ids, &mut state.id_counter);
            serializer.all = progress.all.clone();
            let done = progress
                .walk
                .step(&mut Reader { serializer: &mut serializer }, &mut || js_sys::Date::now() < deadline);
            (done, serializer.iframes, serializer.shadow_roots)
        };
        progress.iframes.extend(iframes);
        for root in &shadow_roots {
            Self::observe(state, root);
        }
        if done {
            self.send_snapshot(state);
        } else if let Some(callback) = &state.slice_callback {
            sl_later(callback.as_ref().unchecked_ref());
        }
    }

    /// The walk is done: Meta, FullSnapshot (cut when too large), the catch-up, the
    /// events deferred during the walk, then the iframes.
    fn send_snapshot(self: &Rc<Self>, state: &mut State) {
        if let Some(observer) = &state.observer {
            let records = observer.take_records();
            Self::keep_records(state, &records);
        }
        let Some(mut progress) = state.snapshot.take() else { return };
        let Some(document) = document() else { return };
        let at = progress.started_ms;
        let json = progress.walk.take_json();
        let (top, left) = progress.scroll;
        Self::emit_at(state, event::META, &progress.meta, at);
        Self::emit_at(state, event::FULL_SNAPSHOT, &event::full_snapshot_data(&json, top, left), at);
        drop(json);
        // A snapshot too large for one event (a page of 100k elements is tens of MB of
        // JSON): the rest of the tree, added.
        for data in progress.walk.take_adds() {
            Self::emit_at(state, event::INCREMENTAL_SNAPSHOT, &data, at);
        }
        // The catch-up: what changed in the parts read before the walk ended.
        let (data, iframes, shadow_roots) = {
            let mut serializer = self.serializer(&state.ids, &mut state.id_counter);
            serializer.for_mutation = true;
            let mut dom = BatchDom::new(&mut serializer, &document);
            let records = dom.records(&progress.kept);
            let moved_into = progress.walk.moved_into();
            let mut moved: Vec<Handle> = Vec::with_capacity(moved_into.len());
            for &h in moved_into {
                moved.push(dom.handle_of(progress.all.get(h).unchecked_into()));
            }
            let data = progress.walk.catch_up(&records, &moved, &mut dom);
            (data, serializer.iframes, serializer.shadow_roots)
        };
        if let Some(data) = data {
            Self::emit_at(state, event::INCREMENTAL_SNAPSHOT, &data, at);
        }
        let deferred = std::mem::take(&mut state.deferred);
        state.out.extend(deferred);
        for root in &shadow_roots {
            Self::observe(state, root);
        }
        progress.iframes.extend(iframes);
        self.attach_iframes(state, progress.iframes);
    }

    /// During a walk: keeps the records about parts already read (the rest the walk sees).
    fn keep_records(state: &mut State, records: &js_sys::Array) {
        let Some(progress) = state.snapshot.as_mut() else { return };
        for record in records.iter() {
            let Some(target) = record.unchecked_ref::<web_sys::MutationRecord>().target() else { continue };
            if progress.walk.keeps(id_in(&state.ids, &host_or_self(target))) {
                progress.kept.push(&record);
            }
        }
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
            let (json, iframes, shadow_roots) = {
                let mut serializer = self.serializer(&state.ids, &mut state.id_counter);
                let json = snapshot::walk_whole(&mut serializer, &document, verdict.mask_text);
                (json, serializer.iframes, serializer.shadow_roots)
            };
            let Some(json) = json else { continue };
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
        if state.snapshot.is_some() {
            Self::keep_records(state, records);
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
        self.diff_sliced(state, SLICE_BUDGET_MS, &mut |dom| dom.records(records));
    }

    /// One Mutation event of `records` (made with the batch's DOM), serializing added
    /// subtrees for at most `budget_ms`: what is left is owed, and a later slice adds it.
    fn diff_sliced(
        self: &Rc<Self>,
        state: &mut State,
        budget_ms: f64,
        records: &mut dyn FnMut(&mut BatchDom) -> Vec<Record>,
    ) {
        let Some(document) = document() else { return };
        let deadline = js_sys::Date::now() + budget_ms;
        let owed_before = !state.owed.is_empty();
        let (data, iframes, shadow_roots) = {
            let mut serializer = self.serializer(&state.ids, &mut state.id_counter);
            serializer.for_mutation = true;
            let mut dom = BatchDom::new(&mut serializer, &document);
            dom.held = Some(state.held.clone());
            let records = records(&mut dom);
            let mut go_on = || js_sys::Date::now() < deadline;
            let slices = Slices { owed: &mut state.owed, go_on: &mut go_on, ask_every: 32 };
            let data = diff_in_slices(&records, &mut dom, slices);
            (data, serializer.iframes, serializer.shadow_roots)
        };
        if let Some(data) = data {
            Self::emit_incremental(state, &data);
        }
        for root in &shadow_roots {
            Self::observe(state, root);
        }
        self.attach_iframes(state, iframes);
        if state.owed.is_empty() {
            if owed_before {
                // Containers settled by being added again whole are still held. (A diff
                // that defers ends owing: deferring stops whole serialization.)
                state.held.clear();
            }
        } else if !state.adds_scheduled {
            if let Some(callback) = &state.adds_callback {
                state.adds_scheduled = true;
                sl_later(callback.as_ref().unchecked_ref());
            }
        }
    }

    /// A slice of a burst: the observer's records first (the owed children are added as
    /// the page is after them), then owed children for at most `budget_ms`.
    fn continue_adds(self: &Rc<Self>, state: &mut State, budget_ms: f64) {
        if let Some(observer) = &state.observer {
            let records = observer.take_records();
            self.process_records(state, &records);
        }
        let deadline = js_sys::Date::now() + budget_ms;
        while state.recording && !state.owed.is_empty() && js_sys::Date::now() < deadline {
            let ids = state.owed.take(16);
            let left = deadline - js_sys::Date::now();
            let held = state.held.clone();
            self.diff_sliced(state, left, &mut |dom| {
                let mut records = Vec::new();
                for &id in &ids {
                    let node = held.get(&id.into());
                    held.delete(&id.into());
                    if let Some(target) = node.dyn_into::<Node>().ok().map(|n| dom.handle_of(n)) {
                        let added = dom.owed_children(target);
                        records.push(Record::ChildList { target, added, removed: Vec::new() });
                    }
                }
                records
            });
        }
        if state.owed.is_empty() {
            // The last owed containers were taken above (a diff then starts owing nothing).
            state.held.clear();
        }
    }

    /// Nothing owed any more: a full snapshot reads it all, or the recording ended.
    fn forget_owed(state: &mut State) {
        state.owed.clear();
        state.held.clear();
    }

    /// Sends everything waiting: observer records, sampled moves, trailing scrolls.
    fn flush_state(self: &Rc<Self>, state: &mut State) {
        if let Some(observer) = &state.observer {
            let records = observer.take_records();
            self.process_records(state, &records);
        }
        for data in state.sampling.flush(now_ms()) {
            Self::emit_incremental(state, &data);
        }
    }

    fn on_timer(&self, state: &mut State) {
        state.timer = None;
        if !state.recording {
            return;
        }
        for data in state.sampling.poll(now_ms()) {
            Self::emit_incremental(state, &data);
        }
        Self::schedule_timer(state);
    }

    /// Arms one `setTimeout` for the sampling's `poll_timeout()`.
    fn schedule_timer(state: &mut State) {
        let Some(deadline) = state.sampling.poll_timeout() else { return };
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
