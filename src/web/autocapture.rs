//! Autocapture of `$page-view` and `$click` (wire.md), and the `history` patch that
//! sees SPA navigations. Dropping `Autocapture` detaches the listeners and puts back
//! exactly the `pushState` / `replaceState` functions that were there before.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::json::{push_str_literal, push_u64, ObjectWriter};
use crate::core::replay::privacy::click_text;
use crate::web::listener::Listener;
use crate::web::privacy::Privacy;
use crate::web::util::{js_number, now_ms};

/// Receives each autocaptured event, serialized.
pub type EventSink = Rc<dyn Fn(String)>;

/// Told of every navigation the page-view tracking sees: `(url, path, new_view)`,
/// `new_view` false when the URL stayed the same (a `replaceState` of the same URL).
pub type NavigationHook = Rc<dyn Fn(&str, &str, bool)>;

pub struct Autocapture {
    _listeners: Vec<Listener>,
    history_patch: Option<HistoryPatch>,
    page_views: Rc<RefCell<PageViews>>,
}

impl Drop for Autocapture {
    fn drop(&mut self) {
        if let Some(patch) = self.history_patch.take() {
            patch.restore();
        }
    }
}

/// A JS function `(state, title, url) => result` implemented in Rust.
type HistoryWrapper = Closure<dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>;

struct HistoryPatch {
    history: JsValue,
    original_push: JsValue,
    original_replace: JsValue,
    _wrappers: Vec<HistoryWrapper>,
}

impl HistoryPatch {
    fn restore(self) {
        let _ = Reflect::set(&self.history, &"pushState".into(), &self.original_push);
        let _ = Reflect::set(&self.history, &"replaceState".into(), &self.original_replace);
    }
}

/// A `{"event_type":…,"event_at_ms":…,"data":…}` object around already-serialized data.
pub fn event_json(event_type: &str, at_ms: u64, data_json: &str) -> String {
    let mut out = String::with_capacity(data_json.len() + event_type.len() + 60);
    out.push_str("{\"event_type\":");
    push_str_literal(&mut out, event_type);
    out.push_str(",\"event_at_ms\":");
    push_u64(&mut out, at_ms);
    out.push_str(",\"data\":");
    out.push_str(data_json);
    out.push('}');
    out
}

/// A finite number as JS writes it, else `null`.
fn number_json(value: f64) -> String {
    if value.is_finite() {
        js_number(value)
    } else {
        "null".into()
    }
}

fn viewport(writer: &mut ObjectWriter, window: &web_sys::Window) {
    let number = |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    writer.raw("viewport_width", &number_json(number(window.inner_width())));
    writer.raw("viewport_height", &number_json(number(window.inner_height())));
}

struct PageViews {
    sink: EventSink,
    last_url: Option<String>,
    hook: Option<NavigationHook>,
}

impl PageViews {
    /// Emits a page view unless the URL is the one of the last page view (the initial
    /// view is always emitted).
    fn record(&mut self, entry_type: &str) {
        let Some(window) = web_sys::window() else { return };
        let location = window.location();
        let url = location.href().unwrap_or_default();
        if entry_type != "initial" && self.last_url.as_deref() == Some(url.as_str()) {
            if let Some(hook) = &self.hook {
                hook(&url, "", false);
            }
            return;
        }
        let document = window.document();
        // The initial view's referrer is the document's; an SPA navigation's is the page
        // view before it, which is what a reader of the event expects.
        let referrer = match (&self.last_url, &document) {
            (Some(previous), _) if entry_type != "initial" => previous.clone(),
            (_, Some(document)) => document.referrer(),
            _ => String::new(),
        };
        let mut data = ObjectWriter::new();
        data.string("url", &url);
        data.string("path", &location.pathname().unwrap_or_default());
        data.string("referrer", &referrer);
        data.string("title", &document.map(|d| d.title()).unwrap_or_default());
        data.string("entry_type", entry_type);
        viewport(&mut data, &window);
        let screen = window.screen().ok();
        data.uint("screen_width", screen.as_ref().and_then(|s| s.width().ok()).unwrap_or(0).max(0) as u64);
        data.uint("screen_height", screen.as_ref().and_then(|s| s.height().ok()).unwrap_or(0).max(0) as u64);
        // The previous view's `$page-leave` goes before this `$page-view`.
        if let Some(hook) = &self.hook {
            hook(&url, &location.pathname().unwrap_or_default(), true);
        }
        (self.sink)(event_json("$page-view", now_ms(), &data.finish()));
        self.last_url = Some(url);
    }
}

// The `$click` data of wire.md, built in one call into JS: read field by field from
// Rust, a click crossed the wasm boundary some thirty times and cost ~40 µs against the
// JavaScript tracker's ~8 µs.
//
// `text` follows the replay's privacy rule (`core::replay::privacy`): the call returns
// `[data without text, true, masked?, piece, masked?, piece, …]`, the pieces being the
// target's text nodes in document order (its `textContent`) with leading whitespace
// dropped, each flagged when inside a masked region; text inside blocked elements and
// `<textarea>`s (a form value) is left out, and a target inside a blocked region (in
// any tree: shadow roots, same-origin iframes) gets `[data]` alone and no `text`.
// Collecting stops once the pieces reach past 200 units and show more than whitespace
// beyond them, so a click on `<body>` does not copy the page. Rust masks, trims and
// cuts them.
#[wasm_bindgen(inline_js = r#"
// JSON.stringify writes a lone surrogate as an escape (\udXXX) that strict parsers reject
// (and so the whole batch): U+FFFD instead. Escaped backslashes before it are kept.
const wellFormed = (json) => json.replace(/(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g, "$1\\ufffd");
function inTree(e, s) { try { return !!e.closest(s); } catch (_) { return true; } }
function across(e, s) {
  for (let n = e; n; ) {
    if (inTree(n, s)) return true;
    const r = n.getRootNode();
    if (r.host) { n = r.host; continue; }
    const w = r.defaultView;
    try { n = w && w !== window ? w.frameElement : null; } catch (_) { n = null; }
  }
  return false;
}
function matches(e, s) { try { return e.matches(s); } catch (_) { return true; } }
export function clickData(event, block, mask, maskAll) {
  let target = event.target;
  if (target && target.nodeType === 3) target = target.parentElement;
  if (!target || target.nodeType !== 1) return undefined;
  // Up to 5 elements upward, outermost first: tag#id (which ends the walk) or tag.c1.c2.
  const parts = [];
  for (let el = target; el && parts.length < 5; el = el.parentElement) {
    const tag = el.tagName.toLowerCase();
    if (el.id) {
      parts.push(`${tag}#${el.id}`);
      break;
    }
    const classes = (el.getAttribute("class") || "").split(/\s+/).filter(Boolean);
    parts.push(classes.length ? `${tag}.${classes.join(".")}` : tag);
  }
  const anchor = target.closest("a[href]");
  const out = [wellFormed(JSON.stringify({
    tag_name: target.tagName.toLowerCase(),
    href: anchor ? anchor.getAttribute("href") : null,
    selector: parts.reverse().join(" > "),
    x: event.clientX,
    y: event.clientY,
    page_x: event.pageX,
    page_y: event.pageY,
    viewport_width: window.innerWidth,
    viewport_height: window.innerHeight,
  }))];
  if (across(target, block)) return out;
  out.push(true);
  if (target.localName === "textarea") return out;
  let seen = -1, done = false;
  const push = (s, masked) => {
    let from = 0;
    if (seen < 0) {
      from = s.search(/\S/);
      if (from < 0) return;
      seen = 0;
    }
    const windowEnd = Math.max(0, 200 - seen);
    out.push(masked, from ? s.slice(from) : s);
    seen += s.length - from;
    if (seen > 200 && /\S/.test(s.slice(from + windowEnd))) done = true;
  };
  const visit = (node, masked) => {
    for (let c = node.firstChild; c && !done; c = c.nextSibling) {
      if (c.nodeType === 3) push(c.data, masked);
      else if (c.nodeType === 1 && c.localName !== "textarea" && !matches(c, block))
        visit(c, masked || matches(c, mask));
    }
  };
  visit(target, maskAll || across(target, mask));
  return out;
}
"#)]
extern "C" {
    /// The `$click` data for a click event and its text pieces (see above); `None` when
    /// the target is not an element (or a text node inside one).
    #[wasm_bindgen(js_name = clickData)]
    fn click_data(event: &web_sys::Event, block: &str, mask: &str, mask_all: bool) -> Option<js_sys::Array>;
}

/// The `$click` data of a click event under the privacy rule (`None`: not an element).
pub fn click_fields(event: &web_sys::Event, privacy: &Privacy) -> Option<String> {
    let read = click_data(event, &privacy.block, &privacy.mask, privacy.mask_all_text);
    read.as_ref().and_then(click_json)
}

/// The `$click` data: what `clickData` read, with the `text` the privacy rule allows
/// (none at all for a blocked target).
fn click_json(read: &js_sys::Array) -> Option<String> {
    let mut data = read.get(0).as_string()?;
    if read.length() >= 2 {
        let mut pieces: Vec<(String, bool)> = Vec::new();
        let mut i = 2;
        while i < read.length() {
            pieces.push((read.get(i + 1).as_string().unwrap_or_default(), read.get(i).is_truthy()));
            i += 2;
        }
        let text = click_text(pieces.iter().map(|(s, masked)| (s.as_str(), *masked)));
        data.pop(); // the closing brace
        data.push_str(",\"text\":");
        push_str_literal(&mut data, &text);
        data.push('}');
    }
    Some(data)
}

impl Autocapture {
    /// Emits the initial page view, then follows clicks and navigations.
    /// `privacy`: the replay's privacy options, which also decide the `$click` `text`.
    pub fn start(sink: EventSink, privacy: Privacy) -> Option<Autocapture> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let page_views = Rc::new(RefCell::new(PageViews { sink: sink.clone(), last_url: None, hook: None }));
        page_views.borrow_mut().record("initial");

        let click = Listener::new(&document, "click", true, move |event| {
            if let Some(data) = click_fields(&event, &privacy) {
                sink(event_json("$click", now_ms(), &data));
            }
        });
        let pop_views = page_views.clone();
        let popstate =
            Listener::new(&window, "popstate", false, move |_| pop_views.borrow_mut().record("pop"));
        let history_patch = patch_history(&window, page_views.clone());
        Some(Autocapture { _listeners: vec![click, popstate], history_patch, page_views })
    }

    /// Tells `hook` of every later navigation (the product signals end page views).
    pub fn set_navigation_hook(&self, hook: NavigationHook) {
        self.page_views.borrow_mut().hook = Some(hook);
    }
}

fn patch_history(window: &web_sys::Window, page_views: Rc<RefCell<PageViews>>) -> Option<HistoryPatch> {
    let history: JsValue = window.history().ok()?.into();
    let original_push = Reflect::get(&history, &"pushState".into()).ok()?;
    let original_replace = Reflect::get(&history, &"replaceState".into()).ok()?;
    let mut wrappers = Vec::new();
    for (name, original, entry_type) in
        [("pushState", &original_push, "push"), ("replaceState", &original_replace, "replace")]
    {
        let original: Function = original.clone().dyn_into().ok()?;
        let target = history.clone();
        let views = page_views.clone();
        let wrapper = HistoryWrapper::new(move |state: JsValue, title: JsValue, url: JsValue| {
            // The page's own call must behave exactly as before, errors included.
            let result = original.call3(&target, &state, &title, &url)?;
            views.borrow_mut().record(entry_type);
            Ok(result)
        });
        Reflect::set(&history, &name.into(), wrapper.as_ref()).ok()?;
        wrappers.push(wrapper);
    }
    Some(HistoryPatch { history, original_push, original_replace, _wrappers: wrappers })
}
