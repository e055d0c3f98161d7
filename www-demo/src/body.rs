//! Reading an ingestion body within Stack Auth's limits, without ever holding more than the
//! limit in memory: at most 1,000,000 bytes as sent (checked against Content-Length first,
//! then while streaming) and at most 8 MiB once gunzipped (a gzip bomb stops at the cap).

use std::io::Read;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use flate2::read::MultiGzDecoder;
use http_body_util::BodyExt;

pub const MAX_BODY_BYTES: usize = 1_000_000;
pub const MAX_DECOMPRESSED_BYTES: usize = 8 * 1024 * 1024;
/// After a 413 the rest of the body is read and thrown away (up to this much, for this
/// long) so that the client reads the answer instead of a connection reset.
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// Longest a client may take to send a body (408 after).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// → 413
    TooLarge(String),
    /// → 400
    Invalid(String),
    /// → 408
    TooSlow(String),
}

/// Reads the body as sent, answering `TooLarge` past `MAX_BODY_BYTES`.
pub async fn read_limited(headers: &HeaderMap, body: Body) -> Result<Bytes, BodyError> {
    let too_large = || BodyError::TooLarge(format!("request body is over {MAX_BODY_BYTES} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared {
        if len > MAX_BODY_BYTES as u64 {
            if len <= DRAIN_BYTES {
                drain(body).await;
            }
            return Err(too_large());
        }
    }
    let mut body = body;
    let mut buf = Vec::with_capacity(declared.unwrap_or(16 * 1024) as usize);
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| BodyError::Invalid(format!("could not read the request body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > MAX_BODY_BYTES {
                    drain(body).await;
                    return Err(too_large());
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(Bytes::from(buf)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::TooSlow(format!(
            "the request body took over {} s to arrive",
            BODY_TIMEOUT.as_secs()
        ))),
    }
}

/// Whether JSON text holds a `\uD800`-`\uDFFF` escape (checked only after a parse failed).
pub fn has_surrogate_escape(json: &[u8]) -> bool {
    json.windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && matches!(w[2], b'd' | b'D')
            && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

/// JSON text with every `\uXXXX` escape of a lone UTF-16 surrogate replaced by `\ufffd`
/// (a pair, high then low, is kept). Backslashes only occur inside JSON strings, and `\\`
/// is skipped as a whole, so nothing else changes.
pub fn replace_lone_surrogates(json: &[u8]) -> Vec<u8> {
    fn unit(b: &[u8], i: usize) -> Option<u16> {
        if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
            return None;
        }
        let hex = std::str::from_utf8(b.get(i + 2..i + 6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'\\' {
            out.push(json[i]);
            i += 1;
            continue;
        }
        match unit(json, i) {
            Some(0xD800..=0xDBFF) if matches!(unit(json, i + 6), Some(0xDC00..=0xDFFF)) => {
                out.extend_from_slice(&json[i..i + 12]);
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.extend_from_slice(b"\\ufffd");
                i += 6;
            }
            _ => {
                // Any other escape: copy it whole (so an escaped backslash is not re-read).
                let end = (i + 2).min(json.len());
                out.extend_from_slice(&json[i..end]);
                i = end;
            }
        }
    }
    out
}

/// Reads and discards a body the answer does not need (bounded in size and time), so that
/// closing the connection afterwards cannot reset it before the client read the answer.
pub async fn drain(mut body: Body) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(d) = frame.data_ref() {
                seen += d.len() as u64;
                if seen > DRAIN_BYTES {
                    break;
                }
            }
        }
    })
    .await;
}

pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The JSON text of a body: gunzipped (capped) when it starts with gzip's magic bytes,
/// whatever its content type; as is otherwise.
pub fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, BodyError> {
    if !is_gzip(bytes) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let limit = MAX_DECOMPRESSED_BYTES as u64 + 1;
    MultiGzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Invalid(format!("body is not valid gzip: {e}")))?;
    if out.len() > MAX_DECOMPRESSED_BYTES {
        return Err(BodyError::TooLarge(format!("decompressed body is over {MAX_DECOMPRESSED_BYTES} bytes")));
    }
    Ok(std::borrow::Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_roundtrip_and_bomb() {
        assert_eq!(&*decode(&gz(b"{\"a\":1}")).unwrap(), b"{\"a\":1}");
        assert_eq!(&*decode(b"{}").unwrap(), b"{}");
        let bomb = gz(&vec![0u8; 20 * 1024 * 1024]);
        assert!(bomb.len() < MAX_BODY_BYTES);
        assert!(matches!(decode(&bomb), Err(BodyError::TooLarge(_))));
        let exact = gz(&vec![b' '; MAX_DECOMPRESSED_BYTES]);
        assert_eq!(decode(&exact).unwrap().len(), MAX_DECOMPRESSED_BYTES);
        assert!(matches!(decode(&[0x1f, 0x8b, 0, 0]), Err(BodyError::Invalid(_))));
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let fix = |s: &str| String::from_utf8(replace_lone_surrogates(s.as_bytes())).unwrap();
        assert_eq!(fix(r#"{"a":"x\ud800y"}"#), r#"{"a":"x\ufffdy"}"#);
        assert_eq!(
            fix(r#"["\uDC00","\ud83d\ude00","\\ud800","\ud83d"]"#),
            r#"["\ufffd","\ud83d\ude00","\\ud800","\ufffd"]"#
        );
        assert_eq!(fix(r#"["\ud83d\u0041"]"#), r#"["\ufffd\u0041"]"#);
        let v: serde_json::Value =
            serde_json::from_slice(&replace_lone_surrogates(br#"{"t":"a\udfffb"}"#)).unwrap();
        assert_eq!(v["t"], "a\u{fffd}b");
    }

    #[tokio::test]
    async fn limits_as_sent() {
        let small = read_limited(&HeaderMap::new(), Body::from(vec![b'x'; 10])).await.unwrap();
        assert_eq!(small.len(), 10);
        let big = read_limited(&HeaderMap::new(), Body::from(vec![b'x'; MAX_BODY_BYTES + 1])).await;
        assert!(matches!(big, Err(BodyError::TooLarge(_))));
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, "2000000".parse().unwrap());
        assert!(matches!(read_limited(&h, Body::empty()).await, Err(BodyError::TooLarge(_))));
    }
}
