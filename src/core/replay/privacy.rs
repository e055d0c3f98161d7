//! Privacy rules: which values and texts are masked, which elements are blocked or
//! ignored. Selectors (`blockSelector`, `maskTextSelector`) need the DOM and are matched
//! in the shell; everything decided from strings lives here.

/// `true` when the space-separated `class` attribute contains `class`.
pub fn has_class(class_attribute: &str, class: &str) -> bool {
    !class.is_empty() && class_attribute.split_ascii_whitespace().any(|c| c == class)
}

/// Every non-whitespace character becomes `*` (rrweb's text masking).
pub fn mask_text(text: &str) -> String {
    text.chars().map(|c| if c.is_whitespace() { c } else { '*' }).collect()
}

/// `*` repeated to the value's length in UTF-16 units (what JS calls `length`).
pub fn mask_value(value: &str) -> String {
    "*".repeat(value.encode_utf16().count())
}

/// Input types whose value rrweb masks under `maskAllInputs`.
const MASKED_INPUT_TYPES: [&str; 16] = [
    "",
    "color",
    "date",
    "datetime-local",
    "email",
    "month",
    "number",
    "range",
    "search",
    "tel",
    "text",
    "time",
    "url",
    "week",
    "password",
    "hidden",
];

/// Whether the value of a form field must be masked. `tag` is lower-case; `input_type`
/// the lower-cased `type` attribute; `was_password` is true for an input that has ever
/// been `type=password` (a "show password" toggle must not reveal it).
pub fn value_needs_mask(tag: &str, input_type: &str, mask_all_inputs: bool, was_password: bool) -> bool {
    if was_password || (tag == "input" && input_type == "password") {
        return true;
    }
    mask_all_inputs
        && match tag {
            "textarea" | "select" => true,
            "input" => MASKED_INPUT_TYPES.contains(&input_type),
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
        assert!(value_needs_mask("input", "", true, false));
        assert!(value_needs_mask("textarea", "", true, false));
        assert!(value_needs_mask("select", "", true, false));
        assert!(!value_needs_mask("input", "checkbox", true, false));
        assert!(!value_needs_mask("input", "submit", true, false));
    }
}
