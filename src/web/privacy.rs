//! The shell's side of `core::replay::privacy`: it answers, with one `closest()` per
//! tree, what a node matches, and finds the element hosting its tree (a shadow host or
//! the `<iframe>` of a same-origin document). The decision itself is
//! `core::replay::privacy::classify`; the recorder and the `$click` autocapture both ask
//! it through [`Privacy::classify`].

use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::{Element, Node};

use crate::core::config::ReplayConfig;
use crate::core::replay::privacy::{classify, Marks, TreeScopes, Verdict};

// `sl_marks`: bit 1 blocked, 2 masked, 4 ignored (for the node and its ancestors within
// its tree), 8 when the tree has a host (a shadow host, or the frame element of a
// same-origin document); `sl_host` returns that host. A selector the browser rejects
// counts as a match: failing closed.
#[wasm_bindgen(
    inline_js = "function sl_c(e,s){try{return!!e.closest(s)}catch(_){return true}}function sl_up(n){const r=n.getRootNode();if(r.host)return r.host;try{const w=r.defaultView;return w&&w!==window?w.frameElement:null}catch(_){return null}}export function sl_marks(n,b,m,i){const e=n.nodeType===1?n:n.parentElement;let r=0;if(e){if(sl_c(e,b))return 1;if(sl_c(e,m))r|=2;if(i&&sl_c(e,i))r|=4}return sl_up(n)?r|8:r}export function sl_host(n){return sl_up(n)}"
)]
extern "C" {
    fn sl_marks(node: &Node, block: &str, mask: &str, ignore: &str) -> u32;
    fn sl_host(node: &Node) -> Option<Node>;
}

// Inputs that have ever been password fields, for the life of the page (a `WeakSet`, so
// every recorder — after a checkout, a rotation or a restart — remembers them, and a
// removed field is forgotten with it). `sl_field` returns the input's effective type,
// prefixed with `!` when it is or was a password.
#[wasm_bindgen(
    inline_js = "const sl_pw=new WeakSet();export function sl_field(e){const t=String(e.type||'');if(t==='password')sl_pw.add(e);return sl_pw.has(e)?'!'+t:t}"
)]
extern "C" {
    fn sl_field(input: &Element) -> String;
}

/// The type the browser uses for `input` (`HTMLInputElement.type`: `"text"` for a
/// `type` it does not know), lower-case, and whether it has ever been a password field.
pub fn input_type_of(input: &Element) -> (String, bool) {
    let read = sl_field(input);
    match read.strip_prefix('!') {
        Some(t) => (t.to_ascii_lowercase(), true),
        None => (read.to_ascii_lowercase(), false),
    }
}

/// `[class~="name"]`: a selector matching the class whatever characters it has; one
/// that matches nothing when `class` is empty.
pub fn class_selector(class: &str) -> String {
    quoted_selector("[class~=\"", class)
}

/// `start`, then `value` as the body of a double-quoted CSS string (`\` and `"`
/// backslash-escaped), then `"]`: the attribute selectors of the class rules and of a radio
/// group. One loop instead of `format!` over two `str::replace` calls (less code).
pub fn quoted_selector(start: &str, value: &str) -> String {
    let mut out = String::with_capacity(start.len() + value.len() + 2);
    out.push_str(start);
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\"]");
    out
}

/// The class selector, plus `extra` when set.
fn with_extra(class: &str, extra: Option<&str>) -> String {
    let mut selector = class_selector(class);
    if let Some(extra) = extra.filter(|s| !s.trim().is_empty()) {
        selector.push_str(", ");
        selector.push_str(extra);
    }
    selector
}

/// The privacy options as selectors.
#[derive(Debug, Clone)]
pub struct Privacy {
    pub block: String,
    pub mask: String,
    pub ignore: String,
    pub mask_all_text: bool,
}

impl Privacy {
    pub fn new(config: &ReplayConfig) -> Self {
        Privacy {
            block: with_extra(&config.block_class, config.block_selector.as_deref()),
            mask: with_extra(&config.mask_text_class, config.mask_text_selector.as_deref()),
            ignore: if config.ignore_class.is_empty() {
                String::new()
            } else {
                class_selector(&config.ignore_class)
            },
            mask_all_text: config.mask_all_text,
        }
    }

    /// Whether `node` (an element, a text node, a document) is blocked, masked or
    /// ignored, looking through every tree it is nested in.
    pub fn classify(&self, node: &Node) -> Verdict {
        classify(&mut Scopes { privacy: self, has_host: false }, node.clone(), self.mask_all_text)
    }
}

struct Scopes<'p> {
    privacy: &'p Privacy,
    /// The last `sl_marks` said the tree has a host (saves a crossing when it has none).
    has_host: bool,
}

impl TreeScopes for Scopes<'_> {
    type Node = Node;

    fn marks_within_tree(&mut self, node: &Node) -> Marks {
        let p = self.privacy;
        let bits = sl_marks(node, &p.block, &p.mask, &p.ignore);
        self.has_host = bits & 8 != 0;
        Marks { blocked: bits & 1 != 0, masked: bits & 2 != 0, ignored: bits & 4 != 0 }
    }

    fn tree_host(&mut self, node: &Node) -> Option<Node> {
        if !self.has_host {
            return None;
        }
        sl_host(node)
    }
}
