//! Reading the DOM into the core's serialized-node model: the full-snapshot walk and
//! the shallow serialization of mutation adds. Node → id lives in a JS `WeakMap` so a
//! checkout reuses ids and removed nodes are garbage-collected with their ids.
//!
//! Nodes of same-origin iframes come from another JS realm, so types are told apart by
//! `nodeType` and cast unchecked (`instanceof` would fail across realms).

use js_sys::WeakMap;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Node};

use crate::core::config::ReplayConfig;
use crate::core::json::push_u64;
use crate::core::replay::mirror::Mirror;
use crate::core::replay::node::{
    element_kind, text_content, NodeKind, RawElement, SerializedNode, TextParent,
};
use crate::core::replay::privacy::{has_class, value_needs_mask};
use crate::web::privacy::{input_type_of, Privacy};

pub const ELEMENT_NODE: u16 = 1;
pub const TEXT_NODE: u16 = 3;
pub const COMMENT_NODE: u16 = 8;
pub const DOCUMENT_NODE: u16 = 9;
pub const DOCTYPE_NODE: u16 = 10;
pub const FRAGMENT_NODE: u16 = 11;

// One crossing per element instead of 4 + n (local name, namespace, shadow root,
// attribute names, each value): `localName \0 flags \0 count \0 (name \0 value \0)*`,
// flags `v` for SVG and `s` for an open shadow root. NULs in values become U+FFFD (as the
// HTML parser does) so a value can never shift the name/value pairs.
//
// `sl_node` reads a whole node, `all[index]`, in one crossing (its type, its id, given
// the next fresh one when it has none, and its content): `type \0 id \0 rest`, with
// `rest` an element's `sl_read` (preceded by `scrollLeft \0 scrollTop \0` as `ToInt32`
// gives them when `c`), a text / comment node's value; empty when the type is not
// recorded.
//
// `sl_walk` reads a whole subtree in one crossing (the full snapshot): `first index \0`
// then one record per node of a recorded type, in pre-order, each node appended to
// `all`: `type \0 id \0` then an element's `scrollLeft \0 scrollTop \0` and `sl_read`,
// a text / comment node's `length in UTF-16 units \0 value \0`; an element's or a
// document's records end with its children's and `) \0`. A node without an id gets the
// next one from `f` on and `*` as its id: the walk cannot tell which nodes are recorded
// (children of blocked elements are not), so Rust corrects the ids that differ from its
// own with `sl_set_ids` (`index,id,` pairs; an empty id removes it).
//
// `sl_handle` / `sl_kids`: handles of a mutation batch, a node's or all of a node's
// children's in one crossing. Only the nodes of the records are kept in the `Map`: a
// child met again through another path may get a second handle, which is harmless (what
// is cached by handle is read from the DOM again; ids live in the `WeakMap`).
#[wasm_bindgen(
    inline_js = "export function sl_read(e){const a=e.attributes;let s=e.localName+'\\0'+(e.namespaceURI==='http://www.w3.org/2000/svg'?'v':'')+(e.shadowRoot?'s':'')+'\\0'+a.length+'\\0';for(let i=0;i<a.length;i++){const v=a[i].value;s+=a[i].name+'\\0'+(v.indexOf('\\0')<0?v:v.replace(/\\0/g,'\\ufffd'))+'\\0'}return s}export function sl_node(a,i,m,f,c){const n=a[i],t=n.nodeType;if(t!==1&&t!==3&&t!==4&&t!==8&&t!==9&&t!==10)return'';let x=m.get(n);if(x===undefined){x=f;m.set(n,f)}const s=t+'\\0'+x+'\\0';return t===1?s+(c?(n.scrollLeft|0)+'\\0'+(n.scrollTop|0)+'\\0':'')+sl_read(n):t===3||t===8?s+n.nodeValue:s}let sl_f=0;function sl_rec(a,n,m){const t=n.nodeType;if(t!==1&&t!==3&&t!==4&&t!==8&&t!==9&&t!==10)return'';a.push(n);let x=m.get(n);if(x===undefined){m.set(n,sl_f++);x='*'}let s=t+'\\0'+x+'\\0';if(t===3||t===8){const v=n.nodeValue;return s+v.length+'\\0'+v+'\\0'}if(t===1)s+=(n.scrollLeft|0)+'\\0'+(n.scrollTop|0)+'\\0'+sl_read(n);else if(t!==9)return s;for(let y=n.firstChild;y;y=y.nextSibling)s+=sl_rec(a,y,m);return s+')\\0'}export function sl_walk(a,n,m,f){sl_f=f;const k=a.length;return k+'\\0'+sl_rec(a,n,m)}export function sl_set_ids(a,m,s){const v=s.split(',');for(let i=0;i+1<v.length;i+=2){const n=a[+v[i]];v[i+1]?m.set(n,+v[i+1]):m.delete(n)}}export function sl_handle(m,a,n){let h=m.get(n);if(h===undefined){h=a.length;a.push(n);m.set(n,h)}return h}export function sl_kids(m,a,p,r){let s='';for(let c=(r?a[p].shadowRoot:a[p]).firstChild;c;c=c.nextSibling){let h=m.get(c);if(h===undefined){h=a.length;a.push(c)}s+=h+','}return s}"
)]
extern "C" {
    fn sl_read(element: &Element) -> String;
    fn sl_node(all: &js_sys::Array, index: u32, ids: &WeakMap, fresh: u32, scroll: bool) -> String;
    fn sl_walk(all: &js_sys::Array, node: &Node, ids: &WeakMap, fresh: u32) -> String;
    fn sl_set_ids(all: &js_sys::Array, ids: &WeakMap, pairs: &str);
    /// A node's handle in a mutation batch (its index in `all`).
    pub fn sl_handle(map: &js_sys::Map, all: &js_sys::Array, node: &Node) -> u32;
    /// The handles of the children of `all[parent]` (of its shadow root when
    /// `shadow`), each followed by a comma.
    pub fn sl_kids(map: &js_sys::Map, all: &js_sys::Array, parent: u32, shadow: bool) -> String;
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
    pub ids: &'a WeakMap,
    pub mirror: &'a mut Mirror,
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

pub fn id_in(ids: &WeakMap, node: &JsValue) -> Option<u32> {
    ids.get(node.unchecked_ref()).as_f64().map(|id| id as u32)
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

/// The text before the first NUL and the text after it.
fn next_field(s: &str) -> (&str, &str) {
    match s.bytes().position(|b| b == 0) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// A decimal `u32` as `sl_node` writes it (0 when malformed).
fn parse_u32(s: &str) -> u32 {
    s.bytes().fold(0u32, |n, b| n.wrapping_mul(10).wrapping_add(b.wrapping_sub(b'0') as u32))
}

/// A decimal `i32` (`ToInt32` of a scroll offset).
fn parse_i32(s: &str) -> i32 {
    match s.strip_prefix('-') {
        Some(digits) => (parse_u32(digits) as i32).wrapping_neg(),
        None => parse_u32(s) as i32,
    }
}

impl Serializer<'_> {
    pub fn id_of(&self, node: &Node) -> Option<u32> {
        id_in(self.ids, node)
    }

    fn assign_id(&mut self, node: &Node) -> u32 {
        let (id, fresh) = self.mirror.id_for(self.id_of(node));
        if fresh {
            self.ids.set(node.unchecked_ref(), &JsValue::from(id));
        }
        id
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
        self.element_from(&|| element.clone(), &read, with_state, None).0
    }

    /// `read_element` from what `sl_read` returned (`scroll` already read, or `None`),
    /// with what follows it in `read`.
    fn element_from<'r>(
        &mut self,
        element: &dyn Fn() -> Element,
        read: &'r str,
        with_state: bool,
        scroll: Option<(f64, f64)>,
    ) -> (RawElement, &'r str) {
        let (tag, rest) = next_field(read);
        let tag = tag.to_ascii_lowercase();
        let (flags, rest) = next_field(rest);
        let (count, mut rest) = next_field(rest);
        let count = parse_u32(count);
        let mut attributes = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let (name, more) = next_field(rest);
            let (value, more) = next_field(more);
            attributes.push((name.to_string(), value.to_string()));
            rest = more;
        }
        let mut raw = RawElement {
            tag,
            attributes,
            is_svg: flags.contains('v'),
            is_shadow_host: flags.contains('s'),
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
            return (raw, rest);
        }
        let class = raw.attributes.iter().find(|(n, _)| n == "class").map(|(_, v)| v.as_str());
        if is_blocked_with(self.config, element, class) {
            let rect = element().get_bounding_client_rect();
            raw.blocked_size = Some((rect.width(), rect.height()));
            return (raw, rest);
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
            raw.scroll_left = left;
            raw.scroll_top = top;
        }
        (raw, rest)
    }

    /// Serializes `node` alone into `out` (a mutation add); `None` and nothing written
    /// when the node is not recorded.
    pub fn serialize_at(
        &mut self,
        index: u32,
        context: Context,
        base_url: &str,
        out: &mut String,
    ) -> Option<u32> {
        let fresh = self.mirror.peek_next();
        let read = sl_node(&self.all, index, self.ids, fresh, !self.for_mutation);
        if read.is_empty() {
            return None;
        }
        let (node_type, rest) = next_field(&read);
        let (id, rest) = next_field(rest);
        let (node_type, id) = (parse_u32(node_type) as u16, parse_u32(id));
        if id == fresh {
            self.mirror.id_for(None);
        }
        let mut walk = Walk::new(rest, "", 0);
        walk.index = index;
        self.serialize_node(&mut walk, node_type, id, context, base_url, out, false);
        Some(id)
    }

    /// Serializes the next record of `walk` (a node and its subtree) into `out`.
    fn serialize_walked(&mut self, walk: &mut Walk, context: Context, base_url: &str, out: &mut String) {
        let (node_type, rest) = next_field(walk.rest);
        let (known, rest) = next_field(rest);
        walk.rest = rest;
        let id = if known == "*" {
            let (id, _) = self.mirror.id_for(None);
            if id != walk.js_next {
                walk.fix(Some(id));
            }
            walk.js_next += 1;
            id
        } else {
            parse_u32(known)
        };
        self.serialize_node(walk, parse_u32(node_type) as u16, id, context, base_url, out, true);
        walk.index += 1;
    }

    /// Skips the next record of `walk` and its subtree (children that are not recorded).
    fn skip_walked(walk: &mut Walk) {
        let (node_type, rest) = next_field(walk.rest);
        let (known, mut rest) = next_field(rest);
        if known == "*" {
            walk.fix(None);
            walk.js_next += 1;
        }
        walk.index += 1;
        match parse_u32(node_type) as u16 {
            TEXT_NODE | COMMENT_NODE => {
                let (len, more) = next_field(rest);
                rest = take_utf16(more, parse_u32(len)).1;
            }
            ELEMENT_NODE => {
                let (_, more) = next_field(rest);
                let (_, more) = next_field(more);
                let (_, more) = next_field(more);
                let (_, more) = next_field(more);
                let (count, mut more) = next_field(more);
                for _ in 0..parse_u32(count) * 2 {
                    more = next_field(more).1;
                }
                rest = more;
            }
            _ => {}
        }
        walk.rest = rest;
        if matches!(parse_u32(node_type) as u16, ELEMENT_NODE | DOCUMENT_NODE) {
            while !walk.rest.is_empty() && !walk.rest.starts_with(')') {
                Self::skip_walked(walk);
            }
            walk.rest = next_field(walk.rest).1;
        }
    }

    /// Serializes the node read into `walk.rest` (with its subtree when `deep`, the
    /// records of its children then following in `walk`).
    #[allow(clippy::too_many_arguments)]
    fn serialize_node(
        &mut self,
        walk: &mut Walk,
        node_type: u16,
        id: u32,
        context: Context,
        base_url: &str,
        out: &mut String,
        deep: bool,
    ) {
        let all = self.all.clone();
        let index = walk.index;
        let node = move || -> Node { all.get(index).unchecked_into() };
        let element = || -> Element { node().unchecked_into() };
        let mut child_context = Context { is_shadow: false, text_parent: TextParent::Other, ..context };
        let mut children_recorded = true;
        let mut shadow_root = None;
        let mut document_base = None;
        let kind = match node_type {
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
                let (scroll, read) = if self.for_mutation {
                    (None, walk.rest)
                } else {
                    let (left, rest) = next_field(walk.rest);
                    let (top, rest) = next_field(rest);
                    (Some((parse_i32(left) as f64, parse_i32(top) as f64)), rest)
                };
                let (raw, rest) = self.element_from(&element, read, true, scroll);
                walk.rest = rest;
                let class =
                    raw.attributes.iter().find(|(n, _)| n == "class").map(|(_, v)| v.as_str()).unwrap_or("");
                child_context.masked_text = context.masked_text
                    || has_class(class, &self.config.mask_text_class)
                    || (self.config.mask_text_selector.is_some()
                        && element().matches(&self.privacy.mask).unwrap_or(false));
                // A form value inside a masked region is masked like the text around it.
                let mut raw = raw;
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
                    shadow_root = shadow_root_of(&element());
                }
                element_kind(&raw, base_url, self.config.mask_all_inputs)
            }
            TEXT_NODE | COMMENT_NODE => {
                let text = if deep {
                    let (len, rest) = next_field(walk.rest);
                    let (text, rest) = take_utf16(rest, parse_u32(len));
                    walk.rest = rest;
                    text
                } else {
                    walk.rest
                };
                if node_type == TEXT_NODE {
                    NodeKind::Text {
                        text: text_content(text, context.text_parent, context.masked_text, base_url),
                    }
                } else {
                    NodeKind::Comment { text: text.to_string() }
                }
            }
            _ => NodeKind::CData,
        };
        let serialized = SerializedNode {
            id,
            kind,
            is_shadow: context.is_shadow,
            root_id: if node_type == DOCUMENT_NODE { None } else { context.root_id },
        };
        if let Some(root) = &shadow_root {
            self.shadow_roots.push(root.clone());
        }
        self.last_child_context = (serialized.has_child_list() && children_recorded).then_some(child_context);
        if !deep {
            serialized.write_shallow(out);
            return;
        }
        serialized.write_open(out);
        if serialized.has_child_list() {
            let base = document_base.as_deref().unwrap_or(base_url);
            let mut first = true;
            walk.index += 1;
            while !walk.rest.is_empty() && !walk.rest.starts_with(')') {
                if children_recorded {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    self.serialize_walked(walk, child_context, base, out);
                } else {
                    Self::skip_walked(walk);
                }
            }
            walk.rest = next_field(walk.rest).1;
            walk.index -= 1;
            if let Some(root) = shadow_root.filter(|_| children_recorded) {
                let shadow_context = Context { is_shadow: true, ..child_context };
                let mut child = root.first_child();
                while let Some(c) = child {
                    let read = sl_walk(&self.all, &c, self.ids, self.mirror.peek_next());
                    let (start, rest) = next_field(&read);
                    if !rest.is_empty() {
                        if !first {
                            out.push(',');
                        }
                        first = false;
                        let mut shadow_walk = Walk::new(rest, start, self.mirror.peek_next());
                        self.serialize_walked(&mut shadow_walk, shadow_context, base, out);
                        shadow_walk.finish(self);
                    }
                    child = c.next_sibling();
                }
            }
            out.push_str("]}");
        }
    }

    /// Serializes a whole document (the top one, or an iframe's with `root_id` set on
    /// its nodes).
    /// `masked`: the document is inside a masked region (an iframe's), or all text is.
    pub fn serialize_document(
        &mut self,
        document: &Document,
        is_iframe: bool,
        masked: bool,
        out: &mut String,
    ) -> u32 {
        let base = document.base_uri().ok().flatten().unwrap_or_default();
        let id = self.assign_id(document);
        let context = Context {
            blocked: false,
            masked_text: masked || self.privacy.mask_all_text,
            root_id: is_iframe.then_some(id),
            is_shadow: false,
            text_parent: TextParent::Other,
        };
        let read = sl_walk(&self.all, document, self.ids, self.mirror.peek_next());
        // The JSON is about as long as the records (plus ids and keys).
        out.reserve(read.len() + read.len() / 2);
        let (start, rest) = next_field(&read);
        let mut walk = Walk::new(rest, start, self.mirror.peek_next());
        self.serialize_walked(&mut walk, context, &base, out);
        walk.finish(self);
        id
    }
}

/// Where the reading of `sl_walk` / `sl_node` records is.
struct Walk<'r> {
    rest: &'r str,
    /// The index in `all` of the record `rest` starts with.
    index: u32,
    /// The id the walk gave the next node that had none.
    js_next: u32,
    /// `index,id,` of the nodes whose id the walk got wrong (`sl_set_ids`).
    fixes: String,
}

impl<'r> Walk<'r> {
    fn new(rest: &'r str, start: &str, js_next: u32) -> Self {
        Walk { rest, index: parse_u32(start), js_next, fixes: String::new() }
    }

    /// The node of the current record has id `id` (`None`: none) in the end.
    fn fix(&mut self, id: Option<u32>) {
        push_u64(&mut self.fixes, self.index.into());
        self.fixes.push(',');
        if let Some(id) = id {
            push_u64(&mut self.fixes, id.into());
        }
        self.fixes.push(',');
    }

    fn finish(self, serializer: &Serializer) {
        if !self.fixes.is_empty() {
            sl_set_ids(&serializer.all, serializer.ids, &self.fixes);
        }
    }
}

/// The first `units` UTF-16 units of `s` (and the text after them and a NUL).
fn take_utf16(s: &str, units: u32) -> (&str, &str) {
    let mut left = units as usize;
    let mut end = 0;
    for c in s.chars() {
        if left == 0 {
            break;
        }
        left = left.saturating_sub(c.len_utf16());
        end += c.len_utf8();
    }
    (&s[..end], s.get(end + 1..).unwrap_or(""))
}
