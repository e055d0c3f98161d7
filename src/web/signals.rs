//! The shell of `core::signals`: browser events and observers in, `$rage-click`,
//! `$dead-click`, `$page-leave`, `$web-vitals` and `$exception` events out (each also
//! marked in the replay as a Custom event when recording).
//!
//! The listening is done by one small JS module (below): it attaches the listeners, one
//! PerformanceObserver per entry type the browser supports (a missing type leaves its
//! vital out), the MutationObserver (attached only while a click waits to be judged) and
//! the single timer, and hands each input to Rust through one callback
//! `cb(kind, a, b, object)`. Rust feeds the core, sends what it decided, and answers with
//! what the JS side must do next: the core's `poll_timeout()` and whether to watch
//! mutations. Written with web-sys, the same wiring cost several kilobytes more of
//! bundle (BENCHMARKS.md).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Event;

use crate::core::config::Config;
use crate::core::signals::dead_click::ClickFacts;
use crate::core::signals::exceptions::ExceptionInfo;
use crate::core::signals::vitals::Vitals;
use crate::core::signals::{Signals, Target};
use crate::web::autocapture::{click_fields, event_json, Autocapture, EventSink};
use crate::web::privacy::Privacy;
use crate::web::replay::ReplayDriver;

/// Finds the running replay driver, if any.
pub type ReplayLookup = Rc<dyn Fn() -> Option<Rc<ReplayDriver>>>;
use crate::web::util::now_ms;

// Inputs, as `cb(kind, a, b, object)`:
//   0 the timer fired;  1 a key (b = 1) or mouse button (b = 0) was pressed at a;
//   2 focus moved;  3 activity (mutation, input, change, history, an element scrolled);
//   4 the document scrolled: a = viewport bottom, b = document height;
//   5 visibility: a = visible (1/0), b = performance.now();  6 restored from the bfcache;
//   7 an error / unhandledrejection event (object);  8 FCP, 9 LCP (a = startTime);
//   10 a layout shift without recent input (a = startTime, b = value); 11 layout shifts
//   are reported;  12 an event timing entry (a = interactionId, b = duration);
//   16 + bits: a click at (a, b), object = the event; bits: 1 clickable (a link, button,
//   role=button/link, summary, label, or inside one), 2 a form field, 4 editable, 8 a
//   text selection.
// The answer: the next deadline (ms since the epoch, 0: none), + 0.5 while mutations
// must be watched; `sl_sync` carries it out. Kinds 2 and 3 are sent only while watching.
#[wasm_bindgen(inline_js = r#"
export function sl_attach(cb, flags) {
  const s = { cb, w: false, d: 0, t: 0, off: [], mo: null, po: [] }, d = document;
  const run = (k, a, b, o) => sl_sync(s, s.cb(k, a || 0, b || 0, o));
  const on = (t, type, f, c) => {
    t.addEventListener(type, f, { capture: !!c, passive: true });
    s.off.push(() => t.removeEventListener(type, f, !!c));
  };
  const act = () => s.w && run(3);
  on(d, "click", (e) => {
    let t = e.target;
    if (t && t.nodeType === 3) t = t.parentElement;
    if (!t || t.nodeType !== 1) return;
    let f = 0;
    try { if (t.closest("a[href],button,[role=button],[role=link],summary,label")) f |= 1; } catch (_) {}
    if (/^(input|select|textarea|option)$/.test(t.localName)) f |= 2;
    if (t.isContentEditable) f |= 4;
    const sel = d.getSelection();
    if (sel && !sel.isCollapsed && String(sel).trim()) f |= 8;
    run(16 | f, e.clientX, e.clientY, e);
  }, 1);
  on(d, "keydown", (e) => run(1, e.timeStamp, 1), 1);
  on(d, "mousedown", (e) => run(1, e.timeStamp, 0), 1);
  on(d, "focusin", () => s.w && run(2), 1);
  on(d, "focusout", () => s.w && run(2), 1);
  on(d, "input", act, 1);
  on(d, "change", act, 1);
  on(window, "popstate", act);
  on(window, "hashchange", act);
  on(d, "scroll", (e) => {
    if (e.target !== d) return act();
    const r = d.documentElement, b = d.body;
    run(4, scrollY + innerHeight, Math.max(r ? r.scrollHeight : 0, b ? b.scrollHeight : 0));
  }, 1);
  on(d, "visibilitychange", () => run(5, d.visibilityState === "visible" ? 1 : 0, performance.now()));
  on(window, "pageshow", (e) => e.persisted && run(6));
  if (flags & 2) { on(window, "error", (e) => run(7, 0, 0, e)); on(window, "unhandledrejection", (e) => run(7, 0, 0, e)); }
  if (flags & 1) s.mo = new MutationObserver(act);
  const PO = self.PerformanceObserver, types = (flags & 4 && PO && PO.supportedEntryTypes) || [];
  const observe = (type, f, o) => {
    if (!types.includes(type)) return false;
    try {
      const po = new PO((l) => l.getEntries().forEach(f));
      po.observe(Object.assign({ type, buffered: true }, o));
      s.po.push(po);
      return true;
    } catch (_) { return false; }
  };
  observe("paint", (e) => e.name === "first-contentful-paint" && run(8, e.startTime));
  observe("largest-contentful-paint", (e) => run(9, e.startTime));
  if (observe("layout-shift", (e) => e.hadRecentInput || run(10, e.startTime, e.value))) run(11);
  if (self.PerformanceEventTiming && "interactionId" in PerformanceEventTiming.prototype) {
    const ev = (e) => e.interactionId && run(12, e.interactionId, e.duration);
    observe("event", ev, { durationThreshold: 40 });
    observe("first-input", ev);
  }
  return s;
}
export function sl_sync(s, r) {
  const w = r % 1 !== 0, dl = Math.floor(r);
  if (s.mo && w !== s.w) {
    if (w) s.mo.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
    else s.mo.disconnect();
  }
  s.w = w;
  if (dl !== s.d) {
    clearTimeout(s.t);
    s.d = dl;
    if (dl) s.t = setTimeout(() => { s.d = 0; sl_sync(s, s.cb(0, 0, 0)); }, Math.max(0, dl - Date.now()));
  }
}
export function sl_detach(s) {
  s.off.forEach((f) => f());
  s.po.forEach((po) => po.disconnect());
  if (s.mo) s.mo.disconnect();
  clearTimeout(s.t);
  s.cb = () => 0;
}
const target = (e) => { const t = e.target; return t && t.nodeType === 3 ? t.parentElement : t; };
export function sl_related(a, b) {
  const x = target(a), y = target(b);
  return !!x && !!y && (x.contains(y) || y.contains(x));
}
export function sl_now() { return performance.now(); }
export function sl_interactions() { return performance.interactionCount || 0; }
export function sl_scroll() {
  const d = document.documentElement, b = document.body;
  return [scrollY + innerHeight, Math.max(d ? d.scrollHeight : 0, b ? b.scrollHeight : 0)];
}
export function sl_nav() {
  const n = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  return [n ? n.activationStart || 0 : 0, n ? n.responseStart : 0, document.visibilityState === "visible" ? 1 : 0];
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
    /// Attaches everything; `flags`: 1 dead clicks, 2 exceptions, 4 web vitals.
    fn sl_attach(cb: &js_sys::Function, flags: u32) -> JsValue;
    fn sl_sync(state: &JsValue, answer: f64);
    fn sl_detach(state: &JsValue);
    fn sl_related(a: &Event, b: &Event) -> bool;
    fn sl_now() -> f64;
    fn sl_interactions() -> f64;
    fn sl_scroll() -> Array;
    /// `[activationStart, responseStart, visible]`.
    fn sl_nav() -> Array;
    fn sl_exception(event: &Event) -> Array;
}

/// A click as the core sees it: the DOM event, read for the `$click` fields only when a
/// signal is sent.
#[derive(Clone)]
pub struct Click(Event);

impl Target for Click {
    fn related(&self, other: &Self) -> bool {
        sl_related(&self.0, &other.0)
    }
}

/// `cb(kind, a, b, object) -> answer` of the JS module.
type Callback = Closure<dyn FnMut(u32, f64, f64, JsValue) -> f64>;

/// The running signals; dropping the last clone detaches everything.
#[derive(Clone)]
pub struct SignalsShell {
    shared: Rc<Shared>,
}

struct Shared {
    core: RefCell<Signals<Click>>,
    sink: EventSink,
    /// The running replay driver, looked up when a signal is marked (consent may start
    /// or stop it after the signals started).
    replay: ReplayLookup,
    privacy: Privacy,
    /// The JS module's state (`sl_attach`), and the callback it calls.
    js: RefCell<Option<(JsValue, Callback)>>,
}

fn number(array: &Array, i: u32) -> f64 {
    array.get(i).as_f64().unwrap_or(0.0)
}

/// `location.href` and `location.pathname`.
fn here() -> (String, String) {
    let Some(location) = web_sys::window().map(|w| w.location()) else { return Default::default() };
    (location.href().unwrap_or_default(), location.pathname().unwrap_or_default())
}

impl SignalsShell {
    /// Starts the signals `config.analytics` turns on (`None` when none is, or the
    /// tracker is off). Page views follow `autocapture`'s navigations; without it the
    /// document is one page view.
    pub fn start(
        config: &Config,
        sink: EventSink,
        replay: ReplayLookup,
        autocapture: Option<&Autocapture>,
    ) -> Option<SignalsShell> {
        let options = config.analytics.signals;
        let any = options.clicks() || options.page_leave || options.web_vitals || options.capture_exceptions;
        if !config.analytics.enabled || !any {
            return None;
        }
        let nav = sl_nav();
        let visible = number(&nav, 2) != 0.0;
        let mut core = Signals::new(options, now_ms(), visible, Vitals::new(number(&nav, 0), !visible));
        core.vitals().handle_navigation(number(&nav, 1), sl_now());
        let (url, path) = here();
        core.handle_page_view(now_ms(), &url, &path, 0);
        let shared = Rc::new(Shared {
            core: RefCell::new(core),
            sink,
            replay,
            privacy: Privacy::new(&config.replays),
            js: RefCell::new(None),
        });
        let weak = Rc::downgrade(&shared);
        let callback = Callback::new(move |kind, a, b, object| {
            weak.upgrade().map_or(0.0, |shared| shared.handle(kind, a, b, object))
        });
        let flags = options.dead_clicks as u32
            | (options.capture_exceptions as u32) << 1
            | (options.web_vitals as u32) << 2;
        let state = sl_attach(callback.as_ref().unchecked_ref(), flags);
        *shared.js.borrow_mut() = Some((state, callback));
        if let Some(autocapture) = autocapture {
            let weak = Rc::downgrade(&shared);
            autocapture.set_navigation_hook(Rc::new(move |url: &str, path: &str, new_view: bool| {
                if let Some(shared) = weak.upgrade() {
                    shared.navigated(url, path, new_view);
                    shared.sync();
                }
            }));
        }
        Some(SignalsShell { shared })
    }

    /// `pagehide`: the page view ends; its signals are captured now, before the unload
    /// path sends what is buffered.
    pub fn page_hide(&self) {
        let shared = &self.shared;
        let read = sl_scroll();
        let mut core = shared.core.borrow_mut();
        core.handle_scroll(number(&read, 0), number(&read, 1));
        core.handle_page_hide(now_ms(), sl_interactions() as u64);
        drop(core);
        shared.sync();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some((state, _)) = self.js.get_mut().take() {
            sl_detach(&state);
        }
    }
}

impl Shared {
    /// One input from the JS module (see its table); answers what it must do next.
    fn handle(self: &Rc<Self>, kind: u32, a: f64, b: f64, object: JsValue) -> f64 {
        let now = now_ms();
        if kind == 6 {
            let (url, path) = here();
            self.navigated(&url, &path, true);
            return self.after();
        }
        {
            let mut core = self.core.borrow_mut();
            match kind {
                1 => {
                    core.handle_user_press(now);
                    if b != 0.0 {
                        core.vitals().handle_input(a);
                    }
                }
                2 => core.handle_focus_change(now),
                3 => core.handle_activity(),
                4 => {
                    core.handle_scroll(a, b);
                    core.handle_activity();
                }
                5 => core.handle_visibility(now, a != 0.0, b),
                7 => {
                    let event: Event = object.unchecked_into();
                    core.handle_exception(now, exception_info(&event));
                }
                8 => core.vitals().handle_fcp(a),
                9 => core.vitals().handle_lcp(a),
                10 => core.vitals().handle_layout_shift(a, b, false),
                11 => core.vitals().handle_layout_shift_supported(),
                12 => core.vitals().handle_event_timing(a as u64, b),
                16.. => {
                    let bits = kind & 15;
                    let facts = ClickFacts {
                        clickable: bits & 1 != 0,
                        form_field: bits & 2 != 0,
                        editable: bits & 4 != 0,
                        selection: bits & 8 != 0,
                    };
                    let event: Event = object.unchecked_into();
                    core.vitals().handle_input(event.time_stamp());
                    core.handle_click(now, a, b, facts, Click(event));
                }
                _ => {} // 0: the timer; what is due is polled below
            }
        }
        self.after()
    }

    fn navigated(self: &Rc<Self>, url: &str, path: &str, new_view: bool) {
        let mut core = self.core.borrow_mut();
        if new_view {
            let read = sl_scroll();
            core.handle_scroll(number(&read, 0), number(&read, 1));
            core.handle_page_view(now_ms(), url, path, sl_interactions() as u64);
        } else {
            core.handle_activity();
        }
    }

    /// After an input from Rust's side: sends what was decided and tells the JS module.
    fn sync(self: &Rc<Self>) {
        let answer = self.after();
        if let Some((state, _)) = self.js.borrow().as_ref() {
            sl_sync(state, answer);
        }
    }

    /// Sends what the core decided; answers the next deadline (+ 0.5 while mutations
    /// must be watched).
    fn after(self: &Rc<Self>) -> f64 {
        let now = now_ms();
        loop {
            let next = self.core.borrow_mut().poll(now);
            let Some(signal) = next else { break };
            let fields = signal.click().and_then(|c| click_fields(&c.0, &self.privacy));
            let data = signal.data_json(fields.as_deref().unwrap_or("{}"));
            if let Some(replay) = (self.replay)() {
                replay.mark(signal.event_type(), &data, signal.at_ms());
            }
            (self.sink)(event_json(signal.event_type(), signal.at_ms(), &data));
        }
        let core = self.core.borrow();
        let deadline = core.poll_timeout().map_or(0.0, |at| at.max(1) as f64);
        deadline + if core.watching_mutations() { 0.5 } else { 0.0 }
    }
}

fn exception_info(event: &Event) -> ExceptionInfo {
    let read = sl_exception(event);
    let text = |i: u32| read.get(i).as_string().unwrap_or_default();
    ExceptionInfo {
        message: text(0),
        kind: text(1),
        stack: text(2),
        source: text(3),
        line: number(&read, 4) as u32,
        column: number(&read, 5) as u32,
    }
}
