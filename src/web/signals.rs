//! The shell of `core::signals`: browser events and observers in, `$rage-click`,
//! `$dead-click`, `$page-leave`, `$web-vitals` and `$exception` events out (each also
//! marked in the replay as a Custom event when recording).
//!
//! What it feeds the core: clicks (with what the target is, read in one call into JS),
//! signs of life for dead clicks (a MutationObserver attached only while a click waits
//! to be judged, scrolls, focus changes, input, history changes), page views (from the
//! autocapture's navigation hook, and `pagehide`), visibility, performance entries (one
//! PerformanceObserver per entry type the browser supports: a missing type leaves its
//! vital out) and uncaught errors / unhandled rejections. One `setTimeout` follows the
//! core's `poll_timeout()`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, MutationObserver, MutationObserverInit};

use crate::core::config::Config;
use crate::core::signals::dead_click::ClickFacts;
use crate::core::signals::exceptions::ExceptionInfo;
use crate::core::signals::vitals::Vitals;
use crate::core::signals::{Signals, Target};
use crate::web::autocapture::{click_fields, event_json, Autocapture, EventSink};
use crate::web::listener::Listener;
use crate::web::privacy::Privacy;
use crate::web::replay::ReplayDriver;
use crate::web::util::now_ms;

// `sl_click`: [target element, bits] — 1 clickable (a link, button, role=button/link,
// summary, label, or inside one), 2 a form field, 4 editable, 8 a text selection;
// null when the target is not an element. `sl_vitals`: one PerformanceObserver per
// supported entry type, each entry handed to `cb([kind, a, b, c])`; returns the function
// that disconnects them. `sl_exception`: [message, type, stack, source, line, column].
#[wasm_bindgen(inline_js = r#"
export function sl_click(e) {
  let t = e.target;
  if (t && t.nodeType === 3) t = t.parentElement;
  if (!t || t.nodeType !== 1) return null;
  let f = 0;
  try { if (t.closest("a[href],button,[role=button],[role=link],summary,label")) f |= 1; } catch (_) {}
  if (/^(input|select|textarea|option)$/.test(t.localName)) f |= 2;
  if (t.isContentEditable) f |= 4;
  const s = document.getSelection();
  if (s && !s.isCollapsed && String(s).trim()) f |= 8;
  return [t, f];
}
export function sl_now() { return performance.now(); }
export function sl_interactions() { return performance.interactionCount || 0; }
export function sl_scroll() {
  const d = document.documentElement, b = document.body;
  return [scrollY + innerHeight, Math.max(d ? d.scrollHeight : 0, b ? b.scrollHeight : 0)];
}
export function sl_nav() {
  const n = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  return n ? [n.activationStart || 0, n.responseStart] : null;
}
export function sl_vitals(cb) {
  const PO = self.PerformanceObserver, types = (PO && PO.supportedEntryTypes) || [], all = [];
  const observe = (type, f, o) => {
    if (!types.includes(type)) return false;
    try {
      const po = new PO((l) => l.getEntries().forEach(f));
      po.observe(Object.assign({ type, buffered: true }, o));
      all.push(po);
      return true;
    } catch (_) { return false; }
  };
  observe("paint", (e) => e.name === "first-contentful-paint" && cb([1, e.startTime, 0, 0]));
  observe("largest-contentful-paint", (e) => cb([2, e.startTime, 0, 0]));
  if (observe("layout-shift", (e) => cb([3, e.startTime, e.value, e.hadRecentInput ? 1 : 0]))) cb([5, 0, 0, 0]);
  if (self.PerformanceEventTiming && "interactionId" in PerformanceEventTiming.prototype) {
    const ev = (e) => cb([4, e.interactionId || 0, e.duration, 0]);
    observe("event", ev, { durationThreshold: 40 });
    observe("first-input", ev);
  }
  return () => all.forEach((po) => po.disconnect());
}
export function sl_exception(e) {
  let err, msg, src = "", line = 0, col = 0;
  if (e.type === "unhandledrejection") err = e.reason;
  else { err = e.error; msg = e.message; src = e.filename || ""; line = e.lineno || 0; col = e.colno || 0; }
  const isErr = err instanceof Error || (!!err && typeof err === "object" && typeof err.message === "string" && "stack" in err);
  const type = isErr ? String(err.name || "Error") : e.type === "unhandledrejection" ? "UnhandledRejection" : "Error";
  if (isErr) msg = err.message;
  else if (e.type === "unhandledrejection") { try { msg = typeof err === "string" ? err : JSON.stringify(err); } catch (_) { msg = String(err); } }
  const stack = isErr && typeof err.stack === "string" ? err.stack : "";
  if (!src && stack) {
    const m = stack.match(/((?:https?|file):\/\/[^\s)]+):(\d+):(\d+)/);
    if (m) { src = m[1]; line = +m[2]; col = +m[3]; }
  }
  return [String(msg == null ? "" : msg), type, stack, src, line, col];
}
"#)]
extern "C" {
    fn sl_click(event: &Event) -> Option<Array>;
    fn sl_now() -> f64;
    fn sl_interactions() -> f64;
    fn sl_scroll() -> Array;
    fn sl_nav() -> Option<Array>;
    fn sl_vitals(cb: &Function) -> Function;
    fn sl_exception(event: &Event) -> Array;
}

/// A click as the core sees it: the DOM event (read for the `$click` fields only when
/// a signal is sent) and its target element.
#[derive(Clone)]
pub struct Click {
    event: Event,
    target: Element,
}

impl Target for Click {
    fn related(&self, other: &Self) -> bool {
        self.target.contains(Some(&other.target)) || other.target.contains(Some(&self.target))
    }
}

/// The running signals; dropping it detaches everything.
#[derive(Clone)]
pub struct SignalsShell {
    shared: Rc<Shared>,
}

/// Every JS callback of this module has the event listeners' closure type, whatever JS
/// passes it (a MutationObserver's records, `sl_vitals`' `[kind, a, b, c]`, nothing for a
/// timer): one closure type means one copy of wasm-bindgen's glue in the bundle.
type Callback = Closure<dyn FnMut(Event)>;

struct Shared {
    core: RefCell<Signals<Click>>,
    sink: EventSink,
    replay: Option<Rc<ReplayDriver>>,
    privacy: Privacy,
    listeners: RefCell<Vec<Listener>>,
    timer_callback: RefCell<Option<Callback>>,
    timer: Cell<Option<(u64, i32)>>,
    observer: RefCell<Option<(MutationObserver, Callback)>>,
    observing: Cell<bool>,
    vitals_callback: RefCell<Option<Callback>>,
    stop_vitals: RefCell<Option<Function>>,
}

fn number(array: &Array, i: u32) -> f64 {
    array.get(i).as_f64().unwrap_or(0.0)
}

fn visible(document: &web_sys::Document) -> bool {
    document.visibility_state() == web_sys::VisibilityState::Visible
}

impl SignalsShell {
    /// Starts the signals `config.analytics` turns on (`None` when none is, or the
    /// tracker is off). Page views follow `autocapture`'s navigations; without it the
    /// document is one page view.
    pub fn start(
        config: &Config,
        sink: EventSink,
        replay: Option<Rc<ReplayDriver>>,
        autocapture: Option<&Autocapture>,
    ) -> Option<SignalsShell> {
        let options = config.analytics.signals;
        let any = options.clicks() || options.page_leave || options.web_vitals || options.capture_exceptions;
        if !config.analytics.enabled || !any {
            return None;
        }
        let window = web_sys::window()?;
        let document = window.document()?;
        let nav = sl_nav();
        let vitals = Vitals::new(nav.as_ref().map_or(0.0, |n| number(n, 0)), !visible(&document));
        let mut core = Signals::new(options, now_ms(), visible(&document), vitals);
        if let Some(nav) = &nav {
            core.vitals().handle_navigation(number(nav, 1), sl_now());
        }
        let location = window.location();
        core.handle_page_view(
            now_ms(),
            &location.href().unwrap_or_default(),
            &location.pathname().unwrap_or_default(),
            0,
        );
        let shared = Rc::new(Shared {
            core: RefCell::new(core),
            sink,
            replay,
            privacy: Privacy::new(&config.replays),
            listeners: RefCell::new(Vec::new()),
            timer_callback: RefCell::new(None),
            timer: Cell::new(None),
            observer: RefCell::new(None),
            observing: Cell::new(false),
            vitals_callback: RefCell::new(None),
            stop_vitals: RefCell::new(None),
        });
        shared.attach(&window, &document);
        if let Some(autocapture) = autocapture {
            let weak = Rc::downgrade(&shared);
            autocapture.set_navigation_hook(Rc::new(move |url: &str, path: &str, new_view: bool| {
                if let Some(shared) = weak.upgrade() {
                    shared.navigated(url, path, new_view);
                }
            }));
        }
        Some(SignalsShell { shared })
    }

    /// `pagehide`: the page view ends; its signals are captured now, before the unload
    /// path sends what is buffered.
    pub fn page_hide(&self) {
        let shared = &self.shared;
        shared.measure_scroll();
        shared.core.borrow_mut().handle_page_hide(now_ms(), sl_interactions() as u64);
        shared.after();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_vitals.get_mut().take() {
            let _ = stop.call0(&JsValue::NULL);
        }
        if let Some((observer, _)) = self.observer.get_mut().take() {
            observer.disconnect();
        }
        if let (Some((_, handle)), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(handle);
        }
    }
}

/// A listener whose handler gets the shared state (held weakly: no cycle). A plain `fn`,
/// not a closure type per listener: one copy of the glue in the bundle.
fn listen(
    shared: &Rc<Shared>,
    target: &web_sys::EventTarget,
    event_type: &'static str,
    capture: bool,
    handler: fn(&Rc<Shared>, Event),
) -> Listener {
    let weak: Weak<Shared> = Rc::downgrade(shared);
    Listener::new(target, event_type, capture, move |event| {
        if let Some(shared) = weak.upgrade() {
            handler(&shared, event);
        }
    })
}

impl Shared {
    fn attach(self: &Rc<Self>, window: &web_sys::Window, document: &web_sys::Document) {
        let options = self.core.borrow().options();
        let mut listeners = Vec::new();
        listeners.push(listen(self, document, "click", true, |shared, event| shared.click(&event)));
        listeners.push(listen(self, document, "keydown", true, |shared, event| {
            let mut core = shared.core.borrow_mut();
            core.vitals().handle_input(event.time_stamp());
            core.handle_user_press(now_ms());
        }));
        listeners.push(listen(self, document, "mousedown", true, |shared, _| {
            shared.core.borrow_mut().handle_user_press(now_ms());
        }));
        for event_type in ["focusin", "focusout"] {
            listeners.push(listen(self, document, event_type, true, |shared, _| {
                if shared.core.borrow().watching_mutations() {
                    shared.core.borrow_mut().handle_focus_change(now_ms());
                    shared.after();
                }
            }));
        }
        listeners.push(listen(self, document, "scroll", true, |shared, event| {
            let of_document = event.target().is_some_and(|t| t.dyn_ref::<web_sys::Document>().is_some());
            if of_document {
                shared.measure_scroll();
            }
            shared.activity();
        }));
        for event_type in ["input", "change"] {
            listeners.push(listen(self, document, event_type, true, |shared, _| shared.activity()));
        }
        // A page restored from the back/forward cache is a new page view (the old one
        // ended at its `pagehide`).
        listeners.push(listen(self, window, "pageshow", false, |shared, event| {
            let persisted = js_sys::Reflect::get(&event, &"persisted".into()).is_ok_and(|p| p.is_truthy());
            if let (true, Some(window)) = (persisted, web_sys::window()) {
                let location = window.location();
                let (url, path) =
                    (location.href().unwrap_or_default(), location.pathname().unwrap_or_default());
                shared.navigated(&url, &path, true);
            }
        }));
        for event_type in ["popstate", "hashchange"] {
            listeners.push(listen(self, window, event_type, false, |shared, _| shared.activity()));
        }
        listeners.push(listen(self, document, "visibilitychange", false, |shared, _| {
            let visible = web_sys::window().and_then(|w| w.document()).is_some_and(|d| visible(&d));
            shared.core.borrow_mut().handle_visibility(now_ms(), visible, sl_now());
            shared.after();
        }));
        if options.capture_exceptions {
            for event_type in ["error", "unhandledrejection"] {
                listeners
                    .push(listen(self, window, event_type, false, |shared, event| shared.exception(&event)));
            }
        }
        *self.listeners.borrow_mut() = listeners;

        let weak = Rc::downgrade(self);
        *self.timer_callback.borrow_mut() = Some(Callback::new(move |_: Event| {
            if let Some(shared) = weak.upgrade() {
                shared.timer.set(None);
                shared.after();
            }
        }));
        if options.dead_clicks {
            let weak = Rc::downgrade(self);
            let callback = Callback::new(move |_: Event| {
                if let Some(shared) = weak.upgrade() {
                    shared.activity();
                }
            });
            if let Ok(observer) = MutationObserver::new(callback.as_ref().unchecked_ref()) {
                *self.observer.borrow_mut() = Some((observer, callback));
            }
        }
        if options.web_vitals {
            let weak = Rc::downgrade(self);
            let callback = Callback::new(move |entry: Event| {
                let entry: &Array = entry.unchecked_ref();
                let (kind, a, b, c) =
                    (number(entry, 0), number(entry, 1), number(entry, 2), number(entry, 3));
                if let Some(shared) = weak.upgrade() {
                    let mut core = shared.core.borrow_mut();
                    let vitals = core.vitals();
                    match kind as u32 {
                        1 => vitals.handle_fcp(a),
                        2 => vitals.handle_lcp(a),
                        3 => vitals.handle_layout_shift(a, b, c != 0.0),
                        4 => vitals.handle_event_timing(a as u64, b),
                        _ => vitals.handle_layout_shift_supported(),
                    }
                }
            });
            *self.stop_vitals.borrow_mut() = Some(sl_vitals(callback.as_ref().unchecked_ref()));
            *self.vitals_callback.borrow_mut() = Some(callback);
        }
    }

    fn click(self: &Rc<Self>, event: &Event) {
        let Some(read) = sl_click(event) else { return };
        let Ok(target) = read.get(0).dyn_into::<Element>() else { return };
        let bits = number(&read, 1) as u32;
        let facts = ClickFacts {
            clickable: bits & 1 != 0,
            form_field: bits & 2 != 0,
            editable: bits & 4 != 0,
            selection: bits & 8 != 0,
        };
        let (x, y) = event
            .dyn_ref::<web_sys::MouseEvent>()
            .map_or((0.0, 0.0), |m| (m.client_x() as f64, m.client_y() as f64));
        {
            let mut core = self.core.borrow_mut();
            core.vitals().handle_input(event.time_stamp());
            core.handle_click(now_ms(), x, y, facts, Click { event: event.clone(), target });
        }
        self.after();
    }

    fn activity(self: &Rc<Self>) {
        let waiting = self.core.borrow().watching_mutations();
        if waiting {
            self.core.borrow_mut().handle_activity();
            self.after();
        }
    }

    fn navigated(self: &Rc<Self>, url: &str, path: &str, new_view: bool) {
        if new_view {
            self.measure_scroll();
            self.core.borrow_mut().handle_page_view(now_ms(), url, path, sl_interactions() as u64);
        } else {
            self.core.borrow_mut().handle_activity();
        }
        self.after();
    }

    fn measure_scroll(&self) {
        let read = sl_scroll();
        self.core.borrow_mut().handle_scroll(number(&read, 0), number(&read, 1));
    }

    fn exception(self: &Rc<Self>, event: &Event) {
        let read = sl_exception(event);
        let text = |i: u32| read.get(i).as_string().unwrap_or_default();
        let info = ExceptionInfo {
            message: text(0),
            kind: text(1),
            stack: text(2),
            source: text(3),
            line: number(&read, 4) as u32,
            column: number(&read, 5) as u32,
        };
        self.core.borrow_mut().handle_exception(now_ms(), info);
        self.after();
    }

    /// Sends what the core decided, re-arms the timer, attaches or detaches the
    /// MutationObserver.
    fn after(self: &Rc<Self>) {
        let now = now_ms();
        loop {
            let next = self.core.borrow_mut().poll(now);
            let Some(signal) = next else { break };
            let fields = signal.click().and_then(|c| click_fields(&c.event, &self.privacy));
            let data = signal.data_json(fields.as_deref().unwrap_or("{}"));
            if let Some(replay) = &self.replay {
                replay.mark(signal.event_type(), &data, signal.at_ms());
            }
            (self.sink)(event_json(signal.event_type(), signal.at_ms(), &data));
        }
        self.rearm(now);
        self.sync_observer();
    }

    fn rearm(&self, now: u64) {
        let Some(window) = web_sys::window() else { return };
        let deadline = self.core.borrow().poll_timeout();
        let current = self.timer.get();
        if current.map(|(at, _)| at) == deadline {
            return;
        }
        if let Some((_, handle)) = current {
            window.clear_timeout_with_handle(handle);
        }
        self.timer.set(None);
        let (Some(at), Some(callback)) =
            (deadline, self.timer_callback.borrow().as_ref().map(|c| c.as_ref().clone()))
        else {
            return;
        };
        let delay = at.saturating_sub(now).min(i32::MAX as u64) as i32;
        if let Ok(handle) =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay)
        {
            self.timer.set(Some((at, handle)));
        }
    }

    fn sync_observer(&self) {
        let want = self.core.borrow().watching_mutations();
        if want == self.observing.get() {
            return;
        }
        let observer = self.observer.borrow();
        let Some((observer, _)) = observer.as_ref() else { return };
        if want {
            let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
            let init = MutationObserverInit::new();
            init.set_child_list(true);
            init.set_subtree(true);
            init.set_attributes(true);
            init.set_character_data(true);
            if observer.observe_with_options(&document, &init).is_err() {
                return;
            }
        } else {
            observer.disconnect();
        }
        self.observing.set(want);
    }
}
