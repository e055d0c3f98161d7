//! MutationObserver records → `core::replay::mutation::diff`, with the DOM behind the
//! `MutationDom` trait. Handles number the nodes of one batch (a JS `Map` keeps those of
//! the records unique), so the core never holds a JS reference.

use js_sys::Map;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, MutationRecord, Node};

use super::serialize::{
    is_blocked, sl_handle, sl_kids, Context, Serializer, ELEMENT_NODE, FRAGMENT_NODE, TEXT_NODE,
};
use crate::core::json::split_byte;
use crate::core::replay::mutation::{AttributeChange, Handle, MutationDom, Record};
use crate::core::replay::node::{recorded_attribute, text_content};

pub struct BatchDom<'s, 'a> {
    pub serializer: &'s mut Serializer<'a>,
    pub main: &'s Document,
    /// By handle, every node of the batch (a JS array, filled by `sl_handle` / `sl_kids`).
    all: js_sys::Array,
    handles: Map,
    /// By handle: what Rust knows of the node.
    slots: Vec<Slot>,
    /// The main document's base URL, read once per batch.
    main_base: Option<String>,
    /// Where containers that owe their children are kept, by id (`MutationDom::hold`).
    pub held: Option<Map>,
}

/// What a batch knows of one of its nodes.
#[derive(Clone, Default)]
struct Slot {
    /// The node, once Rust has asked for it (all of them are in `all`).
    node: Option<Node>,
    /// The context the node inherits, when its parent was serialized in this batch
    /// (saves asking the DOM for each added node's ancestors).
    context: Option<Context>,
    /// What the children of a node serialized in this batch inherit.
    child_context: Option<Context>,
    /// The next sibling, when known from walking the parent's children.
    next: Option<Option<Handle>>,
    /// The id, once known to be recorded (ids are never taken back).
    id: Option<u32>,
    /// Serialized in this batch (`child_context` is then exact: `None` means no
    /// recorded children).
    serialized: bool,
    /// Serialized in this batch as the host of an open shadow root.
    shadow_host: bool,
    /// Whether the privacy rule blocks the node (asked once per batch: a burst of adds
    /// under one parent asks about that parent once).
    blocked: Option<bool>,
}

/// The host when `node` is a shadow root, else `node`.
pub fn host_or_self(node: Node) -> Node {
    if node.node_type() == FRAGMENT_NODE {
        if let Ok(host) = js_sys::Reflect::get(&node, &JsValue::from_str("host")) {
            if host.is_object() {
                return host.unchecked_into();
            }
        }
    }
    node
}

impl<'s, 'a> BatchDom<'s, 'a> {
    pub fn new(serializer: &'s mut Serializer<'a>, main: &'s Document) -> Self {
        let all = serializer.all.clone();
        Self { serializer, main, all, handles: Map::new(), slots: Vec::new(), main_base: None, held: None }
    }

    /// The handle of `node` in this batch.
    pub fn handle_of(&mut self, node: Node) -> Handle {
        self.handle(node)
    }

    fn handle(&mut self, node: Node) -> Handle {
        let h = sl_handle(&self.handles, &self.all, &node);
        self.grow(h);
        self.slots[h as usize].node = Some(node);
        h
    }

    /// Makes room for handle `h`.
    fn grow(&mut self, h: Handle) {
        if self.slots.len() <= h as usize {
            self.slots.resize(h as usize + 1, Slot::default());
        }
    }

    fn node(&mut self, handle: Handle) -> Node {
        let slot = &mut self.slots[handle as usize].node;
        slot.get_or_insert_with(|| self.all.get(handle).unchecked_into()).clone()
    }

    /// The children a container held since an earlier batch owes (its children as they
    /// are now; none when it is no longer recorded).
    pub fn owed_children(&mut self, container: Handle) -> Vec<Handle> {
        // What a container inherits comes from its parent element, serialized again once
        // per batch for it (owed siblings are often paid together), as a node added with
        // its parent inherits it; a shadow root's child works it out itself.
        if self.slots[container as usize].context.is_none() {
            if let Some(parent) = self.node(container).parent_element() {
                let parent = self.handle(parent.into());
                if !self.slots[parent as usize].serialized {
                    self.serialize_shallow(parent, &mut String::new());
                }
                self.slots[container as usize].context = self.slots[parent as usize].child_context;
            }
        }
        // Serialized again (the JSON is not used) for what its children inherit.
        if self.serialize_shallow(container, &mut String::new()).is_none() {
            return Vec::new();
        }
        self.recorded_children_of(container)
    }

    /// Converts the observer's records.
    pub fn records(&mut self, records: &js_sys::Array) -> Vec<Record> {
        let mut out = Vec::with_capacity(records.length() as usize);
        for record in records.iter() {
            let record: MutationRecord = record.unchecked_into();
            let Some(target) = record.target() else { continue };
            let target = self.handle(host_or_self(target));
            match record.type_().as_str() {
                "childList" => {
                    let list = |dom: &mut Self, nodes: web_sys::NodeList| {
                        let mut handles = Vec::with_capacity(nodes.length() as usize);
                        for i in 0..nodes.length() {
                            if let Some(n) = nodes.item(i) {
                                handles.push(dom.handle(n));
                            }
                        }
                        handles
                    };
                    let added = list(self, record.added_nodes());
                    let removed = list(self, record.removed_nodes());
                    out.push(Record::ChildList { target, added, removed });
                }
                "attributes" => {
                    if let Some(name) = record.attribute_name() {
                        out.push(Record::Attribute { target, name });
                    }
                }
                _ => out.push(Record::CharacterData { target }),
            }
        }
        out
    }

    /// Handles the children of `parent` (of its shadow root when `shadow`), remembering
    /// each one's next sibling.
    fn walk_children(
        &mut self,
        parent: Handle,
        shadow: bool,
        inherited: Option<Context>,
        children: &mut Vec<Handle>,
    ) {
        let list = sl_kids(&self.handles, &self.all, parent, shadow);
        let mut previous: Option<Handle> = None;
        for h in split_byte(&list, b',').filter(|h| !h.is_empty()) {
            let h = h.bytes().fold(0u32, |n, b| n * 10 + (b - b'0') as u32);
            self.grow(h);
            self.slots[h as usize].context = inherited;
            if let Some(p) = previous {
                self.slots[p as usize].next = Some(Some(h));
            }
            previous = Some(h);
            children.push(h);
        }
        if let Some(p) = previous {
            self.slots[p as usize].next = Some(None);
        }
    }

    /// The base URL of `node`'s document (the main one is read once per batch).
    fn base_url(&mut self, handle: Handle, context: &Context) -> String {
        if context.root_id.is_some() {
            return self.node(handle).base_uri().ok().flatten().unwrap_or_default();
        }
        self.main_base.get_or_insert_with(|| self.main.base_uri().ok().flatten().unwrap_or_default()).clone()
    }

    fn context(&mut self, handle: Handle) -> Context {
        if let Some(context) = self.slots[handle as usize].context {
            return context;
        }
        let node = self.node(handle);
        let main = self.main.clone();
        self.serializer.context_of(&node, &main)
    }
}

impl MutationDom for BatchDom<'_, '_> {
    fn id_of(&mut self, node: Handle) -> Option<u32> {
        if let Some(id) = self.slots[node as usize].id {
            return Some(id);
        }
        let n = self.node(node);
        let id = self.serializer.id_of(&n);
        self.slots[node as usize].id = id;
        id
    }

    fn parent_of(&mut self, node: Handle) -> Option<Handle> {
        let parent = self.node(node).parent_node()?;
        Some(self.handle(host_or_self(parent)))
    }

    fn next_sibling_of(&mut self, node: Handle) -> Option<Handle> {
        if let Some(next) = self.slots[node as usize].next {
            return next;
        }
        let sibling = self.node(node).next_sibling()?;
        Some(self.handle(sibling))
    }

    fn recorded_children_of(&mut self, parent: Handle) -> Vec<Handle> {
        let mut children = Vec::new();
        let inherited = self.slots[parent as usize].child_context;
        let shadow_host = if self.slots[parent as usize].serialized {
            // Serialized in this batch: `inherited` is `None` exactly when no children
            // are recorded (not an element, blocked, a textarea with a value).
            if inherited.is_none() {
                return children;
            }
            self.slots[parent as usize].shadow_host
        } else {
            let node = self.node(parent);
            if node.node_type() == ELEMENT_NODE {
                let element = node.unchecked_ref::<Element>();
                if is_blocked(self.serializer.config, element, element.get_attribute("class").as_deref()) {
                    return children;
                }
                if element.local_name() == "textarea"
                    && !element.unchecked_ref::<web_sys::HtmlInputElement>().value().is_empty()
                {
                    return children;
                }
                element.shadow_root().is_some()
            } else {
                false
            }
        };
        self.walk_children(parent, false, inherited, &mut children);
        if shadow_host {
            let inherited = inherited.map(|c| Context { is_shadow: true, ..c });
            self.walk_children(parent, true, inherited, &mut children);
        }
        children
    }

    fn is_connected(&mut self, node: Handle) -> bool {
        self.node(node).is_connected()
    }

    fn is_blocked(&mut self, handle: Handle) -> bool {
        if let Some(blocked) = self.slots[handle as usize].blocked {
            return blocked;
        }
        let node = self.node(handle);
        let blocked = self.serializer.privacy.classify(&node).blocked;
        self.slots[handle as usize].blocked = Some(blocked);
        blocked
    }

    fn serialize_shallow(&mut self, handle: Handle, out: &mut String) -> Option<u32> {
        let context = self.context(handle);
        let iframe_base;
        let base = if context.root_id.is_some() {
            iframe_base = self.base_url(handle, &context);
            &iframe_base
        } else {
            let main = self.main;
            self.main_base.get_or_insert_with(|| main.base_uri().ok().flatten().unwrap_or_default())
        };
        self.serializer.last_child_context = None;
        let shadow_roots = self.serializer.shadow_roots.len();
        let id = self.serializer.serialize_at(handle, context, base, out);
        self.slots[handle as usize].child_context = self.serializer.last_child_context.take();
        self.slots[handle as usize].serialized = true;
        self.slots[handle as usize].shadow_host = self.serializer.shadow_roots.len() > shadow_roots;
        if id.is_some() {
            self.slots[handle as usize].id = id;
        }
        id
    }

    fn may_have_children(&mut self, handle: Handle) -> bool {
        self.slots[handle as usize].child_context.is_some()
    }

    fn hold(&mut self, handle: Handle, id: u32) {
        let node = self.node(handle);
        if let Some(held) = &self.held {
            held.set(&id.into(), &node);
        }
    }

    fn text_value(&mut self, handle: Handle) -> Option<String> {
        let node = self.node(handle);
        let context = self.context(handle);
        if context.blocked {
            return None; // inside a region blocked after it was recorded
        }
        let text = node.node_value()?;
        if node.node_type() != TEXT_NODE {
            return Some(text);
        }
        let base = self.base_url(handle, &context);
        Some(text_content(&text, context.text_parent, context.masked_text, &base))
    }

    fn attribute_change(&mut self, node: Handle, name: &str) -> AttributeChange {
        let node = self.node(node);
        if node.node_type() != ELEMENT_NODE {
            return AttributeChange::Skip;
        }
        let element = node.unchecked_ref::<Element>();
        let Some(value) = element.get_attribute(name) else { return AttributeChange::Removed };
        // Reading the element records a switch to type=password for good.
        let mut raw = self.serializer.read_element(element, false);
        if name == "value" || name == "srcdoc" {
            raw.in_masked_region = self.serializer.privacy.classify(&node).mask_text;
        }
        if name == "srcdoc" && raw.in_masked_region {
            return AttributeChange::Skip; // the frame's text, which the mask hides
        }
        let masks_value = raw.masks_value(self.serializer.config.mask_all_inputs);
        let base = node.base_uri().ok().flatten().unwrap_or_default();
        match recorded_attribute(&raw.tag, name, &value, &base, masks_value) {
            Some(v) => AttributeChange::Value(v),
            None => AttributeChange::Skip,
        }
    }
}
