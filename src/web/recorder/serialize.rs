//! Reading nodes into the core's serialized-node model, shared by the snapshot walk
//! (`snapshot.rs`) and mutation adds (`observer.rs`). Node → id lives on the node, under
//! the recorder's symbol (`NodeIds`), so a checkout reuses ids and removed nodes are
//! garbage-collected with their ids.
//!
//! Nodes of same-origin iframes come from another JS realm, so types are told apart by
//! `nodeType` and cast unchecked (`instanceof` would fail across realms).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Node};

use crate::core::config::ReplayConfig;
use crate::core::replay::id_counter::IdCounter;
use crate::core::replay::node::{
    element_kind, text_content, NodeKind, RawElement, SerializedNode, TextParent,
};
use crate::core::replay::privacy::{has_class, value_needs_mask};
use crate::core::replay::protocol::{parse_element, parse_node, ElementRecord, NodeRecord};
pub use crate::core::replay::protocol::{
    COMMENT_NODE, DOCTYPE_NODE, DOCUMENT_NODE, ELEMENT_NODE, FRAGMENT_NODE, TEXT_NODE,
};
use crate::web::privacy::{input_type_of, Privacy};

// The reader (its record format: `core::replay::protocol`).
#[wasm_bindgen(module = "/src/web/recorder/reader.js")]
extern "C" {
    fn sl_read(element: &Element) -> String;
    fn sl_node(all: &js_sys::Array, index: u32, ids: &JsValue, fresh: u32, scroll: bool) -> String;
    fn sl_new_ids() -> JsValue;
    fn sl_id(ids: &JsValue, node: &JsValue) -> i32;
    /// Appends `node` to `all`; its index.
    pub fn sl_push(all: &js_sys::Array, node: &Node) -> u32;
    /// The records of `all[from..from + count]`, children of `all[parent]`.
    pub fn sl_read_children(
        all: &js_sys::Array,
        parent: i32,
        shadow: bool,
        from: u32,
        count: u32,
        ids: &JsValue,
        fresh: u32,
    ) -> String;
    /// A node's handle in a mutation batch (its index in `all`).
    pub fn sl_handle(map: &js_sys::Map, all: &js_sys::Array, node: &Node) -> u32;
    /// The handles of the children of `all[parent]` (of its shadow root when
    /// `shadow`), each followed by a comma.
    pub fn sl_kids(map: &js_sys::Map, all: &js_sys::Array, parent: u32, shadow: bool) -> String;
    /// Calls `callback` in a new task soon (`scheduler.yield()` or a MessageChannel).
    pub fn sl_later(callback: &js_sys::Function);
}

/// What a node inherits from its ancestors.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Inside a blocked region (only ever true for a node found through a mutation
    /// record: the walk does not enter blocked elements).
    pub blocked: bool,
    pub masked_text: bool,
    pub root_id: Option<u32>,
    pub is_shadow: bool,
    pub text_parent: TextParent,
}

/// Ids, privacy options and what the walk found that needs follow-up.
pub struct Serializer<'a> {
    /// The nodes being serialized, by index (a JS array: see `sl_node`).
    pub all: js_sys::Array,
    pub ids: &'a NodeIds,
    pub id_counter: &'a mut IdCounter,
    pub config: &'a ReplayConfig,
    /// The privacy options as selectors (the one rule: `core::replay::privacy`).
    pub privacy: &'a Privacy,
    /// Readable iframes met during the walk: `(iframe id, its document)`.
    pub iframes: Vec<(u32, Document)>,
    /// Open shadow roots met during the walk (to observe).
    pub shadow_roots: Vec<Node>,
    /// Serializing mutation adds: `<style>` rules are not put into `_cssText` (adds
    /// carry the CSS in their text children, which later text mutations update), and
    /// scroll offsets are not read (a node added in this task cannot have been
    /// scrolled by the user, and reading them would force a layout of the new nodes).
    pub for_mutation: bool,
    /// What the children of the last element / document serialized inherit, `None`
    /// when its children are not recorded (lets a mutation batch serialize a subtree
    /// without asking the DOM about each node's ancestors, class and value again).
    pub last_child_context: Option<Context>,
}

/// Node → id, kept on each node under a symbol of the recorder's (see `reader.js`).
pub struct NodeIds(JsValue);

impl NodeIds {
    /// A new recorder's (a new symbol: ids of another recorder are not seen).
    pub fn create() -> Self {
        NodeIds(sl_new_ids())
    }

    pub fn get(&self, node: &JsValue) -> Option<u32> {
        u32::try_from(sl_id(&self.0, node)).ok()
    }

    /// The key, for the reader.
    pub fn key(&self) -> &JsValue {
        &self.0
    }
}

pub fn id_in(ids: &NodeIds, node: &JsValue) -> Option<u32> {
    ids.get(node)
}

/// Whether `element` is recorded as a blocked placeholder.
pub fn is_blocked(config: &ReplayConfig, element: &Element, class_attribute: Option<&str>) -> bool {
    if class_attribute.is_some_and(|c| has_class(c, &config.block_class)) {
        return true;
    }
    match config.block_selector.as_deref() {
        Some(selector) if !selector.trim().is_empty() => element.matches(selector).unwrap_or(false),
        _ => false,
    }
}

/// `is_blocked` with the element fetched only when a selector needs it.
fn is_blocked_with(
    config: &ReplayConfig,
    element: &dyn Fn() -> Element,
    class_attribute: Option<&str>,
) -> bool {
    if class_attribute.is_some_and(|c| has_class(c, &config.block_class)) {
        return true;
    }
    match config.block_selector.as_deref() {
        Some(selector) if !selector.trim().is_empty() => element().matches(selector).unwrap_or(false),
        _ => false,
    }
}

/// The open shadow root of `element`, if any.
pub fn shadow_root_of(element: &Element) -> Option<Node> {
    element.shadow_root().map(Into::into)
}

/// `element.sheet.cssRules` as text, or `None` when absent or unreadable (cross-origin).
pub fn stylesheet_text(element: &Element) -> Option<String> {
    let sheet = js_sys::Reflect::get(element, &JsValue::from_str("sheet")).ok()?;
    if !sheet.is_object() {
        return None;
    }
    let rules = sheet.unchecked_into::<web_sys::CssStyleSheet>().css_rules().ok()?;
    let mut css = String::new();
    for i in 0..rules.length() {
        if let Some(rule) = rules.item(i) {
            css.push_str(&rule.css_text());
        }
    }
    Some(css)
}

impl Serializer<'_> {
    pub fn id_of(&self, node: &Node) -> Option<u32> {
        id_in(self.ids, node)
    }

    fn root_id_for(&mut self, document: &Document, main: &Document) -> Option<u32> {
        if document == main {
            None
        } else {
            self.id_of(document)
        }
    }

    /// Context of a node found through a mutation (computed from its ancestors).
    pub fn context_of(&mut self, node: &Node, main: &Document) -> Context {
        let root_id = node.owner_document().and_then(|d| self.root_id_for(&d, main));
        let parent = node.parent_node();
        let is_shadow = parent.as_ref().is_some_and(|p| p.node_type() == FRAGMENT_NODE);
        let verdict = self.privacy.classify(node);
        let text_parent = match node.parent_element() {
            Some(parent) if node.node_type() != ELEMENT_NODE => self.text_parent_of(&parent, false),
            _ => TextParent::Other,
        };
        Context { blocked: verdict.blocked, masked_text: verdict.mask_text, root_id, is_shadow, text_parent }
    }

    fn text_parent_of(&mut self, parent: &Element, has_css_text: bool) -> TextParent {
        match parent.local_name().as_str() {
            "script" => TextParent::Script,
            "style" if has_css_text => TextParent::StyleWithCssText,
            "style" => TextParent::Style,
            "textarea" => {
                let raw = self.read_element(parent, false);
                if raw.masks_value(self.config.mask_all_inputs) {
                    TextParent::MaskedTextarea
                } else {
                    TextParent::Other
                }
            }
            _ => TextParent::Other,
        }
    }

    /// Reads what the recording rules need from `element` (its form state and size too
    /// when `with_state`).
    pub fn read_element(&mut self, element: &Element, with_state: bool) -> RawElement {
        let read = sl_read(element);
        match parse_element(&read) {
            Ok((record, _)) => self.element_from(&|| element.clone(), &record, with_state, None),
            Err(_) => RawElement { tag: element.local_name(), ..Default::default() },
        }
    }

    /// `read_element` from what the reader returned (`scroll` already read, or `None`).
    fn element_from(
        &mut self,
        element: &dyn Fn() -> Element,
        record: &ElementRecord,
        with_state: bool,
        scroll: Option<(i32, i32)>,
    ) -> RawElement {
        let mut attributes = Vec::with_capacity(record.attributes.len());
        for &(n, v) in &record.attributes {
            attributes.push((n.to_string(), v.to_string()));
        }
        let mut raw = RawElement {
            tag: record.local_name.to_ascii_lowercase(),
            attributes,
            is_svg: record.is_svg,
            is_shadow_host: record.is_shadow_host,
            ..Default::default()
        };
        if raw.tag == "input" {
            // What the browser uses (`type="creditcard"` is a text field), never the
            // attribute; and whether it was ever a password (a toggle must not reveal it).
            let (effective, was_password) = input_type_of(&element());
            raw.effective_type = Some(effective);
            raw.was_password = was_password;
        }
        if !with_state {
            return raw;
        }
        let class = raw.attributes.iter().find(|(n, _)| n == "class").map(|(_, v)| v.as_str());
        if is_blocked_with(self.config, element, class) {
            let rect = element().get_bounding_client_rect();
            raw.blocked_size = Some((rect.width(), rect.height()));
            return raw;
        }
        match raw.tag.as_str() {
            "input" | "textarea" | "select" => {
                let field = element().unchecked_into::<web_sys::HtmlInputElement>();
                raw.value = Some(field.value());
                if raw.tag == "input" {
                    raw.checked = field.checked();
                }
            }
            "option" => {
                raw.selected = element().unchecked_into::<web_sys::HtmlOptionElement>().selected();
                raw.in_masked_select = value_needs_mask("select", "", self.config.mask_all_inputs, false);
            }
            "style" if !self.for_mutation => raw.css_text = stylesheet_text(&element()),
            "link" => raw.css_text = stylesheet_text(&element()),
            "iframe" => {
                raw.iframe_readable =
                    element().unchecked_into::<web_sys::HtmlIFrameElement>().content_document().is_some();
            }
            _ => {}
        }
        if let Some((left, top)) = scroll {
            raw.scroll_left = left.into();
            raw.scroll_top = top.into();
        }
        raw
    }

    /// Serializes `all[index]` alone into `out` (a mutation add); `None` and nothing
    /// written when the node is not recorded.
    pub fn serialize_at(
        &mut self,
        index: u32,
        context: Context,
        base_url: &str,
        out: &mut String,
    ) -> Option<u32> {
        let fresh = self.id_counter.peek_next();
        let scroll = !self.for_mutation;
        let read = sl_node(&self.all, index, self.ids.key(), fresh, scroll);
        let record = parse_node(&read, scroll).ok()??;
        if record.id == fresh {
            self.id_counter.id_for(None);
        }
        let built = self.build(index, &record, context, base_url);
        built.node.write_shallow(out);
        self.last_child_context = built.child_context;
        Some(record.id)
    }

    /// What the node `all[index]`, read as `record`, is recorded as. Follow-ups (a
    /// readable iframe, an open shadow root) are noted on `self`.
    pub fn build(&mut self, index: u32, record: &NodeRecord, context: Context, base_url: &str) -> Built {
        let all = self.all.clone();
        let node = move || -> Node { all.get(index).unchecked_into() };
        let element = || -> Element { node().unchecked_into() };
        let mut child_context = Context { is_shadow: false, text_parent: TextParent::Other, ..context };
        let mut children_recorded = true;
        let mut document_base = None;
        let id = record.id;
        let kind = match record.node_type {
            DOCUMENT_NODE => {
                let document = node().unchecked_into::<Document>();
                let mode = document.compat_mode();
                document_base = document.base_uri().ok().flatten();
                NodeKind::Document { compat_mode: (mode != "CSS1Compat").then_some(mode) }
            }
            DOCTYPE_NODE => {
                let doctype = node().unchecked_into::<web_sys::DocumentType>();
                NodeKind::DocumentType {
                    name: doctype.name(),
                    public_id: doctype.public_id(),
                    system_id: doctype.system_id(),
                }
            }
            ELEMENT_NODE => {
                let none = ElementRecord::default();
                let fields = record.element.as_ref().unwrap_or(&none);
                let mut raw = self.element_from(&element, fields, true, record.scroll);
                let class =
                    raw.attributes.iter().find(|(n, _)| n == "class").map(|(_, v)| v.as_str()).unwrap_or("");
                child_context.masked_text = context.masked_text
                    || has_class(class, &self.config.mask_text_class)
                    || (self.config.mask_text_selector.is_some()
                        && element().matches(&self.privacy.mask).unwrap_or(false));
                // A form value inside a masked region is masked like the text around it.
                raw.in_masked_region = child_context.masked_text;
                let masks_value = raw.masks_value(self.config.mask_all_inputs);
                child_context.text_parent = match raw.tag.as_str() {
                    "script" => TextParent::Script,
                    "style" if raw.css_text.is_some() => TextParent::StyleWithCssText,
                    "style" => TextParent::Style,
                    "textarea" if masks_value => TextParent::MaskedTextarea,
                    _ => TextParent::Other,
                };
                if raw.blocked_size.is_some()
                    || (raw.tag == "textarea" && raw.value.as_deref().is_some_and(|v| !v.is_empty()))
                {
                    children_recorded = false;
                }
                if raw.iframe_readable {
                    if let Some(document) =
                        element().unchecked_into::<web_sys::HtmlIFrameElement>().content_document()
                    {
                        self.iframes.push((id, document));
                    }
                }
                if raw.is_shadow_host && raw.blocked_size.is_none() {
                    if let Some(root) = shadow_root_of(&element()) {
                        self.shadow_roots.push(root);
                    }
                }
                element_kind(&raw, base_url, self.config.mask_all_inputs)
            }
            TEXT_NODE => NodeKind::Text {
                text: text_content(record.text, context.text_parent, context.masked_text, base_url),
            },
            COMMENT_NODE => NodeKind::Comment { text: record.text.to_string() },
            _ => NodeKind::CData,
        };
        let node = SerializedNode {
            id,
            kind,
            is_shadow: context.is_shadow,
            root_id: if record.node_type == DOCUMENT_NODE { None } else { context.root_id },
        };
        let child_context = (node.has_child_list() && children_recorded).then_some(child_context);
        Built { node, child_context, document_base }
    }
}

/// A node as recorded.
pub struct Built {
    pub node: SerializedNode,
    /// What its children inherit, `None` when they are not recorded (not a container,
    /// blocked, a `<textarea>` whose value is recorded).
    pub child_context: Option<Context>,
    /// A document's base URL.
    pub document_base: Option<String>,
}
