//! The record protocol between the recorder's JS reader (`web/recorder/reader.js`) and
//! Rust. Reading the DOM one property at a time would cross the wasm boundary several
//! times per node, so the reader returns what Rust needs of many nodes as one string of
//! NUL-separated fields; this module parses it into typed records. NULs inside values
//! are replaced with U+FFFD by the reader (as the HTML parser does), so a value can
//! never shift the fields after it; text is length-prefixed (in UTF-16 units) instead.
//!
//! ```text
//! chunk    := fresh NUL record*                       (reader.js `sl_read_children`)
//! record   := "g" NUL                                  no longer a child there, or a node type not recorded
//!           | type NUL id NUL body
//! body     := scrollLeft NUL scrollTop NUL element kids   type 1 (element)
//!           | kids                                        type 9 (document)
//!           | length NUL value NUL                        type 3, 4, 8 (text, CDATA, comment)
//!           |                                             type 10 (doctype: read from the node)
//! element  := localName NUL flags NUL count NUL (name NUL value NUL){count}   flags: "v" SVG, "s" open shadow root
//! kids     := first NUL light NUL shadow NUL           the children, pushed to the reader's array at `first`
//!
//! node     := type NUL id NUL rest                     (`sl_node`, one node of a mutation)
//! rest     := [scrollLeft NUL scrollTop NUL] element   for an element
//!           | value                                    for text and comments (to the end)
//! ```

use crate::core::json::find_byte;

pub const ELEMENT_NODE: u16 = 1;
pub const TEXT_NODE: u16 = 3;
pub const CDATA_NODE: u16 = 4;
pub const COMMENT_NODE: u16 = 8;
pub const DOCUMENT_NODE: u16 = 9;
pub const DOCTYPE_NODE: u16 = 10;
pub const FRAGMENT_NODE: u16 = 11;

/// What the reader returns for one element (`sl_read`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ElementRecord<'a> {
    pub local_name: &'a str,
    pub is_svg: bool,
    pub is_shadow_host: bool,
    pub attributes: Vec<(&'a str, &'a str)>,
}

/// Where a container's children went in the reader's array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildRange {
    pub first: u32,
    pub light: u32,
    /// Children of the open shadow root, after the light ones.
    pub shadow: u32,
}

impl ChildRange {
    pub fn handles(&self) -> Vec<u32> {
        (self.first..self.first + self.light + self.shadow).collect()
    }
}

/// One node as read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeRecord<'a> {
    pub node_type: u16,
    pub id: u32,
    /// `scrollLeft`, `scrollTop` (an element, when they were read).
    pub scroll: Option<(i32, i32)>,
    pub element: Option<ElementRecord<'a>>,
    /// A text node's, CDATA section's or comment's value.
    pub text: &'a str,
    /// A container's children (walk records only).
    pub children: Option<ChildRange>,
}

/// A malformed record: the reader and this parser disagree (a bug, never page data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

type Parsed<'a, T> = Result<(T, &'a str), ProtocolError>;

/// The text before the next NUL, and what follows it.
fn field(s: &str) -> Parsed<'_, &str> {
    // Not `&s[..i]`: str indexing's panic path pulls in core's char formatting (4 KB).
    // Core's `split_once` (its `memchr`), not `json::split_once_byte`: with a byte loop
    // here, or an eight-bytes-at-a-time one, the bench page's longest snapshot task grew
    // by about 6 ms in same-run comparisons (BENCHMARKS.md, round five).
    s.split_once('\0').ok_or(ProtocolError("a field without its NUL"))
}

fn number(s: &str) -> Parsed<'_, u32> {
    let (digits, rest) = field(s)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProtocolError("not a number"));
    }
    let n = digits.bytes().try_fold(0u32, |n, b| n.checked_mul(10)?.checked_add(u32::from(b - b'0')));
    Ok((n.ok_or(ProtocolError("a number out of range"))?, rest))
}

/// A `ToInt32` integer (a scroll offset).
fn int(s: &str) -> Parsed<'_, i32> {
    match s.strip_prefix('-') {
        Some(rest) => number(rest).map(|(n, rest)| ((n as i32).wrapping_neg(), rest)),
        None => number(s).map(|(n, rest)| (n as i32, rest)),
    }
}

/// The first `units` UTF-16 units of `s`, and what follows them and their NUL.
fn utf16_prefix(s: &str, units: u32) -> Parsed<'_, &str> {
    let mut left = units as usize;
    let mut end = 0;
    for c in s.chars() {
        if left == 0 {
            break;
        }
        left = left.saturating_sub(c.len_utf16());
        end += c.len_utf8();
    }
    let (text, rest) = s.split_at_checked(end).filter(|_| left == 0).unwrap_or_default();
    match rest.strip_prefix('\0') {
        Some(rest) => Ok((text, rest)),
        None => Err(ProtocolError("a text shorter than its length")),
    }
}

/// An element as `sl_read` writes it.
pub fn parse_element(s: &str) -> Parsed<'_, ElementRecord<'_>> {
    let (local_name, rest) = field(s)?;
    let (flags, rest) = field(rest)?;
    let (count, mut rest) = number(rest)?;
    let mut attributes = Vec::with_capacity(count.min(64) as usize);
    for _ in 0..count {
        let (name, more) = field(rest)?;
        let (value, more) = field(more)?;
        attributes.push((name, value));
        rest = more;
    }
    let element = ElementRecord {
        local_name,
        is_svg: find_byte(flags, b'v').is_some(),
        is_shadow_host: find_byte(flags, b's').is_some(),
        attributes,
    };
    Ok((element, rest))
}

fn kids(s: &str) -> Parsed<'_, ChildRange> {
    let (first, rest) = number(s)?;
    let (light, rest) = number(rest)?;
    let (shadow, rest) = number(rest)?;
    Ok((ChildRange { first, light, shadow }, rest))
}

/// The records of one `sl_read_children` chunk.
pub struct Chunk<'a> {
    /// The next fresh id after the chunk (the reader gave the ones before it).
    pub next_fresh: u32,
    rest: &'a str,
}

pub fn parse_chunk(s: &str) -> Result<Chunk<'_>, ProtocolError> {
    let (next_fresh, rest) = number(s)?;
    Ok(Chunk { next_fresh, rest })
}

impl<'a> Iterator for Chunk<'a> {
    /// `Ok(None)`: gone (or not recorded).
    type Item = Result<Option<NodeRecord<'a>>, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = self.record();
        if result.is_err() {
            self.rest = "";
        }
        Some(result)
    }
}

impl<'a> Chunk<'a> {
    fn record(&mut self) -> Result<Option<NodeRecord<'a>>, ProtocolError> {
        if let Some(rest) = self.rest.strip_prefix("g\0") {
            self.rest = rest;
            return Ok(None);
        }
        let (node_type, rest) = number(self.rest)?;
        let (id, rest) = number(rest)?;
        let mut record = NodeRecord { node_type: node_type as u16, id, ..Default::default() };
        let rest = match record.node_type {
            ELEMENT_NODE => {
                let (left, rest) = int(rest)?;
                let (top, rest) = int(rest)?;
                let (element, rest) = parse_element(rest)?;
                let (children, rest) = kids(rest)?;
                record.scroll = Some((left, top));
                record.element = Some(element);
                record.children = Some(children);
                rest
            }
            DOCUMENT_NODE => {
                let (children, rest) = kids(rest)?;
                record.children = Some(children);
                rest
            }
            TEXT_NODE | CDATA_NODE | COMMENT_NODE => {
                let (length, rest) = number(rest)?;
                let (text, rest) = utf16_prefix(rest, length)?;
                record.text = text;
                rest
            }
            DOCTYPE_NODE => rest,
            _ => return Err(ProtocolError("a node type the reader does not send")),
        };
        self.rest = rest;
        Ok(Some(record))
    }
}

/// One node as `sl_node` writes it (`with_scroll`: an element's scroll offsets were
/// read); `None` for a node type that is not recorded (the reader wrote nothing).
pub fn parse_node(s: &str, with_scroll: bool) -> Result<Option<NodeRecord<'_>>, ProtocolError> {
    if s.is_empty() {
        return Ok(None);
    }
    let (node_type, rest) = number(s)?;
    let (id, rest) = number(rest)?;
    let mut record = NodeRecord { node_type: node_type as u16, id, ..Default::default() };
    match record.node_type {
        ELEMENT_NODE => {
            let rest = if with_scroll {
                let (left, rest) = int(rest)?;
                let (top, rest) = int(rest)?;
                record.scroll = Some((left, top));
                rest
            } else {
                rest
            };
            record.element = Some(parse_element(rest)?.0);
        }
        TEXT_NODE | CDATA_NODE | COMMENT_NODE => record.text = rest,
        _ => {}
    }
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_chunk_of_every_kind_of_record() {
        let s = "42\0g\0\
                 1\x005\x000\x00-3\0div\0s\x002\0class\0a b\0title\0\u{fffd}x\0\
                 10\x004\x007\0\
                 3\x006\x002\0😀\0\
                 8\x007\x003\0a\0b\0\
                 10\x008\0\
                 9\x009\x0012\x001\x000\0";
        let chunk = parse_chunk(s).unwrap();
        assert_eq!(chunk.next_fresh, 42);
        let records: Vec<_> = chunk.map(Result::unwrap).collect();
        assert_eq!(records.len(), 6);
        assert_eq!(records[0], None);
        let element = records[1].clone().unwrap();
        assert_eq!((element.node_type, element.id, element.scroll), (1, 5, Some((0, -3))));
        assert_eq!(
            element.element,
            Some(ElementRecord {
                local_name: "div",
                is_svg: false,
                is_shadow_host: true,
                attributes: vec![("class", "a b"), ("title", "\u{fffd}x")],
            })
        );
        assert_eq!(element.children, Some(ChildRange { first: 10, light: 4, shadow: 7 }));
        // Lengths count UTF-16 units: an emoji is two.
        assert_eq!(records[2].clone().unwrap().text, "😀");
        // A comment whose value holds a NUL keeps it: the length says where it ends.
        assert_eq!(records[3].clone().unwrap().text, "a\0b");
        assert_eq!(records[4].clone().unwrap().node_type, DOCTYPE_NODE);
        let document = records[5].clone().unwrap();
        assert_eq!(document.children.unwrap().handles(), vec![12]);
    }

    #[test]
    fn text_lengths_are_utf16_units_ascii_or_not() {
        let s = "1\x003\x003\x005\0hello\x003\x004\x007\0h\u{e9}llo\u{1f600}\x003\x005\x004\0ab\0c\0";
        let texts: Vec<_> = parse_chunk(s).unwrap().map(|r| r.unwrap().unwrap().text).collect();
        assert_eq!(texts, ["hello", "h\u{e9}llo\u{1f600}", "ab\0c"]);
        for bad in ["1\x003\x001\x009\0ab\0", "1\x003\x001\x002\0abc\0", "1\x003\x001\x002\0\u{e9}\0"] {
            assert!(parse_chunk(bad).unwrap().next().unwrap().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_malformed_chunk_is_an_error_not_a_shifted_reading() {
        for bad in
            ["", "x\0", "1\x001\0", "1\x003\x001\x005\0ab\0", "1\x0012\x001\0", "1\x001\x0099999999999\0"]
        {
            let result = parse_chunk(bad).and_then(|chunk| chunk.collect::<Result<Vec<_>, _>>());
            assert!(result.is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn reads_a_mutation_node_with_or_without_scroll() {
        let element = parse_node("1\x007\x0010\x0020\0a\0v\x001\0href\0/x\0", true).unwrap().unwrap();
        assert_eq!(element.scroll, Some((10, 20)));
        assert_eq!(element.element.unwrap().attributes, vec![("href", "/x")]);
        let element = parse_node("1\x007\0a\0\x000\0", false).unwrap().unwrap();
        assert_eq!((element.scroll, element.element.unwrap().local_name), (None, "a"));
        let text = parse_node("3\x009\0hello\0world", false).unwrap().unwrap();
        assert_eq!(text.text, "hello\0world");
        assert_eq!(parse_node("", false), Ok(None));
        assert!(parse_node("1\x00x\0", false).is_err());
    }
}
