//! The session-replay recorder in a real browser:
//! `wasm-pack test --headless --chrome -- --test web_recorder`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;
use sightline::core::config::ReplayConfig;
use sightline::web::recorder::{RecordedEvent, Recorder};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

type Events = Rc<RefCell<Vec<Value>>>;

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh `<div id="fixture">` with `html`, replacing the previous test's.
fn fixture(html: &str) -> web_sys::Element {
    let doc = document();
    if let Some(old) = doc.get_element_by_id("fixture") {
        old.remove();
    }
    let root = doc.create_element("div").unwrap();
    root.set_id("fixture");
    root.set_inner_html(html);
    doc.body().unwrap().append_child(&root).unwrap();
    root
}

fn element(id: &str) -> web_sys::Element {
    document().get_element_by_id(id).unwrap_or_else(|| panic!("#{id} in the fixture"))
}

fn record(config: &ReplayConfig) -> (Recorder, Events) {
    let (recorder, events) = record_sliced(config);
    // The snapshot is walked in slices; these tests look at it at once.
    recorder.finish_slices();
    (recorder, events)
}

/// `record` without finishing the first snapshot: it is walked in slices as the test yields.
fn record_sliced(config: &ReplayConfig) -> (Recorder, Events) {
    let events: Events = Rc::new(RefCell::new(Vec::new()));
    let sink = {
        let events = events.clone();
        Rc::new(move |e: RecordedEvent| {
            let value: Value = serde_json::from_str(&e.json).expect("every event is valid JSON");
            let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 3, "envelope is exactly type, data, timestamp: {}", e.json);
            assert_eq!(value["timestamp"].as_u64(), Some(e.timestamp_ms));
            events.borrow_mut().push(value);
        })
    };
    let recorder = Recorder::start(config, sink).expect("recorder starts");
    (recorder, events)
}

/// Lets MutationObserver callbacks (microtasks) and timers run.
async fn tick(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Depth-first search for a serialized node.
fn find<'a>(node: &'a Value, predicate: &dyn Fn(&Value) -> bool) -> Option<&'a Value> {
    if predicate(node) {
        return Some(node);
    }
    node["childNodes"].as_array()?.iter().find_map(|c| find(c, predicate))
}

fn by_id<'a>(snapshot: &'a Value, id: &str) -> &'a Value {
    find(snapshot, &|n| n["attributes"]["id"] == id).unwrap_or_else(|| panic!("#{id} in the snapshot"))
}

fn snapshot_of(events: &Events) -> Value {
    events.borrow().iter().rev().find(|e| e["type"] == 2).expect("a full snapshot")["data"]["node"].clone()
}

fn incremental(events: &Events, source: u64) -> Vec<Value> {
    events
        .borrow()
        .iter()
        .filter(|e| e["type"] == 3 && e["data"]["source"] == source)
        .map(|e| e["data"].clone())
        .collect()
}

/// The rrweb type of every event so far, in order.
fn event_types(events: &Events) -> Vec<u64> {
    events.borrow().iter().map(|e| e["type"].as_u64().unwrap()).collect()
}

/// The fixture's part of the last snapshot plus every incremental event (the rest of
/// the page is the test runner's, whose log may quote anything).
fn all_json(events: &Events) -> String {
    let snapshot = snapshot_of(events);
    let mut out = by_id(&snapshot, "fixture").to_string();
    for e in events.borrow().iter().filter(|e| e["type"] == 3) {
        out.push('\n');
        out.push_str(&e.to_string());
    }
    out
}

fn dispatch(target: &web_sys::Element, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    target.dispatch_event(&web_sys::Event::new_with_event_init_dict(kind, &init).unwrap()).unwrap();
}

#[wasm_bindgen_test]
async fn starts_with_meta_then_a_full_snapshot_with_ids_from_one() {
    fixture("<p id='hello'>Hello <b>world</b></p><!-- note -->");
    let (recorder, events) = record(&ReplayConfig::default());
    {
        let events = events.borrow();
        assert!(events.len() >= 2);
        assert_eq!(events[0]["type"], 4);
        assert_eq!(events[0]["data"]["href"], web_sys::window().unwrap().location().href().unwrap());
        assert!(events[0]["data"]["width"].as_f64().unwrap() > 0.0);
        assert_eq!(events[1]["type"], 2);
        assert!(events[1]["data"]["initialOffset"]["top"].is_number());
    }
    let snapshot = snapshot_of(&events);
    assert_eq!(snapshot["type"], 0);
    assert_eq!(snapshot["id"], 1);
    let mut ids = Vec::new();
    fn collect(node: &Value, ids: &mut Vec<u64>) {
        ids.push(node["id"].as_u64().unwrap());
        for child in node["childNodes"].as_array().into_iter().flatten() {
            collect(child, ids);
        }
    }
    collect(&snapshot, &mut ids);
    // Each node once; siblings are numbered together when their parent's children are
    // read (a chunk at a time), so the order is not pre-order.
    let walked = ids.clone();
    ids.sort_unstable();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "ids are 1, 2, 3… without gaps: {walked:?}");
    assert_eq!(walked[..3], [1, 2, 3], "document, doctype, html");
    let p = by_id(&snapshot, "hello");
    assert_eq!(p["tagName"], "p");
    assert_eq!(p["childNodes"][0]["textContent"], "Hello ");
    assert_eq!(p["childNodes"][1]["childNodes"][0]["textContent"], "world");
    let comment = find(&snapshot, &|n| n["type"] == 5 && n["textContent"] == " note ");
    assert!(comment.is_some());
    recorder.stop();
}

#[wasm_bindgen_test]
async fn no_password_character_ever_leaves_the_page() {
    fixture("<input id='pw' type='password' value='markup-secret'><input id='name' value='Ada'>");
    let pw = element("pw").dyn_into::<web_sys::HtmlInputElement>().unwrap();
    pw.set_value("typed-secret");
    let config = ReplayConfig { mask_all_inputs: false, ..ReplayConfig::default() };
    let (recorder, events) = record(&config);
    let snapshot = snapshot_of(&events);
    assert_eq!(by_id(&snapshot, "pw")["attributes"]["value"], "************");
    assert_eq!(
        by_id(&snapshot, "name")["attributes"]["value"],
        "Ada",
        "maskAllInputs: false records plain fields"
    );

    pw.set_value("typed-secret-2");
    dispatch(&pw, "input");
    pw.set_attribute("value", "attribute-secret").unwrap();
    // A "show password" toggle must not reveal what is typed next.
    pw.set_attribute("type", "text").unwrap();
    pw.set_value("visible-secret!!");
    dispatch(&pw, "input");
    tick(0).await;
    let inputs = incremental(&events, 5);
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["text"], "**************");
    assert_eq!(inputs[1]["text"], "****************");
    let mutations = incremental(&events, 0);
    let attributes = &mutations[0]["attributes"][0]["attributes"];
    assert_eq!(attributes["value"], "****************");
    let json = all_json(&events);
    for secret in ["markup-secret", "typed-secret", "attribute-secret", "visible-secret", "secret"] {
        assert!(!json.contains(secret), "{secret} leaked");
    }
    recorder.stop();
}

#[wasm_bindgen_test]
async fn mask_all_inputs_is_the_default() {
    fixture("<input id='email' type='email' value='a@b.c'><textarea id='ta'>private</textarea><select id='sel'><option>one</option><option id='two' selected>two</option></select><input id='box' type='checkbox' checked>");
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    assert_eq!(by_id(&snapshot, "email")["attributes"]["value"], "*****");
    let textarea = by_id(&snapshot, "ta");
    assert_eq!(textarea["attributes"]["value"], "*******");
    assert_eq!(textarea["childNodes"], serde_json::json!([]), "a textarea with a value has no text children");
    assert_eq!(by_id(&snapshot, "sel")["attributes"]["value"], "***");
    assert_eq!(by_id(&snapshot, "box")["attributes"]["checked"], true);
    let email = element("email").dyn_into::<web_sys::HtmlInputElement>().unwrap();
    email.set_value("me@x.io");
    dispatch(&email, "input");
    dispatch(&email, "change"); // same value: deduplicated
    assert_eq!(
        incremental(&events, 5),
        vec![
            serde_json::json!({"source": 5, "text": "*******", "isChecked": false, "id": by_id(&snapshot, "email")["id"]})
        ]
    );
    assert!(!all_json(&events).contains("private"));
    recorder.stop();
}

#[wasm_bindgen_test]
async fn blocked_elements_are_empty_placeholders_of_the_same_size() {
    fixture("<div id='blocked' class='rr-block' style='width:50px;height:20px'><span>blocked-text</span></div><section id='by-selector' data-private><b>selector-text</b></section>");
    let config = ReplayConfig { block_selector: Some("[data-private]".into()), ..ReplayConfig::default() };
    let (recorder, events) = record(&config);
    let snapshot = snapshot_of(&events);
    let blocked = find(&snapshot, &|n| n["attributes"]["class"] == "rr-block").unwrap();
    assert_eq!(
        blocked["attributes"],
        serde_json::json!({"class": "rr-block", "rr_width": "50px", "rr_height": "20px"})
    );
    assert_eq!(blocked["childNodes"], serde_json::json!([]));
    element("blocked").append_with_str_1("more-blocked-text").unwrap();
    tick(0).await;
    let json = all_json(&events);
    assert!(!json.contains("blocked-text") && !json.contains("selector-text"));
    recorder.stop();
}

#[wasm_bindgen_test]
async fn masked_text_keeps_its_shape() {
    fixture("<p class='rr-mask'>Secret <i>Lovelace</i></p><p id='custom' data-mask>Other</p>");
    let config = ReplayConfig { mask_text_selector: Some("[data-mask]".into()), ..ReplayConfig::default() };
    let (recorder, events) = record(&config);
    let json = all_json(&events);
    assert!(json.contains("****** ") && json.contains("\"********\""));
    assert!(!json.contains("Secret") && !json.contains("Lovelace") && !json.contains("Other"), "{json}");
    element("custom").append_with_str_1("Added").unwrap();
    tick(0).await;
    assert!(!all_json(&events).contains("Added"));
    recorder.stop();
}

#[wasm_bindgen_test]
async fn styles_scripts_and_urls_follow_the_format() {
    fixture("<style id='st'>.a { background: url(img/bg.png) }</style><script id='sc'>var x = 1;</script><img id='im' src='pic.png'><a id='frag' href='#top'>t</a>");
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    let style = by_id(&snapshot, "st");
    let css = style["attributes"]["_cssText"].as_str().unwrap();
    assert!(css.contains(".a") && css.contains("url(\"http"), "absolute url in {css}");
    assert_eq!(style["childNodes"][0]["textContent"], "");
    assert_eq!(by_id(&snapshot, "sc")["childNodes"][0]["textContent"], "SCRIPT_PLACEHOLDER");
    assert!(by_id(&snapshot, "im")["attributes"]["src"].as_str().unwrap().starts_with("http"));
    assert_eq!(by_id(&snapshot, "frag")["attributes"]["href"], "#top");
    recorder.stop();
}

#[wasm_bindgen_test]
async fn one_mutation_event_per_callback_with_flattened_adds() {
    let root =
        fixture("<ul id='list'><li id='first'>one</li><li id='gone'>two</li></ul><p id='para'>old</p>");
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    let list_id = by_id(&snapshot, "list")["id"].clone();
    let first_id = by_id(&snapshot, "first")["id"].clone();
    let gone_id = by_id(&snapshot, "gone")["id"].clone();
    let para = by_id(&snapshot, "para");
    let text_id = para["childNodes"][0]["id"].clone();

    let doc = document();
    let item = doc.create_element("li").unwrap();
    item.set_inner_html("<b>new</b>");
    element("list").insert_before(&item, Some(&element("first"))).unwrap();
    element("para").first_child().unwrap().set_node_value(Some("new text"));
    element("para").set_attribute("title", "t").unwrap();
    element("gone").remove();
    let transient = doc.create_element("div").unwrap();
    root.append_child(&transient).unwrap();
    transient.remove();
    tick(0).await;

    let mutations = incremental(&events, 0);
    assert_eq!(mutations.len(), 1, "{mutations:?}");
    let m = &mutations[0];
    assert_eq!(m["removes"], serde_json::json!([{"parentId": list_id, "id": gone_id}]));
    assert_eq!(m["texts"], serde_json::json!([{"id": text_id, "value": "new text"}]));
    assert_eq!(m["attributes"][0]["attributes"], serde_json::json!({"title": "t"}));
    let adds = m["adds"].as_array().unwrap();
    assert_eq!(adds.len(), 3, "li, b, text: {adds:?}");
    assert_eq!(adds[0]["parentId"], list_id);
    assert_eq!(adds[0]["nextId"], first_id);
    assert_eq!(adds[0]["node"]["tagName"], "li");
    assert_eq!(adds[1]["parentId"], adds[0]["node"]["id"]);
    assert_eq!(adds[2]["node"]["textContent"], "new");

    // Nothing changed: no event.
    tick(0).await;
    assert_eq!(incremental(&events, 0).len(), 1);
    recorder.stop();
    element("para").set_attribute("title", "after stop").unwrap();
    tick(0).await;
    assert_eq!(incremental(&events, 0).len(), 1, "stop() detaches the observer");
}

#[wasm_bindgen_test]
async fn open_shadow_roots_are_recorded_and_observed() {
    fixture("<div id='host'><span>light</span></div>");
    let host = element("host");
    let shadow = host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open)).unwrap();
    shadow.set_inner_html("<em>inside</em><slot></slot>");
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    let host_node = by_id(&snapshot, "host");
    assert_eq!(host_node["isShadowHost"], true);
    let children = host_node["childNodes"].as_array().unwrap();
    assert_eq!(children[0]["tagName"], "span");
    assert!(children[0].get("isShadow").is_none());
    assert_eq!(children[1]["tagName"], "em");
    assert_eq!(children[1]["isShadow"], true);
    let added = document().create_element("strong").unwrap();
    shadow.append_child(&added).unwrap();
    tick(0).await;
    let mutations = incremental(&events, 0);
    assert_eq!(mutations.len(), 1);
    assert_eq!(mutations[0]["adds"][0]["parentId"], host_node["id"]);
    assert_eq!(mutations[0]["adds"][0]["node"]["isShadow"], true);
    recorder.stop();
}

#[wasm_bindgen_test]
async fn same_origin_iframes_are_attached_with_root_ids() {
    fixture("<iframe id='frame' srcdoc='<p>inside frame</p>'></iframe>");
    assert!(frame_loaded(&element("frame"), "inside").await);
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    let iframe = by_id(&snapshot, "frame");
    assert!(iframe["attributes"].get("srcdoc").is_some());
    assert!(iframe["attributes"].get("src").is_none());
    let attach =
        incremental(&events, 0).into_iter().find(|m| m["isAttachIframe"] == true).expect("attach event");
    let add = &attach["adds"][0];
    assert_eq!(add["parentId"], iframe["id"]);
    assert_eq!(add["nextId"], Value::Null);
    let frame_doc = &add["node"];
    assert_eq!(frame_doc["type"], 0);
    let p = find(frame_doc, &|n| n["tagName"] == "p").unwrap();
    assert_eq!(p["rootId"], frame_doc["id"]);
    assert_eq!(p["childNodes"][0]["textContent"], "inside frame");
    recorder.stop();
}

#[wasm_bindgen_test]
async fn checkout_repeats_meta_and_snapshot_with_the_same_ids() {
    fixture("<p id='a'>a</p>");
    let (recorder, events) = record(&ReplayConfig::default());
    let before = snapshot_of(&events);
    let count = events.borrow().len();
    recorder.checkout();
    recorder.finish_slices(); // walked in slices
    {
        let events = events.borrow();
        assert_eq!(events[count]["type"], 4);
        assert_eq!(events[count + 1]["type"], 2);
    }
    assert_eq!(snapshot_of(&events), before);
    recorder.stop();
}

#[wasm_bindgen_test]
async fn radio_groups_interactions_and_ignored_inputs() {
    fixture("<input type='radio' name='g' id='r1' value='a' checked><input type='radio' name='g' id='r2' value='b'><input id='skip' class='rr-ignore' value='x'><button id='btn'>go</button>");
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    let (r1, r2) = (by_id(&snapshot, "r1")["id"].clone(), by_id(&snapshot, "r2")["id"].clone());
    element("r2").unchecked_ref::<web_sys::HtmlElement>().click();
    let inputs = incremental(&events, 5);
    assert!(inputs.contains(&serde_json::json!({"source": 5, "text": "b", "isChecked": true, "id": r2})));
    assert!(inputs.contains(&serde_json::json!({"source": 5, "text": "a", "isChecked": false, "id": r1})));
    let skip = element("skip").dyn_into::<web_sys::HtmlInputElement>().unwrap();
    skip.set_value("y");
    dispatch(&skip, "input");
    assert!(!incremental(&events, 5).iter().any(|i| i["id"] == by_id(&snapshot, "skip")["id"]));
    element("btn").unchecked_ref::<web_sys::HtmlElement>().click();
    let clicks: Vec<Value> = incremental(&events, 2).into_iter().filter(|i| i["type"] == 2).collect();
    assert_eq!(clicks.last().unwrap()["id"], by_id(&snapshot, "btn")["id"]);
    recorder.stop();
}

#[wasm_bindgen_test]
async fn mouse_moves_are_sampled_and_flushed() {
    fixture("<div id='pad' style='width:100px;height:100px'></div>");
    let (recorder, events) = record(&ReplayConfig::default());
    let pad = element("pad");
    for i in 0..5 {
        let init = web_sys::MouseEventInit::new();
        init.set_bubbles(true);
        init.set_client_x(10 + i);
        init.set_client_y(20);
        pad.dispatch_event(&web_sys::MouseEvent::new_with_mouse_event_init_dict("mousemove", &init).unwrap())
            .unwrap();
    }
    let first = incremental(&events, 1);
    assert_eq!(first.len(), 1, "the first move is sent at once, the rest within 50 ms are dropped");
    assert_eq!(first[0]["positions"][0]["x"], 10);
    assert_eq!(first[0]["positions"][0]["timeOffset"], 0);
    tick(60).await;
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    init.set_client_x(99);
    pad.dispatch_event(&web_sys::MouseEvent::new_with_mouse_event_init_dict("mousemove", &init).unwrap())
        .unwrap();
    assert_eq!(incremental(&events, 1).len(), 1, "waits for the 500 ms flush");
    recorder.flush_pending();
    let moves = incremental(&events, 1);
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[1]["positions"][0]["x"], 99);
    assert!(moves[1]["positions"][0]["timeOffset"].as_i64().unwrap() <= 0);
    assert!(recorder.last_activity_ms() > 0);
    recorder.stop();
}

/// Waits until `frame`'s document has a body whose text contains `text` (bounded).
async fn frame_loaded(frame: &web_sys::Element, text: &str) -> bool {
    for _ in 0..100 {
        let loaded = frame
            .unchecked_ref::<web_sys::HtmlIFrameElement>()
            .content_document()
            .is_some_and(|d| d.body().is_some_and(|b| b.text_content().unwrap_or_default().contains(text)));
        if loaded {
            return true;
        }
        tick(20).await;
    }
    false
}

#[wasm_bindgen_test]
async fn inputs_are_masked_by_the_type_the_browser_uses_not_the_attribute() {
    fixture("<input id='numeric' type='numeric' value='4111-markup'><input id='card' type='CreditCard'><input id='plain'>");
    let (recorder, events) = record(&ReplayConfig::default());
    let snapshot = snapshot_of(&events);
    assert_eq!(by_id(&snapshot, "numeric")["attributes"]["value"], "***********");
    let card = element("card").dyn_into::<web_sys::HtmlInputElement>().unwrap();
    card.set_value("4111 1111 1111 1111");
    dispatch(&card, "input");
    element("numeric").set_attribute("value", "4111-attribute").unwrap();
    tick(0).await;
    let inputs = incremental(&events, 5);
    assert_eq!(inputs.len(), 1, "the typed value was recorded (masked)");
    assert_eq!(inputs[0]["text"], "*******************");
    assert!(!all_json(&events).contains("4111"), "{}", all_json(&events));
    recorder.stop();
}

#[wasm_bindgen_test]
async fn blocked_inputs_send_nothing_even_without_mask_all_inputs() {
    fixture("<input id='own' class='rr-block'><div class='rr-block'><input id='inside'></div><div data-private><input id='selected'></div><div class='rr-mask'><input id='in-mask'></div><input id='plain'>");
    let config = ReplayConfig {
        mask_all_inputs: false,
        block_selector: Some("[data-private]".into()),
        ..ReplayConfig::default()
    };
    let (recorder, events) = record(&config);
    for id in ["own", "inside", "selected", "in-mask", "plain"] {
        let field = element(id).dyn_into::<web_sys::HtmlInputElement>().unwrap();
        field.set_value(&format!("typed-{id}"));
        dispatch(&field, "input");
        dispatch(&field, "focus");
        dispatch(&field, "click");
    }
    tick(0).await;
    let snapshot = snapshot_of(&events);
    let json = all_json(&events);
    for leaked in ["typed-own", "typed-inside", "typed-selected", "typed-in-mask"] {
        assert!(!json.contains(leaked), "{leaked} leaked: {json}");
    }
    let inputs = incremental(&events, 5);
    assert!(inputs.iter().any(|i| i["text"] == "typed-plain"), "positive control: {inputs:?} {json}");
    assert!(
        inputs.iter().any(|i| i["text"] == "*".repeat("typed-in-mask".len())),
        "a field in a masked region is masked"
    );
    let own = find(&snapshot, &|n| n["tagName"] == "input" && n["attributes"]["class"] == "rr-block")
        .expect("the blocked input's placeholder")["id"]
        .clone();
    for source in [2, 5] {
        assert!(
            !incremental(&events, source).iter().any(|e| e["id"] == own),
            "source {source} of a blocked input"
        );
    }
    recorder.stop();
}

#[wasm_bindgen_test]
async fn blocked_regions_mutated_after_start_and_a_class_added_later_send_nothing() {
    fixture("<div id='region' class='rr-block'><p id='inner'>start</p></div><div id='later'><p id='later-p'>before</p></div>");
    let (recorder, events) = record(&ReplayConfig::default());
    element("inner").set_text_content(Some("mutated-secret"));
    element("region").set_attribute("data-x", "attribute-secret").unwrap();
    // A region that becomes blocked after it was recorded: its changes stop.
    element("later").set_attribute("class", "rr-block").unwrap();
    tick(0).await;
    element("later-p").set_text_content(Some("later-secret"));
    element("later-p").set_attribute("title", "later-attribute-secret").unwrap();
    tick(0).await;
    let json = all_json(&events);
    assert!(!json.contains("secret"), "{json}");
    recorder.stop();
}

#[wasm_bindgen_test]
async fn a_blocked_iframe_is_never_attached_however_it_arrives() {
    fixture("<div id='slot'></div><div id='blocked-slot' class='rr-block'></div><iframe id='visible' srcdoc='<p>frame-ok</p>'></iframe>");
    assert!(frame_loaded(&element("visible"), "frame-ok").await);
    let (recorder, events) = record(&ReplayConfig::default());
    let doc = document();
    // Added late with the block class.
    let late = doc.create_element("iframe").unwrap();
    late.set_class_name("rr-block");
    late.set_attribute("srcdoc", "<p>late-secret</p>").unwrap();
    element("slot").append_child(&late).unwrap();
    // Not blocked itself, but inside a blocked element.
    let nested = doc.create_element("iframe").unwrap();
    nested.set_attribute("srcdoc", "<p>nested-secret</p>").unwrap();
    element("blocked-slot").append_child(&nested).unwrap();
    // Blocked, with its document set after it was added.
    let later = doc.create_element("iframe").unwrap();
    later.set_class_name("rr-block");
    element("slot").append_child(&later).unwrap();
    tick(50).await;
    later.set_attribute("srcdoc", "<p>src-later-secret</p>").unwrap();
    assert!(frame_loaded(&late, "late-secret").await && frame_loaded(&later, "src-later-secret").await);
    tick(50).await;
    let json = all_json(&events);
    assert!(!json.contains("secret"), "{json}");
    assert!(json.contains("frame-ok"), "positive control: the visible frame is attached");
    recorder.stop();
}

#[wasm_bindgen_test]
async fn mask_all_text_masks_every_text_node_and_keeps_the_structure() {
    fixture("<h2 id='title'>Quarterly numbers</h2><iframe id='f' srcdoc='<p>hidden words</p>'></iframe>");
    assert!(frame_loaded(&element("f"), "hidden words").await);
    let config = ReplayConfig { mask_all_text: true, ..ReplayConfig::default() };
    let (recorder, events) = record(&config);
    element("title").append_with_str_1(" added").unwrap();
    tick(0).await;
    let snapshot = snapshot_of(&events);
    assert_eq!(by_id(&snapshot, "title")["childNodes"][0]["textContent"], "********* *******");
    let json = all_json(&events);
    assert!(json.contains("***** *****"), "positive control: the frame's text is recorded, masked");
    for word in ["Quarterly", "added", "hidden", "words"] {
        assert!(!json.contains(word), "{word}: {json}");
    }
    recorder.stop();
}

#[wasm_bindgen_test]
async fn a_field_that_was_a_password_stays_masked_for_a_later_recorder() {
    fixture("<input id='pw' type='password'>");
    let config = ReplayConfig { mask_all_inputs: false, ..ReplayConfig::default() };
    let (first, _) = record(&config);
    first.stop();
    drop(first);
    let pw = element("pw").dyn_into::<web_sys::HtmlInputElement>().unwrap();
    pw.set_attribute("type", "text").unwrap();
    pw.set_value("shown-secret");
    // A new recorder (a new browser session, a restart) still knows it was a password.
    let (second, events) = record(&config);
    dispatch(&pw, "input");
    let snapshot = snapshot_of(&events);
    assert_eq!(by_id(&snapshot, "pw")["attributes"]["value"], "************");
    assert_eq!(incremental(&events, 5)[0]["text"], "************");
    assert!(!all_json(&events).contains("shown-secret"));
    second.stop();
}

fn add_paragraphs(count: usize) {
    let root = element("fixture");
    for i in 0..count {
        root.append_with_str_1(&format!("p{i} ")).unwrap();
    }
}

#[wasm_bindgen_test]
async fn a_mutation_storm_is_snapshotted_once_then_stops_the_recorder() {
    fixture("<p>storm</p>");
    let config = ReplayConfig { mutation_limit: 100, ..ReplayConfig::default() };
    let (recorder, events) = record(&config);
    let snapshots = |events: &Events| events.borrow().iter().filter(|e| e["type"] == 2).count();
    assert_eq!(snapshots(&events), 1);
    add_paragraphs(50);
    tick(0).await;
    assert_eq!(incremental(&events, 0).len(), 1, "under the limit: a Mutation event");
    add_paragraphs(500);
    tick(0).await;
    recorder.finish_slices(); // walked in slices
    assert_eq!(snapshots(&events), 2, "over the limit: a fresh full snapshot instead of a diff");
    assert_eq!(incremental(&events, 0).len(), 1, "the storm was not diffed");
    assert!(recorder.stop_reason().is_none());
    add_paragraphs(500);
    tick(0).await;
    let last = events.borrow().last().cloned().unwrap();
    assert_eq!(
        last,
        serde_json::json!({"type": 5, "timestamp": last["timestamp"], "data": {"tag": "sightline/recording-stopped", "payload": {"reason": "mutation-limit"}}})
    );
    assert_eq!(recorder.stop_reason(), Some(sightline::core::replay::controls::StopReason::MutationLimit));
    let count = events.borrow().len();
    add_paragraphs(5);
    tick(0).await;
    assert_eq!(events.borrow().len(), count, "nothing after the stop");
}

#[wasm_bindgen_test]
async fn custom_events_are_written_into_the_recording() {
    fixture("<p>custom</p>");
    let (recorder, events) = record(&ReplayConfig::default());
    recorder.custom("$rage-click", "{\"click_count\":3}", 1_234);
    let last = events.borrow().last().cloned().unwrap();
    assert_eq!(last["type"], 5);
    assert_eq!(last["data"], serde_json::json!({"tag": "$rage-click", "payload": {"click_count": 3}}));
    recorder.stop();
}

/// Rebuilds the recording as a player does (FullSnapshot, then Mutation events in order)
/// and describes the subtree of the node whose `id` attribute is `root_id`: each node as
/// `tag#id` or its text, children in brackets. Fails on an id written twice or a mutation
/// that refers to a node the player does not have.
fn replayed(events: &Events, root_id: &str) -> String {
    use std::collections::HashMap;
    let mut nodes: HashMap<u64, (Value, Vec<u64>)> = HashMap::new();
    fn build(node: &Value, nodes: &mut HashMap<u64, (Value, Vec<u64>)>) -> u64 {
        let id = node["id"].as_u64().unwrap();
        let children = node["childNodes"].as_array().into_iter().flatten().map(|c| build(c, nodes)).collect();
        let mut shallow = node.clone();
        shallow["childNodes"] = Value::Array(vec![]);
        assert!(nodes.insert(id, (shallow, children)).is_none(), "id {id} written twice");
        id
    }
    /// A removed node leaves the player's map with its subtree (it may be added again).
    fn forget(id: u64, nodes: &mut HashMap<u64, (Value, Vec<u64>)>) {
        if let Some((_, children)) = nodes.remove(&id) {
            for child in children {
                forget(child, nodes);
            }
        }
    }
    let mut root = 0;
    for event in events.borrow().iter() {
        match (event["type"].as_u64(), event["data"]["source"].as_u64()) {
            (Some(2), _) => {
                nodes.clear();
                root = build(&event["data"]["node"], &mut nodes);
            }
            (Some(3), Some(0)) => {
                let data = &event["data"];
                for remove in data["removes"].as_array().unwrap() {
                    let parent = remove["parentId"].as_u64().unwrap();
                    let id = remove["id"].as_u64().unwrap();
                    let siblings = &mut nodes.get_mut(&parent).expect("remove from a known parent").1;
                    let at = siblings.iter().position(|&c| c == id).expect("remove a child of that parent");
                    siblings.remove(at);
                    forget(id, &mut nodes);
                }
                for add in data["adds"].as_array().unwrap() {
                    let parent = add["parentId"].as_u64().unwrap();
                    let id = build(&add["node"], &mut nodes);
                    let siblings = &mut nodes.get_mut(&parent).expect("add under a known parent").1;
                    match add["nextId"].as_u64() {
                        Some(next) => {
                            let at =
                                siblings.iter().position(|&c| c == next).expect("next is a child of parent");
                            siblings.insert(at, id);
                        }
                        None => siblings.push(id),
                    }
                }
                for text in data["texts"].as_array().unwrap() {
                    let id = text["id"].as_u64().unwrap();
                    nodes.get_mut(&id).expect("text of a known node").0["textContent"] =
                        text["value"].clone();
                }
            }
            _ => {}
        }
    }
    fn describe(id: u64, nodes: &HashMap<u64, (Value, Vec<u64>)>, out: &mut String) {
        let (node, children) = &nodes[&id];
        match node["tagName"].as_str() {
            Some(tag) => {
                out.push_str(tag);
                if let Some(id) = node["attributes"]["id"].as_str() {
                    out.push('#');
                    out.push_str(id);
                }
                out.push('[');
                for &child in children {
                    describe(child, nodes, out);
                }
                out.push(']');
            }
            None => out.push_str(node["textContent"].as_str().unwrap_or_default()),
        }
    }
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if nodes[&id].0["attributes"]["id"] == root_id {
            let mut out = String::new();
            describe(id, &nodes, &mut out);
            return out;
        }
        stack.extend(nodes[&id].1.iter().copied());
    }
    panic!("#{root_id} not in the replay")
}

/// What `replayed` says of the live `#fixture`.
fn live(element: &web_sys::Element) -> String {
    let mut out = String::new();
    fn describe(node: &web_sys::Node, out: &mut String) {
        if let Some(element) = node.dyn_ref::<web_sys::Element>() {
            out.push_str(&element.local_name());
            if !element.id().is_empty() {
                out.push('#');
                out.push_str(&element.id());
            }
            out.push('[');
            let children = node.child_nodes();
            for i in 0..children.length() {
                describe(&children.item(i).unwrap(), out);
            }
            out.push(']');
        } else {
            out.push_str(&node.node_value().unwrap_or_default());
        }
    }
    describe(element, &mut out);
    out
}

/// Lets what the recorder does in slices end on its own for a while (a debug build in a
/// slow engine may take longer: then the rest is done at once, as when the page is left),
/// then takes everything it recorded.
async fn slices_end(recorder: &Recorder) {
    for _ in 0..100 {
        if !recorder.in_slices() {
            break;
        }
        tick(10).await;
    }
    recorder.finish_slices();
    assert!(!recorder.in_slices(), "nothing is left to record in slices");
    tick(0).await;
    recorder.flush_pending();
}

/// A fixture of `count` sections (5 elements each) with ids `s0`, `s1`…
fn sections(count: usize) -> web_sys::Element {
    let mut html = String::new();
    for i in 0..count {
        html.push_str(&format!(
            "<section id=\"s{i}\"><p>text {i}</p><ul><li>a</li><li>b {i}</li></ul></section>"
        ));
    }
    fixture(&html)
}

#[wasm_bindgen_test]
async fn a_page_changed_between_the_slices_of_its_snapshot_is_recorded_exactly() {
    let root = sections(1500);
    let (recorder, events) = record_sliced(&ReplayConfig::default());
    assert!(recorder.in_slices(), "7,500 elements take more than one 8 ms slice");
    assert!(events.borrow().is_empty(), "the snapshot is emitted when the walk ends");
    // Changes in every part while the walk goes on: early, late, moved from the end to the
    // front, removed, added, text edited; between slices, several times.
    for round in 0..6 {
        element("s0").first_element_child().unwrap().set_text_content(Some(&format!("first {round}")));
        element("s1499").first_element_child().unwrap().set_text_content(Some(&format!("last {round}")));
        let late = element(&format!("s{}", 1400 - round));
        root.insert_before(&late, root.first_child().as_ref()).unwrap();
        element(&format!("s{}", 10 + round)).remove();
        let fresh = document().create_element("p").unwrap();
        fresh.set_id(&format!("new{round}"));
        fresh.set_text_content(Some("fresh"));
        element(&format!("s{}", 700 + round)).append_child(&fresh).unwrap();
        tick(0).await;
    }
    slices_end(&recorder).await;
    let types = event_types(&events);
    assert_eq!(types[..2], [4, 2], "Meta, then the FullSnapshot");
    assert!(types[2..].contains(&3), "then the catch-up");
    assert_eq!(replayed(&events, "fixture"), live(&root));
    recorder.stop();
}

#[wasm_bindgen_test]
async fn a_new_session_during_a_walk_starts_it_over_and_sends_one_snapshot() {
    let root = sections(1500);
    let (recorder, events) = record_sliced(&ReplayConfig::default());
    assert!(recorder.in_slices());
    element("s3").remove();
    // A periodic checkout leaves the walk alone: it is a snapshot already.
    recorder.checkout();
    assert!(events.borrow().is_empty());
    // A new browser session (or clearBuffer): what was read before must not be sent.
    recorder.start_over();
    assert!(recorder.in_slices(), "a new walk");
    recorder.finish_slices();
    let types = event_types(&events);
    assert_eq!(types, [4, 2], "one Meta and one FullSnapshot, of the new walk");
    assert_eq!(replayed(&events, "fixture"), live(&root));
    recorder.stop();
}

#[wasm_bindgen_test]
async fn a_burst_changed_between_its_slices_is_recorded_exactly_and_masked() {
    let root = sections(20);
    let (recorder, events) = record(&ReplayConfig::default());
    // One script adds 1,500 sections (9,000 nodes) in one task, secrets among them.
    let burst = document().create_element("div").unwrap();
    burst.set_id("burst");
    let mut html = String::new();
    for i in 0..1500 {
        html.push_str(&format!(
            "<section id=\"b{i}\"><p>burst {i}</p><ul><li class=\"rr-block\">blocked-{i}</li><li class=\"rr-mask\">Secret {i}</li></ul></section>"
        ));
    }
    burst.set_inner_html(&html);
    root.append_child(&burst).unwrap();
    // The observer's callback (a microtask), and no slice yet.
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&wasm_bindgen::JsValue::NULL))
        .await
        .unwrap();
    assert!(recorder.in_slices(), "9,000 nodes take more than one 8 ms slice");
    let adds_so_far = |events: &Events| {
        incremental(events, 0).iter().filter(|d| !d["adds"].as_array().unwrap().is_empty()).count()
    };
    assert_eq!(adds_so_far(&events), 1, "the callback adds what fits its slice");
    // The last section is owed (9,000 nodes do not fit a slice): masked before it is paid.
    element("b1499").set_class_name("rr-mask");
    // Changes everywhere while the rest is owed: moved out of the burst and into it,
    // removed, added, text edited in parts added and owed.
    for round in 0..6 {
        element(&format!("b{}", 1400 - round)).first_element_child().unwrap().set_text_content(Some("late"));
        let late = element(&format!("b{}", 1300 - round));
        root.insert_before(&late, root.first_child().as_ref()).unwrap();
        let old = element(&format!("s{round}"));
        element(&format!("b{}", 1200 - round)).append_child(&old).unwrap();
        element(&format!("b{}", 10 + round)).remove();
        let fresh = document().create_element("p").unwrap();
        fresh.set_id(&format!("new{round}"));
        fresh.set_text_content(Some("fresh"));
        element(&format!("b{}", 700 + round)).append_child(&fresh).unwrap();
        element("b1").first_element_child().unwrap().set_text_content(Some(&format!("early {round}")));
        tick(0).await;
    }
    slices_end(&recorder).await;
    assert!(adds_so_far(&events) > 3, "added in slices: {} events", adds_so_far(&events));
    let json = all_json(&events);
    assert!(!json.contains("blocked-") && !json.contains("Secret"), "privacy holds in owed parts");
    assert!(!json.contains("burst 1499"), "a mask added to an owed part holds when it is added");
    recorder.stop();
    // The page as the replay shows it: blocked elements empty, masked text as stars.
    let private = document().query_selector_all(".rr-block, .rr-mask").unwrap();
    for i in 0..private.length() {
        let element: web_sys::Element = private.item(i).unwrap().unchecked_into();
        if element.class_name() == "rr-block" {
            element.set_text_content(Some(""));
            continue;
        }
        fn stars(node: &web_sys::Node) {
            if node.node_type() == web_sys::Node::TEXT_NODE {
                let value = node.node_value().unwrap_or_default();
                node.set_node_value(Some(
                    &value.chars().map(|c| if c.is_whitespace() { c } else { '*' }).collect::<String>(),
                ));
            }
            let children = node.child_nodes();
            for i in 0..children.length() {
                stars(&children.item(i).unwrap());
            }
        }
        stars(&element);
    }
    assert_eq!(replayed(&events, "fixture"), live(&root));
}
