//! Making recorded URLs absolute, so the player (whose iframe has no base URL of the
//! page) loads images, fonts and stylesheets from the right place.
//!
//! Substrings are taken with `json::cut` at offsets of ASCII delimiters (or of
//! `char_indices`), never with `&s[a..b]`: see `cut` for why.

use crate::core::json::{cut, find_byte, split_byte, trim_end_byte};

/// `true` when `value` starts with a URL scheme (`https:`, `data:`, `blob:`, `mailto:`…).
fn has_scheme(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphabetic() {
        return false;
    }
    for &b in &bytes[1..] {
        match b {
            b':' => return true,
            b if b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.' => {}
            _ => return false,
        }
    }
    false
}

/// Removes `.` and `..` segments of an absolute path (RFC 3986 §5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    // The index of the last part: one part more than there are slashes.
    let last = path.bytes().filter(|&b| b == b'/').count();
    for (i, seg) in split_byte(path, b'/').enumerate().skip(1) {
        match seg {
            "." => {
                if i == last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if i == last {
                    segments.push("");
                }
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for seg in segments {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The parts one after the other in one allocation: what `[..].concat()` answers, not
/// `format!` (core::fmt is slow on this path: every link of a snapshot), without `concat`'s
/// generic join in the bundle.
fn join(parts: &[&str]) -> String {
    let mut len = 0;
    for part in parts {
        len += part.len();
    }
    let mut out = String::with_capacity(len);
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Resolves `reference` against the absolute URL `base`, as `new URL(reference, base)`
/// would for the usual cases. Absolute, `data:` and `blob:` references pass through; a
/// base without `//authority` (e.g. `about:blank`) leaves the reference unchanged.
pub fn resolve(base: &str, reference: &str) -> String {
    let reference = reference.trim();
    if reference.is_empty() || has_scheme(reference) {
        return reference.to_string();
    }
    // Byte searches for ASCII delimiters: the same positions as `str::find`, without a
    // substring searcher in the bundle.
    let bytes = base.as_bytes();
    let Some(scheme_end) = bytes.windows(3).position(|w| w == b"://") else { return reference.to_string() };
    let after_scheme = scheme_end + 3;
    let authority_end = bytes[after_scheme..]
        .iter()
        .position(|&b| b == b'/' || b == b'?' || b == b'#')
        .map(|i| i + after_scheme)
        .unwrap_or(base.len());
    // Every offset is at an ASCII delimiter: `cut` never falls off a boundary.
    let scheme = cut(base, 0, scheme_end); // without ':'
    let origin = cut(base, 0, authority_end);
    let rest = cut(base, authority_end, base.len());
    let without_fragment = cut(rest, 0, find_byte(rest, b'#').unwrap_or(rest.len()));
    let path = cut(without_fragment, 0, find_byte(without_fragment, b'?').unwrap_or(without_fragment.len()));
    let path = if path.is_empty() { "/" } else { path };

    if let Some(stripped) = reference.strip_prefix("//") {
        return join(&[scheme, "://", stripped]);
    }
    if reference.starts_with('#') {
        return join(&[origin, without_fragment, reference]);
    }
    if reference.starts_with('?') {
        return join(&[origin, path, reference]);
    }
    let split = reference.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(reference.len());
    let (ref_path, tail) = (cut(reference, 0, split), cut(reference, split, reference.len()));
    let merged = if ref_path.starts_with('/') {
        ref_path.to_string()
    } else {
        let dir = cut(path, 0, path.bytes().rposition(|b| b == b'/').map(|i| i + 1).unwrap_or(0));
        join(&[dir, ref_path])
    };
    join(&[origin, &remove_dot_segments(&merged), tail])
}

/// An `href` that is only a `#fragment` stays as it is; everything else is resolved.
pub fn resolve_href(base: &str, href: &str) -> String {
    if href.starts_with('#') {
        href.to_string()
    } else {
        resolve(base, href)
    }
}

/// Resolves every URL of a `srcset` (`a.png 1x, b.png 2x`), keeping the descriptors.
pub fn resolve_srcset(base: &str, srcset: &str) -> String {
    let mut out = String::with_capacity(srcset.len() + 16);
    let mut rest = srcset;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        // The URL runs to the next whitespace; a trailing comma ends a candidate without
        // a descriptor (commas inside the URL, as in data: URIs, are kept).
        let url_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let mut url = cut(rest, 0, url_end);
        let mut descriptor = "";
        let mut consumed = url_end;
        if url.ends_with(',') {
            url = trim_end_byte(url, b',');
        } else {
            let tail = cut(rest, url_end, rest.len());
            let mut depth = 0i32;
            let mut end = tail.len();
            for (i, c) in tail.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth <= 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            descriptor = cut(tail, 0, end).trim();
            consumed = url_end + end;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&resolve(base, url));
        if !descriptor.is_empty() {
            out.push(' ');
            out.push_str(descriptor);
        }
        rest = cut(rest, consumed, rest.len());
    }
    out
}

/// Rewrites every `url(…)` of a stylesheet (or a `style` attribute) to an absolute URL,
/// keeping the quote style.
pub fn absolutize_css(css: &str, base: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = find_url_token(rest) {
        let open = start + 4; // after "url("
        out.push_str(cut(rest, 0, open));
        let after = cut(rest, open, rest.len());
        let quote = after.as_bytes().first().copied().filter(|&b| b == b'"' || b == b'\'');
        let (inner_start, inner_end, close) = match quote {
            Some(q) => match find_byte(cut(after, 1, after.len()), q) {
                Some(i) => {
                    let end = i + 1;
                    match find_byte(cut(after, end + 1, after.len()), b')') {
                        Some(j) => (1, end, end + 1 + j),
                        None => return out + after,
                    }
                }
                None => return out + after,
            },
            None => match find_byte(after, b')') {
                Some(i) => (0, i, i),
                None => return out + after,
            },
        };
        let url = cut(after, inner_start, inner_end);
        let resolved = if url.trim().is_empty() { url.to_string() } else { resolve(base, url) };
        if let Some(q) = quote {
            out.push(char::from(q));
            out.push_str(&resolved);
            out.push(char::from(q));
            out.push_str(cut(after, inner_end + 1, close));
        } else {
            out.push_str(&resolved);
        }
        out.push(')');
        rest = cut(after, close + 1, after.len());
    }
    out.push_str(rest);
    out
}

/// Byte offset of the next `url(` (case-insensitive).
fn find_url_token(css: &str) -> Option<usize> {
    let bytes = css.as_bytes();
    (0..bytes.len().saturating_sub(3)).find(|&i| bytes[i..i + 4].eq_ignore_ascii_case(b"url("))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://example.com/docs/guide/page.html?x=1#top";

    #[test]
    fn resolves_relative_references_like_the_browser() {
        assert_eq!(resolve(BASE, "img/a.png"), "https://example.com/docs/guide/img/a.png");
        assert_eq!(resolve(BASE, "../a.png"), "https://example.com/docs/a.png");
        assert_eq!(resolve(BASE, "../../../a.png"), "https://example.com/a.png");
        assert_eq!(resolve(BASE, "./a.png?v=2#f"), "https://example.com/docs/guide/a.png?v=2#f");
        assert_eq!(resolve(BASE, "/root.css"), "https://example.com/root.css");
        assert_eq!(resolve(BASE, "//cdn.example.net/x.js"), "https://cdn.example.net/x.js");
        assert_eq!(resolve(BASE, "?q=2"), "https://example.com/docs/guide/page.html?q=2");
        assert_eq!(resolve(BASE, "#s"), "https://example.com/docs/guide/page.html?x=1#s");
        assert_eq!(resolve(BASE, "dir/"), "https://example.com/docs/guide/dir/");
        assert_eq!(resolve("https://example.com", "a.png"), "https://example.com/a.png");
    }

    #[test]
    fn delimiters_are_found_around_non_ascii_text() {
        let base = "https://exämple.com/é/ü.html?q=://x#f";
        assert_eq!(resolve(base, "a.png"), "https://exämple.com/é/a.png");
        assert_eq!(resolve(base, "ñ/b?x#y"), "https://exämple.com/é/ñ/b?x#y");
        assert_eq!(resolve(base, "#top"), "https://exämple.com/é/ü.html?q=://x#top");
        assert_eq!(resolve(base, "?ü"), "https://exämple.com/é/ü.html?ü");
        assert_eq!(resolve("https://ü.test?a#b", "c"), "https://ü.test/c");
        assert_eq!(resolve("ü:/no-authority", "c"), "c");
    }

    #[test]
    fn absolute_data_and_blob_urls_pass_through() {
        for url in ["https://a.test/x", "data:image/png;base64,AAA=", "blob:https://a.test/1", "mailto:a@b"] {
            assert_eq!(resolve(BASE, url), url);
        }
        assert_eq!(resolve("about:blank", "a.png"), "a.png");
        assert_eq!(resolve(BASE, "  "), "");
    }

    #[test]
    fn fragment_hrefs_stay_fragments() {
        assert_eq!(resolve_href(BASE, "#section"), "#section");
        assert_eq!(resolve_href(BASE, "other.html"), "https://example.com/docs/guide/other.html");
    }

    #[test]
    fn resolves_srcset_candidates() {
        assert_eq!(
            resolve_srcset(BASE, "a.png 1x, /b.png 2x,c.png"),
            "https://example.com/docs/guide/a.png 1x, https://example.com/b.png 2x, https://example.com/docs/guide/c.png"
        );
        assert_eq!(resolve_srcset(BASE, "data:image/png;base64,AA== 1x"), "data:image/png;base64,AA== 1x");
    }

    #[test]
    fn rewrites_css_urls_in_every_quote_style() {
        let css = r#"a{background:url(img/a.png)} b{background:URL("/b.png")} c{src:url('../c.woff') format("woff")} d{x:url(data:image/gif;base64,R0)}"#;
        assert_eq!(
            absolutize_css(css, BASE),
            r#"a{background:url(https://example.com/docs/guide/img/a.png)} b{background:URL("https://example.com/b.png")} c{src:url('https://example.com/docs/c.woff') format("woff")} d{x:url(data:image/gif;base64,R0)}"#
        );
        assert_eq!(absolutize_css("a{b:url(}", BASE), "a{b:url(}");
    }
}
