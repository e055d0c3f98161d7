use super::*;
use crate::core::replay::fake_dom::FakeDom;
use serde_json::{json, Value};

trait TakeDiff {
    fn take_diff(&mut self) -> Option<Value>;
}

impl TakeDiff for FakeDom {
    fn take_diff(&mut self) -> Option<Value> {
        let records = std::mem::take(&mut self.records);
        diff(&records, self).map(|data| serde_json::from_str(&data).expect("valid JSON"))
    }
}

/// `(parentId, nextId, id, tagName or text)` of every add, in order.
fn adds(data: &Value) -> Vec<(u64, Option<u64>, u64, String)> {
    data["adds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let node = &a["node"];
            let label = node["tagName"].as_str().or(node["textContent"].as_str()).unwrap().to_string();
            (a["parentId"].as_u64().unwrap(), a["nextId"].as_u64(), node["id"].as_u64().unwrap(), label)
        })
        .collect()
}

#[test]
fn no_records_and_no_net_change_give_no_event() {
    let mut dom = FakeDom::new();
    assert_eq!(dom.take_diff(), None);
    let div = dom.element("div");
    dom.insert(1, div, None);
    dom.remove(div);
    assert_eq!(dom.take_diff(), None, "added then removed in one batch produces nothing");
}

#[test]
fn nested_adds_are_flattened_parents_first_with_next_ids() {
    let mut dom = FakeDom::new();
    let existing = dom.element("footer");
    dom.insert(1, existing, None);
    dom.snapshot(existing);
    dom.records.clear();

    let section = dom.element("section");
    let h1 = dom.element("h1");
    let title = dom.text("Title");
    let p = dom.element("p");
    dom.attach(h1, title, None);
    dom.attach(section, h1, None);
    dom.attach(section, p, None);
    dom.insert(1, section, Some(existing)); // one record for the whole subtree

    let data = dom.take_diff().unwrap();
    let footer_id = dom.id(existing) as u64;
    // Ids in pre-order: section 4, h1 5, "Title" 6, p 7.
    assert_eq!(
        adds(&data),
        vec![
            (2, Some(footer_id), 4, "section".into()),
            (4, None, 7, "p".into()),
            (4, Some(7), 5, "h1".into()),
            (5, None, 6, "Title".into()),
        ]
    );
    assert_eq!(
        data["adds"][0]["node"]["childNodes"],
        json!([]),
        "flattened: children come as their own adds"
    );
    assert_eq!(data["removes"], json!([]));
}

#[test]
fn siblings_appended_one_by_one_come_last_first() {
    let mut dom = FakeDom::new();
    let items: Vec<Handle> = (0..3).map(|_| dom.element("li")).collect();
    for &item in &items {
        dom.insert(1, item, None);
    }
    let data = dom.take_diff().unwrap();
    assert_eq!(
        adds(&data),
        vec![(2, None, 5, "li".into()), (2, Some(5), 4, "li".into()), (2, Some(4), 3, "li".into())]
    );
}

#[test]
fn a_move_is_a_remove_plus_an_add_with_the_same_ids() {
    let mut dom = FakeDom::new();
    let a = dom.element("div");
    let b = dom.element("div");
    let span = dom.element("span");
    let text = dom.text("moved");
    dom.attach(span, text, None);
    dom.attach(a, span, None);
    dom.insert(1, a, None);
    dom.insert(1, b, None);
    dom.snapshot(a);
    dom.snapshot(b);
    dom.records.clear();
    let (a_id, b_id, span_id, text_id) = (dom.id(a), dom.id(b), dom.id(span), dom.id(text));

    dom.insert(b, span, None);
    let data = dom.take_diff().unwrap();
    assert_eq!(data["removes"], json!([{"parentId": a_id, "id": span_id}]));
    assert_eq!(
        adds(&data),
        vec![
            (b_id as u64, None, span_id as u64, "span".into()),
            (span_id as u64, None, text_id as u64, "moved".into())
        ]
    );
    assert_eq!(dom.id_counter.peek_next(), 7, "a move hands out no new ids");
}

#[test]
fn moving_twice_in_one_batch_removes_once_from_the_original_parent() {
    let mut dom = FakeDom::new();
    let a = dom.element("div");
    let b = dom.element("div");
    let c = dom.element("div");
    let item = dom.element("i");
    dom.attach(a, item, None);
    for node in [a, b, c] {
        dom.insert(1, node, None);
        dom.snapshot(node);
    }
    dom.records.clear();
    dom.insert(b, item, None);
    dom.insert(c, item, None);
    let data = dom.take_diff().unwrap();
    assert_eq!(data["removes"], json!([{"parentId": dom.id(a), "id": dom.id(item)}]));
    assert_eq!(adds(&data), vec![(dom.id(c) as u64, None, dom.id(item) as u64, "i".into())]);
}

#[test]
fn a_node_added_then_moved_is_added_once_where_it_ended() {
    let mut dom = FakeDom::new();
    let target = dom.element("nav");
    dom.insert(1, target, None);
    dom.snapshot(target);
    dom.records.clear();
    let div = dom.element("div");
    dom.insert(1, div, None);
    dom.insert(target, div, None);
    let data = dom.take_diff().unwrap();
    assert_eq!(data["removes"], json!([]));
    assert_eq!(adds(&data), vec![(dom.id(target) as u64, None, dom.id(div) as u64, "div".into())]);
}

#[test]
fn children_added_into_a_new_node_are_recorded_once() {
    let mut dom = FakeDom::new();
    let list = dom.element("ul");
    dom.insert(1, list, None);
    let item = dom.element("li");
    dom.insert(list, item, None); // a second record, inside the first added subtree
    let data = dom.take_diff().unwrap();
    assert_eq!(adds(&data), vec![(2, None, 3, "ul".into()), (3, None, 4, "li".into())]);
}

#[test]
fn texts_and_attributes_of_added_nodes_are_folded_into_the_add() {
    let mut dom = FakeDom::new();
    let p = dom.element("p");
    let text = dom.text("before");
    dom.attach(p, text, None);
    dom.insert(1, p, None);
    dom.set_text(text, "after");
    dom.set_attribute(p, "class", Some("x"));
    let data = dom.take_diff().unwrap();
    assert_eq!(data["texts"], json!([]));
    assert_eq!(data["attributes"], json!([]));
    assert_eq!(data["adds"][0]["node"]["attributes"], json!({"class": "x"}));
    assert_eq!(data["adds"][1]["node"]["textContent"], "after");
}

#[test]
fn texts_and_attributes_of_known_nodes_carry_their_final_values() {
    let mut dom = FakeDom::new();
    let p = dom.element("p");
    let text = dom.text("one");
    dom.attach(p, text, None);
    dom.insert(1, p, None);
    dom.snapshot(p);
    dom.records.clear();
    dom.set_text(text, "two");
    dom.set_text(text, "three");
    dom.set_attribute(p, "title", Some("t1"));
    dom.set_attribute(p, "title", Some("t2"));
    dom.set_attribute(p, "hidden", None);
    let data = dom.take_diff().unwrap();
    assert_eq!(data["texts"], json!([{"id": dom.id(text), "value": "three"}]));
    assert_eq!(data["attributes"], json!([{"id": dom.id(p), "attributes": {"title": "t2", "hidden": null}}]));
    assert_eq!(data["adds"], json!([]));
}

#[test]
fn changes_to_removed_nodes_are_dropped() {
    let mut dom = FakeDom::new();
    let p = dom.element("p");
    let text = dom.text("x");
    dom.attach(p, text, None);
    dom.insert(1, p, None);
    dom.snapshot(p);
    dom.records.clear();
    dom.set_text(text, "y");
    dom.set_attribute(p, "class", Some("gone"));
    dom.remove(p);
    let data = dom.take_diff().unwrap();
    assert_eq!(data["texts"], json!([]));
    assert_eq!(data["attributes"], json!([]));
    assert_eq!(data["removes"], json!([{"parentId": 2, "id": dom.id(p)}]));
}

#[test]
fn nothing_is_added_inside_a_blocked_element() {
    let mut dom = FakeDom::new();
    let blocked = dom.element("div");
    dom.insert(1, blocked, None);
    dom.snapshot(blocked);
    dom.nodes[blocked as usize].blocked = true;
    dom.records.clear();
    let secret = dom.element("span");
    dom.insert(blocked, secret, None);
    dom.set_attribute(blocked, "title", Some("t"));
    assert_eq!(dom.take_diff(), None);
}

#[test]
fn additions_inside_a_detached_parent_are_ignored() {
    let mut dom = FakeDom::new();
    let wrapper = dom.element("div");
    dom.insert(1, wrapper, None);
    dom.snapshot(wrapper);
    dom.records.clear();
    let child = dom.element("b");
    dom.insert(wrapper, child, None);
    dom.remove(wrapper);
    let data = dom.take_diff().unwrap();
    assert_eq!(data["adds"], json!([]));
    assert_eq!(data["removes"], json!([{"parentId": 2, "id": dom.id(wrapper)}]));
}

#[test]
fn attaches_an_iframe_document() {
    let data: Value =
        serde_json::from_str(&attach_iframe_data(7, r#"{"id":8,"type":0,"childNodes":[]}"#)).unwrap();
    assert_eq!(
        data,
        json!({"source": 0, "adds": [{"parentId": 7, "nextId": null, "node": {"id": 8, "type": 0, "childNodes": []}}],
            "removes": [], "texts": [], "attributes": [], "isAttachIframe": true})
    );
}
