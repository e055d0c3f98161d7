//! A full snapshot too large to send as one event becomes a FullSnapshot of the top of
//! the tree (the document, `<head>`, an empty `<body>`) followed by Mutation events that
//! add the body's nodes, each event at most `max_bytes` of JSON. rrweb's player rebuilds
//! the same document from them; every batch stays within the wire limits (an event of
//! at most ~1 MB of JSON is under 1 MB gzipped whatever it holds).
//!
//! The snapshot is the JSON `node::SerializedNode::write_open` writes: every node is an
//! object whose last key, for documents and elements, is `"childNodes":[…]`. This module
//! reads that structure back (no general JSON parser: strings are skipped, objects
//! counted) and cuts it.

use crate::core::json::push_u64;

/// A node of the snapshot JSON, as byte ranges into it.
#[derive(Debug)]
struct Span {
    start: usize,
    /// Just after `"childNodes":[`, for documents and elements.
    children_start: Option<usize>,
    /// At the `]` that closes `childNodes`.
    children_end: usize,
    /// Just after the node's closing `}`.
    end: usize,
    id: u64,
    is_shadow: bool,
    is_body: bool,
    children: Vec<Span>,
}

const CHILD_NODES: &[u8] = b"\"childNodes\":[";

/// Index just after the string that starts at `i` (a `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn parse_node(b: &[u8], start: usize) -> Option<Span> {
    if b.get(start) != Some(&b'{') {
        return None;
    }
    let id = b[start..].strip_prefix(b"{\"id\":").map(|rest| {
        rest.iter().take_while(|c| c.is_ascii_digit()).fold(0u64, |n, c| n * 10 + u64::from(c - b'0'))
    })?;
    let mut span = Span {
        start,
        children_start: None,
        children_end: 0,
        end: 0,
        id,
        is_shadow: false,
        is_body: false,
        children: Vec::new(),
    };
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                if depth == 1 && b[i..].starts_with(CHILD_NODES) {
                    let mut j = i + CHILD_NODES.len();
                    span.children_start = Some(j);
                    while b.get(j) != Some(&b']') {
                        let child = parse_node(b, j)?;
                        j = child.end;
                        span.children.push(child);
                        if b.get(j) == Some(&b',') {
                            j += 1;
                        }
                    }
                    span.children_end = j;
                    i = j + 1;
                    continue;
                }
                if depth == 1 {
                    let rest = &b[i..];
                    span.is_shadow |= rest.starts_with(b"\"isShadow\":true");
                    span.is_body |= rest.starts_with(b"\"tagName\":\"body\"");
                }
                i = skip_string(b, i)?;
            }
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    span.end = i;
                    return Some(span);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The main document's `<body>`: under `<html>`, itself a child of the document.
fn find_body(document: &Span) -> Option<&Span> {
    document.children.iter().flat_map(|html| html.children.iter()).find(|node| node.is_body)
}

/// Writes the adds of `parent`'s children (and their subtrees) into Mutation event
/// data, each at most `max_bytes`: siblings last to first, so that every `nextId` and
/// `parentId` was added before.
struct AddWriter<'a> {
    json: &'a str,
    max_bytes: usize,
    events: Vec<String>,
    current: String,
}

const MUTATION_OPEN: &str = "{\"source\":0,\"texts\":[],\"attributes\":[],\"removes\":[],\"adds\":[";

impl AddWriter<'_> {
    fn add(&mut self, parent: &Span) {
        for (index, child) in parent.children.iter().enumerate().rev() {
            // The next sibling within the same child list (light DOM or shadow root).
            let next = parent.children[index + 1..].iter().find(|s| s.is_shadow == child.is_shadow);
            let shallow = match child.children_start {
                Some(open) => format_shallow(&self.json[child.start..open]),
                None => self.json[child.start..child.end].to_string(),
            };
            let mut entry = String::with_capacity(shallow.len() + 48);
            entry.push_str("{\"parentId\":");
            push_u64(&mut entry, parent.id);
            entry.push_str(",\"nextId\":");
            match next {
                Some(next) => push_u64(&mut entry, next.id),
                None => entry.push_str("null"),
            }
            entry.push_str(",\"node\":");
            entry.push_str(&shallow);
            entry.push('}');
            self.push(entry);
            self.add(child);
        }
    }

    fn push(&mut self, entry: String) {
        let empty = self.current.len() == MUTATION_OPEN.len();
        if !empty && self.current.len() + entry.len() + 3 > self.max_bytes {
            self.finish_event();
        }
        if self.current.len() > MUTATION_OPEN.len() {
            self.current.push(',');
        }
        self.current.push_str(&entry);
    }

    fn finish_event(&mut self) {
        if self.current.len() > MUTATION_OPEN.len() {
            self.current.push_str("]}");
            self.events.push(std::mem::replace(&mut self.current, MUTATION_OPEN.to_string()));
        }
    }
}

/// A node's own JSON with its children left out: what comes before `"childNodes":[`,
/// then `]}`.
fn format_shallow(open: &str) -> String {
    let mut out = String::with_capacity(open.len() + 2);
    out.push_str(open);
    out.push_str("]}");
    out
}

/// The parts of a snapshot whose JSON (`document_json`, the `node` of a FullSnapshot)
/// is over `max_bytes`: the top of the tree with an empty `<body>`, and the `data` of
/// the Mutation events that add the body's nodes, in order. `None` when the snapshot is
/// small enough, or has no `<body>` to cut at.
pub fn split_snapshot(document_json: &str, max_bytes: usize) -> Option<(String, Vec<String>)> {
    if document_json.len() <= max_bytes {
        return None;
    }
    let document = parse_node(document_json.as_bytes(), 0)?;
    let body = find_body(&document)?;
    let open = body.children_start?;
    let mut top = String::with_capacity(document_json.len() - (body.children_end - open));
    top.push_str(&document_json[..open]);
    top.push_str(&document_json[body.children_end..]);
    let mut writer =
        AddWriter { json: document_json, max_bytes, events: Vec::new(), current: MUTATION_OPEN.to_string() };
    writer.add(body);
    writer.finish_event();
    Some((top, writer.events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    // Nodes written as `SerializedNode::write_open` writes them: `id` first, `childNodes`
    // last (serde_json would sort the keys).
    fn element(id: u64, tag: &str, children: Vec<String>) -> String {
        format!(
            r#"{{"id":{id},"type":2,"tagName":"{tag}","attributes":{{"data-x":"a \"}}\" ]"}},"childNodes":[{}]}}"#,
            children.join(",")
        )
    }

    fn text(id: u64, t: &str) -> String {
        format!(r#"{{"id":{id},"type":3,"textContent":{}}}"#, Value::from(t))
    }

    /// A document whose body holds `n` paragraphs of text, plus a shadow host.
    fn page(n: u64) -> String {
        let mut body = Vec::new();
        let mut id = 10;
        for i in 0..n {
            body.push(element(id, "p", vec![text(id + 1, &format!("paragraph {i} {{[\"x\"]}}"))]));
            id += 2;
        }
        let shadow_child = format!(
            r#"{{"id":{},"type":2,"tagName":"span","attributes":{{}},"isShadow":true,"childNodes":[{}]}}"#,
            id + 2,
            text(id + 3, "in shadow")
        );
        body.push(format!(
            r#"{{"id":{id},"type":2,"tagName":"my-host","attributes":{{}},"isShadowHost":true,"childNodes":[{},{}]}}"#,
            element(id + 1, "b", vec![]),
            shadow_child
        ));
        let head = element(4, "head", vec![element(5, "style", vec![text(6, "p{}")])]);
        let html = element(3, "html", vec![head, element(7, "body", body)]);
        format!(
            r#"{{"id":1,"type":0,"childNodes":[{{"id":2,"type":1,"name":"html","publicId":"","systemId":""}},{html}]}}"#
        )
    }

    /// Rebuilds the tree from the top and the adds, as a player would (each add must
    /// find its parent and next sibling already there).
    fn rebuild(top: &str, events: &[String]) -> Value {
        let mut tree: Value = serde_json::from_str(top).unwrap();
        for data in events {
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["source"], 0);
            for add in data["adds"].as_array().unwrap() {
                let node = add["node"].clone();
                let parent =
                    find(&mut tree, add["parentId"].as_u64().unwrap()).expect("the parent was added before");
                let children = parent["childNodes"].as_array_mut().unwrap();
                let at = match add["nextId"].as_u64() {
                    None => children.len(),
                    Some(next) => children
                        .iter()
                        .position(|c| c["id"] == next)
                        .expect("the next sibling was added before"),
                };
                children.insert(at, node);
            }
        }
        tree
    }

    fn find(tree: &mut Value, id: u64) -> Option<&mut Value> {
        if tree["id"] == id {
            return Some(tree);
        }
        tree.get_mut("childNodes")?.as_array_mut()?.iter_mut().find_map(|c| find(c, id))
    }

    /// Shadow children sit after the light ones in both trees; a player attaches them
    /// to the shadow root, so only their order within each list matters.
    fn normalize(tree: &mut Value) {
        if let Some(children) = tree.get_mut("childNodes").and_then(|c| c.as_array_mut()) {
            children.sort_by_key(|c| c.get("isShadow").is_some());
            children.iter_mut().for_each(normalize);
        }
    }

    #[test]
    fn small_snapshots_are_left_alone() {
        let json = page(3);
        assert!(split_snapshot(&json, json.len()).is_none());
    }

    #[test]
    fn a_large_snapshot_becomes_a_top_and_bounded_adds_that_rebuild_it() {
        let json = page(400);
        let original: Value = serde_json::from_str(&json).unwrap();
        let (top, events) = split_snapshot(&json, 4_000).expect("split");
        let top_value: Value = serde_json::from_str(&top).unwrap();
        let body = &top_value["childNodes"][1]["childNodes"][1];
        assert_eq!(body["tagName"], "body");
        assert_eq!(body["childNodes"], json!([]), "the body is sent empty");
        assert_eq!(
            top_value["childNodes"][1]["childNodes"][0]["childNodes"][0]["tagName"], "style",
            "head kept"
        );
        assert!(events.len() > 5, "several events: {}", events.len());
        for data in &events {
            assert!(data.len() <= 4_000, "each event within the limit: {}", data.len());
        }
        let mut rebuilt = rebuild(&top, &events);
        let mut expected = original.clone();
        normalize(&mut rebuilt);
        normalize(&mut expected);
        assert_eq!(rebuilt, expected);
    }

    #[test]
    fn adds_are_flat_and_name_the_next_sibling_of_their_own_child_list() {
        let json = page(1);
        let (_, events) = split_snapshot(&json, 10).expect("split");
        let adds: Vec<Value> = events
            .iter()
            .flat_map(|e| serde_json::from_str::<Value>(e).unwrap()["adds"].as_array().unwrap().clone())
            .collect();
        for add in &adds {
            if let Some(children) = add["node"].get("childNodes") {
                assert_eq!(children, &json!([]), "every add is one node");
            }
        }
        let light_b = adds.iter().find(|a| a["node"]["tagName"] == "b").unwrap();
        assert_eq!(light_b["nextId"], Value::Null, "the shadow child is in another list");
    }

    #[test]
    fn a_document_without_a_body_is_not_split() {
        let frameset = format!(
            r#"{{"id":1,"type":0,"childNodes":[{}]}}"#,
            element(2, "html", vec![element(3, "frameset", vec![])])
        );
        assert!(split_snapshot(&frameset, 5).is_none());
        assert!(split_snapshot("{not json", 1).is_none());
    }
}
