//! Privacy rules: the one place that decides what is blocked, masked or ignored, for
//! every path a value or a text can take out of the page (the full snapshot, mutations,
//! input / mouse / scroll / media / selection events, iframe attachment, shadow roots,
//! and the `$click` autocapture's `text`).
//!
//! The rule, in one sentence: a node is *blocked* (*masked*, *ignored*) when it or any
//! ancestor — across shadow-root and same-origin iframe boundaries — matches
//! `blockClass`/`blockSelector` (`maskTextClass`/`maskTextSelector`, `ignoreClass`).
//! Selectors need the DOM, so the shell answers "what does this node match, up to the
//! root of its tree" (one `closest()` per tree); [`classify`] walks the trees and
//! decides.

/// What a node and its ancestors *within one tree* (a document or a shadow root) match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    pub blocked: bool,
    pub masked: bool,
    pub ignored: bool,
}

/// How a node is recorded.
#[must_use]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Nothing about the node or its subtree leaves the page (a blocked element itself
    /// is recorded as an empty placeholder by the snapshot and mutation adds only).
    pub blocked: bool,
    /// Its text is recorded as `*` (and form values inside are masked).
    pub mask_text: bool,
    /// Its input events are not recorded.
    pub ignored: bool,
}

/// The DOM, one tree at a time (the shell implements it over web-sys; tests over a
/// small tree).
pub trait TreeScopes {
    type Node;
    /// What `node` and its ancestors up to the root of its own tree match.
    fn marks_within_tree(&mut self, node: &Self::Node) -> Marks;
    /// The element hosting `node`'s tree: the host of its shadow root, or the `<iframe>`
    /// of its (same-origin) document; `None` in the top document.
    fn tree_host(&mut self, node: &Self::Node) -> Option<Self::Node>;
}

/// Trees nested deeper than this are treated as blocked (a loop, or a page built to
/// make the walk slow, must not turn into a leak).
const MAX_TREE_DEPTH: usize = 64;

/// The verdict for `node`: the marks of every tree it is nested in, innermost first.
pub fn classify<T: TreeScopes>(dom: &mut T, node: T::Node, mask_all_text: bool) -> Verdict {
    let mut verdict = Verdict { mask_text: mask_all_text, ..Verdict::default() };
    let mut current = node;
    for _ in 0..MAX_TREE_DEPTH {
        let marks = dom.marks_within_tree(&current);
        verdict.blocked |= marks.blocked;
        verdict.mask_text |= marks.masked;
        verdict.ignored |= marks.ignored;
        if verdict.blocked {
            return verdict;
        }
        match dom.tree_host(&current) {
            Some(host) => current = host,
            None => return verdict,
        }
    }
    Verdict { blocked: true, ..verdict }
}

/// `true` when the space-separated `class` attribute contains `class`.
pub fn has_class(class_attribute: &str, class: &str) -> bool {
    !class.is_empty() && class_attribute.split_ascii_whitespace().any(|c| c == class)
}

/// Every non-whitespace character becomes `*` (rrweb's text masking).
pub fn mask_text(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    for c in text.chars() {
        masked.push(if c.is_whitespace() { c } else { '*' });
    }
    masked
}

/// `*` repeated to the value's length in UTF-16 units (what JS calls `length`).
pub fn mask_value(value: &str) -> String {
    "*".repeat(value.encode_utf16().count())
}

/// The `type` keywords of `<input>` in the HTML standard.
const INPUT_TYPES: [&str; 22] = [
    "hidden",
    "text",
    "search",
    "tel",
    "url",
    "email",
    "password",
    "date",
    "month",
    "week",
    "time",
    "datetime-local",
    "number",
    "range",
    "color",
    "checkbox",
    "radio",
    "file",
    "submit",
    "image",
    "reset",
    "button",
];

/// The type the browser gives an `<input>` with this `type` attribute
/// (`HTMLInputElement.type`): a known keyword matched ASCII case-insensitively, else
/// `"text"` (`type="creditcard"`, `"numeric"`, `"datetime"` are text fields). The shell
/// reads `.type` from the element where it can; this is the same rule for the places
/// that only have the attribute.
pub fn effective_input_type(type_attribute: Option<&str>) -> &'static str {
    let Some(raw) = type_attribute else { return "text" };
    INPUT_TYPES.into_iter().find(|known| raw.eq_ignore_ascii_case(known)).unwrap_or("text")
}

/// Input types whose value is markup (a label or a state), never typed text: the only
/// ones left unmasked under `maskAllInputs`. Everything else, including a type this
/// list has never heard of, is masked.
const MARKUP_VALUE_TYPES: [&str; 7] = ["checkbox", "radio", "submit", "button", "reset", "image", "file"];

/// Whether an input of this (effective) type shows its value as a label or state.
pub fn is_markup_value_type(input_type: &str) -> bool {
    MARKUP_VALUE_TYPES.contains(&input_type)
}

/// Whether the value of a form field must be masked. `tag` is lower-case; `input_type`
/// the field's effective type (`HTMLInputElement.type`); `was_password` is true for an
/// input that has ever been a password field (a "show password" toggle must not reveal
/// it). Deny by default: under `mask_all_inputs` every field is masked except those
/// whose value is markup (checkbox, radio, buttons).
pub fn value_needs_mask(tag: &str, input_type: &str, mask_all_inputs: bool, was_password: bool) -> bool {
    if was_password || (tag == "input" && input_type.eq_ignore_ascii_case("password")) {
        return true;
    }
    mask_all_inputs
        && match tag {
            "textarea" | "select" => true,
            "input" => !is_markup_value_type(input_type),
            _ => false,
        }
}

/// `value` as recorded: masked to its length when `mask`, else unchanged.
pub fn recorded_value(value: &str, mask: bool) -> String {
    if mask {
        mask_value(value)
    } else {
        value.to_string()
    }
}

/// Longest `$click` `text`, in UTF-16 units (wire.md: "at most 200 chars").
pub const CLICK_TEXT_MAX_UNITS: usize = 200;

/// The `$click` `text`: the target's text pieces (its text nodes in document order,
/// leading whitespace already stripped by the shell), each masked when `masked`;
/// trimmed, and cut to at most 200 UTF-16 units without splitting a character.
pub fn click_text<'a>(pieces: impl IntoIterator<Item = (&'a str, bool)>) -> String {
    let mut text = String::new();
    for (piece, masked) in pieces {
        if masked {
            text.push_str(&mask_text(piece));
        } else {
            text.push_str(piece);
        }
    }
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    truncate_utf16(trimmed, CLICK_TEXT_MAX_UNITS).to_string()
}

/// The longest prefix of `s` of at most `max_units` UTF-16 units that ends on a
/// character boundary (a surrogate pair is kept whole or left out).
pub fn truncate_utf16(s: &str, max_units: usize) -> &str {
    let mut units = 0;
    for (index, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max_units {
            return crate::core::json::cut(s, 0, index);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_class_names_only() {
        assert!(has_class("a rr-block b", "rr-block"));
        assert!(has_class("\trr-block\n", "rr-block"));
        assert!(!has_class("rr-blocked", "rr-block"));
        assert!(!has_class("anything", ""));
    }

    #[test]
    fn masks_text_but_keeps_whitespace() {
        assert_eq!(mask_text(" ab c\n"), " ** *\n");
        assert_eq!(mask_text("é😀"), "**");
    }

    #[test]
    fn masks_values_to_their_js_length() {
        assert_eq!(mask_value("hunter2"), "*******");
        assert_eq!(mask_value("😀"), "**");
        assert_eq!(mask_value(""), "");
    }

    #[test]
    fn passwords_are_masked_whatever_the_option_says() {
        assert!(value_needs_mask("input", "password", false, false));
        assert!(value_needs_mask("input", "text", false, true));
        assert!(!value_needs_mask("input", "text", false, false));
        assert!(value_needs_mask("input", "email", true, false));
        assert!(value_needs_mask("input", "text", true, false));
        assert!(value_needs_mask("textarea", "", true, false));
        assert!(value_needs_mask("select", "", true, false));
        assert!(!value_needs_mask("input", "checkbox", true, false));
        assert!(!value_needs_mask("input", "submit", true, false));
    }

    #[test]
    fn unknown_input_types_are_text_fields_and_masked() {
        for raw in ["numeric", "creditcard", "datetime", " text", "pass word", ""] {
            assert_eq!(effective_input_type(Some(raw)), "text", "{raw:?}");
            assert!(value_needs_mask("input", effective_input_type(Some(raw)), true, false), "{raw:?}");
        }
        assert_eq!(effective_input_type(None), "text");
        assert_eq!(effective_input_type(Some("PassWord")), "password");
        assert_eq!(effective_input_type(Some("CHECKBOX")), "checkbox");
        // Deny by default: even a raw attribute that slipped through is masked.
        assert!(value_needs_mask("input", "numeric", true, false));
        assert!(value_needs_mask("input", "hidden", true, false));
    }

    #[test]
    fn a_field_that_was_ever_a_password_stays_masked() {
        for now in ["text", "email", "checkbox", "numeric"] {
            assert!(value_needs_mask("input", now, false, true), "{now}");
            assert!(value_needs_mask("input", now, true, true), "{now}");
        }
    }

    /// A DOM of trees: each node has the marks it matches by itself, a parent within its
    /// tree, and (for a tree's root) the host of that tree.
    struct Forest {
        own: Vec<Marks>,
        parent: Vec<Option<usize>>,
        host: Vec<Option<usize>>,
        asked: usize,
    }

    impl Forest {
        fn add(&mut self, parent: Option<usize>, host: Option<usize>, marks: Marks) -> usize {
            self.own.push(marks);
            self.parent.push(parent);
            self.host.push(host);
            self.own.len() - 1
        }
        fn root_of(&self, mut node: usize) -> usize {
            while let Some(p) = self.parent[node] {
                node = p;
            }
            node
        }
    }

    impl TreeScopes for Forest {
        type Node = usize;
        fn marks_within_tree(&mut self, node: &usize) -> Marks {
            self.asked += 1;
            let mut marks = Marks::default();
            let mut current = Some(*node);
            while let Some(n) = current {
                marks.blocked |= self.own[n].blocked;
                marks.masked |= self.own[n].masked;
                marks.ignored |= self.own[n].ignored;
                current = self.parent[n];
            }
            marks
        }
        fn tree_host(&mut self, node: &usize) -> Option<usize> {
            self.host[self.root_of(*node)]
        }
    }

    const NONE: Marks = Marks { blocked: false, masked: false, ignored: false };
    const BLOCK: Marks = Marks { blocked: true, masked: false, ignored: false };
    const MASK: Marks = Marks { blocked: false, masked: true, ignored: false };
    const IGNORE: Marks = Marks { blocked: false, masked: false, ignored: true };

    fn forest() -> Forest {
        Forest { own: Vec::new(), parent: Vec::new(), host: Vec::new(), asked: 0 }
    }

    #[test]
    fn a_node_is_blocked_by_itself_or_any_ancestor() {
        let mut f = forest();
        let body = f.add(None, None, NONE);
        let region = f.add(Some(body), None, BLOCK);
        let inner = f.add(Some(region), None, NONE);
        let leaf = f.add(Some(inner), None, NONE);
        let outside = f.add(Some(body), None, NONE);
        assert!(classify(&mut f, region, false).blocked);
        assert!(classify(&mut f, leaf, false).blocked);
        assert!(!classify(&mut f, outside, false).blocked);
    }

    #[test]
    fn blocking_and_masking_cross_shadow_roots_and_iframes() {
        let mut f = forest();
        let body = f.add(None, None, NONE);
        let masked = f.add(Some(body), None, MASK);
        let host = f.add(Some(masked), None, NONE);
        // The shadow root's tree, hosted by `host`.
        let shadow_root = f.add(None, Some(host), NONE);
        let in_shadow = f.add(Some(shadow_root), None, NONE);
        let v = classify(&mut f, in_shadow, false);
        assert!(v.mask_text && !v.blocked);

        let blocked_wrapper = f.add(Some(body), None, BLOCK);
        let iframe = f.add(Some(blocked_wrapper), None, NONE);
        // The iframe's document, hosted by the `<iframe>`, with a shadow root inside.
        let frame_doc = f.add(None, Some(iframe), NONE);
        let frame_host = f.add(Some(frame_doc), None, NONE);
        let frame_shadow = f.add(None, Some(frame_host), NONE);
        let deep = f.add(Some(frame_shadow), None, NONE);
        assert!(classify(&mut f, deep, false).blocked, "blocked two trees up");
        assert!(classify(&mut f, iframe, false).blocked, "an iframe inside a blocked element is blocked");
    }

    #[test]
    fn the_walk_stops_at_the_first_block() {
        let mut f = forest();
        let top = f.add(None, None, NONE);
        let host = f.add(Some(top), None, NONE);
        let inner_tree = f.add(None, Some(host), BLOCK);
        let node = f.add(Some(inner_tree), None, NONE);
        f.asked = 0;
        assert!(classify(&mut f, node, false).blocked);
        assert_eq!(f.asked, 1, "no need to look further out once blocked");
    }

    #[test]
    fn mask_all_text_masks_everything_and_ignore_is_inherited() {
        let mut f = forest();
        let body = f.add(None, None, NONE);
        let form = f.add(Some(body), None, IGNORE);
        let input = f.add(Some(form), None, NONE);
        let v = classify(&mut f, input, true);
        assert!(v.mask_text && v.ignored && !v.blocked);
        assert!(!classify(&mut f, body, false).mask_text);
    }

    #[test]
    fn a_cycle_of_hosts_is_treated_as_blocked() {
        let mut f = forest();
        let a = f.add(None, None, NONE);
        f.host[a] = Some(a);
        assert!(classify(&mut f, a, false).blocked);
    }

    #[test]
    fn click_text_is_trimmed_masked_and_cut_on_character_boundaries() {
        assert_eq!(
            click_text([("Hello ", false), ("secret", true), (" world  \n", false)]),
            "Hello ****** world"
        );
        assert_eq!(click_text([("  ", false)]), "");
        let long = "x".repeat(199) + "😀tail";
        assert_eq!(click_text([(long.as_str(), false)]), "x".repeat(199), "the emoji would be split");
        let exact = "y".repeat(198) + "😀tail";
        assert_eq!(click_text([(exact.as_str(), false)]), "y".repeat(198) + "😀");
        assert_eq!(truncate_utf16("abc", 0), "");
        assert_eq!(truncate_utf16("abc", 5), "abc");
    }
}
