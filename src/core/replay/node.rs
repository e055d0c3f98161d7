//! The serialized-node model of rrweb-snapshot and its JSON, plus the rules that turn
//! what the shell read from an element into recorded attributes.

use super::privacy::{effective_input_type, is_markup_value_type, recorded_value, value_needs_mask};
use super::url::{absolutize_css, resolve, resolve_href, resolve_srcset};
use crate::core::json::push_u64;

/// `json::push_str_literal`, with the common case (nothing to escape: no control
/// character, quote, backslash, nor U+2028 / U+2029, whose UTF-8 starts with 0xE2)
/// copied in one go instead of a character at a time.
pub fn push_str_literal(out: &mut String, value: &str) {
    if value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\' || b == 0xE2) {
        crate::core::json::push_str_literal(out, value);
    } else {
        out.reserve(value.len() + 2);
        out.push('"');
        out.push_str(value);
        out.push('"');
    }
}

/// An attribute value as rrweb records it: a string, `true`, or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    True,
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `compat_mode` only when it is not `CSS1Compat`.
    Document {
        compat_mode: Option<String>,
    },
    DocumentType {
        name: String,
        public_id: String,
        system_id: String,
    },
    Element {
        tag_name: String,
        attributes: Vec<(String, AttrValue)>,
        is_svg: bool,
        is_shadow_host: bool,
    },
    Text {
        text: String,
    },
    CData,
    Comment {
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SerializedNode {
    pub id: u32,
    pub kind: NodeKind,
    /// A child of an open shadow root (serialized as a child of the host).
    pub is_shadow: bool,
    /// Id of the iframe document this node belongs to (absent in the top document).
    pub root_id: Option<u32>,
}

/// Writes a number as JSON: integers exactly, fractions to 3 decimals (pixels and
/// seconds need no more). Avoids Rust's float formatting, which costs bundle bytes.
pub fn push_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push('0');
        return;
    }
    let thousandths = (value * 1000.0).round() as i64;
    if thousandths < 0 {
        out.push('-');
    }
    let magnitude = thousandths.unsigned_abs();
    push_u64(out, magnitude / 1000);
    let mut fraction = magnitude % 1000;
    if fraction != 0 {
        // Three digits with leading zeros, then the trailing zeros dropped.
        let digits =
            [b'0' + (fraction / 100) as u8, b'0' + (fraction / 10 % 10) as u8, b'0' + (fraction % 10) as u8];
        let mut len = 3;
        while fraction % 10 == 0 {
            fraction /= 10;
            len -= 1;
        }
        out.push('.');
        for &d in &digits[..len] {
            out.push(d as char);
        }
    }
}

impl SerializedNode {
    /// Whether the JSON written by `write_open` ends with an open `"childNodes":[`.
    pub fn has_child_list(&self) -> bool {
        matches!(self.kind, NodeKind::Document { .. } | NodeKind::Element { .. })
    }

    /// Writes the node's JSON. Documents and elements are left open after
    /// `"childNodes":[`: the caller writes the children and then `]}`.
    pub fn write_open(&self, out: &mut String) {
        out.push_str("{\"id\":");
        push_u64(out, self.id.into());
        match &self.kind {
            NodeKind::Document { compat_mode } => {
                out.push_str(",\"type\":0");
                if let Some(mode) = compat_mode {
                    out.push_str(",\"compatMode\":");
                    push_str_literal(out, mode);
                }
            }
            NodeKind::DocumentType { name, public_id, system_id } => {
                out.push_str(",\"type\":1,\"name\":");
                push_str_literal(out, name);
                out.push_str(",\"publicId\":");
                push_str_literal(out, public_id);
                out.push_str(",\"systemId\":");
                push_str_literal(out, system_id);
            }
            NodeKind::Element { tag_name, attributes, is_svg, is_shadow_host } => {
                out.push_str(",\"type\":2,\"tagName\":");
                push_str_literal(out, tag_name);
                out.push_str(",\"attributes\":{");
                for (i, (name, value)) in attributes.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_str_literal(out, name);
                    out.push(':');
                    match value {
                        AttrValue::Str(s) => push_str_literal(out, s),
                        AttrValue::True => out.push_str("true"),
                        AttrValue::Num(n) => push_number(out, *n),
                    }
                }
                out.push('}');
                if *is_svg {
                    out.push_str(",\"isSVG\":true");
                }
                if *is_shadow_host {
                    out.push_str(",\"isShadowHost\":true");
                }
            }
            NodeKind::Text { text } => {
                out.push_str(",\"type\":3,\"textContent\":");
                push_str_literal(out, text);
            }
            NodeKind::CData => out.push_str(",\"type\":4,\"textContent\":\"\""),
            NodeKind::Comment { text } => {
                out.push_str(",\"type\":5,\"textContent\":");
                push_str_literal(out, text);
            }
        }
        if self.is_shadow {
            out.push_str(",\"isShadow\":true");
        }
        if let Some(root) = self.root_id {
            out.push_str(",\"rootId\":");
            push_u64(out, root.into());
        }
        if self.has_child_list() {
            out.push_str(",\"childNodes\":[");
        } else {
            out.push('}');
        }
    }

    /// The node alone, with an empty child list (mutation adds are flattened).
    pub fn write_shallow(&self, out: &mut String) {
        self.write_open(out);
        if self.has_child_list() {
            out.push_str("]}");
        }
    }
}

/// What the shell read from one element, before the recording rules apply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawElement {
    /// Lower-case (`local_name`, lower-cased: the player restores SVG's camelCase).
    pub tag: String,
    /// As `getAttributeNames()` / `getAttribute()` give them.
    pub attributes: Vec<(String, String)>,
    pub is_svg: bool,
    pub is_shadow_host: bool,
    /// The `value` property of input / textarea / select.
    pub value: Option<String>,
    /// The `checked` property of an input.
    pub checked: bool,
    /// The `selected` property of an option.
    pub selected: bool,
    /// The option's `<select>` is masked: its selection is not recorded.
    pub in_masked_select: bool,
    /// This input has been `type=password` at some point.
    pub was_password: bool,
    /// `HTMLInputElement.type` as the browser reports it, when the shell read it (else
    /// derived from the attribute by the same rule).
    pub effective_type: Option<String>,
    /// Inside a masked-text region: a form value here is masked like the text around it.
    pub in_masked_region: bool,
    pub scroll_left: f64,
    pub scroll_top: f64,
    /// `Some((width, height))` when blocked: only `class` and the size are recorded.
    pub blocked_size: Option<(f64, f64)>,
    /// Rules of a `<style>`'s sheet or of a readable `<link rel=stylesheet>`.
    pub css_text: Option<String>,
    /// An `<iframe>` whose document we can read (its document is attached separately).
    pub iframe_readable: bool,
}

impl RawElement {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The effective `type` of an input (what the browser uses: an unknown keyword is
    /// `"text"`), lower-case.
    pub fn input_type(&self) -> String {
        match &self.effective_type {
            Some(t) => t.to_ascii_lowercase(),
            None => effective_input_type(self.attribute("type")).to_string(),
        }
    }

    /// Whether this element is a form field whose value is masked.
    pub fn masks_value(&self, mask_all_inputs: bool) -> bool {
        matches!(self.tag.as_str(), "input" | "textarea" | "select")
            && (self.in_masked_region
                || value_needs_mask(&self.tag, &self.input_type(), mask_all_inputs, self.was_password))
    }

    fn is_stylesheet_link(&self) -> bool {
        self.tag == "link"
            && self
                .attribute("rel")
                .is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("stylesheet")))
    }
}

/// One attribute value as recorded: URLs made absolute, `style` URLs rewritten, the
/// `value` of masked fields masked. `None`: the attribute is not recorded at all.
pub fn recorded_attribute(
    tag: &str,
    name: &str,
    value: &str,
    base_url: &str,
    masks_value: bool,
) -> Option<String> {
    Some(match name {
        "src" if tag == "iframe" => return None,
        "src" => resolve(base_url, value),
        "href" | "xlink:href" => resolve_href(base_url, value),
        "background" if matches!(tag, "table" | "td" | "th" | "body") => resolve(base_url, value),
        "srcset" => resolve_srcset(base_url, value),
        "style" => absolutize_css(value, base_url),
        "data" if tag == "object" => resolve(base_url, value),
        "value" if masks_value => recorded_value(value, true),
        _ => value.to_string(),
    })
}

/// The recorded form of an element (rrweb-snapshot's `serializeElementNode`).
pub fn element_kind(raw: &RawElement, base_url: &str, mask_all_inputs: bool) -> NodeKind {
    let mut attributes: Vec<(String, AttrValue)> = Vec::with_capacity(raw.attributes.len() + 2);
    if let Some((width, height)) = raw.blocked_size {
        if let Some(class) = raw.attribute("class") {
            attributes.push(("class".into(), AttrValue::Str(class.into())));
        }
        let px = |v: f64| {
            let mut s = String::new();
            push_number(&mut s, v);
            s.push_str("px");
            AttrValue::Str(s)
        };
        attributes.push(("rr_width".into(), px(width)));
        attributes.push(("rr_height".into(), px(height)));
        return NodeKind::Element {
            tag_name: raw.tag.clone(),
            attributes,
            is_svg: raw.is_svg,
            is_shadow_host: false,
        };
    }

    let masks_value = raw.masks_value(mask_all_inputs);
    let stylesheet_link = raw.css_text.is_some() && raw.is_stylesheet_link();
    let form_field = matches!(raw.tag.as_str(), "input" | "textarea" | "select");
    // Only read for form fields (every use below is behind `form_field`).
    let input_type = if form_field { raw.input_type() } else { String::new() };
    // Buttons, boxes and radios label themselves with their markup `value`; a file
    // input's value (a local path) is never recorded.
    let markup_value_type = is_markup_value_type(&input_type) && input_type != "file";
    let state_value = form_field && !markup_value_type && input_type != "file";
    let (option, iframe) = (raw.tag == "option", raw.tag == "iframe");
    for (name, value) in &raw.attributes {
        if stylesheet_link && (name == "rel" || name == "href") {
            continue;
        }
        // The recorded form state below replaces the markup's value / checked / selected.
        let replaced_by_state = (form_field
            && name == "value"
            && !markup_value_type
            && (raw.value.is_some() || input_type == "file"))
            || (form_field && name == "checked")
            || (option && name == "selected");
        if replaced_by_state {
            continue;
        }
        // `srcdoc` is the frame's document as text: inside a masked region it would
        // carry the text the mask hides (the attached document is masked instead).
        if iframe && name == "srcdoc" && raw.in_masked_region {
            continue;
        }
        if iframe && name == "src" && !raw.iframe_readable {
            attributes.push(("rr_src".into(), AttrValue::Str(resolve(base_url, value))));
            continue;
        }
        if let Some(v) = recorded_attribute(&raw.tag, name, value, base_url, masks_value) {
            attributes.push((name.clone(), AttrValue::Str(v)));
        }
    }
    if let Some(css) = &raw.css_text {
        attributes.push(("_cssText".into(), AttrValue::Str(absolutize_css(css, base_url))));
    }
    let value = raw.value.as_deref().unwrap_or("");
    if state_value && !value.is_empty() {
        attributes.push(("value".into(), AttrValue::Str(recorded_value(value, masks_value))));
    } else if form_field && raw.checked {
        attributes.push(("checked".into(), AttrValue::True));
    }
    if raw.tag == "option" && raw.selected && !raw.in_masked_select {
        attributes.push(("selected".into(), AttrValue::True));
    }
    if raw.scroll_left != 0.0 {
        attributes.push(("rr_scrollLeft".into(), AttrValue::Num(raw.scroll_left)));
    }
    if raw.scroll_top != 0.0 {
        attributes.push(("rr_scrollTop".into(), AttrValue::Num(raw.scroll_top)));
    }
    NodeKind::Element {
        tag_name: raw.tag.clone(),
        attributes,
        is_svg: raw.is_svg,
        is_shadow_host: raw.is_shadow_host,
    }
}

/// The parent's role for a text node's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextParent {
    Other,
    Script,
    /// A `<style>` whose rules went into `_cssText`.
    StyleWithCssText,
    /// A `<style>` without readable rules: the text is the CSS.
    Style,
    /// A `<textarea>` whose value is masked.
    MaskedTextarea,
}

/// The recorded content of a text node.
pub fn text_content(text: &str, parent: TextParent, masked: bool, base_url: &str) -> String {
    match parent {
        TextParent::Script => "SCRIPT_PLACEHOLDER".into(),
        TextParent::StyleWithCssText => String::new(),
        TextParent::Style => absolutize_css(text, base_url),
        TextParent::MaskedTextarea => super::privacy::mask_value(text),
        TextParent::Other if masked => super::privacy::mask_text(text),
        TextParent::Other => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://site.test/a/page.html";

    fn json(node: &SerializedNode) -> serde_json::Value {
        let mut out = String::new();
        node.write_shallow(&mut out);
        serde_json::from_str(&out).unwrap()
    }

    fn raw(tag: &str, attributes: &[(&str, &str)]) -> RawElement {
        RawElement {
            tag: tag.into(),
            attributes: attributes.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    fn attrs(kind: &NodeKind) -> serde_json::Value {
        let node = SerializedNode { id: 9, kind: kind.clone(), is_shadow: false, root_id: None };
        json(&node)["attributes"].clone()
    }

    #[test]
    fn writes_every_node_type_in_rrweb_shape() {
        let doc = SerializedNode {
            id: 1,
            kind: NodeKind::Document { compat_mode: None },
            is_shadow: false,
            root_id: None,
        };
        assert_eq!(json(&doc), serde_json::json!({"id": 1, "type": 0, "childNodes": []}));
        let quirks = SerializedNode {
            id: 1,
            kind: NodeKind::Document { compat_mode: Some("BackCompat".into()) },
            is_shadow: false,
            root_id: None,
        };
        assert_eq!(json(&quirks)["compatMode"], "BackCompat");
        let doctype = SerializedNode {
            id: 2,
            kind: NodeKind::DocumentType { name: "html".into(), public_id: "".into(), system_id: "".into() },
            is_shadow: false,
            root_id: None,
        };
        assert_eq!(
            json(&doctype),
            serde_json::json!({"id": 2, "type": 1, "name": "html", "publicId": "", "systemId": ""})
        );
        let svg = SerializedNode {
            id: 3,
            kind: NodeKind::Element {
                tag_name: "svg".into(),
                attributes: vec![
                    ("viewBox".into(), AttrValue::Str("0 0 1 1".into())),
                    ("rr_scrollTop".into(), AttrValue::Num(12.5)),
                ],
                is_svg: true,
                is_shadow_host: true,
            },
            is_shadow: true,
            root_id: Some(7),
        };
        assert_eq!(
            json(&svg),
            serde_json::json!({"id": 3, "type": 2, "tagName": "svg", "attributes": {"viewBox": "0 0 1 1", "rr_scrollTop": 12.5},
                "isSVG": true, "isShadowHost": true, "isShadow": true, "rootId": 7, "childNodes": []})
        );
        let text = SerializedNode {
            id: 4,
            kind: NodeKind::Text { text: "a\"b\n".into() },
            is_shadow: false,
            root_id: None,
        };
        assert_eq!(json(&text), serde_json::json!({"id": 4, "type": 3, "textContent": "a\"b\n"}));
        let comment = SerializedNode {
            id: 5,
            kind: NodeKind::Comment { text: "c".into() },
            is_shadow: false,
            root_id: None,
        };
        assert_eq!(json(&comment), serde_json::json!({"id": 5, "type": 5, "textContent": "c"}));
        let cdata = SerializedNode { id: 6, kind: NodeKind::CData, is_shadow: false, root_id: None };
        assert_eq!(json(&cdata), serde_json::json!({"id": 6, "type": 4, "textContent": ""}));
    }

    #[test]
    fn inputs_are_masked_by_their_effective_type() {
        for raw_type in ["numeric", "creditcard", "datetime", "TEXT"] {
            let mut field = raw("input", &[("type", raw_type), ("value", "4111 1111")]);
            field.value = Some("4111 1111 1111".into());
            let recorded = attrs(&element_kind(&field, "http://x/", true)).to_string();
            assert!(!recorded.contains("4111"), "type={raw_type}: {recorded}");
        }
        // The browser's `.type` wins over the attribute when the shell read it.
        let mut field = raw("input", &[("type", "checkbox"), ("value", "on")]);
        field.effective_type = Some("text".into());
        field.value = Some("secret".into());
        assert!(!attrs(&element_kind(&field, "http://x/", true)).to_string().contains("secret"));
    }

    #[test]
    fn form_values_inside_masked_regions_are_masked_even_without_mask_all_inputs() {
        let mut field = raw("input", &[("type", "text")]);
        field.value = Some("planted".into());
        assert_eq!(attrs(&element_kind(&field, "http://x/", false))["value"], "planted");
        field.in_masked_region = true;
        assert_eq!(attrs(&element_kind(&field, "http://x/", false))["value"], "*******");
    }

    #[test]
    fn srcdoc_is_not_recorded_inside_masked_regions() {
        let mut frame = raw("iframe", &[("srcdoc", "<p>private words</p>")]);
        assert_eq!(attrs(&element_kind(&frame, BASE, true))["srcdoc"], "<p>private words</p>");
        frame.in_masked_region = true;
        assert!(attrs(&element_kind(&frame, BASE, true)).get("srcdoc").is_none());
    }

    #[test]
    fn numbers_are_written_like_json() {
        let cases = [
            (0.0, "0"),
            (12.0, "12"),
            (-3.0, "-3"),
            (20.5, "20.5"),
            (0.125, "0.125"),
            (-0.05, "-0.05"),
            (1.0 / 3.0, "0.333"),
            (1e12, "1000000000000"),
            (f64::NAN, "0"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            push_number(&mut out, value);
            assert_eq!(out, expected, "{value}");
        }
    }

    #[test]
    fn makes_urls_absolute_except_fragments() {
        let el = raw("img", &[("src", "x.png"), ("srcset", "x.png 1x, /y.png 2x"), ("alt", "x.png")]);
        assert_eq!(
            attrs(&element_kind(&el, BASE, true)),
            serde_json::json!({"src": "https://site.test/a/x.png", "srcset": "https://site.test/a/x.png 1x, https://site.test/y.png 2x", "alt": "x.png"})
        );
        let a = raw("a", &[("href", "#top")]);
        assert_eq!(attrs(&element_kind(&a, BASE, true)), serde_json::json!({"href": "#top"}));
        let a = raw("a", &[("href", "../b.html")]);
        assert_eq!(
            attrs(&element_kind(&a, BASE, true)),
            serde_json::json!({"href": "https://site.test/b.html"})
        );
        let div = raw("div", &[("style", "background: url('bg.png')")]);
        assert_eq!(
            attrs(&element_kind(&div, BASE, true)),
            serde_json::json!({"style": "background: url('https://site.test/a/bg.png')"})
        );
        let object = raw("object", &[("data", "movie.swf")]);
        assert_eq!(
            attrs(&element_kind(&object, BASE, true)),
            serde_json::json!({"data": "https://site.test/a/movie.swf"})
        );
        let td = raw("td", &[("background", "t.gif")]);
        assert_eq!(
            attrs(&element_kind(&td, BASE, true)),
            serde_json::json!({"background": "https://site.test/a/t.gif"})
        );
    }

    #[test]
    fn password_values_are_masked_in_every_attribute() {
        let mut pw = raw("input", &[("type", "password"), ("value", "initial-secret")]);
        pw.value = Some("typed-secret".into());
        let recorded = attrs(&element_kind(&pw, BASE, false));
        assert_eq!(recorded, serde_json::json!({"type": "password", "value": "************"}));
        // Cleared by the user: the markup's value attribute must not leak either.
        pw.value = Some(String::new());
        let recorded = attrs(&element_kind(&pw, BASE, false));
        assert_eq!(recorded, serde_json::json!({"type": "password"}));
        assert_eq!(recorded_attribute("input", "value", "secret", BASE, true).as_deref(), Some("******"));
    }

    #[test]
    fn records_form_state() {
        let mut text = raw("input", &[("type", "text")]);
        text.value = Some("hello".into());
        assert_eq!(
            attrs(&element_kind(&text, BASE, false)),
            serde_json::json!({"type": "text", "value": "hello"})
        );
        assert_eq!(
            attrs(&element_kind(&text, BASE, true)),
            serde_json::json!({"type": "text", "value": "*****"})
        );
        let mut checkbox = raw("input", &[("type", "checkbox"), ("value", "on")]);
        checkbox.value = Some("on".into());
        checkbox.checked = true;
        assert_eq!(
            attrs(&element_kind(&checkbox, BASE, true)),
            serde_json::json!({"type": "checkbox", "value": "on", "checked": true})
        );
        let mut submit = raw("input", &[("type", "submit"), ("value", "Send")]);
        submit.value = Some("Send".into());
        assert_eq!(
            attrs(&element_kind(&submit, BASE, true)),
            serde_json::json!({"type": "submit", "value": "Send"})
        );
        let mut file = raw("input", &[("type", "file")]);
        file.value = Some("C:\\fakepath\\cv.pdf".into());
        assert_eq!(attrs(&element_kind(&file, BASE, false)), serde_json::json!({"type": "file"}));
        let mut option = raw("option", &[("selected", "")]);
        option.selected = false;
        assert_eq!(attrs(&element_kind(&option, BASE, false)), serde_json::json!({}));
        option.selected = true;
        assert_eq!(attrs(&element_kind(&option, BASE, false)), serde_json::json!({"selected": true}));
        option.in_masked_select = true;
        assert_eq!(attrs(&element_kind(&option, BASE, true)), serde_json::json!({}));
    }

    #[test]
    fn blocked_elements_keep_only_class_and_size() {
        let mut el = raw("div", &[("class", "rr-block x"), ("id", "secret"), ("title", "t")]);
        el.blocked_size = Some((100.0, 20.5));
        assert_eq!(
            attrs(&element_kind(&el, BASE, true)),
            serde_json::json!({"class": "rr-block x", "rr_width": "100px", "rr_height": "20.5px"})
        );
    }

    #[test]
    fn stylesheets_become_css_text() {
        let mut link = raw("link", &[("rel", "stylesheet"), ("href", "s.css"), ("media", "all")]);
        link.css_text = Some("a { background: url(\"i.png\"); }".into());
        assert_eq!(
            attrs(&element_kind(&link, BASE, true)),
            serde_json::json!({"media": "all", "_cssText": "a { background: url(\"https://site.test/a/i.png\"); }"})
        );
        let unreadable = raw("link", &[("rel", "stylesheet"), ("href", "//cdn.test/s.css")]);
        assert_eq!(
            attrs(&element_kind(&unreadable, BASE, true)),
            serde_json::json!({"rel": "stylesheet", "href": "https://cdn.test/s.css"})
        );
        assert_eq!(text_content("a{}", TextParent::StyleWithCssText, false, BASE), "");
        assert_eq!(text_content("alert(1)", TextParent::Script, true, BASE), "SCRIPT_PLACEHOLDER");
        assert_eq!(text_content("top secret", TextParent::Other, true, BASE), "*** ******");
    }

    #[test]
    fn iframes_drop_src_and_scroll_offsets_are_numbers() {
        let mut frame = raw("iframe", &[("src", "inner.html"), ("id", "f")]);
        frame.iframe_readable = true;
        assert_eq!(attrs(&element_kind(&frame, BASE, true)), serde_json::json!({"id": "f"}));
        frame.iframe_readable = false;
        assert_eq!(
            attrs(&element_kind(&frame, BASE, true)),
            serde_json::json!({"rr_src": "https://site.test/a/inner.html", "id": "f"})
        );
        let mut scrolled = raw("div", &[]);
        scrolled.scroll_left = 3.0;
        scrolled.scroll_top = 40.0;
        assert_eq!(
            attrs(&element_kind(&scrolled, BASE, true)),
            serde_json::json!({"rr_scrollLeft": 3, "rr_scrollTop": 40})
        );
    }
}
