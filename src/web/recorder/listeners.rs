//! DOM event listeners → incremental events. Every listener is a `Listener` that
//! detaches itself when dropped, so `stop()` cannot forget one.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event, EventTarget, Node};

use super::serialize::{id_in, DOCUMENT_NODE, ELEMENT_NODE};
use super::{Shared, State};
use crate::core::replay::event::{self, MouseInteraction};
use crate::core::replay::privacy::{recorded_value, value_needs_mask};
use crate::web::listener::Listener;
use crate::web::privacy::{input_type_of, quoted_selector};
use crate::web::util::now_ms;

type Handler = fn(&Shared, &mut State, &Event);

fn listen(shared: &Rc<Shared>, target: &EventTarget, kind: &'static str, handler: Handler) -> Listener {
    let weak = Rc::downgrade(shared);
    // Capture on document: sees every target, including non-bubbling focus / scroll /
    // media events, before the page can stop them.
    Listener::with_default_passive(target, kind, true, move |e: Event| {
        if let Some(shared) = weak.upgrade() {
            shared.with_state(|shared, state| {
                if state.recording {
                    handler(shared, state, &e);
                    Shared::schedule_timer(state);
                }
            });
        }
    })
}

/// DomContentLoaded and Load while the document is still loading; the snapshot on load.
pub fn install_load_listeners(shared: &Rc<Shared>, window: &web_sys::Window, document: &Document) {
    let weak = Rc::downgrade(shared);
    let on_ready =
        Listener::with_default_passive(document.as_ref(), "DOMContentLoaded", false, move |_: Event| {
            if let Some(shared) = weak.upgrade() {
                shared.with_state(|_, state| {
                    if !state.stopped {
                        Shared::emit(state, event::DOM_CONTENT_LOADED, "{}");
                    }
                });
            }
        });
    let weak = Rc::downgrade(shared);
    let on_load = Listener::with_default_passive(window.as_ref(), "load", false, move |_: Event| {
        if let Some(shared) = weak.upgrade() {
            shared.with_state(|shared, state| {
                if !state.stopped {
                    Shared::emit(state, event::LOAD, "{}");
                    shared.begin(state);
                }
            });
        }
    });
    let mut state = shared.state.borrow_mut();
    state.listeners.push(on_ready);
    state.listeners.push(on_load);
}

pub fn install(shared: &Rc<Shared>, state: &mut State, document: &Document) {
    let doc: &EventTarget = document.as_ref();
    let mut add =
        |kind: &'static str, handler: Handler| state.listeners.push(listen(shared, doc, kind, handler));
    add("mousemove", on_mouse_move);
    add("touchmove", on_touch_move);
    for kind in [
        "mousedown",
        "mouseup",
        "click",
        "dblclick",
        "contextmenu",
        "focus",
        "blur",
        "touchstart",
        "touchend",
    ] {
        add(kind, on_interaction);
    }
    add("scroll", on_scroll);
    add("input", on_input);
    add("change", on_input);
    for kind in ["play", "pause", "seeked", "volumechange", "ratechange"] {
        add(kind, on_media);
    }
    add("selectionchange", on_selection);
    add("load", on_subresource_load);
    if let Some(window) = web_sys::window() {
        state.listeners.push(listen(shared, window.as_ref(), "resize", on_resize));
    }
}

/// The real target, inside open shadow roots too (`event.target` is retargeted to the host).
fn event_node(event: &Event) -> Option<Node> {
    let first = event.composed_path().get(0);
    let target = if first.is_object() { first } else { event.target()?.into() };
    // Window has no nodeType.
    js_sys::Reflect::get(&target, &JsValue::from_str("nodeType")).ok()?.as_f64()?;
    Some(target.unchecked_into())
}

/// The event's real target and its id, `None` when it was not recorded or is blocked
/// (by itself or an ancestor): a blocked element emits no event of its own.
fn event_target_id(shared: &Shared, state: &State, event: &Event) -> Option<(Node, u32)> {
    let node = event_node(event)?;
    let id = id_in(&state.ids, &node)?;
    if shared.privacy.classify(&node).blocked {
        return None;
    }
    Some((node, id))
}

/// The id a pointer position is reported with: its target's, the document's over a
/// blocked region (the cursor keeps moving, nothing points into the region), or -1 for a
/// node that was never recorded.
fn pointer_target_id(shared: &Shared, state: &State, event: &Event) -> i64 {
    let Some(node) = event_node(event) else { return -1 };
    let Some(id) = id_in(&state.ids, &node) else { return -1 };
    if !shared.privacy.classify(&node).blocked {
        return id as i64;
    }
    node.owner_document().and_then(|d| id_in(&state.ids, &d)).map_or(-1, |id| id as i64)
}

fn on_mouse_move(shared: &Shared, state: &mut State, event: &Event) {
    let now = now_ms();
    state.last_activity_ms = now;
    let Some((x, y)) = client_position(event) else { return };
    let id = pointer_target_id(shared, state, event);
    if let Some(data) = state.sampling.handle_mouse_move(now, x, y, id) {
        Shared::emit_incremental(state, &data);
    }
}

/// `clientX` / `clientY` of `source` (an event or a touch), `None` when it has none: a
/// page may dispatch a plain `new Event("click")`, which must not break the recorder.
fn client_position(source: &JsValue) -> Option<(f64, f64)> {
    let x = js_sys::Reflect::get(source, &JsValue::from_str("clientX")).ok()?.as_f64()?;
    let y = js_sys::Reflect::get(source, &JsValue::from_str("clientY")).ok()?.as_f64()?;
    Some((x, y))
}

fn first_touch(event: &Event) -> Option<(f64, f64)> {
    let touches = js_sys::Reflect::get(event, &JsValue::from_str("changedTouches")).ok()?;
    let first = js_sys::Reflect::get(&touches, &JsValue::from_f64(0.0)).ok().filter(|t| t.is_object())?;
    client_position(&first)
}

fn on_touch_move(shared: &Shared, state: &mut State, event: &Event) {
    let now = now_ms();
    state.last_activity_ms = now;
    let Some((x, y)) = first_touch(event) else { return };
    let id = pointer_target_id(shared, state, event);
    if let Some(data) = state.sampling.handle_touch_move(now, x, y, id) {
        Shared::emit_incremental(state, &data);
    }
}

fn on_interaction(shared: &Shared, state: &mut State, event: &Event) {
    let kind_name = event.type_();
    let Some(kind) = MouseInteraction::from_event_type(&kind_name) else { return };
    let Some((_, id)) = event_target_id(shared, state, event) else { return };
    let position = match kind {
        MouseInteraction::Focus | MouseInteraction::Blur => None,
        MouseInteraction::TouchStart | MouseInteraction::TouchEnd => first_touch(event),
        _ => client_position(event),
    };
    if !matches!(kind, MouseInteraction::Focus | MouseInteraction::Blur) {
        state.last_activity_ms = now_ms();
    }
    Shared::emit_incremental(state, &event::mouse_interaction_data(kind, id, position));
}

fn on_scroll(shared: &Shared, state: &mut State, event: &Event) {
    let Some((node, id)) = event_target_id(shared, state, event) else { return };
    let (x, y) = if node.node_type() == DOCUMENT_NODE {
        let Some(window) = node.unchecked_ref::<Document>().default_view() else { return };
        (window.scroll_x().unwrap_or(0.0), window.scroll_y().unwrap_or(0.0))
    } else if node.node_type() == ELEMENT_NODE {
        let element = node.unchecked_ref::<Element>();
        (element.scroll_left() as f64, element.scroll_top() as f64)
    } else {
        return;
    };
    let now = now_ms();
    state.last_activity_ms = now;
    if let Some(data) = state.sampling.handle_scroll(now, id, event::scroll_data(id, x, y)) {
        Shared::emit_incremental(state, &data);
    }
}

fn on_resize(_: &Shared, state: &mut State, _: &Event) {
    let Some(window) = web_sys::window() else { return };
    let width = window.inner_width().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    let height = window.inner_height().ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    if let Some(data) = state.sampling.handle_resize(now_ms(), width, height) {
        Shared::emit_incremental(state, &data);
    }
}

/// `(text, isChecked)` as recorded for a form field, masked by its effective type (what
/// the browser uses), its password history and the region it is in.
fn input_state(shared: &Shared, element: &Element, in_masked_region: bool) -> (String, bool) {
    let tag = element.local_name().to_ascii_lowercase();
    let field = element.unchecked_ref::<web_sys::HtmlInputElement>();
    let (input_type, was_password) =
        if tag == "input" { input_type_of(element) } else { (String::new(), false) };
    if !was_password && (input_type == "radio" || input_type == "checkbox") {
        return (field.value(), field.checked());
    }
    let mask =
        in_masked_region || value_needs_mask(&tag, &input_type, shared.config.mask_all_inputs, was_password);
    (recorded_value(&field.value(), mask), false)
}

fn on_input(shared: &Shared, state: &mut State, event: &Event) {
    let Some(node) = event_node(event) else { return };
    let Some(id) = id_in(&state.ids, &node) else { return };
    if node.node_type() != ELEMENT_NODE {
        return;
    }
    let element = node.unchecked_ref::<Element>();
    let tag = element.local_name().to_ascii_lowercase();
    if !matches!(tag.as_str(), "input" | "textarea" | "select") {
        return;
    }
    let verdict = shared.privacy.classify(&node);
    if verdict.blocked || verdict.ignored {
        return;
    }
    state.last_activity_ms = now_ms();
    let (text, checked) = input_state(shared, element, verdict.mask_text);
    if state.inputs.changed(id, &text, checked) {
        Shared::emit_incremental(state, &event::input_data(id, &text, checked));
    }
    // Checking a radio unchecks the others of its group, without events of their own.
    let is_radio = tag == "input" && element.unchecked_ref::<web_sys::HtmlInputElement>().type_() == "radio";
    let name = element.get_attribute("name").unwrap_or_default();
    if !(is_radio && checked && !name.is_empty()) {
        return;
    }
    let Some(document) = node.owner_document() else { return };
    let selector = quoted_selector("input[type=\"radio\"][name=\"", &name);
    let Ok(group) = document.query_selector_all(&selector) else { return };
    for i in 0..group.length() {
        let Some(other) = group.item(i) else { continue };
        if other == node {
            continue;
        }
        let Some(other_id) = id_in(&state.ids, &other) else { continue };
        if shared.privacy.classify(&other).blocked {
            continue;
        }
        let value = other.unchecked_ref::<web_sys::HtmlInputElement>().value();
        if state.inputs.changed(other_id, &value, false) {
            Shared::emit_incremental(state, &event::input_data(other_id, &value, false));
        }
    }
}

fn on_media(shared: &Shared, state: &mut State, event: &Event) {
    let kind = match event.type_().as_str() {
        "play" => 0,
        "pause" => 1,
        "seeked" => 2,
        "volumechange" => 3,
        _ => 4,
    };
    let Some((node, id)) = event_target_id(shared, state, event) else { return };
    if node.node_type() != ELEMENT_NODE {
        return;
    }
    let media = node.unchecked_ref::<web_sys::HtmlMediaElement>();
    let data = event::media_data(
        kind,
        id,
        media.current_time(),
        media.volume(),
        media.muted(),
        media.playback_rate(),
    );
    Shared::emit_incremental(state, &data);
}

fn on_selection(shared: &Shared, state: &mut State, _: &Event) {
    let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) else { return };
    let mut ranges = Vec::new();
    for i in 0..selection.range_count() {
        let Ok(range) = selection.get_range_at(i) else { continue };
        let (Ok(start), Ok(end)) = (range.start_container(), range.end_container()) else { continue };
        let (Some(start_id), Some(end_id)) = (id_in(&state.ids, &start), id_in(&state.ids, &end)) else {
            continue;
        };
        if shared.privacy.classify(&start).blocked || shared.privacy.classify(&end).blocked {
            continue;
        }
        ranges.push((start_id, range.start_offset().unwrap_or(0), end_id, range.end_offset().unwrap_or(0)));
    }
    let data = event::selection_data(&ranges);
    // Selection changes fire in bursts; repeated states carry nothing new.
    if data != state.selection {
        state.selection = data.clone();
        Shared::emit_incremental(state, &data);
    }
}

/// A same-origin iframe finished loading a document: attach it.
fn on_subresource_load(shared: &Shared, state: &mut State, event: &Event) {
    // A blocked iframe is never attached: `attach_iframes` asks the privacy rule again.
    let Some((node, id)) = event_target_id(shared, state, event) else { return };
    if node.node_type() != ELEMENT_NODE || node.unchecked_ref::<Element>().local_name() != "iframe" {
        return;
    }
    if let Some(document) = node.unchecked_ref::<web_sys::HtmlIFrameElement>().content_document() {
        shared.attach_iframes(state, vec![(id, document)]);
    }
}
