//! Autocapture of `$page-view` and `$click` (wire.md), and the `history` patch that
//! sees SPA navigations. Dropping `Autocapture` detaches the listeners and puts back
//! exactly the `pushState` / `replaceState` functions that were there before.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, MouseEvent};

use crate::core::json::push_str_literal;
use crate::web::listener::Listener;
use crate::web::util::{js_number, now_ms};

/// Receives each autocaptured event, serialized.
pub type EventSink = Rc<dyn Fn(String)>;

pub struct Autocapture {
    _listeners: Vec<Listener>,
    history_patch: Option<HistoryPatch>,
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
    out.push_str(&format!(",\"event_at_ms\":{at_ms},\"data\":"));
    out.push_str(data_json);
    out.push('}');
    out
}

/// Writes a small JSON object field by field.
struct ObjectWriter(String);

impl ObjectWriter {
    fn new() -> Self {
        Self(String::from("{"))
    }
    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_str_literal(&mut self.0, key);
        self.0.push(':');
    }
    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        push_str_literal(&mut self.0, value);
    }
    fn optional_string(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.string(key, v),
            None => {
                self.key(key);
                self.0.push_str("null");
            }
        }
    }
    fn number(&mut self, key: &str, value: f64) {
        self.key(key);
        if value.is_finite() {
            self.0.push_str(&js_number(value));
        } else {
            self.0.push_str("null");
        }
    }
    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

fn viewport(writer: &mut ObjectWriter, window: &web_sys::Window) {
    let number = |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    writer.number("viewport_width", number(window.inner_width()));
    writer.number("viewport_height", number(window.inner_height()));
}

struct PageViews {
    sink: EventSink,
    last_url: Option<String>,
}

impl PageViews {
    /// Emits a page view unless the URL is the one of the last page view (the initial
    /// view is always emitted).
    fn record(&mut self, entry_type: &str) {
        let Some(window) = web_sys::window() else { return };
        let location = window.location();
        let url = location.href().unwrap_or_default();
        if entry_type != "initial" && self.last_url.as_deref() == Some(url.as_str()) {
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
        data.number("screen_width", screen.as_ref().and_then(|s| s.width().ok()).unwrap_or(0) as f64);
        data.number("screen_height", screen.as_ref().and_then(|s| s.height().ok()).unwrap_or(0) as f64);
        self.last_url = Some(url);
        (self.sink)(event_json("$page-view", now_ms(), &data.finish()));
    }
}

/// The `$click` data of wire.md for a click on `target`.
pub fn click_data(target: &Element, event: &MouseEvent, window: &web_sys::Window) -> String {
    let mut data = ObjectWriter::new();
    data.string("tag_name", &target.tag_name().to_ascii_lowercase());
    let text = target.text_content().unwrap_or_default();
    data.string("text", &text.trim().chars().take(200).collect::<String>());
    let href = target.closest("a[href]").ok().flatten().and_then(|a| a.get_attribute("href"));
    data.optional_string("href", href.as_deref());
    data.string("selector", &selector_of(target));
    data.number("x", event.client_x() as f64);
    data.number("y", event.client_y() as f64);
    data.number("page_x", event.page_x() as f64);
    data.number("page_y", event.page_y() as f64);
    viewport(&mut data, window);
    data.finish()
}

/// Up to 5 elements from `target` upward, outermost first: `tag#id` (which ends the
/// walk) or `tag.class1.class2`.
pub fn selector_of(target: &Element) -> String {
    let mut parts = Vec::new();
    let mut current = Some(target.clone());
    while let Some(element) = current {
        if parts.len() == 5 {
            break;
        }
        let tag = element.tag_name().to_ascii_lowercase();
        let id = element.id();
        if !id.is_empty() {
            parts.push(format!("{tag}#{id}"));
            break;
        }
        let class = element.get_attribute("class").unwrap_or_default();
        let classes: Vec<&str> = class.split_whitespace().collect();
        if classes.is_empty() {
            parts.push(tag);
        } else {
            parts.push(format!("{tag}.{}", classes.join(".")));
        }
        current = element.parent_element();
    }
    parts.reverse();
    parts.join(" > ")
}

impl Autocapture {
    /// Emits the initial page view, then follows clicks and navigations.
    pub fn start(sink: EventSink) -> Option<Autocapture> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let page_views = Rc::new(RefCell::new(PageViews { sink: sink.clone(), last_url: None }));
        page_views.borrow_mut().record("initial");

        let click_window = window.clone();
        let click = Listener::new(&document, "click", true, move |event| {
            let Some(mouse) = event.dyn_ref::<MouseEvent>() else { return };
            let target = event.target().and_then(|t| match t.dyn_ref::<Element>() {
                Some(element) => Some(element.clone()),
                None => t.dyn_ref::<web_sys::Node>().and_then(|n| n.parent_element()),
            });
            if let Some(target) = target {
                sink(event_json("$click", now_ms(), &click_data(&target, mouse, &click_window)));
            }
        });
        let pop_views = page_views.clone();
        let popstate =
            Listener::new(&window, "popstate", false, move |_| pop_views.borrow_mut().record("pop"));
        let history_patch = patch_history(&window, page_views);
        Some(Autocapture { _listeners: vec![click, popstate], history_patch })
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
