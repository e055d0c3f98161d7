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
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[(c as usize >> shift) & 0xf] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `&s[from..to]` for offsets known to fall on character boundaries (found at ASCII
/// delimiters or by `char_indices`), without the indexing's panic path: its message
/// formats a `char` with `Debug`, which keeps core's Unicode printability tables in the
/// bundle. Offsets off a boundary (never the case at the call sites) give `""`.
pub fn cut(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or("")
}

/// The index of the first `byte` (ASCII) in `s`: `s.find(char)` as a plain loop, without
/// core's generic char searcher. For short strings off the hot paths: the record parser
/// keeps `split_once` (see `protocol::field`).
pub fn find_byte(s: &str, byte: u8) -> Option<usize> {
    s.bytes().position(|b| b == byte)
}

/// `s.split_once(char)` for an ASCII `byte`.
pub fn split_once_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let at = find_byte(s, byte)?;
    Some((cut(s, 0, at), cut(s, at + 1, s.len())))
}

/// `s.trim_end_matches(char)` for an ASCII `byte`.
pub fn trim_end_byte(s: &str, byte: u8) -> &str {
    let mut end = s.len();
    while end > 0 && s.as_bytes()[end - 1] == byte {
        end -= 1;
    }
    cut(s, 0, end)
}

/// `s.split(char)` for an ASCII `byte`.
pub fn split_byte(s: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        match split_once_byte(current, byte) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Writes a JSON object field by field, optionally continuing an existing one.
#[must_use = "`finish` gives the object"]
pub struct ObjectWriter {
    out: String,
    empty: bool,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// Continues `object` (a compact JSON object, as `JSON.stringify` and this writer
    /// write them) with more fields; anything else starts a new object.
    pub fn extending(object: &str) -> Self {
        match object.strip_prefix('{').and_then(|o| o.strip_suffix('}')) {
            Some(fields) => {
                let mut out = String::with_capacity(object.len() + 64);
                out.push('{');
                out.push_str(fields);
                Self { out, empty: fields.is_empty() }
            }
            None => Self::new(),
        }
    }
    pub fn new() -> Self {
        Self { out: "{".into(), empty: true }
    }
    pub fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_str_literal(&mut self.out, key);
        self.out.push(':');
    }
    /// A value already written as JSON.
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.out.push_str(json);
    }
    pub fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        push_str_literal(&mut self.out, value);
    }
    pub fn uint(&mut self, key: &str, value: u64) {
        self.key(key);
        push_u64(&mut self.out, value);
    }
    /// A non-negative number rounded to `places` decimals (no float formatting code).
    pub fn decimal(&mut self, key: &str, value: f64, places: u32) {
        self.key(key);
        let scale = 10u64.pow(places);
        let scaled = (value.max(0.0) * scale as f64 + 0.5) as u64;
        push_u64(&mut self.out, scaled / scale);
        let mut fraction = scaled % scale;
        if fraction > 0 {
            self.out.push('.');
            let mut digits = places;
            while fraction % 10 == 0 {
                fraction /= 10;
                digits -= 1;
            }
            let text = {
                let mut t = String::new();
                push_u64(&mut t, fraction);
                t
            };
            for _ in text.len() as u32..digits {
                self.out.push('0');
            }
            self.out.push_str(&text);
        }
    }
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Places the commas between the items of a JSON array or object being written: call
/// `next` before writing each item.
#[derive(Default)]
pub struct Commas {
    written: bool,
}

impl Commas {
    pub fn next(&mut self, out: &mut String) {
        if self.written {
            out.push(',');
        }
        self.written = true;
    }
}

/// Appends `value` in decimal, as `write!(out, "{value}")` would, without pulling
/// core::fmt's integer formatting into the bundle.
pub fn push_u64(out: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = value;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Appends `value` in decimal (see [`push_u64`]).
pub fn push_i64(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    push_u64(out, value.unsigned_abs());
}

/// `value` in decimal (see [`push_u64`]).
pub fn u64_string(value: u64) -> String {
    let mut out = String::new();
    push_u64(&mut out, value);
    out
}

/// The earliest of some optional times (`None` when none is set): what
/// `times.iter().flatten().min()` answers, as one small loop shared by the deadlines of the
/// replay controls and the signals (a smaller bundle than one iterator chain each).
pub fn earliest(times: &[Option<u64>]) -> Option<u64> {
    let mut out: Option<u64> = None;
    for &time in times {
        out = match (out, time) {
            (Some(o), Some(t)) => Some(o.min(t)),
            (None, t) => t,
            (o, None) => o,
        };
    }
    out
}

/// `s.parse::<u64>().ok()`, written out: an optional `+`, then one or more ASCII digits,
/// `None` on overflow. One small function instead of core's generic integer parser for each
/// integer type parsed (a smaller bundle).
pub fn parse_u64(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_slices_on_boundaries_and_gives_empty_off_them() {
        let s = "aé/ü?";
        for (from, to) in [(0, 0), (0, 1), (1, 3), (3, 4), (4, 6), (0, s.len()), (s.len(), s.len())] {
            assert_eq!(cut(s, from, to), &s[from..to]);
        }
        assert_eq!(cut(s, 2, 4), "");
        assert_eq!(cut(s, 3, 1), "");
        assert_eq!(cut(s, 0, 99), "");
    }

    fn str_literal(value: &str) -> String {
        let mut out = String::new();
        push_str_literal(&mut out, value);
        out
    }

    #[test]
    fn escapes_what_json_requires() {
        let tricky = "a\"b\\c\nd\u{1}é😀\u{2028}";
        let literal = str_literal(tricky);
        let back: String = serde_json::from_str(&literal).unwrap();
        assert_eq!(back, tricky);
        assert_eq!(str_literal("plain"), "\"plain\"");
        assert_eq!(str_literal("\u{1f}\u{2029}x\u{2028}"), r#""\u001f\u2029x\u2028""#);
        // Every char up to U+3000 (and a few beyond) round-trips, alone and between others.
        for code in (0..0x3000).chain([0xfffd, 0x1f600]) {
            let Some(c) = char::from_u32(code) else { continue };
            let text = format!("a{c}é{c}");
            let escaped = str_literal(&text);
            let back: String = serde_json::from_str(&escaped).unwrap();
            assert_eq!(back, text, "U+{code:04X}");
            assert!(!escaped.contains('\u{2028}') && !escaped.contains('\u{2029}'));
            assert!(escaped.chars().all(|c| c as u32 >= 0x20), "U+{code:04X} left a control char");
        }
    }

    #[test]
    fn earliest_is_the_minimum_of_the_times_set() {
        assert_eq!(earliest(&[]), None);
        assert_eq!(earliest(&[None, None]), None);
        assert_eq!(earliest(&[Some(5), None, Some(3), Some(9)]), Some(3));
        assert_eq!(earliest(&[None, Some(u64::MAX)]), Some(u64::MAX));
        assert_eq!(earliest(&[Some(0), Some(7)]), Some(0));
    }

    #[test]
    fn parses_u64_as_str_parse_does() {
        let cases = [
            "0",
            "7",
            "+7",
            "007",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "",
            "+",
            "-1",
            "-0",
            " 1",
            "1 ",
            "1_000",
            "1.0",
            "0x10",
            "١٢",
            "+-1",
            "++1",
            "12a",
            "٣",
        ];
        for s in cases {
            assert_eq!(parse_u64(s), s.parse::<u64>().ok(), "{s:?}");
        }
        for v in [0u64, 1, 9, 10, 4_294_967_295, 4_294_967_296, u64::MAX - 1, u64::MAX] {
            assert_eq!(parse_u64(&v.to_string()), Some(v));
        }
    }

    #[test]
    fn writes_integers_as_display_does() {
        for v in [0u64, 7, 10, 99, 1_700_000_000_000, u64::MAX] {
            assert_eq!(u64_string(v), v.to_string());
        }
        for v in [0i64, -1, -1234, 42, i64::MIN, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, v);
            assert_eq!(out, v.to_string());
        }
    }

    #[test]
    fn object_writer_places_commas_and_continues_objects() {
        let mut w = ObjectWriter::new();
        w.string("a\"", "x");
        w.uint("n", 7);
        w.raw("r", "[1,2]");
        w.decimal("d", 0.1234, 3);
        w.decimal("whole", 2.0, 3);
        w.decimal("small", 0.005, 3);
        let object = w.finish();
        assert_eq!(object, r#"{"a\"":"x","n":7,"r":[1,2],"d":0.123,"whole":2,"small":0.005}"#);
        let value: serde_json::Value = serde_json::from_str(&object).unwrap();
        assert_eq!(value["d"], 0.123);
        // Continuing: an object keeps its fields, an empty one gets no leading comma,
        // anything else starts over.
        for (start, expected) in
            [(r#"{"x":1}"#, r#"{"x":1,"y":2}"#), ("{}", r#"{"y":2}"#), ("[1]", r#"{"y":2}"#)]
        {
            let mut w = ObjectWriter::extending(start);
            w.uint("y", 2);
            assert_eq!(w.finish(), expected, "from {start}");
        }
        assert_eq!(ObjectWriter::new().finish(), "{}");
    }

    #[test]
    fn commas_go_between_items_only() {
        let mut out = String::from("[");
        let mut commas = Commas::default();
        for item in ["1", "2", "3"] {
            commas.next(&mut out);
            out.push_str(item);
        }
        out.push(']');
        assert_eq!(out, "[1,2,3]");
    }

    #[test]
    fn byte_searches_answer_as_the_char_searches() {
        let long = "0123456789abcdef".repeat(5) + ",é\0x" + &"y".repeat(20);
        let mut cases =
            vec!["", "a", ",", "a,b", ",a,,b,", "é,ü,", "no delimiter", "\0x\0", "a\0", &long, "x,,", ",,,"];
        // Every position of the delimiter around and across the eight-byte words.
        let shifted: Vec<String> = (0..20).map(|i| "a".repeat(i) + ",x\0" + &"b".repeat(20 - i)).collect();
        cases.extend(shifted.iter().map(String::as_str));
        for s in cases {
            for (byte, c) in [(b',', ','), (0u8, '\0'), (b'x', 'x')] {
                assert_eq!(find_byte(s, byte), s.find(c), "{s:?} {c:?}");
                assert_eq!(split_once_byte(s, byte), s.split_once(c), "{s:?} {c:?}");
                assert_eq!(trim_end_byte(s, byte), s.trim_end_matches(c), "{s:?} {c:?}");
                assert_eq!(
                    split_byte(s, byte).collect::<Vec<_>>(),
                    s.split(c).collect::<Vec<_>>(),
                    "{s:?} {c:?}"
                );
            }
        }
    }
}
