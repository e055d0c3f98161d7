//! Minimal JSON writing. Events reach the core already serialized (by `JSON.stringify`
//! in the shell), so the core only concatenates them and escapes the few strings it
//! writes itself; a full JSON library would cost more bundle bytes than it saves.

/// Appends `value` as a JSON string literal (with quotes) to `out`.
pub fn push_str_literal(out: &mut String, value: &str) {
    out.reserve(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `value` as a JSON string literal.
pub fn str_literal(value: &str) -> String {
    let mut out = String::new();
    push_str_literal(&mut out, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_json_requires() {
        let tricky = "a\"b\\c\nd\u{1}é😀\u{2028}";
        let literal = str_literal(tricky);
        let back: String = serde_json::from_str(&literal).unwrap();
        assert_eq!(back, tricky);
        assert_eq!(str_literal("plain"), "\"plain\"");
    }
}
